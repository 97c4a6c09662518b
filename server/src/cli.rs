//! The `slipway` command line: subcommands and their flags, dispatched to the modules that do the work.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::runtime::RuntimeChoice;

#[derive(Debug, Parser)]
#[command(
    name = "slipway",
    version,
    about = "Slipway: a container playground in the browser"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app, the embedded OCI registry (/v2/) and the container API (/api/).
    Serve(ServeArgs),
    /// Build busybox, debian and python base images from Debian packages (no Docker Hub) as OCI layouts
    /// under <data>/base-images/; valid layouts are reused, so a second run is instant.
    BaseImages(BaseImagesArgs),
    /// Parse a Dockerfile and print its instructions (`-` reads standard input).
    Parse(crate::commands::dockerfile::ParseArgs),
    /// Run the build checks on a Dockerfile and print the diagnostics.
    Lint(crate::commands::dockerfile::LintArgs),
    /// Build an image from a Dockerfile and a context directory, into an OCI layout or the companion.
    Build(crate::commands::build::BuildArgs),
    /// Remove registry blobs that no manifest references, and stale upload sessions.
    Gc(GcArgs),
    /// Load an OCI image layout (directory or tarball) or a `docker save` archive into the registry.
    Import(ImportArgs),
    /// Run a docker command (`images`, `pull busybox`, `push user/app:v1`, ...) against a running companion,
    /// through the same interpreter as the page's terminal.
    Docker(crate::commands::docker::DockerArgs),
    /// Read a password on stdin and print its argon2 hash, for a `--users` file line `name:<hash>`.
    HashPassword,
    /// Classroom mode: write an example classroom file, print the learners' sign-in cards.
    #[command(subcommand)]
    Classroom(crate::commands::classroom::ClassroomCommand),
}

#[derive(Debug, clap::Args)]
pub struct BaseImagesArgs {
    /// Directory for registry storage and container state (layouts go to <data>/base-images/<name>/).
    #[arg(long, env = "SLIPWAY_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
    /// Images to build: busybox, debian, python (or busybox:latest, ...). Default: all three.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Debian mirror for debootstrap (default: the first Debian mirror in the host's apt sources).
    #[arg(long)]
    pub mirror: Option<String>,
    /// Rebuild even when a valid layout exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory for registry storage and container state.
    #[arg(long, env = "SLIPWAY_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
    /// The built web app (Trunk's dist/ folder).
    #[arg(long, env = "SLIPWAY_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// OCI runtime: auto picks crun on cgroup v2 hosts and runc elsewhere.
    #[arg(long, value_enum, default_value_t = RuntimeChoice::Auto)]
    pub runtime: RuntimeChoice,
    /// Container state and the unpacked-layer cache. Every parent must be world-searchable (o+x): container
    /// root runs as an unprivileged host uid (user namespace) and must reach its bind mounts. The directory
    /// itself is made `root:<containers' root group>` 0710: other host users reach nothing below it.
    #[arg(long, env = "SLIPWAY_RUNNER_DIR", default_value = "/var/lib/slipway/runner")]
    pub runner_dir: PathBuf,
    /// OCI image layout directories to run images from (repeatable), searched after the session's local store
    /// and the registry.
    #[arg(long = "oci-layout", env = "SLIPWAY_OCI_LAYOUTS", value_delimiter = ':')]
    pub oci_layouts: Vec<PathBuf>,
    /// Run containers without a user namespace (container root = host root). Not for public servers.
    #[arg(long)]
    pub no_userns: bool,
    /// Containers' network: `none` = loopback only; `outbound` = loopback plus connections out through
    /// slirp4netns (user-mode NAT: `apt-get install`, `pip install` work), reaching all the host reaches except
    /// its loopback. See docs/runner-api.md before turning it on for a public server.
    #[arg(long, value_enum, env = "SLIPWAY_CONTAINER_NETWORK", default_value_t = ContainerNetworkChoice::None)]
    pub container_network: ContainerNetworkChoice,
    /// A host name this server is reached by (repeatable), besides IP addresses and `localhost`. Requests that
    /// name any other host get 403: a hostile site cannot rebind its own name to a learner's server.
    #[arg(long = "public-host", env = "SLIPWAY_PUBLIC_HOSTS", value_delimiter = ',')]
    pub public_hosts: Vec<String>,
    /// Serve the registry without users on a non-loopback address (anyone who reaches it may push and delete).
    /// Without this flag (or `--users`), `slipway serve` refuses such an address.
    #[arg(long)]
    pub open_registry: bool,
    /// Remove registry upload sessions untouched for this many seconds (a push abandoned half way); the
    /// server's collector looks every tenth of the shorter grace, between 1 s and 60 s.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub upload_grace: u64,
    /// Remove unpacked layers that no container (created, running or exited) stacks once unused for this many
    /// seconds; the next container that needs one unpacks it again.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub layer_grace: u64,
    /// Remove an expired session's local images (`slipway-local/KEY/`) once it has been expired this many
    /// seconds, then the registry blobs no repository links that are at least this old.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub local_store_grace: u64,
    /// Remove RUN steps' layers kept in the runner's `blobs/sha256/` once neither written nor stacked by a step
    /// for this many seconds (the page has uploaded them by then; a later step naming one gets a 404).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub step_blob_grace: u64,
    /// Worker threads of the async runtime that answers every request (default: one per core, tokio's
    /// default). Blocking work (disk, argon2, container stdin) runs on a separate pool either way; fewer workers
    /// leave more of a shared machine to the containers.
    #[arg(long, value_name = "N", env = "SLIPWAY_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,
    /// Run a class (docs/classroom.md): the teachers, learners, lessons and per-learner limits of this TOML
    /// file (`slipway classroom init` writes an example). Learners sign in with join codes; SIGHUP re-reads it.
    #[arg(long, value_name = "FILE", env = "SLIPWAY_CLASSROOM")]
    pub classroom: Option<PathBuf>,
    /// Containers created or running on the whole server at once, RUN steps included (exited ones do not
    /// count). Default 32; with `--classroom`, the class's need: every member at their per-learner limit
    /// (`containers` of the class file), again at each SIGHUP. Given here, it wins (the log says when it is below
    /// the class's need).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_containers: Option<u64>,
    /// Boxed: `Command::Serve` stays near the other commands' size.
    #[command(flatten)]
    pub registry: Box<RegistryArgs>,
    #[command(flatten)]
    pub connections: ConnectionArgs,
    #[command(flatten)]
    pub published_ports: PublishedPortArgs,
    #[command(flatten)]
    pub previews: crate::previews::PreviewArgs,
    #[command(flatten)]
    pub sessions: SessionArgs,
    #[command(flatten)]
    pub fair_shares: FairShareArgs,
    #[command(flatten)]
    pub embeds: EmbedArgs,
    #[command(flatten)]
    pub fetch: crate::fetch::FetchArgs,
}

