//! Container lifecycle: create (image → rootfs + spec), start (runtime create/start, output pumps, port
//! publishers), the monitor that reaps the init process and cleans up, stop/kill/remove/wait.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oci_spec::image::ImageConfiguration;
use slipway::api::PlatformInfo;
use tokio::sync::watch;

use super::admission::Permit;
use super::cgroups::{owner_key, OwnerCgroup, OwnerCgroups};
use super::io::ProcessIo;
use super::network::Publisher;
use super::outbound::{ContainerNetwork, Slirp};
use super::spec::{self, RunOptions, SpecContext};
use super::{io_ctx, overlay, users, Runner, RunnerError, Summary};

/// The image name of the transient containers of RUN steps (not listed by `docker ps`, kept on exit for the
/// step's diff).
pub const BUILD_STEP_IMAGE: &str = "(build step)";

/// A container's status, and what `inspect`, `wait` and `stop` show of its state: the protocol's types.
pub use slipway::api::{ContainerState as State, ContainerStatus as Status};

#[derive(Debug)]
pub struct Container {
    pub id: String,
    /// Only requests of this session see the container.
    pub session: String,
    pub name: String,
    pub image: String,
    pub opts: RunOptions,
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub created: u64,
    pub io: ProcessIo,
    state: Mutex<State>,
    status_tx: watch::Sender<Status>,
    ports: Mutex<Vec<Publisher>>,
    /// slirp4netns while the container runs, with `--container-network outbound`.
    outbound: Mutex<Option<Slirp>>,
    /// Directories created as mount points before the run (for RUN step diffs).
    pub(crate) placeholders: Vec<String>,
    pub(crate) lowers: Vec<PathBuf>,
    /// When it exited, in the server's order of exits (0 while it has not): `finished_at` has only seconds.
    pub(crate) exit_order: std::sync::atomic::AtomicU64,
    /// Told when an attach session ends: see [`ATTACH_GRACE`].
    pub(crate) attach_ended: tokio::sync::Notify,
    /// Its `attach` event was recorded at its start, for the attach WebSocket a `docker run -i`/`-t` client
    /// opens after it (`api.rs`): that first attach records none again.
    pub(crate) attach_recorded: std::sync::atomic::AtomicBool,
    /// The container's preview token (`crate::previews`): its web app is reached with it, on the preview origin.
    pub preview_token: String,
    /// Its cgroups path, under its owner's parent cgroup (`/slipway/o-.../ID`, [`super::cgroups`]).
    pub cgroup: String,
    /// The hold on its owner's cgroup, given back once its own cgroup is gone (at exit, or removed unstarted).
    owner_cgroup: Mutex<Option<OwnerCgroup>>,
    /// A start again of the stopped container is mounting its rootfs (`keep.rs`).
    starting_again: std::sync::atomic::AtomicBool,
    /// The limits `docker update` changed (`resources.rs`), over [`Container::opts`]'.
    updated_limits: Mutex<slipway::api::UpdateLimits>,
    /// Its healthcheck's state (`health.rs`).
    pub(crate) health: super::Health,
    /// Its restart policy's state (`restart.rs`).
    pub(crate) restarts: super::Restarts,
}

/// The server's count of container exits, for [`Container::exit_order`].
static EXITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How long an `--rm` container run with `-i`/`-t` stays after its process ended, unless an attach session
/// ends first: the client attaches after the start, and a quick process (`docker run -it --rm IMAGE stty size`)
/// may be gone by then; its output and exit code are still owed to that attach, as docker's attach-before-start
/// gives them.
pub(crate) const ATTACH_GRACE: Duration = Duration::from_secs(30);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The state of a container that was never started.
fn created_state() -> State {
    State {
        status: Status::Created,
        pid: None,
        exit_code: None,
        oom_killed: false,
        timed_out: false,
        error: None,
        started_at: None,
        finished_at: None,
    }
}

impl Container {
    pub fn state(&self) -> State {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
        let status = s.status;
        drop(s);
        self.status_tx.send_replace(status);
    }

