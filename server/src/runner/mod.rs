//! The runner: real containers under runc for `docker run` and for the RUN steps of builds.
//!
//! Images come from an [`images::ImageSource`]; their layers are unpacked once per digest ([`unpack`]), stacked
//! with overlayfs ([`overlay`]) and run from an OCI runtime spec ([`spec`]) in fresh namespaces with limits.
//! [`lifecycle`] starts, stops and reaps them; [`step`] turns a RUN step's upper dir into a layer ([`diff`]);
//! [`api`] is the HTTP surface (`/api/containers...`, documented in `docs/runner-api.md`).

pub mod admission;
pub mod api;
pub mod binds;
pub mod cgroups;
pub mod copy;
pub mod diff;
pub mod dns;
pub mod events;
pub mod events_api;
pub mod exec;
pub mod fixture;
pub mod health;
pub mod health_api;
pub mod images;
pub mod io;
pub mod keep;
pub mod layer_gc;
pub mod lifecycle;
pub mod logs;
pub mod manage;
pub mod network;
pub mod networks;
pub mod networks_api;
pub mod networks_ns;
pub mod outbound;
pub mod overlay;
pub mod pace;
pub mod preview_token;
pub mod proxy;
pub mod registry_source;
pub mod resources;
pub mod restart;
pub mod runc;
pub mod seccomp;
pub mod spec;
pub mod step;
mod step_mounts;
pub mod system;
pub mod tty;
pub mod unpack;
pub mod users;
pub mod volumes;
pub mod volumes_api;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub use api::router;
pub use health::Health;
pub use images::{ImageSource, OciLayoutSource};
pub use lifecycle::{Container, Status};
pub use registry_source::RegistryImageSource;
pub use restart::Restarts;
pub use spec::{Limits, RunOptions};
pub use step::{RunStep, StepResult};

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(transparent)]
    Image(#[from] images::ImageError),
    #[error(transparent)]
    Unpack(#[from] unpack::UnpackError),
    #[error(transparent)]
    Overlay(#[from] overlay::OverlayError),
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    User(#[from] users::UserError),
    #[error(transparent)]
    Runtime(#[from] runc::RuncError),
    #[error("No such container: {0}")]
    NotFound(String),
    /// `docker create --platform P` of an image of another platform: moby's words, a not-found error (404).
    #[error("{0}")]
    PlatformMismatch(String),
    /// A refusal in dockerd's own words (`container ID is not running`), answered 409.
    #[error("{0}")]
    Refused(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Publish(#[from] network::PublishError),
    #[error(transparent)]
    Network(#[from] networks::NetworkError),
    #[error(transparent)]
    Volume(#[from] volumes::VolumeError),
    /// The session's own limit ([`Runner::max_per_session`]).
    #[error("too many containers (limit {0}): you may have {0} created or running at once; remove one you no longer need (docker ps -a, docker rm)")]
    TooMany(usize),
    /// The whole server's limit ([`Runner::max_containers`]), whoever holds the containers.
    #[error("the server runs as many containers as it may ({0} across everyone): try again in a moment, or ask the server's operator to raise --max-containers")]
    ServerFull(usize),
    /// The admission queue did not give a container start its turn in time (503).
    #[error("{0}")]
    Busy(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn io_ctx(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunnerError {
    let context = context.into();
    move |source| RunnerError::Io { context, source }
}

/// How the runner is set up; the defaults are the safe ones.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Everything the runner writes lives below this (layers, containers, runtime state, blobs).
    pub data_dir: PathBuf,
    /// The OCI runtime binary (runc).
    pub runtime: PathBuf,
    /// Map container root to an unprivileged host range (user namespace).
    pub userns: Option<unpack::IdShift>,
    pub defaults: Limits,
    pub ceilings: Limits,
    pub unpack_limits: unpack::UnpackLimits,
    /// Containers are killed after this long.
    pub wall_clock: Duration,
    /// SIGTERM → SIGKILL grace for `stop`.
    pub stop_grace: Duration,
    /// Containers created or running on the whole server at once (exited ones do not count): `--max-containers`,
    /// or in classroom mode sized from the class (`classroom::capacity`).
    pub max_containers: usize,
    /// Containers one session (the `X-Slipway-Session` header) may have created or running at once.
    pub max_per_session: usize,
    /// Exited containers a session keeps for `ps -a`, `logs` and `inspect`; past it the oldest are removed.
    pub max_exited_per_session: usize,
    pub max_log_bytes: usize,
    /// Size limit of a container's writable layer: its upper dir lives on a tmpfs of this size (whose pages are
    /// charged to the container's memory cgroup). None: upper dir on the runner's disk, unbounded.
    pub writable_limit: Option<u64>,
    /// Loopback only, or outbound connections too (operator's choice, `--container-network`).
    pub network: outbound::ContainerNetwork,
    /// Largest message an attach or exec WebSocket accepts (keystrokes and resizes are a few bytes).
    pub max_websocket_message: usize,
    /// How many ports a container may publish, and on which host ports.
    pub publish: network::PublishPolicy,
    /// Each owner's parent cgroup and the admission queues.
    pub fair_shares: FairShares,
}

/// Fair shares between owners (docs/runner-api.md, "Fair shares"): what each owner's parent cgroup allows, and
/// how many RUN steps and container starts are admitted at once.
#[derive(Debug, Clone)]
pub struct FairShares {
    pub owner: cgroups::OwnerLimits,
    /// RUN steps running at once across the server (one per owner); container starts have a queue of their own
    /// with the same bound. Default: the machine's cores.
    pub builders: usize,
    /// How long a container start waits for its turn before it is answered 503.
    pub start_wait: Duration,
}

impl Default for FairShares {
    fn default() -> Self {
        FairShares {
            owner: cgroups::OwnerLimits::default(),
            builders: std::thread::available_parallelism().map_or(2, |n| n.get()),
            start_wait: Duration::from_secs(60),
        }
    }
}

impl RunnerConfig {
    pub fn new(data_dir: PathBuf, runtime: PathBuf) -> Self {
        RunnerConfig {
            data_dir,
            runtime,
            userns: Some(unpack::IdShift {
                base: 100_000,
                size: 65_536,
            }),
            defaults: Limits::default(),
            ceilings: Limits {
                memory: 2 << 30,
                pids: 1024,
                cpus: 2.0,
            },
            unpack_limits: unpack::UnpackLimits::default(),
            wall_clock: Duration::from_secs(30 * 60),
            stop_grace: Duration::from_secs(10),
            max_containers: 32,
            max_per_session: 8,
            max_exited_per_session: 16,
            max_log_bytes: 4 << 20,
            writable_limit: Some(1 << 30),
            network: outbound::ContainerNetwork::None,
            max_websocket_message: 1 << 20,
            publish: network::PublishPolicy::default(),
            fair_shares: FairShares::default(),
        }
    }
}

/// The runner: owns the layer store, the runtime state root and the table of containers.
#[derive(Debug)]
pub struct Runner {
    pub config: RunnerConfig,
    pub images: Arc<dyn ImageSource>,
    /// The embedded registry's storage, where RUN steps naming a `repository` commit their layer.
    pub registry: Option<Arc<crate::registry::Store>>,
    pub layers: unpack::LayerStore,
    pub(crate) runc: runc::Runc,
    containers: Mutex<HashMap<String, Arc<Container>>>,
    pub execs: exec::ExecTable,
    /// Held shared from a creation's first unpack until its container is in the table, exclusively by the layer
    /// collector: a layer handed to a container being created is never collected before the table shows it.
    pub(crate) creating: Arc<tokio::sync::RwLock<()>>,
    /// Slots held by creates that have not put their container in the table yet, per session.
    pending: Arc<Mutex<HashMap<String, usize>>>,
    /// Containers whose processes are frozen (`docker pause`), by id ([`manage`]).
    paused: Mutex<HashSet<String>>,
    /// Names given by `docker rename`, by id: they replace [`Container::name`] ([`Runner::name_of`]).
    renamed: Mutex<HashMap<String, String>>,
    /// The owners' parent cgroups ([`cgroups`]).
    pub owners: Arc<cgroups::OwnerCgroups>,
    /// RUN steps wait here for a builder ([`admission`]).
    pub builders: admission::Admission,
    /// Container starts wait here for their turn.
    pub starts: admission::Admission,
    /// [`RunnerConfig::max_per_session`] now (a classroom reload changes it: [`Runner::set_max_per_session`]).
    max_per_session: std::sync::atomic::AtomicUsize,
    /// [`RunnerConfig::max_containers`] now (a classroom reload changes it: [`Runner::set_max_containers`]).
    max_containers: std::sync::atomic::AtomicUsize,
    /// RUN steps asked to stop, by container id, with the reason their build is told ([`step`]).
    pub(crate) stopped_steps: Mutex<HashMap<String, String>>,
    /// The sessions' user networks ([`networks`]).
    pub networks: networks::Networks,
    /// The sessions' volumes on disk ([`volumes`]).
    pub volumes: volumes::Volumes,
    /// The sessions' `docker events` ([`events`]).
    pub events: events::EventLog,
}

/// A container slot, taken by `create` before the image is resolved or any layer unpacked and counted like a
/// live container until [`Runner::insert`] turns it into one; dropped (a failed create), it is given back.
#[derive(Debug)]
pub(crate) struct Slot {
    /// None once given back.
    pending: Option<Arc<Mutex<HashMap<String, usize>>>>,
    session: String,
}

impl Slot {
    /// Give the slot back (its container is in the table now, or the create failed).
    fn release(&mut self, pending: &mut HashMap<String, usize>) {
        if self.pending.take().is_none() {
            return;
        }
        if let Some(n) = pending.get_mut(&self.session) {
            *n -= 1;
            if *n == 0 {
                pending.remove(&self.session);
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.clone() {
            self.release(&mut pending.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

/// 32 random bytes as hex: container ids.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..16].copy_from_slice(&t.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
];
const NOUNS: &[&str] = &[
    "otter", "falcon", "badger", "heron", "lynx", "panda", "quokka", "raven", "seal", "wombat",
];

fn default_name(id: &str) -> String {
    let b = u8::from_str_radix(&id[..2], 16).unwrap_or(0) as usize;
    let c = u8::from_str_radix(&id[2..4], 16).unwrap_or(0) as usize;
    format!(
        "{}_{}_{}",
        ADJECTIVES[b % ADJECTIVES.len()],
        NOUNS[c % NOUNS.len()],
        &id[4..8]
    )
}

/// Make `dir` reachable by the server and by container root only: owned by root, its group the host gid of
/// the containers' root (`shift`), mode 0710 (no listing, and nothing at all for other host users). Set again
/// at every start: an older server left these 0755 and volumes' 0711.
pub(crate) fn private_dir(dir: &std::path::Path, shift: unpack::IdShift) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::os::unix::fs::chown(dir, Some(0), Some(shift.to_host(0)))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))
}

/// One row of `docker ps`: the protocol's.
pub use slipway::api::ContainerSummary as Summary;

impl Runner {
    /// Set up directories and become the reaper of detached container processes.
    pub fn new(config: RunnerConfig, images: Arc<dyn ImageSource>) -> Result<Self, RunnerError> {
        let data = &config.data_dir;
        for sub in ["", "layers", "c", "runtime", "blobs/sha256"] {
            let dir = data.join(sub);
            std::fs::create_dir_all(&dir).map_err(io_ctx(format!("creating {}", dir.display())))?;
        }
        // Container root (an unprivileged host uid in a user namespace) must traverse to its rootfs and binds;
        // nobody else may: the runner's root and `c/` are `root:<container root's group>` 0710.
        let shift = config.userns.unwrap_or(unpack::IdShift::NONE);
        for sub in ["", "c"] {
            private_dir(&data.join(sub), shift)
                .map_err(io_ctx(format!("securing {}", data.join(sub).display())))?;
        }
        // runc create/start exit before the container does; its init is re-parented to us so we can reap it.
        rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .map_err(|e| io_ctx("PR_SET_CHILD_SUBREAPER")(e.into()))?;
        let layers = unpack::LayerStore::new(
            data.join("layers"),
            config.unpack_limits,
            config.userns.unwrap_or(unpack::IdShift::NONE),
        )
        .map_err(io_ctx("layer store"))?;
        let runc = runc::Runc {
            path: config.runtime.clone(),
            root: data.join("runtime"),
        };
        let owners = Arc::new(cgroups::OwnerCgroups::new(data, config.fair_shares.owner));
        let builders = admission::Admission::new(config.fair_shares.builders);
        let starts = admission::Admission::new(config.fair_shares.builders);
        let networks = networks::Networks::new(config.network.is_outbound());
        let volumes = volumes::Volumes::new(
            data.join("volumes"),
            config.userns.unwrap_or(unpack::IdShift::NONE),
        );
        Ok(Runner {
            max_per_session: config.max_per_session.into(),
            max_containers: config.max_containers.into(),
            stopped_steps: Mutex::default(),
            networks,
            volumes,
            events: events::EventLog::default(),
            owners,
            builders,
            starts,
            config,
            images,
            registry: None,
            layers,
            runc,
            containers: Mutex::new(HashMap::new()),
            execs: exec::ExecTable::default(),
            creating: Arc::new(tokio::sync::RwLock::new(())),
            pending: Arc::default(),
            paused: Mutex::default(),
            renamed: Mutex::default(),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Container>>> {
        self.containers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Find by full id, unique id prefix, or name (any session).
    pub fn get(&self, key: &str) -> Result<Arc<Container>, RunnerError> {
        self.get_in(None, key)
    }

    /// Find by full id, unique id prefix, or name among the containers of `session` (all when None).
    pub fn get_in(&self, session: Option<&str>, key: &str) -> Result<Arc<Container>, RunnerError> {
        let table = self.table();
        let visible = |c: &&Arc<Container>| session.is_none_or(|s| c.session == s);
        if let Some(c) = table.get(key).filter(visible) {
            return Ok(c.clone());
        }
        let matches: Vec<_> = table
            .values()
            .filter(visible)
            .filter(|c| self.name_of(c) == key || (key.len() >= 4 && c.id.starts_with(key)))
            .cloned()
            .collect();
        match matches.len() {
            1 => Ok(matches[0].clone()),
            0 => Err(RunnerError::NotFound(key.to_string())),
            _ => Err(RunnerError::Conflict(format!(
                "{key:?} matches several containers"
            ))),
        }
    }

    /// The containers (RUN steps' too) whose session `live` says is gone.
    pub fn orphans(&self, live: impl Fn(&str) -> bool) -> Vec<Arc<Container>> {
        self.table()
            .values()
            .filter(|c| !live(&c.session))
            .cloned()
            .collect()
    }

    pub fn list(&self, all: bool) -> Vec<Summary> {
        self.list_in(None, all)
    }

    /// `docker ps [-a]` for one session (all sessions when None).
    pub fn list_in(&self, session: Option<&str>, all: bool) -> Vec<Summary> {
        let mut rows: Vec<Summary> = self
            .table()
            .values()
            .filter(|c| session.is_none_or(|s| c.session == s) && c.image != lifecycle::BUILD_STEP_IMAGE)
            .map(|c| self.summary_of(c))
            .filter(|s| all || s.status == Status::Running || s.restarting)
            .collect();
        rows.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        rows
    }

    /// Check the container-count limits for one more container of `session` and hold its slot: cheap, and
    /// taken before anything is unpacked, so parallel creates past the limit are refused before any work.
    pub(crate) fn reserve_slot(&self, session: &str) -> Result<Slot, RunnerError> {
        let table = self.table();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        self.check_counts(&table, &pending, session, 0)?;
        *pending.entry(session.to_string()).or_default() += 1;
        Ok(Slot {
            pending: Some(self.pending.clone()),
            session: session.to_string(),
        })
    }

    /// Whether one more container of `session` fits: live (created or running) containers and the slots held
    /// by creates in progress count, less `own` slots held by the caller itself.
    fn check_counts(
        &self,
        table: &HashMap<String, Arc<Container>>,
        pending: &HashMap<String, usize>,
        session: &str,
        own: usize,
    ) -> Result<(), RunnerError> {
        let live = |o: &&Arc<Container>| o.state().status != lifecycle::Status::Exited;
        // The session's own limit first: a learner at it is told about theirs, whatever the server holds.
        let mine = table
            .values()
            .filter(|o| o.session == session)
            .filter(live)
            .count();
        let mine_held = pending.get(session).copied().unwrap_or(0) - own;
        let per_session = self.max_per_session();
        if mine + mine_held >= per_session {
            return Err(RunnerError::TooMany(per_session));
        }
        let held: usize = pending.values().sum::<usize>() - own;
        let everyone = self.max_containers();
        if table.values().filter(live).count() + held >= everyone {
            return Err(RunnerError::ServerFull(everyone));
        }
        Ok(())
    }

    /// Admit a new container: only live (created or running) containers and held slots count against the
    /// limits (`slot`: the one this create took first, which becomes the container), and the session's oldest
    /// exited containers past [`RunnerConfig::max_exited_per_session`] are removed (their writable layers went
    /// at exit; what remains is their logs and state).
    pub(crate) fn insert(&self, c: Arc<Container>, mut slot: Option<Slot>) -> Result<(), RunnerError> {
        let mut table = self.table();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let own = usize::from(slot.as_ref().is_some_and(|s| s.pending.is_some()));
        self.check_counts(&table, &pending, &c.session, own)?;
        if let Some(slot) = slot.as_mut() {
            slot.release(&mut pending);
        }
        drop(pending);
        if table
            .values()
            .any(|o| o.session == c.session && self.name_of(o) == c.name)
        {
            return Err(RunnerError::Conflict(format!(
                "the container name {:?} is already in use",
                c.name
            )));
        }
        let mut exited: Vec<(u64, String)> = table
            .values()
            .filter(|o| o.session == c.session && o.state().status == lifecycle::Status::Exited)
            .map(|o| {
                (
                    o.exit_order.load(std::sync::atomic::Ordering::Relaxed),
                    o.id.clone(),
                )
            })
            .collect();
        exited.sort();
        let excess = exited.len().saturating_sub(self.config.max_exited_per_session);
        for (_, id) in exited.into_iter().take(excess) {
            if let Some(old) = table.remove(&id) {
                self.execs.remove_container(&id);
                self.networks.forget(&id);
                lifecycle::cleanup_dir(&old.dir);
            }
        }
        table.insert(c.id.clone(), c);
        Ok(())
    }

    /// Containers one session may have created or running at once, now.
    pub fn max_per_session(&self) -> usize {
        self.max_per_session.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A new per-session container limit: containers past it keep running, new ones are refused until there is
    /// room.
    pub fn set_max_per_session(&self, limit: usize) {
        self.max_per_session
            .store(limit.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Containers the whole server may have created or running at once, now.
    pub fn max_containers(&self) -> usize {
        self.max_containers.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A new server-wide container limit (a class that grew): containers past it keep running, new ones are
    /// refused until there is room.
    pub fn set_max_containers(&self, limit: usize) {
        self.max_containers
            .store(limit.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn forget(&self, id: &str) {
        self.execs.remove_container(id);
        self.networks.forget(id);
        let gone = self.table().remove(id);
        if let Some(c) = gone {
            self.container_event(&c, "destroy", &[]);
        }
        self.forget_names_and_pauses(id);
    }

    /// Unpack (once) every layer blob, returning the directories bottom first. Blocking. What a first unpack
    /// writes is taken from the server's disk budget (the registry's, which then counts the runner's layers and
    /// blobs too): past it the answer is the registry's 507 `DENIED` error.
    pub fn unpack_layers(&self, layers: &[images::LayerBlob]) -> Result<Vec<PathBuf>, RunnerError> {
        let budget = self.disk_budget();
        layers
            .iter()
            .map(|l| match self.layers.ensure_within(&l.digest, &l.path, budget) {
                Ok(dir) => Ok(dir),
                Err(unpack::UnpackError::DiskFull(full)) => {
                    Err(crate::registry::RegistryError::from(full).into())
                }
                Err(e) => Err(e.into()),
            })
            .collect()
    }

    /// The server's disk budget, counting the runner's unpacked layers and RUN-step blobs.
    pub fn disk_budget(&self) -> Option<&crate::registry::quota::DiskBudget> {
        let budget = &self.registry.as_ref()?.disk;
        for sub in ["layers", "blobs", "volumes", "cache-mounts", "c"] {
            budget.add_root(&self.config.data_dir.join(sub));
        }
        Some(budget)
    }

    /// Where container `id` keeps its bundle, overlay dirs and /etc files (short: socket paths have a limit).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.config.data_dir.join("c").join(&id[..16])
    }

    /// Server shutdown: kill and remove every container (nothing outlives the server).
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Container>> = self.table().values().cloned().collect();
        for c in all {
            if let Err(e) = self.remove(&c, true).await {
                tracing::warn!(id = %c.id, error = %e, "removing container at shutdown");
            }
        }
        self.networks.clear();
        self.owners.sweep();
    }

    /// Crash recovery: kill and delete every container in our runtime root, unmount and remove stale dirs.
    pub async fn reconcile(&self) -> Result<usize, RunnerError> {
        self.sweep(false).await
    }

    /// Kill and delete every container of this runner, known or not, without the tasks that watch them (a
    /// test's cleanup, when the runtime those tasks live on is stopped).
    #[cfg(test)]
    pub(crate) async fn sweep_everything(&self) -> usize {
        self.sweep(true).await.unwrap_or(0)
    }

    async fn sweep(&self, known_too: bool) -> Result<usize, RunnerError> {
        let ids = self.runc.list().await.unwrap_or_default();
        for id in &ids {
            let _ = self.runc.kill(id, "KILL", true).await;
            let _ = self.runc.delete(id).await;
        }
        let cdir = self.config.data_dir.join("c");
        let known: Vec<PathBuf> = match known_too {
            true => Vec::new(),
            false => self.table().keys().map(|id| self.container_dir(id)).collect(),
        };
        let mut removed = 0;
        if let Ok(entries) = std::fs::read_dir(&cdir) {
            for e in entries.flatten() {
                let dir = e.path();
                if known.contains(&dir) {
                    continue;
                }
                lifecycle::cleanup_dir(&dir);
                removed += 1;
            }
        }
        self.owners.sweep();
        Ok(ids.len().max(removed))
    }
}

/// Prepare a container directory: overlay over `lowers`, the /etc files, and the resolved user. Blocking.
pub(crate) fn prepare_rootfs(
    runner: &Runner,
    dir: &Path,
    lowers: &[PathBuf],
    hostname: &str,
) -> Result<(), RunnerError> {
    for sub in ["rw", "rootfs", "empty"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(io_ctx(format!("creating {sub}")))?;
    }
    let root_id = runner.config.userns.unwrap_or(unpack::IdShift::NONE).to_host(0);
    spec::write_etc_files(&dir.join("etc"), hostname, runner.config.network.is_outbound())
        .map_err(io_ctx("writing /etc files"))?;
    for f in ["hosts", "hostname", "resolv.conf"] {
        let _ = std::os::unix::fs::lchown(dir.join("etc").join(f), Some(root_id), Some(root_id));
    }
    mount_writable(runner, dir, lowers, None)
}

/// Mount the container's writable layer (a tmpfs of [`RunnerConfig::writable_limit`], or the disk) and its
/// rootfs over `lowers`. `kept`: the changes of an earlier run ([`keep`]), unpacked into the upper dir first, with
/// the layer unpacker's rules.
pub(crate) fn mount_writable(
    runner: &Runner,
    dir: &Path,
    lowers: &[PathBuf],
    kept: Option<&Path>,
) -> Result<(), RunnerError> {
    let shift = runner.config.userns.unwrap_or(unpack::IdShift::NONE);
    if let Some(limit) = runner.config.writable_limit {
        let data = std::ffi::CString::new(format!("size={limit},mode=0755")).unwrap_or_default();
        let flags = rustix::mount::MountFlags::NODEV | rustix::mount::MountFlags::NOSUID;
        rustix::mount::mount("slipway-rw", dir.join("rw"), "tmpfs", flags, data.as_c_str())
            .map_err(|e| io_ctx("mounting the writable layer's tmpfs")(e.into()))?;
    }
    let (upper, work) = (dir.join("rw/upper"), dir.join("rw/work"));
    for d in [&upper, &work] {
        std::fs::create_dir_all(d).map_err(io_ctx("creating the upper dir"))?;
    }
    // The overlay root takes the upper dir's owner and mode: container root, 0755.
    let root_id = shift.to_host(0);
    std::os::unix::fs::lchown(&upper, Some(root_id), Some(root_id)).map_err(io_ctx("chown upper"))?;
    if let Some(kept) = kept {
        let blob = std::fs::File::open(kept).map_err(io_ctx("opening the kept writable layer"))?;
        unpack::unpack_layer(blob, &upper, runner.config.unpack_limits, shift, None)?;
    }
    overlay::mount(lowers, &dir.join("empty"), &upper, &work, &dir.join("rootfs"))?;
    Ok(())
}

#[cfg(test)]
mod slot_tests {
    use super::*;

    #[test]
    fn slots_count_like_containers_and_come_back_when_dropped() {
        let data = tempfile::tempdir().unwrap();
        let mut config = RunnerConfig::new(data.path().to_path_buf(), "/nonexistent/runc".into());
        (config.max_per_session, config.max_containers) = (2, 3);
        let runner = Runner::new(config, Arc::new(OciLayoutSource::new(vec![]))).unwrap();
        let a1 = runner.reserve_slot("a").unwrap();
        let a2 = runner.reserve_slot("a").unwrap();
        assert!(matches!(runner.reserve_slot("a"), Err(RunnerError::TooMany(2))));
        let b1 = runner.reserve_slot("b").unwrap();
        assert!(matches!(
            runner.reserve_slot("c"),
            Err(RunnerError::ServerFull(3))
        ));
        drop(a1);
        let a3 = runner.reserve_slot("a").unwrap();
        drop((a2, a3, b1));
        assert!(runner.pending.lock().unwrap().is_empty());
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod step_tests;

#[cfg(test)]
mod lifecycle_tests;

#[cfg(test)]
mod tests_hostile;

#[cfg(test)]
mod api_tests;