/// What one docs page's runnable blocks may use (docs/embedding.md): counted by the runner frame per page load,
/// on top of the server's per-session quotas. Which sites may embed: `--embed-ancestor`.
#[derive(Debug, Clone, clap::Args)]
pub struct EmbedArgs {
    /// Containers one docs page's blocks may start (`docker run`, `docker create`). Default: no limit beyond
    /// the session quotas.
    #[arg(long, value_name = "N", env = "SLIPWAY_EMBED_CONTAINERS")]
    pub embed_containers: Option<u32>,
    /// Minutes of building one docs page's blocks may use, summed over its builds. Default: no limit.
    #[arg(long, value_name = "MINUTES", env = "SLIPWAY_EMBED_BUILD_MINUTES")]
    pub embed_build_minutes: Option<u32>,
}

impl EmbedArgs {
    pub fn budget(&self) -> slipway::api::EmbedBudget {
        slipway::api::EmbedBudget {
            containers: self.embed_containers,
            build_minutes: self.embed_build_minutes,
        }
    }
}

/// Fair shares between learners (docs/runner-api.md, "Fair shares"): each owner's parent cgroup (an owner is a
/// session) holding all their containers and RUN steps, and the admission queues of RUN steps and starts.
#[derive(Debug, clap::Args)]
pub struct FairShareArgs {
    /// Bytes of memory one session's containers and RUN steps may use together (swap included where the host
    /// accounts it); past it the OOM killer picks among that session's processes only. The default, 768 MiB,
    /// lets 30 learners at their cap fit a 24 GiB machine. Per-container limits (`-m`) apply inside it.
    #[arg(long, value_name = "BYTES", default_value_t = 768 << 20, value_parser = clap::value_parser!(i64).range(6 << 20..))]
    pub owner_memory: i64,
    /// Processes one session's containers and RUN steps may have together: a fork bomb stops there (default
    /// 512: 30 sessions at their cap stay well under the kernel's default 32,768).
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(i64).range(8..))]
    pub owner_pids: i64,
    /// Each session's CPU weight (cgroup v2 units, 1-10000; v1 gets cpu.shares = WEIGHT x 1024 / 100): busy
    /// cores are shared between sessions by weight, however many containers each runs.
    #[arg(long, value_name = "WEIGHT", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub owner_cpu_weight: u64,
    /// RUN steps running at once across the server (default: the machine's cores). Each session runs one at a
    /// time; the rest wait in a queue that takes turns between sessions, and the build output says how many are
    /// ahead. Container starts (`docker run`, `docker start`) have a queue of their own with the same bound.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub builders: Option<u32>,
    /// Seconds a container start waits for its turn before it is answered 503 (the server is busy).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub start_wait: u64,
}

