//! The `-v`/`--mount` flags of `docker run`/`create` (docker/cli `opts/mount.go`, `cli/command/container/opts.go`),
//! binds of the project's own files (packed as a layer blob into the session's local store: `docs/volumes.md`)
//! and `docker rm -v`'s removal of anonymous volumes.

use super::context::CommandContext;
use super::parse::Invocation;
use super::project_files::ProjectFiles;
use super::spec::Flag;
use crate::api::{
    Companion, CompanionError, ProjectBind, RemoveQuery, VolumeMount, BIND_FILE_NAME, MAX_BIND_BYTES,
};
use crate::image::Reference;
use crate::layer::{FileTree, LayerOptions, Node};
use crate::registry::Transport;

/// A `-v` or `--mount` value docker refuses, in its words (plus why host paths are refused here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountFlagError {
    #[error(
        "invalid argument \"{0}\" for \"-v, --volume\" flag: bind mounts of host paths are refused here: the \
         server's files are not a learner's to mount; use a named volume (-v NAME:/path)"
    )]
    HostBind(String),
    #[error(
        "invalid argument \"{0}\" for \"-v, --volume\" flag: binds of the project's files are read-only here: \
         a container's writes would not come back to the project's files (use :ro, or a named volume to write)"
    )]
    WritableBind(String),
    #[error("invalid argument \"{0}\" for \"-v, --volume\" flag: invalid spec: {0}")]
    Volume(String),
    #[error("invalid argument \"{text}\" for \"--mount\" flag: {why}")]
    Mount { text: String, why: String },
}

/// A source docker reads as a host path (`/x`, `./x`, `../x`, `.`) rather than a volume name.
fn is_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.')
}

/// A bind of the project's files not packed yet: [`project_binds`] resolves it.
fn unpacked_bind(source: &str, target: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        source: source.to_string(),
        target: target.to_string(),
        read_only,
        bind: Some(ProjectBind::default()),
    }
}

/// `-v NAME:/path[:ro|rw]`, `-v /path` (anonymous), `-v ./src:/app[:ro]` and `-v /project/src:/app` (a bind of
/// the project's files, resolved by [`project_binds`]; `:rw` refused). `~` is a host path: refused.
pub fn volume_flag(text: &str) -> Result<VolumeMount, MountFlagError> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, None),
        [source, target] => (*source, *target, None),
        [source, target, mode] => (*source, *target, Some(*mode)),
        _ => return Err(MountFlagError::Volume(text.to_string())),
    };
    if source.starts_with('~') {
        return Err(MountFlagError::HostBind(text.to_string()));
    }
    let read_only = match mode {
        None | Some("rw") => false,
        Some("ro") => true,
        Some(_) => return Err(MountFlagError::Volume(text.to_string())),
    };
    if !target.starts_with('/') {
        return Err(MountFlagError::Volume(text.to_string()));
    }
    if is_path(source) {
        if mode == Some("rw") {
            return Err(MountFlagError::WritableBind(text.to_string()));
        }
        return Ok(unpacked_bind(source, target, read_only));
    }
    Ok(VolumeMount {
        source: source.to_string(),
        target: target.to_string(),
        read_only,
        bind: None,
    })
}

