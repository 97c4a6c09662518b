//! `RUN --mount`, `--network` and `--security` as BuildKit's Dockerfile front end reads them
//! (`instructions/commands_runmount.go`, `dockerfile2llb/convert_runmount.go`, `convert_secrets.go`): each
//! `--mount` value is CSV, every value expanded with the stage's variables, then checked with BuildKit's words.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::cache::PlaceRecord;
use super::resolve::BaseResolver;
use super::rootfs::{LayerRef, Rootfs};
use super::run::RunExecutor;
use super::state::StageState;
use super::{BuildError, BuildOptions};
use crate::api::StepMount;
use crate::dockerfile::instructions::Run;
use crate::dockerfile::Dockerfile;
use crate::image::{layer_descriptor, Reference};
use crate::layer::{FileTree, LayerOptions, Meta, Node};

/// `type=` of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountKind {
    fn name(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Cache => "cache",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Secret => "secret",
            MountKind::Ssh => "ssh",
        }
    }
}

/// One `--mount` value, parsed and checked as BuildKit's `parseMount` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub read_only: bool,
    pub required: bool,
    /// `type=tmpfs,size=`: bytes.
    pub size: Option<u64>,
    /// `id=`: the cache's id, or the secret's.
    pub id: Option<String>,
    pub sharing: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `type=secret,env=NAME`.
    pub env: Option<String>,
}

/// Why a `--mount` value is refused: BuildKit's text.
fn refuse(message: impl Into<String>) -> String {
    message.into()
}

/// Go's `encoding/csv` on one record: fields split on `,`, a field in double quotes may hold `,` and `""`.
fn csv_fields(value: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = value.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(refuse(
            "failed to parse csv mounts: parse error on line 1, column 1: extraneous or missing \" in quoted-field",
        ));
    }
    fields.push(field);
    Ok(fields)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(refuse(format!("invalid value for {key}: {value}"))),
    }
}

/// docker's `units.RAMInBytes`: a number with an optional binary unit (`64m`, `1.5GiB`, `512k`).
pub fn ram_in_bytes(value: &str) -> Option<u64> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    Some((number * (1u64 << shift) as f64) as u64)
}

/// BuildKit's `allKeys` of `parseMount`, in its order (the first of equally close keys is suggested).
const ALL_KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// Parses one `--mount` value; `expand` expands each value (the stage's variables), as BuildKit's expander.
pub fn parse_mount(value: &str, expand: &dyn Fn(&str) -> Result<String, String>) -> Result<Mount, String> {
    let mut m = Mount {
        kind: MountKind::Bind,
        from: None,
        source: None,
        target: None,
        read_only: false,
        required: false,
        size: None,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        env: None,
    };
    let mut ro_auto = true;
    for field in csv_fields(value)? {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.to_string()),
            None => {
                match field.to_ascii_lowercase().as_str() {
                    "readonly" | "ro" => (m.read_only, ro_auto) = (true, false),
                    "readwrite" | "rw" => (m.read_only, ro_auto) = (false, false),
                    "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => m.required = true,
                    "required" => {
                        return Err(refuse(format!(
                            "unexpected key 'required' for mount type '{}'",
                            m.kind.name()
                        )))
                    }
                    _ => {
                        return Err(refuse(format!(
                            "invalid field '{field}' must be a key=value pair"
                        )))
                    }
                }
                continue;
            }
        };
        let value = expand(&value)?;
        set_field(&mut m, &key, &field, value, &mut ro_auto)?;
    }
    validate(&mut m, ro_auto)?;
    Ok(m)
}

fn parse_u32(key: &str, value: &str, radix: u32) -> Result<u32, String> {
    u32::from_str_radix(value, radix).map_err(|_| refuse(format!("invalid value {value} for {key}")))
}