impl FairShareArgs {
    pub fn fair_shares(&self) -> crate::runner::FairShares {
        let defaults = crate::runner::FairShares::default();
        crate::runner::FairShares {
            owner: crate::runner::cgroups::OwnerLimits {
                memory: self.owner_memory,
                pids: self.owner_pids,
                cpu_weight: self.owner_cpu_weight,
            },
            builders: self.builders.map_or(defaults.builders, |n| n as usize),
            start_wait: std::time::Duration::from_secs(self.start_wait),
        }
    }
}

/// The sessions the server issues (`POST /api/sessions`) to the page, `slipway docker` and embeds.
#[derive(Debug, clap::Args)]
pub struct SessionArgs {
    /// Seconds a session may go unused before it expires (its containers and local images are then out of
    /// reach: the page gets a new session). In classroom mode members' sessions last `--session-max-age`; the
    /// class file's `idle_timeout` stops an idle learner's containers instead.
    #[arg(long, value_name = "SECONDS", default_value_t = 2 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle: u64,
    /// Seconds after which a session expires however much it is used.
    #[arg(long, value_name = "SECONDS", default_value_t = 12 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_max_age: u64,
    /// New sessions one client address (an IPv6 /64) may get per minute. Behind a reverse proxy every client
    /// has the proxy's address: raise it there.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub sessions_per_minute: u32,
}

impl SessionArgs {
    pub fn limits(&self) -> crate::sessions::SessionLimits {
        crate::sessions::SessionLimits {
            idle: std::time::Duration::from_secs(self.session_idle),
            max_age: std::time::Duration::from_secs(self.session_max_age),
            per_address_per_minute: self.sessions_per_minute,
            ..Default::default()
        }
    }
}

/// Bounds on `docker run -p`: each published port is a listener on the server's host.
#[derive(Debug, clap::Args)]
pub struct PublishedPortArgs {
    /// Ports one container may publish; more are refused before any listener opens.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_published_ports: usize,
    /// Host ports containers may publish on, `LOW-HIGH`; `-p CONTAINER` picks a free one inside it. The server's
    /// own port is never given out.
    #[arg(long, value_name = "LOW-HIGH", default_value = "1024-65535", value_parser = port_range)]
    pub published_port_range: std::ops::RangeInclusive<u16>,
    /// What `docker run -p HOST:CONTAINER` publishes: `host`, a listener on the machine's loopback port HOST (one
    /// learner on their own machine), or `shared`, the session's own port HOST (nothing listens on the machine,
    /// two learners both publishing 8000 never collide, each reaches their app through its preview). Default:
    /// `host` when the server listens on loopback only and no `--public-host` is given, `shared` otherwise.
    #[arg(long = "ports", value_name = "host|shared", env = "SLIPWAY_PORTS", value_parser = ports_mode)]
    pub ports: Option<slipway::api::PortsMode>,
}

impl PublishedPortArgs {
    /// The runner's policy; `own_port` (the server's listening port) is kept out of it. `exposed`: the server
    /// is reached by others (a non-loopback address, a public host name, a classroom): `--ports` defaults to
    /// shared then.
    pub fn policy(&self, own_port: u16, exposed: bool) -> crate::runner::network::PublishPolicy {
        use slipway::api::PortsMode;
        let mode = self.ports.unwrap_or(match exposed {
            true => PortsMode::Shared,
            false => PortsMode::Host,
        });
        tracing::info!(?mode, "published ports (--ports)");
        crate::runner::network::PublishPolicy {
            max_per_container: self.max_published_ports,
            range: self.published_port_range.clone(),
            reserved: vec![own_port],
            mode,
            ..Default::default()
        }
    }
}

/// `--ports host|shared`.
fn ports_mode(text: &str) -> Result<slipway::api::PortsMode, String> {
    match text {
        "host" => Ok(slipway::api::PortsMode::Host),
        "shared" => Ok(slipway::api::PortsMode::Shared),
        _ => Err(format!("{text:?} is neither host nor shared")),
    }
}

