//! `slipway serve`: bind, print the address, serve until SIGINT or SIGTERM.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::cli::ServeArgs;
use crate::routes::{app, AppState};

pub async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    let classroom = open_classroom(&mut args)?;
    raise_open_files();
    refuse_an_exposed_open_registry(&args)?;
    let registry_dir = args.data.join("registry");
    std::fs::create_dir_all(&registry_dir)
        .with_context(|| format!("cannot create registry storage {}", registry_dir.display()))?;
    let network = container_network(args.container_network)?;
    let runtime = crate::runtime::detect(args.runtime);
    // Asked for by name, a runtime that cannot run here is an error, not a server without containers.
    if let (
        slipway::api::info::RuntimeInfo::Unavailable { reason },
        crate::runtime::RuntimeChoice::Runc | crate::runtime::RuntimeChoice::Crun,
    ) = (&runtime, args.runtime)
    {
        anyhow::bail!("--runtime {}: {reason}", args.runtime.name());
    }
    tracing::info!(runtime = %runtime.summary(), "OCI runtime");
    if !args.dist.join("index.html").is_file() {
        tracing::warn!(dist = %args.dist.display(), "web app not built: the page will say so");
    }
    let options = with_classroom_logins(args.registry.options()?, &args, classroom.as_ref())?;
    let registry = crate::registry::Registry::open(&registry_dir, options)
        .with_context(|| format!("cannot open registry storage {}", registry_dir.display()))?;
    let base_images = import_base_images(&registry, &args.data).await;
    let (interrupt, terminate) = shutdown_signals()?;
    // Bound before the runner starts: its port is then known (also for --addr ...:0) and never published.
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    // Containers' web apps: on a listener of their own (another origin), its port never published either.
    let previews = crate::previews::bind(&args.previews, addr).await?;
    let preview_addr = previews.local_addr()?;
    let runner = start_runner(
        &args,
        &runtime,
        &registry,
        network,
        [addr.port(), preview_addr.port()],
        classroom.as_deref(),
    )
    .await;
    crate::previews::spawn(previews, runner.clone(), args.connections.limits());
    // The sessions of the previous run that are still alive: their learners keep working across the restart.
    let sessions_file = args.data.join("issued-sessions.json");
    let sessions = Arc::new(crate::sessions::Sessions::open(
        args.sessions.limits(),
        sessions_file,
    ));
    sessions.spawn_flusher();
    if let Some(classroom) = &classroom {
        let hangup = signal(SignalKind::hangup()).context("install SIGHUP handler")?;
        crate::classroom::spawn_reloader(classroom.clone(), sessions.clone(), runner.clone(), hangup);
        crate::classroom::lifetimes::spawn(classroom.clone(), sessions.clone(), runner.clone());
    }
    let seconds = std::time::Duration::from_secs;
    let collector = crate::collector::start(
        registry.store().clone(),
        runner.clone(),
        sessions.clone(),
        crate::collector::CollectorConfig {
            upload_grace: seconds(args.upload_grace),
            layer_grace: seconds(args.layer_grace),
            local_store_grace: seconds(args.local_store_grace),
            step_blob_grace: seconds(args.step_blob_grace),
        },
    );
    if let Some(runner) = &runner {
        unpack_in_background(runner.clone(), base_images);
    }
    let site_names = Arc::new(site_names(&args, preview_addr));
    let state = Arc::new(AppState {
        runtime,
        registry_dir,
        dist_dir: args.dist,
        registry,
        runner,
        site_names,
        sessions,
        classroom,
        fetcher: Arc::new(args.fetch.fetcher(vec![addr, preview_addr])),
    });
    // Tests and scripts read the first line to learn the port when --addr asks for port 0, and may close the pipe
    // then: one write, and a closed stdout is no reason to stop serving (`println!` would panic).
    let _ = write!(
        std::io::stdout(),
        "slipway listening on http://{addr}\nslipway previews on http://{preview_addr}\n"
    );
    tracing::info!(%addr, "serving");
    crate::connections::serve(
        listener,
        app(state.clone()),
        args.connections.limits(),
        shutdown_signal(interrupt, terminate),
    )
    .await;
    // No new collector pass once the server stops (one in progress is cut as a kill would cut it: dispatch does
    // not wait for blocking work).
    collector.abort();
    if let Some(runner) = &state.runner {
        runner.shutdown().await;
    }
    let sessions = state.sessions.clone();
    let _ = tokio::task::spawn_blocking(move || sessions.persist_all()).await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Containers (their pipes, logs and consoles) and connections hold file descriptors: a class of 30 learners