fn set_field(m: &mut Mount, key: &str, field: &str, value: String, ro_auto: &mut bool) -> Result<(), String> {
    match key {
        "type" => {
            m.kind = match value.to_ascii_lowercase().as_str() {
                "bind" => MountKind::Bind,
                "cache" => MountKind::Cache,
                "tmpfs" => MountKind::Tmpfs,
                "secret" => MountKind::Secret,
                "ssh" => MountKind::Ssh,
                _ => return Err(refuse(format!("unsupported mount type \"{value}\""))),
            }
        }
        "from" => m.from = Some(value),
        "source" | "src" => m.source = Some(value),
        "target" | "dst" | "destination" => m.target = Some(value),
        "readonly" | "ro" => {
            m.read_only = parse_bool(key, &value)?;
            *ro_auto = false;
        }
        "readwrite" | "rw" => {
            m.read_only = !parse_bool(key, &value)?;
            *ro_auto = false;
        }
        "required" if matches!(m.kind, MountKind::Secret | MountKind::Ssh) => {
            m.required = parse_bool(key, &value)?
        }
        "size" if m.kind == MountKind::Tmpfs => {
            m.size =
                Some(ram_in_bytes(&value).ok_or_else(|| refuse(format!("invalid value for size: {value}")))?)
        }
        "env" if m.kind == MountKind::Secret => m.env = Some(value),
        "required" | "size" | "env" => {
            return Err(refuse(format!(
                "unexpected key '{key}' for mount type '{}'",
                m.kind.name()
            )))
        }
        "id" => m.id = Some(value),
        "sharing" => {
            let v = value.to_ascii_lowercase();
            if !matches!(v.as_str(), "shared" | "private" | "locked") {
                return Err(refuse(format!("unsupported sharing value \"{value}\"")));
            }
            m.sharing = Some(v);
        }
        "mode" => m.mode = Some(parse_u32("mode", &value, 8)?),
        "uid" => m.uid = Some(parse_u32("uid", &value, 10)?),
        "gid" => m.gid = Some(parse_u32("gid", &value, 10)?),
        _ => {
            let hint = crate::dockerfile::error::buildkit_suggestion(key, ALL_KEYS.iter().copied(), true)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(refuse(format!("unexpected key '{key}' in '{field}'{hint}")));
        }
    }
    Ok(())
}

/// BuildKit's `validateMount`.
fn validate(m: &mut Mount, ro_auto: bool) -> Result<(), String> {
    let file_info = matches!(m.kind, MountKind::Secret | MountKind::Ssh | MountKind::Cache);
    if !file_info {
        for (name, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(refuse(format!(
                    "{name} not allowed for \"{}\" type mounts",
                    m.kind.name()
                )));
            }
        }
    }
    if ro_auto {
        m.read_only = !matches!(m.kind, MountKind::Cache | MountKind::Tmpfs);
    }
    if m.kind == MountKind::Secret {
        if m.from.is_some() {
            return Err(refuse("secret mount should not have a from"));
        }
        if m.sharing.is_some() {
            return Err(refuse("secret mount should not define sharing"));
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() {
            return Err(refuse("invalid secret mount. one of source, target required"));
        }
        if m.source.is_some() && m.id.is_some() {
            return Err(refuse("both source and id can't be set"));
        }
    }
    if m.sharing.is_some() && m.kind != MountKind::Cache {
        return Err(refuse(format!(
            "invalid cache sharing set for {} mount",
            m.kind.name()
        )));
    }
    Ok(())
}

/// `target` of a cache, bind or tmpfs mount: relative ones are under the working directory; `/` is refused.
pub fn mount_target(target: &str, workdir: &str) -> Result<String, String> {
    let joined = if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{}/{target}", workdir.trim_end_matches('/'))
    };
    let clean = clean_path(&joined);
    if clean == "/" {
        return Err(refuse(format!("invalid mount target \"{clean}\"")));
    }
    Ok(clean)
}

