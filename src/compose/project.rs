//! Loading a project as Compose does: which files (`-f`, `COMPOSE_FILE`, else `compose.yaml`... and its
//! `compose.override.yaml`), the variables (environment, then `.env`), interpolation, `include`, the merge, the
//! checks, the project name, profiles, and the defaults Compose fills in (the `default` network, names).

use std::collections::BTreeMap;

use super::check::{join, Checker};
use super::dotenv;
use super::error::{ComposeError, Pos};
use super::interpolate::{interpolate_tree, Variables};
use super::merge::merge;
use super::model::{Network, Project, ServiceNetwork, Volume};
use super::service::{labels, service, EnvFiles};
use super::tree::{self, Entry, Node, Value};

/// The project's files, by path relative to the project's root (`compose.yaml`, `app/.env`).
pub trait ProjectFiles {
    fn read(&self, path: &str) -> Option<String>;
}

impl ProjectFiles for BTreeMap<String, String> {
    fn read(&self, path: &str) -> Option<String> {
        self.get(path).cloned()
    }
}

/// The file names Compose looks for, in its order, each with its override file.
pub const FILE_NAMES: [(&str, &str); 4] = [
    ("compose.yaml", "compose.override.yaml"),
    ("compose.yml", "compose.override.yml"),
    ("docker-compose.yaml", "docker-compose.override.yaml"),
    ("docker-compose.yml", "docker-compose.override.yml"),
];

/// Whether `path` names a compose file (by Compose's names, or `*.compose.yaml`-like names given with `-f`).
pub fn is_compose_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    FILE_NAMES.iter().any(|(f, o)| name == *f || name == *o)
}

/// What the command line says: `-f`, `-p`, `--profile`, and where Compose runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub files: Vec<String>,
    pub project_name: Option<String>,
    pub profiles: Vec<String>,
    /// The environment Compose runs in (the page has none; natively, the process's).
    pub env: BTreeMap<String, String>,
    /// The project directory as shown in the model (`/project` in the page).
    pub working_dir: String,
    /// `--env-file`: read instead of `.env`.
    pub env_files: Vec<String>,
    /// `docker compose config web`: only these services and what they depend on (enabled whatever their profiles).
    pub services: Vec<String>,
    /// The editor's check of one file: required variables may be set where Compose runs ([`Variables::lenient`]).
    pub lenient_variables: bool,
}

/// A project Compose accepts, with its warnings and the files it was read from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<String>,
    /// The files read, by project path, in the order positions index them.
    pub files: Vec<String>,
}

/// A project Compose refuses: every problem found, with the files positions point into.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.render())]
pub struct LoadFailure {
    pub errors: Vec<ComposeError>,
    pub warnings: Vec<String>,
    pub files: Vec<String>,
}

impl LoadFailure {
    fn new(error: ComposeError, files: &[String], warnings: Vec<String>) -> Self {
        LoadFailure {
            errors: vec![error],
            warnings,
            files: files.to_vec(),
        }
    }

    /// One line per problem: `compose.yaml:4:5: services.web Additional property foo is not allowed`.
    pub fn render(&self) -> String {
        let lines: Vec<String> = self.errors.iter().map(|e| e.render(&self.files)).collect();
        lines.join("\n")
    }
}

/// Lowercase, and only `[a-z0-9_-]`, as Compose turns a directory's name into a project name.
pub fn normalize_project_name(name: &str) -> String {
    let lower = name.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

fn check_project_name(name: &str) -> Result<(), ComposeError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    if valid {
        Ok(())
    } else if name.is_empty() {
        Err(ComposeError::new("project name must not be empty"))
    } else {
        Err(ComposeError::new(format!(
            "invalid project name \"{name}\": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
        )))
    }
}