/// passes the usual soft limit of 1,024, so it is raised to the hard limit (as Go's runtime does for dockerd).
fn raise_open_files() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, ?limit, "raising the open-files limit");
        }
    }
    let now = getrlimit(Resource::Nofile).current;
    tracing::info!(open_files = ?now, "open-files limit");
}

/// The front door's names and the app's CSP: the configured hosts, the preview origin, the built page's inline
/// scripts (hashed from `dist/index.html`, again after each rebuild), the sites that may frame the embed.
fn site_names(args: &ServeArgs, preview_addr: std::net::SocketAddr) -> crate::guard::SiteNames {
    crate::guard::SiteNames::new(&args.public_hosts)
        .with_preview(args.previews.info(preview_addr))
        .with_page(args.dist.join("index.html"))
        .with_embed_ancestors(&args.previews.embed_ancestors)
        .with_embed_budget(args.embeds.budget())
}

/// The operator's network choice, with the helper it needs found up front (a clear error beats failing runs).
fn container_network(
    choice: crate::cli::ContainerNetworkChoice,
) -> anyhow::Result<crate::runner::outbound::ContainerNetwork> {
    use crate::runner::outbound::{find_slirp4netns, ContainerNetwork};
    Ok(match choice {
        crate::cli::ContainerNetworkChoice::None => ContainerNetwork::None,
        crate::cli::ContainerNetworkChoice::Outbound => {
            let slirp4netns = find_slirp4netns()
                .context("--container-network outbound needs slirp4netns: apt-get install slirp4netns")?;
            tracing::warn!(
                "containers have outbound network: they reach all the host reaches but its loopback"
            );
            ContainerNetwork::Outbound { slirp4netns }
        }
    })
}

/// Base images built by `slipway base-images` go into the registry (cheap when they are there already).
/// Imports the base images; returns the references they are stored under.
async fn import_base_images(registry: &crate::registry::Registry, data: &std::path::Path) -> Vec<String> {
    let store = registry.store().clone();
    let data = data.to_path_buf();
    let imports =
        tokio::task::spawn_blocking(move || crate::base_images::registry::import_base_images(&store, &data))
            .await
            .unwrap_or_default();
    let mut stored = Vec::new();
    for (image, result) in imports {
        match result {
            Ok(done) => {
                if done.imported {
                    tracing::info!(image = image.reference(), stored_as = %done.stored_as, digest = %done.digest, "imported base image")
                } else {
                    tracing::debug!(stored_as = %done.stored_as, "base image already in the registry")
                }
                stored.push(done.stored_as.to_string());
            }
            Err(e) => tracing::warn!(image = image.reference(), error = %e, "cannot import base image"),
        }
    }
    stored
}

/// Unpack the base images' layers while the server already answers, so a learner's first `RUN` or `docker run`
/// on them does not pay for it (the python base takes seconds). Unpacking is once per digest and safe beside a
/// container that needs the same layer.
fn unpack_in_background(runner: Arc<crate::runner::Runner>, references: Vec<String>) {
    tokio::task::spawn_blocking(move || {
        for reference in references {
            let started = std::time::Instant::now();
            let result = runner
                .images
                .resolve(&reference)
                .map_err(|e| e.to_string())
                .and_then(|image| runner.unpack_layers(&image.layers).map_err(|e| e.to_string()));
            match result {
                Ok(dirs) => {
                    tracing::info!(%reference, layers = dirs.len(), ms = started.elapsed().as_millis() as u64, "base image unpacked")
                }
                Err(e) => tracing::warn!(%reference, error = %e, "cannot unpack base image ahead of use"),
            }
        }
    });
}