#[cfg(test)]
mod ports_mode_tests {
    use super::PublishedPortArgs;
    use slipway::api::PortsMode;

    #[test]
    fn ports_are_the_machines_on_loopback_and_shared_once_others_reach_the_server_unless_told() {
        let args = |ports: Option<PortsMode>| PublishedPortArgs {
            max_published_ports: 16,
            published_port_range: 1024..=65535,
            ports,
        };
        assert_eq!(args(None).policy(8080, false).mode, PortsMode::Host);
        assert_eq!(args(None).policy(8080, true).mode, PortsMode::Shared);
        assert_eq!(
            args(Some(PortsMode::Host)).policy(8080, true).mode,
            PortsMode::Host
        );
        assert_eq!(
            args(Some(PortsMode::Shared)).policy(8080, false).mode,
            PortsMode::Shared
        );
        assert_eq!(super::ports_mode("shared"), Ok(PortsMode::Shared));
        assert!(super::ports_mode("nat").is_err());
    }
}

/// `LOW-HIGH` (or one port) with 1 <= LOW <= HIGH.
fn port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("{p:?} is not a port (1-65535)"))
    };
    let (low, high) = (port(low)?, port(high)?);
    if low > high {
        return Err(format!("{low} is above {high}: write LOW-HIGH"));
    }
    Ok(low..=high)
}

/// Bounds on what one client can hold: connections, their time, WebSocket messages.
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// Seconds a client has to send a request's headers, counted from when its connection opens or its previous
    /// response ends (so it also closes kept-alive connections left idle); slower clients are disconnected.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds a client may stall a transfer: a request body that stops arriving, or a response (or WebSocket
    /// output) the client stops reading, ends its connection after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Connections one client address (an IPv6 /64) may hold open at once, WebSockets included; more are closed
    /// as they arrive. Behind a reverse proxy every client has the proxy's address: raise it there.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_client: u32,
    /// Largest WebSocket message accepted, in bytes (attach and exec send keystrokes and resizes).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1024..))]
    pub max_websocket_message: u64,
}

impl ConnectionArgs {
    pub fn limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            header_timeout: std::time::Duration::from_secs(self.header_timeout),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
            per_client: self.max_connections_per_client as usize,
        }
    }
}

/// `--container-network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ContainerNetworkChoice {
    None,
    Outbound,
}

/// Limits and browser access for the embedded registry.
#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    /// Largest blob accepted, in bytes (default: no limit).
    #[arg(long, env = "SLIPWAY_MAX_BLOB_SIZE")]
    pub max_blob_size: Option<u64>,
    /// Largest manifest accepted, in bytes.
    #[arg(long, env = "SLIPWAY_MAX_MANIFEST_SIZE", default_value_t = 4 * 1024 * 1024)]
    pub max_manifest_size: u64,
    /// Bytes each namespace (`learner1` in `learner1/app`) may store, uploads in progress included; checked as
    /// upload bytes arrive (default: no quota).
    #[arg(long, env = "SLIPWAY_NAMESPACE_QUOTA")]
    pub namespace_quota: Option<u64>,
    /// Bytes each session's local image store (`slipway-local/KEY/`, what `docker build`/`push`/`pull` in the
    /// page write) may hold, uploads in progress included; checked as upload bytes arrive (with
    /// `--namespace-quota` too, the smaller holds). 0: no quota.
    #[arg(long, env = "SLIPWAY_SESSION_QUOTA", value_name = "BYTES", default_value_t = crate::registry::storage::DEFAULT_SESSION_QUOTA)]
    pub session_quota: u64,
    /// Bytes everything strangers can make the server write may take under the data and runner directories
    /// (registry blobs and uploads, unpacked layers); past it uploads and `docker run` get 507 (default: no
    /// byte quota, `--min-free-disk` alone guards the disk).
    #[arg(long, env = "SLIPWAY_DISK_QUOTA", value_name = "BYTES")]
    pub disk_quota: Option<u64>,
    /// Bytes the data directory's filesystem must keep free: writes that would go below are refused with
    /// 507. 0: no floor.
    #[arg(long, env = "SLIPWAY_MIN_FREE_DISK", value_name = "BYTES", default_value_t = crate::registry::storage::DEFAULT_MIN_FREE_DISK)]
    pub min_free_disk: u64,
    /// A browser origin allowed to call the registry (repeatable); loopback origins always are.
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Turn on `docker login`: a file of `name:<argon2 hash>` lines (see `slipway hash-password`). Each user
    /// pushes only to its own namespace. Without it the registry is open, like a local `registry:2`.
    #[arg(long, env = "SLIPWAY_USERS")]
    pub users: Option<PathBuf>,
    /// With `--users`: refuse pulls without a login too.
    #[arg(long)]
    pub no_anonymous_pull: bool,
    /// With `--users`: failed logins one user name may have per minute (a burst of as many, then one every
    /// 60/N seconds); past it the registry answers 429 TOOMANYREQUESTS with Retry-After, checking no password.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_attempts_per_user: u32,
    /// With `--users`: failed logins one client address (an IPv6 /64) may have per minute, whatever the names.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub login_attempts_per_address: u32,
    /// Pull-through cache for Docker Hub, ghcr.io and quay.io: names the registry lacks are fetched there.
    #[arg(long)]
    pub pull_through: bool,
    /// A pull-through upstream `HOST=URL` (repeatable), e.g. `docker.io=http://127.0.0.1:5000`.
    #[arg(long = "upstream", value_parser = crate::registry::upstream::Upstreams::parse_spec)]
    pub upstreams: Vec<(String, String)>,
    /// A host (`host[:port]`) the browser may reach through `/api/registry-proxy/` (repeatable), besides
    /// Docker Hub, Quay and ghcr.io. Loopback hosts are reached over plain HTTP.
    #[arg(long = "proxy-host")]
    pub proxy_hosts: Vec<String>,
}