    pub fn summary(&self) -> Summary {
        let state = self.state();
        let published = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        let (ports, ports_mode) = (
            published.iter().map(Publisher::mapping).collect(),
            Publisher::mode_of(&published),
        );
        drop(published);
        Summary {
            id: self.id.clone(),
            name: self.name.clone(),
            image: self.image.clone(),
            command: self.args.join(" "),
            created: self.created,
            status: state.status,
            exit_code: state.exit_code,
            ports,
            ports_mode,
            preview: self.preview_token.clone(),
            // Only the runner knows (`Runner::summary_of`).
            paused: false,
            labels: self.opts.labels.clone(),
            health: self.health.status().filter(|_| state.status == Status::Running),
            restarting: self.restarts.is_restarting(),
        }
    }

    /// Wait until the container has exited; returns its state.
    pub async fn wait(&self) -> State {
        let mut rx = self.status_tx.subscribe();
        let _ = rx.wait_for(|s| *s == Status::Exited).await;
        self.state()
    }

    /// Write to the container's stdin (`-i`) or TTY.
    pub async fn write_input(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.io.write_input(bytes.to_vec()).await
    }

    /// Close stdin (EOF for the process).
    pub fn close_input(&self) {
        self.io.close_input()
    }

    pub fn resize(&self, cols: u16, rows: u16) -> std::io::Result<()> {
        self.io.resize(cols, rows)
    }