/// Which files to read, in order.
fn compose_files(
    files: &dyn ProjectFiles,
    opts: &Options,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, ComposeError> {
    if !opts.files.is_empty() {
        return Ok(opts.files.iter().map(|f| join("", f)).collect());
    }
    if let Some(list) = vars.get("COMPOSE_FILE").filter(|l| !l.is_empty()) {
        let sep = vars
            .get("COMPOSE_PATH_SEPARATOR")
            .map(String::as_str)
            .unwrap_or(":");
        return Ok(list.split(sep).map(|f| join("", f)).collect());
    }
    for (name, over) in FILE_NAMES {
        if files.read(name).is_some() {
            let mut found = vec![name.to_string()];
            if files.read(over).is_some() {
                found.push(over.to_string());
            }
            return Ok(found);
        }
    }
    Err(ComposeError::new("no configuration file provided: not found"))
}

/// The variables: the environment wins over `.env` (read from the project's root).
fn variables(files: &dyn ProjectFiles, opts: &Options) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut vars = BTreeMap::new();
    if opts.env_files.is_empty() {
        if let Some(text) = files.read(".env") {
            vars = dotenv::parse(".env", &text, &opts.env).map_err(|e| ComposeError::new(e.to_string()))?;
        }
    }
    for name in &opts.env_files {
        let path = join("", name);
        let text = files.read(&path).ok_or_else(|| {
            ComposeError::new(format!(
                "couldn't find env file: {}/{path}",
                opts.working_dir.trim_end_matches('/')
            ))
        })?;
        vars.extend(dotenv::parse(&path, &text, &opts.env).map_err(|e| ComposeError::new(e.to_string()))?);
    }
    vars.extend(opts.env.clone());
    Ok(vars)
}

/// Load the project.
pub fn load(files: &dyn ProjectFiles, opts: &Options) -> Result<Loaded, LoadFailure> {
    let fail = |e: ComposeError| LoadFailure::new(e, &[], Vec::new());
    let values = variables(files, opts).map_err(fail)?;
    let names = compose_files(files, opts, &values).map_err(fail)?;
    let mut reader = Reader {
        files,
        vars: Variables {
            lenient: opts.lenient_variables,
            ..Variables::new(values.clone())
        },
        read: Vec::new(),
    };
    let mut merged: Option<Node> = None;
    for name in &names {
        let node = reader
            .read_file(name, &mut Vec::new())
            .map_err(|e| reader.failure(e))?;
        match merged.as_mut() {
            Some(base) => merge(base, node),
            None => merged = Some(node),
        }
    }
    let root = merged.unwrap_or(Node::scalar(Pos::default(), ""));
    let mut checker = Checker {
        env: values.clone(),
        file_dirs: reader.read.iter().map(|f| parent(f)).collect(),
        working_dir: opts.working_dir.clone(),
        ..Checker::default()
    };
    let mut warnings = std::mem::take(&mut reader.vars.warnings);
    if let Some(v) = root.get("version") {
        let file = reader.read.get(v.pos.file).cloned().unwrap_or_default();
        warnings.push(format!(
            "{}/{file}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
            opts.working_dir.trim_end_matches('/')
        ));
    }
    let mut project = read_project(&mut checker, &root, files);
    project.working_dir = opts.working_dir.clone();
    let dir_name = opts
        .working_dir
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    project.name = opts
        .project_name
        .clone()
        .or_else(|| {
            values
                .get("COMPOSE_PROJECT_NAME")
                .filter(|n| !n.is_empty())
                .cloned()
        })
        .or_else(|| root.get("name").and_then(Node::as_str).map(str::to_string))
        .unwrap_or_else(|| normalize_project_name(dir_name));
    if let Err(e) = check_project_name(&project.name) {
        checker.errors.push(e);
    }
    project.active_profiles = opts.profiles.clone();
    if let Some(list) = values
        .get("COMPOSE_PROFILES")
        .filter(|_| opts.profiles.is_empty())
    {
        project.active_profiles = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
    }
    if checker.errors.is_empty() {
        select(&mut checker, &mut project, &opts.services);
    }
    if checker.errors.is_empty() {
        references(&mut checker, &project);
    }
    if !checker.errors.is_empty() {
        return Err(LoadFailure {
            errors: checker.errors,
            warnings,
            files: reader.read,
        });
    }
    fill_defaults(&mut project);
    Ok(Loaded {
        project,
        warnings,
        files: reader.read,
    })
}

