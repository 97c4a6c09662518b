//! The typed, normalized Compose model (what `docker compose config` prints and what `up` will run).

use std::collections::BTreeMap;

use super::error::Pos;

/// The loaded project: every service (also those its profiles leave out), networks and volumes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Project {
    pub name: String,
    /// The project directory as shown (`/project` in the page).
    pub working_dir: String,
    pub services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, Network>,
    pub volumes: BTreeMap<String, Volume>,
    /// The active profiles (`--profile`, `COMPOSE_PROFILES`).
    pub active_profiles: Vec<String>,
    /// Services of the files left out because the line named others (`up web`): Compose's
    /// `DisabledServiceNames`, whose containers are not orphans.
    pub disabled_services: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    pub name: String,
    /// Where the service is defined (its key in `services:`).
    pub pos: Pos,
    pub profiles: Vec<String>,
    pub build: Option<Build>,
    pub command: Option<Vec<String>>,
    pub container_name: Option<String>,
    pub depends_on: BTreeMap<String, Dependency>,
    pub limits: Option<Limits>,
    pub entrypoint: Option<Vec<String>>,
    /// `None` values are variables named without a value and not set anywhere (`FOO: null`).
    pub environment: BTreeMap<String, Option<String>>,
    pub expose: Vec<String>,
    pub healthcheck: Option<Healthcheck>,
    pub image: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Network name -> aliases on it.
    pub networks: BTreeMap<String, Option<ServiceNetwork>>,
    pub ports: Vec<Port>,
    /// `pull_policy`: `always`, `never`, `missing` (`if_not_present`), `build`.
    pub pull_policy: Option<String>,
    pub restart: Option<String>,
    pub scale: Option<u64>,
    pub stdin_open: Option<bool>,
    pub tty: Option<bool>,
    pub user: Option<String>,
    pub volumes: Vec<Mount>,
    pub working_dir: Option<String>,
}

impl Service {
    /// Whether the active profiles enable the service (services without profiles always are).
    pub fn enabled(&self, active: &[String]) -> bool {
        self.profiles.is_empty()
            || self.profiles.iter().any(|p| p == "*" || active.contains(p))
            || active.iter().any(|a| a == "*")
    }

    /// The name of the service's `n`th container: `PROJECT-SERVICE-N`, or its `container_name`.
    pub fn container_name(&self, project: &str, n: u64) -> String {
        match &self.container_name {
            Some(name) => name.clone(),
            None => format!("{project}-{}-{n}", self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Build {
    /// Absolute as shown (`/project/app`).
    pub context: String,
    pub dockerfile: String,
    pub args: BTreeMap<String, Option<String>>,
    pub labels: BTreeMap<String, String>,
    pub target: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub condition: String,
    pub restart: bool,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Limits {
    pub cpus: Option<f64>,
    pub memory: Option<u64>,
    pub pids: Option<i64>,
}

/// A Go duration in nanoseconds (`1m30s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub u64);

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Healthcheck {
    pub test: Option<Vec<String>>,
    pub timeout: Option<Duration>,
    pub interval: Option<Duration>,
    pub retries: Option<u64>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub disable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
}

/// A port in Compose's long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub name: Option<String>,
    pub mode: String,
    pub host_ip: Option<String>,
    pub target: u16,
    pub published: Option<String>,
    pub protocol: String,
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Volume,
    Bind,
    Tmpfs,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Volume => "volume",
            MountType::Bind => "bind",
            MountType::Tmpfs => "tmpfs",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    /// A volume's name (none: anonymous) or a bind's path (absolute as shown).
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// Short syntax binds create their source directory (`bind: create_host_path: true`).
    pub create_host_path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Network {
    /// The engine's name: `PROJECT_KEY` unless `name:` or `external` says otherwise.
    pub name: String,
    pub driver: Option<String>,
    pub external: bool,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Volume {
    pub name: String,
    pub driver: Option<String>,
    pub external: bool,
    pub labels: BTreeMap<String, String>,
}