    /// Hold the owner's cgroup before the runtime makes the container's inside it: already held since the
    /// create, or taken again (the cgroup made again) for a container started anew after it exited.
    fn hold_owner_cgroup(&self, owners: &Arc<OwnerCgroups>) -> Result<(), RunnerError> {
        let mut held = self.owner_cgroup.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            *held = Some(
                owners
                    .acquire(owner_key(&self.session))
                    .map_err(io_ctx("making the owner's cgroup"))?,
            );
        }
        Ok(())
    }

    /// Take the stopped container's one start again (`docker start`/`restart`): false when it does not stand
    /// stopped or another start has it already. Until [`Container::rearm`] or [`Container::exit_unstarted`] it
    /// still shows as exited.
    pub(crate) fn claim_start_again(&self) -> bool {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.status == Status::Exited
            && !self
                .starting_again
                .swap(true, std::sync::atomic::Ordering::SeqCst)
    }

    /// Exited → created again once its rootfs is mounted anew ([`Container::claim_start_again`]): the last
    /// run's exit is forgotten and its output reopened for the next.
    pub(crate) fn rearm(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = State {
            started_at: s.started_at,
            finished_at: s.finished_at,
            ..created_state()
        };
        drop(s);
        self.io.logs.reopen();
        self.starting_again
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.status_tx.send_replace(Status::Created);
    }

    /// A claim of [`Container::claim_start_again`] for something else than a start (`docker cp` of the stopped
    /// container) is over: still exited, as before.
    pub(crate) fn end_claim(&self) {
        self.starting_again
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// A start again that could not mount its rootfs (or a restart by policy that could not start): still
    /// exited, saying why.
    pub(crate) fn exit_unstarted(&self, error: String) {
        self.update(|s| s.error = Some(error));
        self.starting_again
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// The limits `docker update` gave it (none: its `docker run` flags').
    pub fn updated_limits(&self) -> slipway::api::UpdateLimits {
        *self.updated_limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_updated_limits(&self, limits: slipway::api::UpdateLimits) {
        *self.updated_limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// Its own cgroup is gone: give back its hold on the owner's (the last one removes it).
    fn release_owner_cgroup(&self) {
        drop(self.owner_cgroup.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

/// What a creation holds until its container is in the table: the shared hold on [`Runner::creating`], and
/// the container slot `create` took before unpacking (none for a RUN step's container).
struct Held {
    creating: tokio::sync::OwnedRwLockReadGuard<()>,
    slot: Option<super::Slot>,
}

/// At most this many bytes of labels (keys and values) on one container: they live in the server's memory.
const LABEL_BYTES: usize = 64 << 10;

/// The platform of an image's config (`os`, `architecture`, `variant`).
fn platform_of(config: &ImageConfiguration) -> PlatformInfo {
    PlatformInfo {
        os: config.os().to_string(),
        architecture: config.architecture().to_string(),
        variant: config.variant().clone(),
    }
}

/// moby's platform checks at create (`daemon/create.go`, `daemon/images/image.go`): with `--platform`, an
/// image of another platform is not the one asked for; without, one the host cannot run is a warning.
fn platform_check(
    reference: &str,
    config: &ImageConfiguration,
    wanted: Option<&PlatformInfo>,
) -> Result<Vec<String>, RunnerError> {
    let image = platform_of(config);
    match wanted {
        Some(wanted) if !wanted.accepts(&image) => Err(RunnerError::PlatformMismatch(
            wanted.mismatch_error(reference, &image),
        )),
        Some(_) => Ok(Vec::new()),
        None => {
            let host = crate::platform::host();
            Ok((!host.accepts(&image))
                .then(|| host.mismatch_warning(&image))
                .into_iter()
                .collect())
        }
    }
}

/// `--label`s within [`LABEL_BYTES`], with keys that are not empty (dockerd refuses an empty key too).
fn check_labels(opts: &RunOptions) -> Result<(), RunnerError> {
    if opts.labels.keys().any(String::is_empty) {
        return Err(RunnerError::Refused("invalid label: the key is empty".into()));
    }
    let bytes: usize = opts.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > LABEL_BYTES {
        return Err(RunnerError::Refused(format!(
            "the container's labels take {bytes} bytes: at most {LABEL_BYTES} are kept here"
        )));
    }
    Ok(())
}

impl Runner {
    /// The operator's bounds on `-p`: how many, and which host ports.
    fn check_publish(&self, opts: &RunOptions) -> Result<(), RunnerError> {
        Ok(self.config.publish.check(opts.publish.iter().map(|p| p.host))?)
    }

    /// `docker create`: resolve the image, unpack its layers, mount the rootfs and write the bundle.
    pub async fn create(
        self: &Arc<Self>,
        image: &str,
        opts: RunOptions,
    ) -> Result<Arc<Container>, RunnerError> {
        Ok(self.create_on(image, opts, None).await?.0)
    }

    /// [`Runner::create`] with `docker create --platform`: an image of another platform is refused in moby's
    /// words (a not-found error, so the docker CLI pulls the platform asked for and tries again). Without
    /// `platform`, an image the host cannot run comes with dockerd's warning; it is created all the same (and
    /// its first exec fails with `exec format error`: no emulation here).
    pub async fn create_on(
        self: &Arc<Self>,
        image: &str,
        opts: RunOptions,
        platform: Option<PlatformInfo>,
    ) -> Result<(Arc<Container>, Vec<String>), RunnerError> {
        // Refused before the image is resolved or unpacked, and long before any listener is opened.
        self.check_publish(&opts)?;
        check_labels(&opts)?;
        Self::check_supervision(&opts)?;
        let slot = self.reserve_slot(&opts.session)?;
        let creating = self.creating.clone().read_owned().await;
        let this = self.clone();
        let image_ref = image.to_string();
        let session = opts.session.clone();
        let (resolved, lowers, image_health, warnings) = tokio::task::spawn_blocking(move || {
            let resolved = this.images.resolve_for(&session, &image_ref)?;
            let warnings = platform_check(&image_ref, &resolved.config, platform.as_ref())?;
            let lowers = this.unpack_layers(&resolved.layers)?;
            let health = this.image_healthcheck(&resolved);
            Ok::<_, RunnerError>((resolved, lowers, health, warnings))
        })
        .await
        .map_err(|e| io_ctx("unpack task")(std::io::Error::other(e)))??;
        let mut opts = opts;
        opts.healthcheck = Self::merged_healthcheck(opts.healthcheck.as_ref(), image_health);
        let held = Held {
            creating,
            slot: Some(slot),
        };
        let container = self
            .create_holding(image, &resolved.config, lowers, opts, held)
            .await?;
        Ok((container, warnings))
    }

    /// Create a container from an image config and unpacked layer dirs (bottom first). `creating` is the
    /// shared hold on [`Runner::creating`] taken before the layers were unpacked: it lasts until the container
    /// is in the table, so the layer collector cannot take the layers in between. `slot` is the container slot
    /// reserved before the unpacking ([`Runner::reserve_slot`]).
    pub(crate) async fn create_from(
        self: &Arc<Self>,
        image: &str,
        config: &ImageConfiguration,
        lowers: Vec<PathBuf>,
        opts: RunOptions,
        (creating, slot): (tokio::sync::OwnedRwLockReadGuard<()>, super::Slot),
    ) -> Result<Arc<Container>, RunnerError> {
        let held = Held {
            creating,
            slot: Some(slot),
        };
        self.create_holding(image, config, lowers, opts, held).await
    }

    /// [`Runner::create_from`] with what the creation holds (see [`Held`]).
    async fn create_holding(
        self: &Arc<Self>,
        image: &str,
        config: &ImageConfiguration,
        lowers: Vec<PathBuf>,
        opts: RunOptions,
        held: Held,
    ) -> Result<Arc<Container>, RunnerError> {
        // In a task of its own: a dropped request (client gone) must not stop between mounting and recording.
        let (this, image, config) = (self.clone(), image.to_string(), config.clone());
        tokio::spawn(async move {
            let Held { creating, slot } = held;
            let created = this.create_now(&image, &config, lowers, opts, slot).await;
            drop(creating);
            created
        })
        .await
        .map_err(|e| io_ctx("create task")(std::io::Error::other(e)))?
    }

    async fn create_now(
        self: &Arc<Self>,
        image: &str,
        config: &ImageConfiguration,
        lowers: Vec<PathBuf>,
        opts: RunOptions,
        slot: Option<super::Slot>,
    ) -> Result<Arc<Container>, RunnerError> {
        self.check_publish(&opts)?;
        let network = self.network_choice(&opts)?;
        let opts = self.prepare_volumes(opts, config).await?;
        let args = spec::command(config.config().as_ref(), &opts)?;
        let id = super::random_id();
        let name = opts.name.clone().unwrap_or_else(|| super::default_name(&id));
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(RunnerError::Conflict(format!("invalid container name {name:?}")));
        }
        let hostname = opts.hostname.clone().unwrap_or_else(|| id[..12].to_string());
        let dir = self.container_dir(&id);
        let this = self.clone();
        let (dir2, lowers2, host2) = (dir.clone(), lowers.clone(), hostname.clone());
        let user_spec = opts
            .user
            .clone()
            .or_else(|| config.config().as_ref().and_then(|c| c.user().clone()))
            .unwrap_or_default();
        let prepared = tokio::task::spawn_blocking(move || {
            super::prepare_rootfs(&this, &dir2, &lowers2, &host2)?;
            let rootfs = dir2.join("rootfs");
            let placeholders = super::diff::missing_mount_points(&rootfs);
            let user = users::resolve_in_root(&user_spec, &rootfs)?;
            Ok::<_, RunnerError>((placeholders, user))
        })
        .await
        .map_err(|e| io_ctx("prepare task")(std::io::Error::other(e)))?;
        let (placeholders, user) = match prepared {
            Ok(p) => p,
            Err(e) => {
                cleanup_dir(&dir);
                return Err(e);
            }
        };
        let owner_cgroup = match self.owners.acquire(owner_key(&opts.session)) {
            Ok(held) => held,
            Err(e) => {
                cleanup_dir(&dir);
                return Err(io_ctx("making the owner's cgroup")(e));
            }
        };
        let cgroup = owner_cgroup.path_of(&id);
        let ctx = SpecContext {
            rootfs: dir.join("rootfs"),
            hostname,
            cgroups_path: cgroup.clone(),
            etc_dir: dir.join("etc"),
            user,
            userns: self.config.userns,
            defaults: self.config.defaults,
            ceilings: self.config.ceilings,
        };
        let saved = spec::build(config, &opts, &ctx)
            .map_err(RunnerError::from)
            .and_then(|s| self.with_volumes(s, &opts, &ctx.rootfs))
            .and_then(|s| {
                s.save(dir.join("config.json"))
                    .map_err(|e| RunnerError::Spec(e.into()))
            });
        if let Err(e) = saved {
            cleanup_dir(&dir);
            return Err(e);
        }
        let (status_tx, _) = watch::channel(Status::Created);
        let container = Arc::new(Container {
            id,
            session: opts.session.clone(),
            name,
            image: image.to_string(),
            opts,
            args,
            dir: dir.clone(),
            created: now(),
            io: ProcessIo::new(self.config.max_log_bytes),
            state: Mutex::new(created_state()),
            status_tx,
            ports: Mutex::new(Vec::new()),
            outbound: Mutex::new(None),
            placeholders,
            lowers,
            exit_order: std::sync::atomic::AtomicU64::new(0),
            attach_ended: tokio::sync::Notify::new(),
            attach_recorded: std::sync::atomic::AtomicBool::new(false),
            preview_token: super::preview_token::new_token(),
            cgroup,
            owner_cgroup: Mutex::new(Some(owner_cgroup)),
            starting_again: std::sync::atomic::AtomicBool::new(false),
            updated_limits: Mutex::default(),
            health: Default::default(),
            restarts: Default::default(),
        });
        if let Err(e) = self.insert(container.clone(), slot) {
            cleanup_dir(&dir);
            return Err(e);
        }
        self.container_event(&container, "create", &[]);
        if let Err(e) = self.join_network(&container, &network) {
            self.forget(&container.id);
            cleanup_dir(&dir);
            return Err(e.into());
        }
        Ok(container)
    }

    /// `docker start`: run the container's process; a monitor task reaps it and cleans up.
    pub async fn start(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), RunnerError> {
        // In a task of its own: a dropped request must not leave a created-but-never-started container.
        let (this, c) = (self.clone(), c.clone());
        tokio::spawn(async move { this.start_now(&c).await })
            .await
            .map_err(|e| io_ctx("start task")(std::io::Error::other(e)))?
    }

    /// Refused unless `c` was never started.
    fn check_created(c: &Container) -> Result<(), RunnerError> {
        if c.state().status != Status::Created {
            return Err(RunnerError::Conflict(format!(
                "container {} was already started",
                c.name
            )));
        }
        Ok(())
    }

    /// A turn of the start queue for `c` (one start at a time per owner, `builders` at once), or 503 past
    /// [`super::FairShares::start_wait`]. Held until the process runs: a running container holds no turn.
    pub(crate) async fn start_turn(&self, c: &Container) -> Result<Permit, RunnerError> {
        let waiting = self.starts.enqueue(owner_key(&c.session));
        let ahead = waiting.ahead();
        let wait = self.config.fair_shares.start_wait;
        tokio::time::timeout(wait, waiting.admitted()).await.map_err(|_| {
            RunnerError::Busy(format!(
                "the server is busy: container {} waited {} s for its turn to start ({} starts still ahead \
                     of it); try again in a moment",
                c.name,
                wait.as_secs(),
                *ahead.borrow()
            ))
        })
    }

    async fn start_now(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), RunnerError> {
        Self::check_created(c)?;
        // A RUN step's container starts on its step's builder turn (step.rs); others wait for a start turn.
        let _turn = match c.image == BUILD_STEP_IMAGE {
            true => None,
            false => Some(self.start_turn(c).await?),
        };
        Self::check_created(c)?;
        c.restarts.manual_start();
        self.run_process(c).await
    }

    /// Run the process of a created container whose rootfs is mounted (its first start, or a start again
    /// after [`Container::rearm`]); a monitor task reaps it and cleans up.
    pub(crate) async fn run_process(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), RunnerError> {
        c.hold_owner_cgroup(&self.owners)?;
        c.update(|s| s.status = Status::Running);
        match self.launch(c).await {
            Ok(pid) => {
                c.update(|s| {
                    s.pid = Some(pid);
                    s.started_at = Some(now());
                });
                // dockerd's order: networks connected, volumes mounted, then the start.
                self.container_networks_event(c, "connect");
                self.mount_events(c);
                self.container_event(c, "start", &[]);
                let (this, c2) = (self.clone(), c.clone());
                tokio::spawn(async move { this.monitor(c2, pid).await });
                c.restarts.running();
                self.watch_health(c);
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                c.io.logs.close();
                self.finish(c, Some(127), false, false, Some(msg)).await;
                Err(e)
            }
        }
    }

    async fn launch(self: &Arc<Self>, c: &Arc<Container>) -> Result<i32, RunnerError> {
        let pid =
            c.io.launch(
                c.opts.tty,
                c.opts.interactive,
                &c.dir.join("tty.sock"),
                |sock, stdio| async move { self.runc.create(&c.id, &c.dir, sock.as_deref(), stdio).await },
            )
            .await?;
        // Created but not started (a stop that came meanwhile, a port that cannot be published): its init is
        // our child, and is reaped here since no monitor will.
        self.start_created(c, pid).await.inspect_err(|_| {
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
            tokio::spawn(super::io::reap(pid));
        })?;
        Ok(pid)
    }

    /// The rest of [`Runner::launch`] once the runtime created the container's init `pid`: networks, published
    /// ports, then `runc start`.
    async fn start_created(self: &Arc<Self>, c: &Arc<Container>, pid: i32) -> Result<(), RunnerError> {
        if let (ContainerNetwork::Outbound { slirp4netns }, true) =
            (&self.config.network, self.wants_outbound(c))
        {
            match Slirp::start(slirp4netns, pid).await {
                Ok(slirp) => *c.outbound.lock().unwrap_or_else(|e| e.into_inner()) = Some(slirp),
                Err(e) => {
                    let _ = self.runc.delete(&c.id).await;
                    return Err(io_ctx("starting slirp4netns for outbound network")(e));
                }
            }
        }
        if let Err(e) = self.plug_networks(c, pid).await {
            let _ = self.runc.delete(&c.id).await;
            return Err(e);
        }
        let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
        for p in &c.opts.publish {
            match Publisher::start(&self.config.publish, c, *p, netns.clone()) {
                Ok(publisher) => c.ports.lock().unwrap_or_else(|e| e.into_inner()).push(publisher),
                Err(e) => {
                    let _ = self.runc.delete(&c.id).await;
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.runc.start(&c.id).await {
            let _ = self.runc.delete(&c.id).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Reap the init process (we are its subreaper), enforcing the wall-clock limit, then clean up.
    async fn monitor(self: Arc<Self>, c: Arc<Container>, pid: i32) {
        let reap = super::io::reap(pid);
        let mut timed_out = false;
        tokio::pin!(reap);
        let code = tokio::select! {
            r = &mut reap => r,
            _ = tokio::time::sleep(self.config.wall_clock) => {
                timed_out = true;
                let _ = self.runc.kill(&c.id, "KILL", true).await;
                reap.await
            }
        };
        let oom = read_oom_kills(&c.cgroup) > 0;
        self.finish(&c, code, oom, timed_out, None).await;
    }

    /// After the process ended: runtime state, cgroups, ports, the rootfs mount and the writable layer (its
    /// tmpfs holds memory) go; logs and state stay until the container is removed. A build step's upper dir
    /// stays: the step captures it as a layer, then removes the container.
    async fn finish(
        self: &Arc<Self>,
        c: &Arc<Container>,
        code: Option<i32>,
        oom: bool,
        timed_out: bool,
        error: Option<String>,
    ) {
        c.ports.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.networks.unplug_all(&c.id);
        let slirp = c.outbound.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(slirp) = slirp {
            slirp.stop().await;
        }
        let _ = self.runc.kill(&c.id, "KILL", true).await;
        if let Err(e) = self.runc.delete(&c.id).await {
            tracing::debug!(id = %c.id, error = %e, "runtime delete");
        }
        c.release_owner_cgroup();
        if let Err(e) = overlay::unmount(&c.dir.join("rootfs")) {
            tracing::warn!(id = %c.id, error = %e, "unmounting rootfs");
        }
        c.io.finish().await;
        if !c.opts.auto_remove && c.image != BUILD_STEP_IMAGE {
            // Before the state says exited, so whoever waits for the exit finds the memory already back and
            // the writable layer's changes kept on disk (`keep.rs`).
            let (this, c2) = (self.clone(), c.clone());
            let _ = tokio::task::spawn_blocking(move || this.park(&c2)).await;
        }
        self.after_exit(c, code.unwrap_or(255), timed_out);
        // dockerd logs `oom` as containerd reports the kill in the container's cgroup, before its `die`.
        if oom {
            self.container_event(c, "oom", &[]);
        }
        self.die_event(c, code.unwrap_or(255));
        // A process that ran had its networks connected: released after its `die`, before `stop`/`destroy`.
        if error.is_none() {
            self.container_networks_event(c, "disconnect");
        }
        let order = EXITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        c.exit_order.store(order, std::sync::atomic::Ordering::Relaxed);
        c.update(|s| {
            s.status = Status::Exited;
            s.exit_code = code.or(Some(255));
            s.oom_killed = oom;
            s.timed_out = timed_out;
            s.error = error;
            s.finished_at = Some(now());
        });
        if c.opts.auto_remove && (c.opts.tty || c.opts.interactive) {
            let (this, c) = (self.clone(), c.clone());
            tokio::spawn(async move {
                let _ = tokio::time::timeout(ATTACH_GRACE, c.attach_ended.notified()).await;
                this.forget(&c.id);
                this.remove_anonymous_volumes(&c);
                cleanup_dir(&c.dir);
            });
        } else if c.opts.auto_remove {
            self.forget(&c.id);
            self.remove_anonymous_volumes(c);
            cleanup_dir(&c.dir);
        }
    }

    /// `docker stop`: SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&self, c: &Arc<Container>, grace: Option<Duration>) -> Result<State, RunnerError> {
        c.restarts.cancel();
        if c.state().status != Status::Running {
            return Ok(c.state());
        }
        // Each `kill` event before its signal: the `die` the signal causes comes after it.
        self.container_event(c, "kill", &[("signal", "15".into())]);
        let _ = self.runc.kill(&c.id, "TERM", false).await;
        let grace = grace.unwrap_or(self.config.stop_grace);
        if tokio::time::timeout(grace, c.wait()).await.is_err() {
            self.container_event(c, "kill", &[("signal", "9".into())]);
            let _ = self.runc.kill(&c.id, "KILL", true).await;
        }
        let state = c.wait().await;
        self.container_event(c, "stop", &[]);
        Ok(state)
    }

    /// `docker kill -s SIGNAL`.
    pub async fn kill(&self, c: &Arc<Container>, signal: &str) -> Result<(), RunnerError> {
        if c.state().status != Status::Running {
            return Err(RunnerError::Conflict(format!(
                "container {} is not running",
                c.name
            )));
        }
        let signal = signal.trim_start_matches("SIG");
        if signal.is_empty() || !signal.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(RunnerError::Conflict(format!("invalid signal {signal:?}")));
        }
        if ["KILL", "9", "TERM", "15"].contains(&signal) {
            c.restarts.cancel();
        }
        self.kill_event(c, signal);
        self.runc.kill(&c.id, signal, false).await?;
        // As dockerd does for SIGKILL: answer once the container has exited, so a `docker rm` right after
        // `docker kill` finds it stopped (the monitor reaps it within milliseconds; bounded in case it cannot).
        if signal == "KILL" || signal == "9" {
            let _ = tokio::time::timeout(Duration::from_secs(10), c.wait()).await;
        }
        Ok(())
    }

    /// `docker rm [-f]`.
    pub async fn remove(&self, c: &Arc<Container>, force: bool) -> Result<(), RunnerError> {
        if c.state().status != Status::Running || force {
            c.restarts.cancel();
        }
        match c.state().status {
            Status::Running if !force => {
                return Err(RunnerError::Conflict(format!(
                    "cannot remove running container {}: stop it first or use force",
                    c.name
                )))
            }
            Status::Running => {
                let _ = self.runc.kill(&c.id, "KILL", true).await;
                c.wait().await;
            }
            Status::Created => {
                let _ = self.runc.delete(&c.id).await;
                c.release_owner_cgroup();
                let _ = overlay::unmount(&c.dir.join("rootfs"));
                c.update(|s| s.status = Status::Exited);
            }
            Status::Exited => {}
        }
        self.forget(&c.id);
        let dir = c.dir.clone();
        let _ = tokio::task::spawn_blocking(move || cleanup_dir(&dir)).await;
        Ok(())
    }
}

/// Unmount (if still mounted) and delete a container directory.
pub(crate) fn cleanup_dir(dir: &std::path::Path) {
    let _ = overlay::unmount(&dir.join("rootfs"));
    let _ = overlay::unmount(&dir.join("rw"));
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), error = %e, "removing container dir");
        }
    }
}

/// OOM kills recorded in the container's memory cgroup (v1 `memory.oom_control`, v2 `memory.events`).
pub fn read_oom_kills(cgroups_path: &str) -> u64 {
    let rel = cgroups_path.trim_start_matches('/');
    let candidates = [
        format!("/sys/fs/cgroup/memory/{rel}/memory.oom_control"),
        format!("/sys/fs/cgroup/{rel}/memory.events"),
    ];
    candidates
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
                .collect::<Vec<_>>()
        })
        .sum()
}