/// Go's `path.Clean` of an absolute path.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A secret's id and where it goes: BuildKit's `dispatchSecret` (id from `id`, else `source`, else the
/// target's base name; the file at `target`, else `/run/secrets/ID`, unless only `env` is asked for).
pub fn secret_place(m: &Mount) -> Result<(String, Option<String>), String> {
    let id = match (&m.source, &m.id) {
        (Some(source), _) => source.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            let target = m
                .target
                .as_deref()
                .ok_or_else(|| refuse("one of source, target required"))?;
            target.rsplit('/').next().unwrap_or(target).to_string()
        }
    };
    let target = match (&m.target, &m.env) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(format!("/run/secrets/{}", id.rsplit('/').next().unwrap_or(&id))),
    };
    Ok((id, target))
}

/// `RUN --network`: `default` and `none` run; `host` needs an entitlement no build here is granted.
pub fn network_mode(network: Option<&str>) -> Result<Option<String>, BuildError> {
    match network {
        None | Some("default") => Ok(None),
        Some("none") => Ok(Some("none".into())),
        Some("host") => Err(BuildError::NotAllowed("network.host")),
        Some(other) => Err(BuildError::Unsupported(format!(
            "unsupported network mode \"{other}\""
        ))),
    }
}

/// `RUN --security`: `sandbox` is how every step runs; `insecure` needs an entitlement no build here is granted.
pub fn security_mode(security: Option<&str>) -> Result<(), BuildError> {
    match security {
        None | Some("sandbox") => Ok(()),
        Some("insecure") => Err(BuildError::NotAllowed("security.insecure")),
        Some(other) => Err(BuildError::Unsupported(format!(
            "unsupported security mode \"{other}\""
        ))),
    }
}

/// The build's secrets by id (`docker build --secret`); their bytes never show in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(pub BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// What a RUN step sends besides its command: its mounts, the network it asks for, the layers its bind
/// mounts read (uploaded with the step's layers), and what of them its cache key depends on.
#[derive(Debug, Default)]
pub struct RunExtras {
    pub mounts: Vec<StepMount>,
    pub network: Option<String>,
    pub bind_layers: Vec<LayerRef>,
    pub key: PlaceRecord,
}

/// Where a RUN step's mounts read from: the context, the other stages, the Dockerfile.
pub(super) struct MountSources<'s> {
    pub ctx: &'s FileTree,
    pub df: &'s Dockerfile,
    pub states: &'s [Option<StageState>],
    pub escape: char,
    pub line: usize,
}

fn at_line(line: usize) -> impl Fn(String) -> BuildError {
    move |message| BuildError::Instruction { line, message }
}

/// `source` of `tree` as a tree of its own: the directory re-rooted (path ""), or the file alone under its
/// name (path = the name).
fn source_tree(tree: &FileTree, source: &str) -> Result<(FileTree, String), String> {
    let clean = clean_path(source);
    let rel = clean.trim_start_matches('/');
    if rel.is_empty() {
        return Ok((tree.clone(), String::new()));
    }
    let mut out = FileTree::new();
    match tree.get(rel) {
        Some(Node::Dir { .. }) => {
            let prefix = format!("{rel}/");
            for (path, node) in tree.iter() {
                if let Some(rest) = path.strip_prefix(&prefix) {
                    out.insert(rest, node.clone()).map_err(|e| e.to_string())?;
                }
            }
            Ok((out, String::new()))
        }
        Some(node) => {
            let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
            out.insert(&name, node.clone()).map_err(|e| e.to_string())?;
            Ok((out, name))
        }
        None => Err(format!("failed to compute cache key: \"{clean}\": not found")),
    }
}