/// The container runner, when the runtime is usable; leftovers of a crashed run are cleaned first.
async fn start_runner(
    args: &ServeArgs,
    runtime: &slipway::api::info::RuntimeInfo,
    registry: &crate::registry::Registry,
    network: crate::runner::outbound::ContainerNetwork,
    own_ports: [u16; 2],
    classroom: Option<&crate::classroom::Classroom>,
) -> Option<Arc<crate::runner::Runner>> {
    use crate::runner::{OciLayoutSource, RegistryImageSource, Runner, RunnerConfig};
    // crun takes the same create/start/kill/delete/list commands; only runc is tested on this (v1) host.
    let slipway::api::info::RuntimeInfo::Available { path, .. } = runtime else {
        return None;
    };
    let mut config = RunnerConfig::new(args.runner_dir.clone(), path.into());
    config.max_websocket_message = args.connections.max_websocket_message as usize;
    // A class shares one server: each learner's `-p 8000:8000` is their own.
    let exposed = !args.addr.ip().is_loopback() || !args.public_hosts.is_empty() || args.classroom.is_some();
    config.publish = args.published_ports.policy(own_ports[0], exposed);
    config.publish.reserved.extend_from_slice(&own_ports[1..]);
    if args.no_userns {
        config.userns = None;
    }
    config.network = network;
    config.fair_shares = args.fair_shares.fair_shares();
    if let Some(containers) = classroom.and_then(|c| c.limits().containers) {
        config.max_per_session = containers as usize;
    }
    // A class is sized from its members (every one at their own limit); `--max-containers` wins.
    config.max_containers = match classroom {
        Some(class) => crate::classroom::capacity::max_containers(class, config.max_per_session),
        None => args.max_containers.map_or(config.max_containers, |n| n as usize),
    };
    tracing::info!(
        max_containers = config.max_containers,
        "server-wide container limit"
    );
    let mut layouts = args.oci_layouts.clone();
    layouts.push(args.data.join("images"));
    // Layers of RUN steps that named no repository stay in the runner's `blobs/sha256/`: later steps stack them.
    layouts.push(args.runner_dir.clone());
    // Images made by `slipway base-images --data` (one OCI layout per image) run without a registry round trip.
    if let Ok(entries) = std::fs::read_dir(args.data.join("base-images")) {
        let mut base: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("index.json").is_file())
            .collect();
        base.sort();
        layouts.extend(base);
    }
    // The session's local store, then the registry, then the layouts (docs/local-images.md).
    let source = Arc::new(RegistryImageSource::new(
        registry.store().clone(),
        OciLayoutSource::new(layouts),
    ));
    match Runner::new(config, source) {
        Ok(mut runner) => {
            runner.registry = Some(registry.store().clone());
            let runner = Arc::new(runner);
            match runner.reconcile().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(leftovers = n, "removed containers left by an earlier run"),
                Err(e) => tracing::warn!(error = %e, "reconciling leftovers"),
            }
            tracing::info!(dir = %args.runner_dir.display(), "container runner ready");
            Some(runner)
        }
        Err(e) => {
            tracing::error!(error = %e, "container runner unavailable");
            None
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed by `shutdown_signals()` before the server says it
/// is listening, so a signal sent right after that line is never lost to the default action.
async fn shutdown_signal(mut interrupt: Signal, mut terminate: Signal) {
    tokio::select! {
        _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
        _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
    }
}

fn shutdown_signals() -> anyhow::Result<(Signal, Signal)> {
    Ok((
        signal(SignalKind::interrupt()).context("install SIGINT handler")?,
        signal(SignalKind::terminate()).context("install SIGTERM handler")?,
    ))
}

/// Without users the registry lets anyone push and delete (as a local `registry:2` does): fine on loopback, an
/// open door on any other address unless the operator says so.
fn refuse_an_exposed_open_registry(args: &ServeArgs) -> anyhow::Result<()> {
    let has_users = args.registry.users.is_some() || args.classroom.is_some();
    if args.addr.ip().is_loopback() || has_users || args.open_registry {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve an open registry on {}: without users anyone who reaches it can push, delete and \
         replace the base images every learner runs. Add users with `--users FILE` (make hashes with `slipway \
         hash-password`), listen on 127.0.0.1, or pass `--open-registry` to serve it open on purpose",
        args.addr
    )
}

/// `--classroom FILE`: the class, read before anything starts (a bad file stops the server with its line and
/// column). Its limits become the server's settings: disk → `--session-quota`, registry → `--namespace-quota`,
/// the idle timeout to the learners' watch (`classroom::lifetimes`), memory, pids and CPU → the owners' cgroups (`--owner-memory`, `--owner-pids`,
/// `--owner-cpu-weight`: 100 per core); running containers go to the runner, in `start_runner`.
fn open_classroom(args: &mut ServeArgs) -> anyhow::Result<Option<Arc<crate::classroom::Classroom>>> {
    let Some(file) = args.classroom.clone() else {
        return Ok(None);
    };
    let mut classroom = crate::classroom::Classroom::open(&file, &args.data)?;
    classroom.operator_max_containers = args.max_containers.map(|n| n as usize);
    let limits = classroom.limits();
    if let Some(disk) = limits.disk {
        args.registry.session_quota = disk;
    }
    if let Some(bytes) = limits.registry {
        args.registry.namespace_quota = Some(bytes);
    }
    // A learner's session lasts the class: unused past the idle timeout, their containers stop
    // (`classroom::lifetimes`) while their session, images and stopped containers stay.
    args.sessions.session_idle = args.sessions.session_idle.max(args.sessions.session_max_age);
    // Each learner is one owner of the runner's fair shares (their session is the same on every device).
    let owner = crate::classroom::lifetimes::owner_limits(&limits, args.fair_shares.fair_shares().owner);
    args.fair_shares.owner_memory = owner.memory;
    args.fair_shares.owner_pids = owner.pids;
    args.fair_shares.owner_cpu_weight = owner.cpu_weight;
    let members = classroom.roster().members().len();
    // A class behind one address (a school's NAT): every member's browser connections.
    let connections = &mut args.connections.max_connections_per_client;
    *connections = crate::classroom::capacity::connections_per_client(*connections, members);
    tracing::info!(file = %file.display(), members, "classroom: learners sign in with their join codes");
    Ok(Some(Arc::new(classroom)))
}

/// In classroom mode the registry knows every member (name and join code) as a user, with or without
/// `--users`: a learner pushes to their own namespace only.
fn with_classroom_logins(
    mut options: crate::registry::RegistryOptions,
    args: &ServeArgs,
    classroom: Option<&Arc<crate::classroom::Classroom>>,
) -> anyhow::Result<crate::registry::RegistryOptions> {
    use crate::registry::auth::Auth;
    let Some(classroom) = classroom.cloned() else {
        return Ok(options);
    };
    let auth = match options.auth.take().map(Arc::try_unwrap) {
        Some(Ok(auth)) => auth,
        Some(Err(_)) => anyhow::bail!("the registry's users are already in use"),
        None => Auth::without_users(!args.registry.no_anonymous_pull)?.with_login_limits(
            crate::registry::login_limit::LoginLimits {
                per_user: args.registry.login_attempts_per_user,
                per_address: args.registry.login_attempts_per_address,
            },
        ),
    };
    let check = move |name: &str, code: &str| classroom.check_login(name, code);
    options.auth = Some(Arc::new(auth.with_members(Box::new(check))));
    Ok(options)
}