/// `--mount type=volume,src=NAME,dst=/path[,readonly]`, `--mount type=bind,src=./x,dst=/y[,readonly]` (the
/// project's files); `type=tmpfs` is refused.
pub fn mount_flag(text: &str) -> Result<VolumeMount, MountFlagError> {
    let refuse = |why: &str| MountFlagError::Mount {
        text: text.to_string(),
        why: why.to_string(),
    };
    let mut mount = VolumeMount::default();
    let mut kind = "volume";
    for field in text.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, "true"));
        match key {
            "type" => kind = value,
            "source" | "src" => mount.source = value.to_string(),
            "target" | "destination" | "dst" => mount.target = value.to_string(),
            "readonly" | "ro" => mount.read_only = matches!(value, "true" | "1"),
            _ => return Err(refuse(&format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    match kind {
        "volume" => {}
        "bind" if mount.source.is_empty() => {
            return Err(refuse(
                "invalid mount config for type \"bind\": field Source must not be empty",
            ))
        }
        "bind" if mount.source.starts_with('~') => {
            return Err(refuse(
                "bind mounts of host paths are refused here: use a named volume",
            ))
        }
        "bind" => mount.bind = Some(ProjectBind::default()),
        other => {
            return Err(refuse(&format!(
                "mount type {other:?} is not offered here: use type=volume"
            )))
        }
    }
    if mount.target.is_empty() {
        return Err(refuse("target is required"));
    }
    Ok(mount)
}

/// The mounts a `docker run`/`create` invocation asks for.
pub fn mounts_of(inv: &Invocation) -> Result<Vec<VolumeMount>, MountFlagError> {
    let volumes = inv.flags.values(Flag::VOLUME).iter().map(|v| volume_flag(v));
    let mounts = inv.flags.values(Flag::MOUNT).iter().map(|m| mount_flag(m));
    volumes.chain(mounts).collect()
}

/// The `-v` values with a source (a volume's name or the project's files), as docker's CLI sends them in
/// `HostConfig.Binds`.
pub fn binds_of(inv: &Invocation) -> Vec<String> {
    let values = inv.flags.values(Flag::VOLUME).iter();
    values.filter(|v| v.contains(':')).cloned().collect()
}

/// The repository of the session's local store that holds the binds' blobs (`slipway-local/KEY/slipway/binds`).
const BIND_REPOSITORY: &str = "slipway/binds";

/// Where a bind's `source` is in the project whose root is `root` (the page's `/project`, natively the working
/// directory): a relative path from the root (docker resolves it from the working directory), an absolute one
/// only below the root. `None`: outside the project.
pub fn bind_path(root: &str, source: &str) -> Option<super::cp::LocalPath> {
    super::cp::local_path(root, source).ok()
}

/// The project's file or folder at `rel` as a layer blob (the core's deterministic tar, gzip): `(blob, digest,
/// single file)`. A folder's entries are at the blob's root; a file is [`BIND_FILE_NAME`]. At most
/// [`MAX_BIND_BYTES`] of files.
pub fn pack_bind(
    files: &dyn ProjectFiles,
    rel: &str,
    shown: &str,
) -> Result<(Vec<u8>, String, bool), String> {
    let file = match files.kind(rel) {
        Some(is_dir) => !is_dir,
        None => {
            return Err(format!(
            "Error response from daemon: invalid mount config for type \"bind\": bind source path does not \
                 exist: {shown}"
        ))
        }
    };
    let tree: FileTree = match file {
        true => files.read(rel, BIND_FILE_NAME, true)?,
        false => super::cp::rebase(&files.read(rel, "bind", true)?, "bind", "")?,
    };
    let bytes: u64 = tree
        .iter()
        .map(|(_, node)| match node {
            Node::File { data, .. } => data.len() as u64,
            _ => 0,
        })
        .sum();
    if bytes > MAX_BIND_BYTES {
        return Err(format!(
            "{shown} holds {} of files: a bind of the project's files carries at most {} here (bind a smaller \
             folder, or COPY it into an image)",
            crate::image::units::human_size(bytes),
            crate::image::units::human_size(MAX_BIND_BYTES)
        ));
    }
    let (blob, info) = tree
        .to_layer(&LayerOptions::default())
        .map_err(|e| e.to_string())?;
    Ok((blob, info.digest.to_string(), file))
}

/// Pack the binds of the project's files among `mounts` and upload each blob into the session's local store
/// (counted in its quota; skipped when it is there already); each bind then names its blob and is read-only.
/// Returns the notes `docker run` prints for binds typed without `:ro`. A source outside the project is a host
/// path: refused.
pub async fn project_binds<T: Transport>(
    ctx: &CommandContext<'_, T>,
    mounts: &mut [VolumeMount],
) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    for m in mounts.iter_mut() {
        let Some(bind) = m.bind.as_mut() else {
            continue;
        };
        let host = || MountFlagError::HostBind(format!("{}:{}", m.source, m.target)).to_string();
        let files = ctx.files.ok_or_else(host)?;
        if m.source.starts_with('~') {
            return Err(host());
        }
        let path = bind_path(&files.root(), &m.source).ok_or_else(host)?;
        let (blob, digest, file) = pack_bind(files, &path.rel, &path.shown)?;
        let repository = ctx.local_repository(&Reference::parse(BIND_REPOSITORY).map_err(|e| e.to_string())?);
        ctx.local_client()
            .push_blob(&repository, &digest, &blob, &Default::default(), &mut |_, _| {})
            .await
            .map_err(|e| format!("Error response from daemon: {e}"))?;
        (bind.digest, bind.file) = (digest, file);
        if !m.read_only {
            notes.push(format!(
                "{} is bound read-only at {}: a container's writes would not come back to the project's files",
                m.source, m.target
            ));
            m.read_only = true;
        }
    }
    Ok(notes)
}

/// A `docker run`/`create`'s mounts with the project's binds packed and uploaded, their notes shown through
/// `out` (on stderr). `None`: no binds (or flags the request itself refuses, with docker's words). A failure is
/// docker's, exit code 125.
pub async fn resolved_mounts<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    out: &mut super::context::Printer<'_>,
) -> Result<Option<Vec<VolumeMount>>, super::outcome::Outcome> {
    let Ok(mut mounts) = mounts_of(inv) else {
        return Ok(None);
    };
    if mounts.iter().all(|m| m.bind.is_none()) {
        return Ok(None);
    }
    match project_binds(ctx, &mut mounts).await {
        Ok(notes) => {
            for note in notes {
                out.progress(super::context::Stream::Stderr, &note);
            }
            Ok(Some(mounts))
        }
        Err(e) => Err(super::outcome::Outcome::failure(
            format!(
                "docker: {e}\n\nRun 'docker {} --help' for more information\n",
                match inv.command.id {
                    super::spec::CommandId::ContainerCreate => "create",
                    _ => "run",
                }
            ),
            125,
        )),
    }
}