fn parent(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

/// Reads, parses and interpolates files, following `include`.
struct Reader<'a> {
    files: &'a dyn ProjectFiles,
    vars: Variables,
    /// Every file read so far: a position's `file` indexes this.
    read: Vec<String>,
}

impl Reader<'_> {
    fn failure(&mut self, e: ComposeError) -> LoadFailure {
        LoadFailure::new(e, &self.read, std::mem::take(&mut self.vars.warnings))
    }

    fn read_file(&mut self, name: &str, including: &mut Vec<String>) -> Result<Node, ComposeError> {
        let text = self
            .files
            .read(name)
            .ok_or_else(|| ComposeError::new(format!("open {name}: no such file or directory")))?;
        let index = self.read.len();
        self.read.push(name.to_string());
        let mut node = tree::parse(index, name, &text)?;
        if !matches!(node.value, Value::Map(_)) {
            return Err(ComposeError::at(node.pos, "Top-level object must be a mapping"));
        }
        interpolate_tree(&mut node, &mut Vec::new(), &mut self.vars)?;
        including.push(name.to_string());
        self.includes(&mut node, including)?;
        including.pop();
        Ok(node)
    }

    /// `include:` entries (a path, or `path:` one or several files): their services, networks and volumes are
    /// added; one the including file also defines is a conflict, as in Compose.
    fn includes(&mut self, node: &mut Node, including: &mut Vec<String>) -> Result<(), ComposeError> {
        let Value::Map(entries) = &mut node.value else {
            return Ok(());
        };
        let Some(at) = entries.iter().position(|e| e.key == "include") else {
            return Ok(());
        };
        let include = entries.remove(at);
        let dir = parent(including.last().map(String::as_str).unwrap_or(""));
        let mut paths = Vec::new();
        for item in include
            .node
            .items()
            .ok_or_else(|| ComposeError::at(include.node.pos, "include must be a list"))?
        {
            match &item.value {
                Value::Scalar { text, .. } => paths.push((item.pos, text.clone())),
                Value::Map(_) => match item.get("path") {
                    Some(Node {
                        pos,
                        value: Value::Scalar { text, .. },
                    }) => paths.push((*pos, text.clone())),
                    Some(Node {
                        value: Value::Seq(list),
                        ..
                    }) => paths.extend(
                        list.iter()
                            .filter_map(|p| p.as_str().map(|t| (p.pos, t.to_string()))),
                    ),
                    _ => return Err(ComposeError::at(item.pos, "include path is required")),
                },
                Value::Seq(_) => {
                    return Err(ComposeError::at(
                        item.pos,
                        "include must be a list of strings or mappings",
                    ))
                }
            }
        }
        for (pos, path) in paths {
            let name = join(&dir, &path);
            if including.contains(&name) {
                return Err(ComposeError::at(
                    pos,
                    format!("include cycle detected: {} -> {name}", including.join(" -> ")),
                ));
            }
            let included = self.read_file(&name, including)?;
            add_included(node, included, pos)?;
        }
        Ok(())
    }
}

fn add_included(node: &mut Node, included: Node, pos: Pos) -> Result<(), ComposeError> {
    let Value::Map(sections) = included.value else {
        return Ok(());
    };
    for section in sections
        .into_iter()
        .filter(|s| matches!(s.key.as_str(), "services" | "networks" | "volumes"))
    {
        let Value::Map(entries) = &mut node.value else {
            return Ok(());
        };
        if !entries.iter().any(|e| e.key == section.key) {
            entries.push(Entry {
                key: section.key.clone(),
                key_pos: section.key_pos,
                node: Node {
                    pos: section.key_pos,
                    value: Value::Map(Vec::new()),
                },
            });
        }
        let target = entries
            .iter_mut()
            .find(|e| e.key == section.key)
            .map(|e| &mut e.node);
        let Some(Node {
            value: Value::Map(existing),
            ..
        }) = target
        else {
            continue;
        };
        for entry in section.node.entries().unwrap_or(&[]) {
            if existing.iter().any(|e| e.key == entry.key) {
                return Err(ComposeError::at(
                    pos,
                    format!(
                        "imported compose file defines conflicting {} {}",
                        section.key.trim_end_matches('s'),
                        entry.key
                    ),
                ));
            }
            existing.push(entry.clone());
        }
    }
    Ok(())
}