impl RegistryArgs {
    pub fn options(&self) -> anyhow::Result<crate::registry::RegistryOptions> {
        let auth = match &self.users {
            Some(path) => Some(std::sync::Arc::new(
                crate::registry::auth::Auth::from_users_file(path, !self.no_anonymous_pull)?
                    .with_login_limits(crate::registry::login_limit::LoginLimits {
                        per_user: self.login_attempts_per_user,
                        per_address: self.login_attempts_per_address,
                    }),
            )),
            None => None,
        };
        Ok(crate::registry::RegistryOptions {
            limits: crate::registry::Limits {
                max_blob_size: self.max_blob_size,
                max_manifest_size: self.max_manifest_size,
                namespace_quota: self.namespace_quota,
                session_quota: Some(self.session_quota).filter(|q| *q > 0),
                disk_quota: self.disk_quota,
                min_free_disk: self.min_free_disk,
            },
            cors_origins: self.cors_origins.clone(),
            auth,
            upstreams: self.upstream_list(),
            proxy_hosts: self.proxy_hosts.clone(),
        })
    }

    /// `--upstream` entries, then the defaults `--pull-through` adds for hosts not given explicitly.
    fn upstream_list(&self) -> Vec<(String, String)> {
        let mut list = self.upstreams.clone();
        if self.pull_through {
            for (host, url) in crate::registry::upstream::DEFAULT_UPSTREAMS {
                if !list.iter().any(|(h, _)| h == host) {
                    list.push((host.to_string(), url.to_string()));
                }
            }
        }
        list
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// An OCI image layout directory, a tarball of one, or a `docker save` archive.
    pub source: PathBuf,
    /// The name to store it under, as `docker pull` would spell it (`busybox:1.36`, `ghcr.io/a/b:v1`).
    #[arg(long = "as")]
    pub reference: String,
    /// The data directory `slipway serve` uses.
    #[arg(long, env = "SLIPWAY_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// The data directory `slipway serve` uses.
    #[arg(long, env = "SLIPWAY_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
    /// Keep unreferenced blobs younger than this many seconds (a push in flight uploads layers first).
    #[arg(long, default_value_t = 3600)]
    pub grace: u64,
    /// Remove upload sessions untouched for this many seconds.
    #[arg(long, default_value_t = 86400)]
    pub upload_max_age: u64,
    /// Report what would be removed without removing it.
    #[arg(long)]
    pub dry_run: bool,
}

/// `$XDG_DATA_HOME/slipway`, else `~/.local/share/slipway`, else `./slipway-data`.
fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(base) => base.join("slipway"),
        None => PathBuf::from("slipway-data"),
    }
}

#[cfg(test)]
mod port_range_tests {
    use super::port_range;

    #[test]
    fn port_ranges_parse_as_low_dash_high() {
        assert_eq!(port_range("1024-65535"), Ok(1024..=65535));
        assert_eq!(port_range("8000"), Ok(8000..=8000));
        assert!(port_range("0-10").is_err());
        assert!(port_range("9000-8000").is_err());
        assert!(port_range("8000-70000").is_err());
    }
}