/// Compose's binds of the project's files, packed and uploaded: by service name and target.
pub type ComposeBinds = std::collections::BTreeMap<(String, String), VolumeMount>;

/// Pack and upload every bind of `mounts` (a service's `volumes:` as [`VolumeMount`]s, bind sources absolute in
/// the project as Compose normalises them) into `binds`; the notes for binds not marked read-only.
pub async fn compose_binds<T: Transport>(
    ctx: &CommandContext<'_, T>,
    service: &str,
    mut mounts: Vec<VolumeMount>,
    binds: &mut ComposeBinds,
) -> Result<Vec<String>, String> {
    mounts.retain(|m| m.bind.is_some());
    let notes = project_binds(ctx, &mut mounts).await?;
    for m in mounts {
        binds.insert((service.to_string(), m.target.clone()), m);
    }
    Ok(notes)
}

/// A service container's mounts with its binds as [`compose_binds`] packed them.
pub fn apply_compose_binds(service: &str, volumes: &mut [VolumeMount], binds: &ComposeBinds) {
    for m in volumes.iter_mut().filter(|m| m.bind.is_some()) {
        if let Some(packed) = binds.get(&(service.to_string(), m.target.clone())) {
            *m = packed.clone();
        }
    }
}

/// `docker rm [-f] [-v]`, and `docker run --rm` once the container exited: remove the container, then (with
/// `anonymous_too`) the anonymous volumes its inspect named, as docker's daemon removes them with it.
pub async fn remove_container<T: Transport>(
    companion: &Companion<'_, T>,
    id: &str,
    force: bool,
    anonymous_too: bool,
) -> Result<(), CompanionError> {
    let mounts = match anonymous_too {
        true => companion
            .inspect(id)
            .await
            .map(|c| c.options.volumes)
            .unwrap_or_default(),
        false => Vec::new(),
    };
    companion.remove(id, &RemoveQuery { force }).await?;
    for m in mounts.into_iter().filter(|m| m.bind.is_none()) {
        if companion
            .volume(&m.source)
            .await
            .is_ok_and(|v| v.anonymous && v.used_by.is_empty())
        {
            let _ = companion.remove_volume(&m.source).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags_parse_as_docker_and_host_paths_are_refused() {
        let named = volume_flag("data:/var/lib/data:ro").unwrap();
        assert_eq!(
            (named.source.as_str(), named.target.as_str(), named.read_only),
            ("data", "/var/lib/data", true)
        );
        assert_eq!(volume_flag("/cache").unwrap().source, "");
        assert!(matches!(volume_flag("~/x:/y"), Err(MountFlagError::HostBind(_))));
        for bind in ["/etc:/x", "./src:/app", "../up:/x:ro", ".:/code"] {
            let parsed = volume_flag(bind).unwrap();
            assert!(
                parsed.bind.is_some() && parsed.bind.unwrap().digest.is_empty(),
                "{bind}: a bind, resolved in the project later"
            );
        }
        assert!(volume_flag("./src:/app:ro").unwrap().read_only);
        assert!(matches!(
            volume_flag("./src:/app:rw"),
            Err(MountFlagError::WritableBind(_))
        ));
        assert!(volume_flag("data:relative").is_err() && volume_flag("a:/b:rx").is_err());
        let mount = mount_flag("type=volume,src=data,dst=/d,readonly").unwrap();
        assert_eq!(
            (mount.source.as_str(), mount.target.as_str(), mount.read_only),
            ("data", "/d", true)
        );
        let bind = mount_flag("type=bind,source=./x,target=/y,readonly").unwrap();
        assert!(bind.bind.is_some() && bind.read_only && bind.source == "./x");
        assert!(mount_flag("type=bind,dst=/e")
            .unwrap_err()
            .to_string()
            .contains("field Source must not be empty"));
        assert!(mount_flag("type=tmpfs,dst=/t").is_err());
        assert!(mount_flag("src=data").is_err() && mount_flag("type=volume,bogus=1,dst=/d").is_err());
    }

    #[test]
    fn bind_sources_resolve_inside_the_project_only() {
        let rel = |root: &str, source: &str| bind_path(root, source).map(|p| p.rel);
        assert_eq!(rel("/project", "./src").as_deref(), Some("src"));
        assert_eq!(rel("/project", ".").as_deref(), Some(""));
        assert_eq!(rel("/project", "./").as_deref(), Some(""));
        assert_eq!(rel("/project", "/project/src/").as_deref(), Some("src"));
        assert_eq!(rel("/project", "/project").as_deref(), Some(""));
        assert_eq!(rel("/home/me/app", "./a/../b").as_deref(), Some("b"));
        for outside in ["/etc", "/projectx/a", "../x", "./a/../../x", "/project/../etc"] {
            assert_eq!(rel("/project", outside), None, "{outside}");
        }
        assert_eq!(bind_path("/project", "./src").unwrap().shown, "/project/src");
    }

    /// A project of two files and a folder, as the page's file tree holds one.
    struct Files(FileTree);

    impl ProjectFiles for Files {
        fn root(&self) -> String {
            "/project".into()
        }
        fn kind(&self, path: &str) -> Option<bool> {
            match self.0.get(path) {
                _ if path.is_empty() => Some(true),
                Some(Node::Dir { .. }) => Some(true),
                Some(_) => Some(false),
                None => None,
            }
        }
        fn read(&self, path: &str, name: &str, _follow: bool) -> Result<FileTree, String> {
            let mut tree = FileTree::new();
            if path.is_empty() {
                tree.insert_dir(name, crate::layer::Meta::dir()).unwrap();
            }
            for (p, node) in self.0.iter() {
                let rest = match p == path {
                    true => Some(""),
                    false if path.is_empty() => Some(p),
                    false => p.strip_prefix(path).and_then(|r| r.strip_prefix('/')),
                };
                if let Some(rest) = rest {
                    let at = match rest.is_empty() {
                        true => name.to_string(),
                        false => format!("{name}/{rest}"),
                    };
                    tree.insert(&at, node.clone()).unwrap();
                }
            }
            Ok(tree)
        }
        fn write(&self, _: &str, _: &FileTree) -> Result<(), String> {
            unreachable!()
        }
        fn stdin_tar(&self) -> Result<Vec<u8>, String> {
            unreachable!()
        }
        fn stdout_tar(&self, _: &[u8]) -> Result<(), String> {
            unreachable!()
        }
    }

    #[test]
    fn a_folder_or_a_file_packs_as_a_deterministic_layer_and_big_ones_are_refused() {
        use crate::layer::Meta;
        let mut tree = FileTree::new();
        tree.insert_dir("src", Meta::dir()).unwrap();
        tree.insert_file("src/x", b"x\n".to_vec(), Meta::root(0o644))
            .unwrap();
        tree.insert_file("README", b"hi".to_vec(), Meta::root(0o644))
            .unwrap();
        let files = Files(tree);
        let (blob, digest, file) = pack_bind(&files, "src", "/project/src").unwrap();
        assert!(!file);
        assert_eq!(digest, crate::layer::sha256(&blob).to_string());
        assert_eq!(
            pack_bind(&files, "src", "/project/src").unwrap().1,
            digest,
            "deterministic"
        );
        let mut unpacked = FileTree::new();
        unpacked
            .extract_tar(&blob, "", &crate::layer::ExtractLimits::default())
            .unwrap();
        assert!(
            matches!(unpacked.get("x"), Some(Node::File { .. })),
            "the folder's contents at the root"
        );
        let (blob, _, file) = pack_bind(&files, "README", "/project/README").unwrap();
        let mut one = FileTree::new();
        one.extract_tar(&blob, "", &crate::layer::ExtractLimits::default())
            .unwrap();
        assert!(file && matches!(one.get(BIND_FILE_NAME), Some(Node::File { .. })));
        let missing = pack_bind(&files, "nope", "/project/nope").unwrap_err();
        assert!(
            missing.ends_with("bind source path does not exist: /project/nope"),
            "{missing}"
        );

        let mut big = FileTree::new();
        big.insert_file("big", vec![0; MAX_BIND_BYTES as usize + 1], Meta::root(0o644))
            .unwrap();
        let refused = pack_bind(&Files(big), "", "/project").unwrap_err();
        assert!(refused.contains("carries at most 67.1MB here"), "{refused}");
    }
}