const TOP_LEVEL: &[&str] = &["version", "name", "services", "networks", "volumes"];

/// The merged tree, checked, as the model (names and defaults not filled in yet).
fn read_project(c: &mut Checker, root: &Node, files: &dyn ProjectFiles) -> Project {
    let mut project = Project::default();
    for top in c.keys(root, "(root)", TOP_LEVEL, &["secrets", "configs", "models"]) {
        match top.key.as_str() {
            "services" => {
                for entry in c
                    .map(&top.node, "services")
                    .unwrap_or(&[])
                    .iter()
                    .filter(|e| !e.key.starts_with("x-"))
                {
                    let (mut s, env_files) = service(c, entry);
                    read_env_files(c, &mut s.environment, &env_files, files, entry.key_pos);
                    project.services.insert(s.name.clone(), s);
                }
            }
            "networks" => {
                project.networks = resources(c, &top.node, "networks")
                    .into_iter()
                    .map(|(k, r)| (k, r.into_network()))
                    .collect()
            }
            "volumes" => {
                project.volumes = resources(c, &top.node, "volumes")
                    .into_iter()
                    .map(|(k, r)| (k, r.into_volume()))
                    .collect()
            }
            "name" => {
                c.string(&top.node, "name");
            }
            _ => {}
        }
    }
    project
}

/// `env_file` values under `environment` (what `environment` sets wins).
fn read_env_files(
    c: &mut Checker,
    environment: &mut BTreeMap<String, Option<String>>,
    env_files: &EnvFiles,
    files: &dyn ProjectFiles,
    pos: Pos,
) {
    for (path, required) in env_files {
        match files.read(path) {
            Some(text) => match dotenv::parse(path, &text, &c.env) {
                Ok(values) => {
                    for (k, v) in values {
                        environment.entry(k).or_insert(Some(v));
                    }
                }
                Err(e) => c.error(pos, e.to_string()),
            },
            None if *required => {
                let shown = c.project_path(Pos::new(0, 0, 0), path);
                c.error(
                    pos,
                    format!("env file {shown} not found: stat {shown}: no such file or directory"),
                );
            }
            None => {}
        }
    }
}

/// A top-level network or volume as written.
#[derive(Default)]
struct Resource {
    name: Option<String>,
    driver: Option<String>,
    external: bool,
    internal: bool,
    attachable: bool,
    labels: BTreeMap<String, String>,
}

impl Resource {
    fn into_network(self) -> Network {
        Network {
            name: self.name.unwrap_or_default(),
            driver: self.driver,
            external: self.external,
            internal: self.internal,
            attachable: self.attachable,
            labels: self.labels,
        }
    }

    fn into_volume(self) -> Volume {
        Volume {
            name: self.name.unwrap_or_default(),
            driver: self.driver,
            external: self.external,
            labels: self.labels,
        }
    }
}

fn resources(c: &mut Checker, node: &Node, section: &str) -> BTreeMap<String, Resource> {
    let mut out = BTreeMap::new();
    let (allowed, later): (&[&str], &[&str]) = if section == "networks" {
        (
            &["name", "driver", "external", "internal", "attachable", "labels"],
            &["driver_opts", "ipam", "enable_ipv4", "enable_ipv6"],
        )
    } else {
        (&["name", "driver", "external", "labels"], &["driver_opts"])
    };
    for entry in c
        .map(node, section)
        .unwrap_or(&[])
        .iter()
        .filter(|e| !e.key.starts_with("x-"))
    {
        let path = format!("{section}.{}", entry.key);
        let mut r = Resource::default();
        for e in c.keys(&entry.node, &path, allowed, later) {
            let at = format!("{path}.{}", e.key);
            match e.key.as_str() {
                "name" => r.name = c.string(&e.node, &at),
                "driver" => r.driver = c.string(&e.node, &at),
                "external" => r.external = c.boolean(&e.node, &at).unwrap_or(false),
                "internal" => r.internal = c.boolean(&e.node, &at).unwrap_or(false),
                "attachable" => r.attachable = c.boolean(&e.node, &at).unwrap_or(false),
                _ => r.labels = labels(c, &e.node, &at),
            }
        }
        out.insert(entry.key.clone(), r);
    }
    out
}