impl<R: BaseResolver, X: RunExecutor, C: super::CacheStore> super::Builder<'_, R, X, C> {
    /// `RUN --mount/--network/--security` of one step, resolved for the server: BuildKit's errors before
    /// anything runs.
    pub(super) async fn run_extras(
        &self,
        run: &Run,
        st: &StageState,
        sources: &MountSources<'_>,
        options: &BuildOptions,
    ) -> Result<RunExtras, BuildError> {
        let mut extras = RunExtras {
            network: network_mode(run.network.as_ref().map(|w| w.value.as_str()))?,
            ..RunExtras::default()
        };
        security_mode(run.security.as_ref().map(|w| w.value.as_str()))?;
        if let Some(network) = &extras.network {
            extras.key.files.insert("--network".into(), network.clone());
        }
        let vars = super::steps::vars_map(&st.vars);
        let expand = |v: &str| {
            crate::dockerfile::shell::Lexer::new(sources.escape)
                .process(v, &vars)
                .map(|e| e.result)
                .map_err(|e| e.to_string())
        };
        for (i, word) in run.mounts.iter().enumerate() {
            let m = parse_mount(&word.value, &expand).map_err(at_line(sources.line))?;
            extras
                .key
                .files
                .insert(format!("--mount {i}"), word.value.clone());
            if let Some(mount) = self.step_mount(&m, i, st, sources, options, &mut extras).await? {
                extras.mounts.push(mount);
            }
        }
        Ok(extras)
    }

    /// One parsed mount as the server takes it (`None`: an optional secret the build was not given).
    async fn step_mount(
        &self,
        m: &Mount,
        index: usize,
        st: &StageState,
        sources: &MountSources<'_>,
        options: &BuildOptions,
        extras: &mut RunExtras,
    ) -> Result<Option<StepMount>, BuildError> {
        let line = sources.line;
        let target =
            || mount_target(m.target.as_deref().unwrap_or_default(), &st.workdir()).map_err(at_line(line));
        Ok(Some(match m.kind {
            MountKind::Ssh => {
                return Err(BuildError::Instruction {
                    line,
                    message:
                        "RUN --mount=type=ssh is not supported here: builds on this server have no SSH agent \
                              to forward (fetch what the step needs over HTTPS, or with a secret mount)"
                            .into(),
                })
            }
            MountKind::Secret => {
                let (id, target) = secret_place(m).map_err(at_line(line))?;
                let Some(data) = options.secrets.0.get(&id) else {
                    if m.required {
                        return Err(BuildError::Unsupported(format!(
                            "secret {id} not found: not found"
                        )));
                    }
                    return Ok(None);
                };
                StepMount::Secret {
                    target,
                    env: m.env.clone(),
                    data: data.clone(),
                    mode: m.mode.unwrap_or(0o400),
                    uid: m.uid.unwrap_or(0),
                    gid: m.gid.unwrap_or(0),
                }
            }
            MountKind::Tmpfs => StepMount::Tmpfs {
                target: target()?,
                size: m.size,
            },
            MountKind::Cache => {
                let target = target()?;
                let (mut mode, mut uid, mut gid) =
                    (m.mode.unwrap_or(0o755), m.uid.unwrap_or(0), m.gid.unwrap_or(0));
                let mut seed = None;
                if let Some(from) = m.from.as_deref() {
                    let (layer, root) = self.cache_seed(m, from, sources, options).await?;
                    (mode, uid, gid) = (root.mode, root.uid, root.gid);
                    seed = Some(layer.descriptor.digest().to_string());
                    extras
                        .key
                        .files
                        .insert(format!("--mount {index} seed"), layer.diff_id.to_string());
                    extras.bind_layers.push(layer);
                }
                StepMount::Cache {
                    id: m.id.clone().unwrap_or_else(|| target.clone()),
                    target,
                    sharing: m.sharing.clone().unwrap_or_else(|| "shared".into()),
                    mode,
                    uid,
                    gid,
                    read_only: m.read_only,
                    seed,
                }
            }
            MountKind::Bind => {
                let target = target()?;
                let tree = self.bind_source(m.from.as_deref(), sources, options).await?;
                let (tree, path) =
                    source_tree(&tree, m.source.as_deref().unwrap_or("/")).map_err(at_line(line))?;
                let layer = self.pack_now(tree, options).await?;
                let digest = layer.descriptor.digest().to_string();
                extras
                    .key
                    .files
                    .insert(format!("--mount {index} source"), layer.diff_id.to_string());
                extras.bind_layers.push(layer);
                StepMount::Bind {
                    target,
                    layer: digest,
                    path,
                    read_only: m.read_only,
                }
            }
        }))
    }

    /// The files a bind mount reads: the context, a stage of this build, or an image.
    async fn bind_source(
        &self,
        from: Option<&str>,
        sources: &MountSources<'_>,
        options: &BuildOptions,
    ) -> Result<FileTree, BuildError> {
        let Some(from) = from else {
            return Ok(sources.ctx.clone());
        };
        let mut rootfs = match sources.df.stages.find(from) {
            Some(index) => match sources.states.get(index).and_then(Option::as_ref) {
                Some(stage) => stage.rootfs.clone(),
                None => return Err(BuildError::TargetNotBuilt),
            },
            None => {
                let reference = Reference::parse(from)
                    .map(Reference::with_default_tag)
                    .map_err(|e| at_line(sources.line)(format!("--mount from={from}: {e}")))?;
                let image = self.resolver.resolve(&reference, &options.platform).await?;
                let mut rootfs = Rootfs::default();
                for layer in image.layers {
                    rootfs.push(layer, None);
                }
                rootfs
            }
        };
        if !rootfs.complete() {
            self.load(&mut rootfs).await?;
        }
        Ok(rootfs.merged())
    }

    /// The files a new cache starts with when `from=` is given, packed as a layer blob, and the owner and mode
    /// of its top directory. BuildKit's `dispatchRunMounts` mounts the cache made on top of that stage or image
    /// (`getRefCacheDir`: a cache keyed by its id and that source) at `source` (default `/`); with no `source`
    /// but `mode`/`uid`/`gid`, at `/cache` made with them in the source (`setCacheUIDGID`).
    async fn cache_seed(
        &self,
        m: &Mount,
        from: &str,
        sources: &MountSources<'_>,
        options: &BuildOptions,
    ) -> Result<(LayerRef, Meta), BuildError> {
        let at = at_line(sources.line);
        let mut tree = self.bind_source(Some(from), sources, options).await?;
        let mut source = clean_path(m.source.as_deref().unwrap_or("/"));
        let mut made = None;
        if source == "/" && (m.mode.is_some() || m.uid.is_some() || m.gid.is_some()) {
            let meta = Meta {
                mode: m.mode.unwrap_or(0o755),
                uid: m.uid.unwrap_or(0),
                gid: m.gid.unwrap_or(0),
                mtime: None,
            };
            if !matches!(tree.get("cache"), Some(Node::Dir { .. })) {
                tree.insert("cache", Node::Dir { meta })
                    .map_err(|e| at(e.to_string()))?;
            }
            (source, made) = ("/cache".to_string(), Some(meta));
        }
        let root = match tree.get(source.trim_start_matches('/')) {
            Some(Node::Dir { meta }) => *meta,
            Some(_) => return Err(at(format!("cache mount source \"{source}\" is not a directory"))),
            None => Meta::root(0o755),
        };
        let (tree, _) = source_tree(&tree, &source).map_err(&at)?;
        let layer = self.pack_now(tree, options).await?;
        Ok((layer, made.unwrap_or(root)))
    }

    /// A tree packed as a layer blob now (a bind mount's source).
    async fn pack_now(&self, tree: FileTree, options: &BuildOptions) -> Result<LayerRef, BuildError> {
        let packed = self
            .packer
            .pack(
                Arc::new(tree),
                LayerOptions {
                    mtime: options.epoch,
                    level: options.gzip_level,
                },
            )
            .await?;
        let (bytes, info) = packed;
        Ok(LayerRef {
            descriptor: layer_descriptor(&info, options.format),
            diff_id: info.diff_id,
            blob: Some(bytes.into()),
            repository: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Mount, String> {
        let vars: BTreeMap<String, String> = [("DIR".to_string(), "/cache".to_string())].into();
        parse_mount(value, &|v| {
            Ok(v.replace("$DIR", vars.get("DIR").map(String::as_str).unwrap_or_default()))
        })
    }

    #[test]
    fn mounts_parse_with_buildkit_defaults() {
        let cache = parse("type=cache,target=$DIR,sharing=LOCKED,mode=0700,uid=1000").unwrap();
        assert_eq!(cache.kind, MountKind::Cache);
        assert_eq!(cache.target.as_deref(), Some("/cache"));
        assert_eq!(cache.sharing.as_deref(), Some("locked"));
        assert_eq!(
            (cache.mode, cache.uid, cache.read_only),
            (Some(0o700), Some(1000), false)
        );
        let bind = parse("target=/src,from=build,source=/out").unwrap();
        assert_eq!((bind.kind, bind.read_only), (MountKind::Bind, true));
        assert!(!parse("type=bind,target=/src,rw").unwrap().read_only);
        let secret = parse("type=secret,id=token,required,env=TOKEN").unwrap();
        assert!(secret.required);
        assert_eq!(secret_place(&secret).unwrap(), ("token".into(), None));
        let file = parse("type=secret,id=aws").unwrap();
        assert_eq!(
            secret_place(&file).unwrap(),
            ("aws".into(), Some("/run/secrets/aws".into()))
        );
        let by_target = parse("type=secret,target=/root/.npmrc").unwrap();
        assert_eq!(
            secret_place(&by_target).unwrap(),
            (".npmrc".into(), Some("/root/.npmrc".into()))
        );
        assert_eq!(
            parse("type=tmpfs,target=/t,size=64m").unwrap().size,
            Some(64 << 20)
        );
        let quoted = parse("type=cache,\"target=/a,b\"").unwrap();
        assert_eq!(quoted.target.as_deref(), Some("/a,b"));
    }

    #[test]
    fn bad_mounts_are_refused_in_buildkits_words() {
        let cases = [
            ("type=nfs,target=/x", "unsupported mount type \"nfs\""),
            (
                "type=bind,target=/x,mode=0700",
                "mode not allowed for \"bind\" type mounts",
            ),
            (
                "type=cache,target=/x,sharing=maybe",
                "unsupported sharing value \"maybe\"",
            ),
            (
                "type=bind,target=/x,sharing=shared",
                "invalid cache sharing set for bind mount",
            ),
            ("type=secret,from=x,id=a", "secret mount should not have a from"),
            (
                "type=secret",
                "invalid secret mount. one of source, target required",
            ),
            ("type=secret,source=a,id=b", "both source and id can't be set"),
            (
                "type=cache,target=/x,required",
                "unexpected key 'required' for mount type 'cache'",
            ),
            (
                "type=cache,target=/x,size=1m",
                "unexpected key 'size' for mount type 'cache'",
            ),
            ("type=cache,target=/x,uid=me", "invalid value me for uid"),
            (
                "type=cache,target=/x,bogus",
                "invalid field 'bogus' must be a key=value pair",
            ),
            (
                "type=cache,targt=/x",
                "unexpected key 'targt' in 'targt=/x' (did you mean target?)",
            ),
            ("type=bind,target=/x,ro=maybe", "invalid value for ro: maybe"),
        ];
        for (value, error) in cases {
            assert_eq!(parse(value).unwrap_err(), error, "{value}");
        }
        assert_eq!(
            mount_target("/", "/app").unwrap_err(),
            "invalid mount target \"/\""
        );
        assert_eq!(
            mount_target("node_modules", "/app/").unwrap(),
            "/app/node_modules"
        );
        assert_eq!(mount_target("/a/../b/", "/").unwrap(), "/b");
    }

    #[test]
    fn network_host_and_insecure_need_entitlements() {
        assert_eq!(network_mode(Some("none")).unwrap().as_deref(), Some("none"));
        assert_eq!(network_mode(Some("default")).unwrap(), None);
        assert_eq!(
            network_mode(Some("host")).unwrap_err().to_string(),
            "network.host is not allowed"
        );
        assert_eq!(
            security_mode(Some("insecure")).unwrap_err().to_string(),
            "security.insecure is not allowed"
        );
        assert!(security_mode(Some("sandbox")).is_ok());
        assert_eq!(ram_in_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(ram_in_bytes("12"), Some(12));
        assert_eq!(ram_in_bytes("x"), None);
    }
}