/// What services name must exist: other services, networks, volumes; and each needs an image or a build.
fn references(c: &mut Checker, project: &Project) {
    for s in project.services.values() {
        if s.image.is_none() && s.build.is_none() {
            c.error(s.pos, format!("service \"{}\" has neither an image nor a build context specified: invalid compose project", s.name));
        }
        for (dep, d) in &s.depends_on {
            if d.required && !project.services.contains_key(dep) {
                c.error(
                    s.pos,
                    format!(
                        "service \"{}\" depends on undefined service \"{dep}\": invalid compose project",
                        s.name
                    ),
                );
            }
        }
        for net in s.networks.keys() {
            if net != "default" && !project.networks.contains_key(net) {
                c.error(
                    s.pos,
                    format!(
                        "service \"{}\" refers to undefined network {net}: invalid compose project",
                        s.name
                    ),
                );
            }
        }
        for m in &s.volumes {
            if let (super::model::MountType::Volume, Some(source)) = (m.kind, &m.source) {
                if !project.volumes.contains_key(source) {
                    c.error(
                        s.pos,
                        format!(
                            "service \"{}\" refers to undefined volume {source}: invalid compose project",
                            s.name
                        ),
                    );
                }
            }
        }
    }
}

/// The defaults Compose fills in: each service without networks is on `default`, which is `PROJECT_default`;
/// resources are named `PROJECT_KEY` unless named or external.
fn fill_defaults(project: &mut Project) {
    let active = project.active_profiles.clone();
    let mut uses_default = false;
    for s in project.services.values_mut().filter(|s| s.enabled(&active)) {
        if s.networks.is_empty() {
            s.networks.insert("default".to_string(), None::<ServiceNetwork>);
        }
        uses_default |= s.networks.contains_key("default");
    }
    if uses_default && !project.networks.contains_key("default") {
        project.networks.insert("default".to_string(), Network::default());
    }
    let prefix = project.name.clone();
    for (key, n) in project.networks.iter_mut() {
        if n.name.is_empty() {
            n.name = if n.external {
                key.clone()
            } else {
                format!("{prefix}_{key}")
            };
        }
    }
    for (key, v) in project.volumes.iter_mut() {
        if v.name.is_empty() {
            v.name = if v.external {
                key.clone()
            } else {
                format!("{prefix}_{key}")
            };
        }
    }
}

/// Keep only the `named` services and those they depend on, enabled whatever their profiles.
fn select(c: &mut Checker, project: &mut Project, named: &[String]) {
    if named.is_empty() {
        return;
    }
    let mut keep: Vec<String> = Vec::new();
    let mut todo: Vec<String> = named.to_vec();
    while let Some(name) = todo.pop() {
        if keep.contains(&name) {
            continue;
        }
        match project.services.get(&name) {
            Some(s) => todo.extend(
                s.depends_on
                    .iter()
                    .filter(|(_, d)| d.required)
                    .map(|(n, _)| n.clone()),
            ),
            None => {
                c.errors
                    .push(ComposeError::new(format!("no such service: {name}")));
                return;
            }
        }
        keep.push(name);
    }
    project.disabled_services = project
        .services
        .keys()
        .filter(|name| !keep.contains(name))
        .cloned()
        .collect();
    project.services.retain(|name, _| keep.contains(name));
    let profiles: Vec<String> = project
        .services
        .values()
        .flat_map(|s| s.profiles.clone())
        .collect();
    project.active_profiles.extend(profiles);
}
