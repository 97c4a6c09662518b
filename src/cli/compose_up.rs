//! `docker compose up -d`, `down` and `ps`: a loaded project's networks, volumes and containers on the
//! companion, named as Compose names them (`PROJECT_default`, `PROJECT_data`, `PROJECT-SERVICE-1`), with
//! Compose's progress lines (`[+] Running 3/3`, ` ✔ Container app-web-1  Started`). See docs/compose.md.

use std::collections::BTreeSet;

use super::compose_project::{self, Member};
use super::compose_wait::{wait_for, Budget, Condition};
use super::context::{CommandContext, Printer, StatusSink, Stream};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{
    Companion, CompanionError, ContainerStatus, ContainerSummary, CreateContainer, NetworkConnect,
    NetworkCreate, PortMapping, ProjectBind, RemoveQuery, RunOptions, StopQuery, VolumeCreate, VolumeMount,
};
use crate::compose::model::{MountType, Project, Service};
use crate::compose::project::Loaded;
use crate::image::Reference;
use crate::registry::Transport;

/// Compose's warning for a network `down` leaves because a container still uses it.
const IN_USE: &str = "Resource is still in use";

/// Compose's lines for what it did. On a terminal (the page's, a native TTY) one block (`[+] Running N/N`, then
/// one line per resource): with `live` drawn as it changes, each line rewritten in place as Compose's TTY writer
/// (`pkg/progress/tty.go`) redraws it, transient states (`Waiting`, `Creating`) included, `render` then printing
/// nothing more; without it (`--progress tty` off a terminal, or a step the page shows when it is done) printed
/// once, at the end. Off a terminal (`plain`) one line per event, as Compose's plain writer prints them.
pub(super) struct Progress<'s> {
    /// `Running`, or `Pulling` for images (`Stopping`, `Restarting`).
    pub(super) title: &'static str,
    pub(super) lines: Vec<(String, String)>,
    pub(super) live: Option<StatusSink<'s>>,
    /// Compose's plain writer, one line per event instead of the block: `--progress plain`, `--ansi never`, or
    /// the default `auto` off a terminal.
    pub(super) plain: Option<String>,
    /// `--progress quiet`: no lines at all.
    pub(super) quiet: bool,
}

impl Default for Progress<'_> {
    fn default() -> Self {
        Progress {
            title: "Running",
            lines: Vec::new(),
            live: None,
            plain: None,
            quiet: false,
        }
    }
}

/// How `docker compose --progress`/`--ansi` have Compose print its progress (`cmd/compose/compose.go`, its
/// `PersistentPreRunE`; `pkg/progress/writer.go`'s `NewWriter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// Compose's TTY writer: the block, drawn live on a terminal (else printed once at the end).
    Tty,
    /// Compose's plain writer (`pkg/progress/plain.go`): ` Container app-web-1  Created` per event.
    Plain,
    /// `--progress quiet` (or `none`): nothing.
    Quiet,
}

impl ProgressMode {
    /// The mode of a `docker compose` line (its own flags are the subcommand's `global`) whose output goes to a
    /// terminal or not, or Compose's error for a value it does not know or a pair it refuses; `--progress json`
    /// is refused (not built). `auto`, the default, is the TTY writer only on a terminal: piped, Compose prints
    /// plain lines.
    pub(crate) fn of(inv: &Invocation, terminal: bool) -> Result<ProgressMode, String> {
        let ansi = inv.global.value(Flag::ANSI);
        match ansi {
            None | Some("never" | "always" | "auto") => {}
            Some(other) => return Err(format!("unsupported --ansi value {other:?}")),
        }
        match inv.global.value(Flag::PROGRESS) {
            None | Some("auto") if ansi == Some("never") => Ok(ProgressMode::Plain),
            None | Some("auto") if terminal => Ok(ProgressMode::Tty),
            None | Some("auto") => Ok(ProgressMode::Plain),
            Some("tty") if ansi == Some("never") => {
                Err("can't use --progress tty while ANSI support is disabled".into())
            }
            Some("tty") => Ok(ProgressMode::Tty),
            Some("plain") if ansi == Some("always") => {
                Err("can't use --progress plain while ANSI support is forced".into())
            }
            Some("plain") => Ok(ProgressMode::Plain),
            Some("quiet" | "none") => Ok(ProgressMode::Quiet),
            Some("json") => Err(
                "slipway: docker compose --progress json is not supported here: use plain, tty, auto or quiet".into(),
            ),
            Some(other) => Err(format!("unsupported --progress value {other:?}")),
        }
    }

    /// The mode of a line run in `ctx` (a terminal when it has a status sink); a line whose values Compose
    /// refuses was refused before it ran ([`super::compose::run_project`]).
    pub(super) fn of_line<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> ProgressMode {
        ProgressMode::of(inv, ctx.status.is_some()).unwrap_or(ProgressMode::Tty)
    }
}

/// The states Compose's events mark as still working (`progress.Working`): a spinner, not counted as done.
const WORKING: [&str; 5] = ["Waiting", "Creating", "Starting", "Stopping", "Removing"];

impl<'s> Progress<'s> {
    /// The progress of a `docker compose` line, titled `title`: in the line's [`ProgressMode`] on the context's
    /// terminal (its status sink) or off one, drawn live when that mode is the TTY writer's.
    pub(super) fn for_line<T: Transport>(
        ctx: &CommandContext<'s, T>,
        inv: &Invocation,
        title: &'static str,
    ) -> Self {
        let mode = ProgressMode::of_line(ctx, inv);
        Progress {
            live: ctx.status.filter(|_| mode == ProgressMode::Tty),
            ..Progress::in_mode(title, mode)
        }
    }

    /// A progress in `mode` that is never drawn live.
    pub(super) fn in_mode(title: &'static str, mode: ProgressMode) -> Self {
        Progress {
            title,
            plain: (mode != ProgressMode::Tty).then(String::new),
            quiet: mode == ProgressMode::Quiet,
            ..Progress::default()
        }
    }

    /// [`Self::for_line`], never drawn live: on a terminal its block is printed once, when the step is done.
    pub(super) fn at_the_end<T: Transport>(
        ctx: &CommandContext<'s, T>,
        inv: &Invocation,
        title: &'static str,
    ) -> Self {
        Progress {
            live: None,
            ..Progress::for_line(ctx, inv, title)
        }
    }

    pub(super) fn done(&mut self, what: String, state: &str) {
        self.event(&what, state);
        self.lines.push((what, state.to_string()));
        self.draw();
    }

    /// The line of `what` says `state` now (added when it has none).
    pub(super) fn set(&mut self, what: String, state: &str) {
        self.event(&what, state);
        match self.lines.iter_mut().find(|(w, _)| *w == what) {
            Some(line) => line.1 = state.to_string(),
            None => self.lines.push((what, state.to_string())),
        }
        self.draw();
    }

    /// Compose's plain writer prints each event as `fmt.Fprintln("", ID, "", StatusText)`: a space, the
    /// resource, two spaces (the empty text between), the state.
    fn event(&mut self, what: &str, state: &str) {
        if let (Some(printed), false) = (&mut self.plain, self.quiet) {
            printed.push_str(&format!(" {what}  {state}\n"));
        }
    }

    /// Redraw every line (a longer name pads them all again), each keyed to its row.
    fn draw(&self) {
        let Some(sink) = self.live else { return };
        for (n, line) in self.block().lines().enumerate() {
            let key = match n {
                0 => self.title.to_string(),
                _ => format!("{}:{}", self.title, self.lines[n - 1].0),
            };
            sink(Stream::Stderr, &key, line);
        }
    }

    fn block(&self) -> String {
        if self.lines.is_empty() {
            return String::new();
        }
        let width = self
            .lines
            .iter()
            .map(|(w, _)| w.chars().count())
            .max()
            .unwrap_or(0);
        let n = self.lines.len();
        let ok = self
            .lines
            .iter()
            .filter(|(_, s)| s != "Error" && !WORKING.contains(&s.as_str()))
            .count();
        let mut out = format!("[+] {} {ok}/{n}\n", self.title);
        for (what, state) in &self.lines {
            let mark = match state.as_str() {
                "Error" => '✘',
                IN_USE => '!',
                s if WORKING.contains(&s) => '⠋',
                _ => '✔',
            };
            out.push_str(&format!(" {mark} {what:width$}  {state}\n"));
        }
        out
    }

    /// In plain mode, the events' lines not taken yet, for a caller that prints them as they come (as Compose's
    /// plain writer does); `render` then gives only those after them.
    pub(super) fn take_printed(&mut self) -> String {
        self.plain.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The block as printed at the end (nothing when it was drawn live); in plain mode the events' lines.
    pub(super) fn render(&self) -> String {
        match (&self.plain, self.live) {
            (Some(printed), _) => printed.clone(),
            (None, Some(_)) => String::new(),
            (None, None) => self.block(),
        }
    }
}

/// The services of `project` the line names (all enabled ones without names), dependencies first.
pub(super) fn ordered(project: &Project, named: &[String]) -> Vec<Service> {
    let mut wanted: Vec<String> = if named.is_empty() {
        project
            .services
            .values()
            .filter(|s| s.enabled(&project.active_profiles))
            .map(|s| s.name.clone())
            .collect()
    } else {
        named.to_vec()
    };
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    while let Some(name) = wanted.pop() {
        visit(project, &name, &mut seen, &mut order);
    }
    order
}

fn visit(project: &Project, name: &str, seen: &mut BTreeSet<String>, order: &mut Vec<Service>) {
    if !seen.insert(name.to_string()) {
        return;
    }
    let Some(service) = project.services.get(name) else {
        return;
    };
    for dependency in service.depends_on.keys() {
        visit(project, dependency, seen, order);
    }
    order.push(service.clone());
}

/// The image a service runs: its `image`, else the one `build:` makes (`PROJECT-SERVICE`).
pub(super) fn image_of(project: &Project, service: &Service) -> String {
    service
        .image
        .clone()
        .unwrap_or_else(|| format!("{}-{}", project.name, service.name))
}

/// Why a service cannot run here yet, in the words the terminal shows.
/// Pack and upload the binds of the project's files that `services` mount (`- .:/code`), each service's
/// notes (a bind mounted read-only) appended to `said`.
pub(super) async fn pack_binds<T: Transport>(
    ctx: &CommandContext<'_, T>,
    project: &Project,
    services: &[Service],
    said: &mut String,
) -> Result<super::mounts::ComposeBinds, String> {
    let mut binds = super::mounts::ComposeBinds::new();
    for service in services {
        let mounts = create_request(project, service, 1).options.volumes;
        for note in super::mounts::compose_binds(ctx, &service.name, mounts, &mut binds).await? {
            said.push_str(&format!("{note}\n"));
        }
    }
    Ok(binds)
}

pub(super) fn unsupported(service: &Service) -> Option<String> {
    if service.volumes.iter().any(|m| m.kind == MountType::Tmpfs) {
        return Some(format!(
            "service \"{}\": named and anonymous volumes and binds of the project's files are mounted by \
             compose here (tmpfs mounts are not)",
            service.name
        ));
    }
    let ranged = service
        .ports
        .iter()
        .find(|p| p.published.as_deref().is_some_and(|p| p.parse::<u16>().is_err()));
    ranged.map(|p| {
        format!(
            "service \"{}\": published port \"{}\" is not a single port: port ranges are not published here",
            service.name,
            p.published.clone().unwrap_or_default()
        )
    })
}

/// What `POST /api/containers` is asked for the `n`th container of `service`, on its first network.
pub(super) fn create_request(project: &Project, service: &Service, n: u64) -> CreateContainer {
    let networks: Vec<(String, Vec<String>)> = network_names(project, service);
    let (network, aliases) = networks
        .first()
        .cloned()
        .map(|(name, aliases)| (Some(name), aliases))
        .unwrap_or_default();
    let volumes = service
        .volumes
        .iter()
        .map(|m| VolumeMount {
            source: match m.kind {
                MountType::Bind => m.source.clone().unwrap_or_default(),
                _ => m
                    .source
                    .as_ref()
                    .map(|s| volume_name(project, s))
                    .unwrap_or_default(),
            },
            target: m.target.clone(),
            read_only: m.read_only,
            bind: (m.kind == MountType::Bind).then(ProjectBind::default),
        })
        .collect();
    let limits = service.limits.clone().unwrap_or_default();
    CreateContainer {
        image: image_of(project, service),
        options: RunOptions {
            name: Some(service.container_name(&project.name, n)),
            entrypoint: service.entrypoint.clone(),
            cmd: service.command.clone().unwrap_or_default(),
            env: service
                .environment
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                .collect(),
            workdir: service.working_dir.clone(),
            user: service.user.clone(),
            tty: service.tty.unwrap_or(false),
            interactive: service.stdin_open.unwrap_or(false),
            memory: limits.memory.map(|m| m as i64),
            cpus: limits.cpus,
            pids_limit: limits.pids,
            publish: service
                .ports
                .iter()
                .map(|p| PortMapping {
                    host: p.published.as_deref().and_then(|p| p.parse().ok()).unwrap_or(0),
                    container: p.target,
                })
                .collect(),
            network,
            network_aliases: aliases,
            volumes,
            healthcheck: super::compose_wait::healthcheck_of(service),
            restart: super::compose_wait::restart_of(service),
            ..RunOptions::default()
        },
    }
}

/// The service's networks as the server names them, each with the names the container answers to there (the
/// service's name first, as Compose adds it).
pub(super) fn network_names(project: &Project, service: &Service) -> Vec<(String, Vec<String>)> {
    service
        .networks
        .iter()
        .map(|(key, attached)| {
            let mut aliases = vec![service.name.clone()];
            aliases.extend(attached.iter().flat_map(|a| a.aliases.clone()));
            (network_name(project, key), aliases)
        })
        .collect()
}

fn network_name(project: &Project, key: &str) -> String {
    project
        .networks
        .get(key)
        .map(|n| n.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("{}_{key}", project.name))
}

pub(super) fn volume_name(project: &Project, key: &str) -> String {
    project
        .volumes
        .get(key)
        .map(|v| v.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| key.to_string())
}

/// The session's containers that belong to `project` (by its `com.docker.compose.project` label; one-off `run`
/// containers only with `oneoffs`), with the service each runs.
pub(super) async fn project_containers<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    oneoffs: bool,
) -> Result<Vec<(String, ContainerSummary)>, CompanionError> {
    Ok(compose_project::members(companion, &project.name)
        .await?
        .into_iter()
        .filter(|m| oneoffs || !m.oneoff)
        .map(|m| (m.service, m.row))
        .collect())
}

pub(super) fn failed(progress: &Progress<'_>, message: String) -> Outcome {
    let mut stderr = progress.render();
    stderr.push_str(&format!("Error response from daemon: {message}\n"));
    Outcome::failure(stderr, 1)
}

/// `docker compose up -d [--scale SERVICE=N] [SERVICE...]` (attached, `cli::compose_attach` follows the output
/// after it).
pub async fn up<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, loaded: &Loaded) -> Outcome {
    let project = &loaded.project;
    let budget = match super::compose_wait::budget_of(inv) {
        Ok(budget) => budget,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    let services = ordered(project, &inv.args);
    let scales = match scales(project, &services, inv.flags.values(Flag::SCALE)) {
        Ok(scales) => scales,
        Err(why) => return Outcome::failure(format!("{why}\n"), 1),
    };
    if let Some(why) = services.iter().find_map(unsupported) {
        return Outcome::failure(format!("{why}\n"), 1);
    }
    let mut pulled = pull_missing(ctx, inv, project, &services).await;
    if pulled.exit_code != 0 {
        return pulled;
    }
    let binds = match pack_binds(ctx, project, &services, &mut pulled.stderr).await {
        Ok(binds) => binds,
        Err(e) => return Outcome::failure(format!("{}{e}\n", pulled.stderr), 1),
    };
    let companion = Companion::new(ctx.transport, ctx.base);
    let existing = match compose_project::members(&companion, &project.name).await {
        Ok(rows) => rows,
        Err(e) => return Outcome::failure(format!("{}{e}\n", pulled.stderr), 1),
    };
    let orphans: Vec<&Member> = existing.iter().filter(|m| orphaned(project, m)).collect();
    let removing = inv.flags.is_set(Flag::REMOVE_ORPHANS);
    if !orphans.is_empty() && !removing {
        pulled.stderr.push_str(&orphan_warning(&orphans));
    }
    show_first(ctx, &mut pulled);
    let mut progress = Progress::for_line(ctx, inv, "Running");
    if let Err(e) = create_missing(&companion, wanted(project, &services), &mut progress).await {
        return failed(&progress, e.to_string());
    }
    if removing {
        if let Err(e) = remove_orphans(&companion, &orphans, None, &mut progress).await {
            return failed(&progress, e.to_string());
        }
    }
    let files = compose_project::config_files(project, &loaded.files);
    for (service, scale) in services.iter().zip(scales) {
        let mine: Vec<&Member> = existing
            .iter()
            .filter(|m| !m.oneoff && m.service == service.name)
            .collect();
        if let Err(e) = dependencies(&companion, project, service, &mut progress).await {
            return dependency_failed(&mut progress, e);
        }
        if let Err(e) = converge(
            &companion,
            project,
            service,
            (scale, &files, &binds),
            &mine,
            &mut progress,
        )
        .await
        {
            return failed(&progress, e.to_string());
        }
    }
    if inv.flags.is_set(Flag::WAIT) {
        if let Err(e) = wait_every(&companion, project, &services, budget, &mut progress).await {
            return dependency_failed(&mut progress, e);
        }
    }
    let mut outcome = pulled;
    outcome.stderr.push_str(&progress.render());
    outcome
}

/// A container of the project Compose calls an orphan (`isOrphaned` in its `containers.go`): one of a service
/// the files do not define (any more), or a one-off `run` container that has exited.
pub(super) fn orphaned(project: &Project, member: &Member) -> bool {
    if member.oneoff {
        return member.row.status == ContainerStatus::Exited;
    }
    !project.services.contains_key(&member.service) && !project.disabled_services.contains(&member.service)
}

/// Compose's warning when `up` finds orphans and was not told `--remove-orphans` (`pkg/compose/create.go`;
/// the names as Go prints a list of strings).
fn orphan_warning(orphans: &[&Member]) -> String {
    let names: Vec<&str> = orphans.iter().map(|m| m.row.name.as_str()).collect();
    format!(
        "WARN[0000] Found orphan containers ([{}]) for this project. If you removed or renamed this service in \
         your compose file, you can run this command with the --remove-orphans flag to clean it up.\n",
        names.join(" ")
    )
}

/// Stop (within `timeout` seconds) and remove `orphans`: ` ✔ Container app-old-1  Removed`.
async fn remove_orphans<T: Transport>(
    companion: &Companion<'_, T>,
    orphans: &[&Member],
    timeout: Option<u64>,
    progress: &mut Progress<'_>,
) -> Result<(), CompanionError> {
    for m in orphans {
        remove_container(companion, &m.row, timeout, progress).await?;
    }
    Ok(())
}

/// Stop `row` when it runs (SIGKILL after `timeout` seconds), then remove it.
async fn remove_container<T: Transport>(
    companion: &Companion<'_, T>,
    row: &ContainerSummary,
    timeout: Option<u64>,
    progress: &mut Progress<'_>,
) -> Result<(), CompanionError> {
    let what = format!("Container {}", row.name);
    if row.status == ContainerStatus::Running {
        progress.set(what.clone(), "Stopping");
        companion.stop(&row.id, &StopQuery { t: timeout }).await?;
        progress.set(what.clone(), "Stopped");
    }
    progress.set(what.clone(), "Removing");
    companion.remove(&row.id, &RemoveQuery { force: true }).await?;
    progress.set(what, "Removed");
    Ok(())
}

/// On a terminal that draws `up`'s block as it goes, what comes before the block (the pulls, the builds,
/// Compose's warnings) is shown first, as it is printed there; `outcome` keeps only its exit code.
pub(super) fn show_first<T: Transport>(ctx: &CommandContext<'_, T>, outcome: &mut Outcome) {
    let (Some(_), Some(sink)) = (ctx.status, ctx.progress) else {
        return;
    };
    for (stream, text) in [
        (Stream::Stdout, &mut outcome.stdout),
        (Stream::Stderr, &mut outcome.stderr),
    ] {
        std::mem::take(text).lines().for_each(|line| sink(stream, line));
    }
}

/// How many containers each of `services` runs: `--scale SERVICE=N` over the file's `scale:`, else 1.
fn scales(project: &Project, services: &[Service], flags: &[String]) -> Result<Vec<u64>, String> {
    let mut asked = std::collections::BTreeMap::new();
    for value in flags {
        let (name, n) = value
            .split_once('=')
            .ok_or_else(|| format!("invalid scale specifier: {value:?}"))?;
        let n: u64 = n
            .parse()
            .map_err(|_| format!("invalid scale specifier: {value:?}"))?;
        if !project.services.contains_key(name) {
            return Err(format!("no such service: {name}"));
        }
        asked.insert(name.to_string(), n);
    }
    services
        .iter()
        .map(|s| {
            let n = asked.get(&s.name).copied().or(s.scale).unwrap_or(1);
            if n > 1 && s.container_name.is_some() {
                return Err(format!(
                    "services.scale: can't set container_name and {} as container name must be unique",
                    s.name
                ));
            }
            Ok(n)
        })
        .collect()
}

/// Bring `service` to `scale` containers (`files`: its config-files label): numbers 1..=scale running (left
/// `Running`, or `Started`, or created), higher numbers stopped and removed (Compose scales down from the top).
pub(super) async fn converge<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    service: &Service,
    (scale, files, binds): (u64, &str, &super::mounts::ComposeBinds),
    mine: &[&Member],
    progress: &mut Progress<'_>,
) -> Result<(), CompanionError> {
    for n in 1..=scale {
        let name = service.container_name(&project.name, n);
        let row = mine
            .iter()
            .find(|m| m.number == n || m.row.name == name)
            .map(|m| &m.row);
        let state = match row {
            Some(r) if r.status == ContainerStatus::Running => "Running",
            Some(r) => {
                // Compose's working event first (`startService`), seen in plain mode.
                progress.set(format!("Container {name}"), "Starting");
                companion.start(&r.id).await.map(|()| "Started")?
            }
            None => {
                progress.set(format!("Container {name}"), "Creating");
                let labels = compose_project::container_labels(project, service, n, false, files);
                create_started(companion, project, service, (n, labels), binds).await?;
                // Compose's events between: the container created, then starting (one request here).
                progress.set(format!("Container {name}"), "Created");
                progress.set(format!("Container {name}"), "Starting");
                "Started"
            }
        };
        progress.set(format!("Container {name}"), state);
    }
    let mut extra: Vec<&&Member> = mine.iter().filter(|m| m.number > scale).collect();
    extra.sort_by_key(|m| std::cmp::Reverse(m.number));
    for m in extra {
        companion.remove(&m.row.id, &RemoveQuery { force: true }).await?;
        progress.done(format!("Container {}", m.row.name), "Removed");
    }
    Ok(())
}

/// `up --wait`: every service's first container running (healthy when it has a healthcheck), or exited 0 for a
/// one-shot service others wait for to complete (Compose's `getDependencyCondition`), within `budget`.
async fn wait_every<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    services: &[Service],
    mut budget: Budget,
    progress: &mut Progress<'_>,
) -> Result<(), (String, String)> {
    for service in services {
        let name = service.container_name(&project.name, 1);
        let completes = project.services.values().any(|s| {
            s.depends_on
                .get(&service.name)
                .is_some_and(|d| Condition::of_dependency(&d.condition) == Some(Condition::Completed))
        });
        let condition = match completes {
            true => Condition::Completed,
            false => Condition::RunningOrHealthy,
        };
        progress.set(format!("Container {name}"), "Waiting");
        match wait_for(companion, &name, &service.name, condition, &mut budget).await {
            Ok(state) => progress.set(format!("Container {name}"), state),
            Err(e) => return Err((name, e)),
        }
    }
    Ok(())
}

/// Wait for the conditions of `service`'s dependencies (`service_healthy`, `service_completed_successfully`):
/// their lines say `Healthy` or `Exited` then; the failing container's name and Compose's error otherwise.
pub(super) async fn dependencies<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    service: &Service,
    progress: &mut Progress<'_>,
) -> Result<(), (String, String)> {
    for (dependency, d) in &service.depends_on {
        let (Some(condition), Some(dep)) = (
            Condition::of_dependency(&d.condition),
            project.services.get(dependency),
        ) else {
            continue;
        };
        let name = dep.container_name(&project.name, 1);
        progress.set(format!("Container {name}"), "Waiting");
        let mut budget = Budget::unlimited();
        match wait_for(companion, &name, dependency, condition, &mut budget).await {
            Ok(state) => progress.set(format!("Container {name}"), state),
            Err(e) => return Err((name, e)),
        }
    }
    Ok(())
}

/// A wait that failed: the container's line says `Error`, and Compose's message follows the block.
pub(super) fn dependency_failed(progress: &mut Progress<'_>, (name, message): (String, String)) -> Outcome {
    progress.set(format!("Container {name}"), "Error");
    let mut stderr = progress.render();
    stderr.push_str(&format!("{message}\n"));
    Outcome::failure(stderr, 1)
}

/// Create container `n` of `service` with its `labels`, connect it to its other networks, then start it.
async fn create_started<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    service: &Service,
    (n, labels): (u64, std::collections::BTreeMap<String, String>),
    binds: &super::mounts::ComposeBinds,
) -> Result<(), CompanionError> {
    let mut request = create_request(project, service, n);
    request.options.labels = labels;
    super::mounts::apply_compose_binds(&service.name, &mut request.options.volumes, binds);
    let created = companion.create(&request, false).await?;
    for (network, aliases) in network_names(project, service).into_iter().skip(1) {
        let connect = NetworkConnect {
            container: created.id.clone(),
            aliases,
        };
        companion.connect_network(&network, &connect).await?;
    }
    companion.start(&created.id).await
}

/// A network or named volume `up` creates when it is missing (external ones are used, never made).
pub(super) struct Wanted {
    name: String,
    external: bool,
    /// `Some(internal)` for a network, `None` for a volume.
    network: Option<bool>,
}

/// The networks and named volumes the services use.
pub(super) fn wanted(project: &Project, services: &[Service]) -> Vec<Wanted> {
    let networks: BTreeSet<&String> = services.iter().flat_map(|s| s.networks.keys()).collect();
    let volumes: BTreeSet<&String> = services
        .iter()
        .flat_map(|s| s.volumes.iter().filter(|m| m.kind == MountType::Volume))
        .filter_map(|m| m.source.as_ref())
        .collect();
    let mut out: Vec<Wanted> = networks
        .into_iter()
        .map(|key| {
            let network = project.networks.get(key);
            Wanted {
                name: network_name(project, key),
                external: network.is_some_and(|n| n.external),
                network: Some(network.is_some_and(|n| n.internal)),
            }
        })
        .collect();
    out.extend(volumes.into_iter().map(|key| Wanted {
        name: volume_name(project, key),
        external: project.volumes.get(key).is_some_and(|v| v.external),
        network: None,
    }));
    out
}

/// Create what `wanted` lists and the session does not have yet (` ✔ Network app_default  Created`).
pub(super) async fn create_missing<T: Transport>(
    companion: &Companion<'_, T>,
    wanted: Vec<Wanted>,
    progress: &mut Progress<'_>,
) -> Result<(), CompanionError> {
    let networks: BTreeSet<String> = companion.networks().await?.into_iter().map(|n| n.name).collect();
    let volumes: BTreeSet<String> = companion.volumes().await?.into_iter().map(|v| v.name).collect();
    for w in wanted {
        match w.network {
            Some(internal) if !w.external && !networks.contains(&w.name) => {
                let request = NetworkCreate {
                    name: w.name.clone(),
                    internal,
                    ..NetworkCreate::default()
                };
                progress.set(format!("Network {}", w.name), "Creating");
                companion.create_network(&request).await?;
                progress.set(format!("Network {}", w.name), "Created");
            }
            None if !w.external && !volumes.contains(&w.name) => {
                progress.set(format!("Volume \"{}\"", w.name), "Creating");
                companion
                    .create_volume(&VolumeCreate { name: w.name.clone() })
                    .await?;
                progress.set(format!("Volume \"{}\"", w.name), "Created");
            }
            _ => {}
        }
    }
    Ok(())
}

/// The pull policy of `service` for this line, as Compose's `createOptions.Apply` settles it: `--pull` over the
/// file's `pull_policy` (`missing` without either), and `--build` makes it `build` for a service with `build:`.
pub(super) fn pull_policy_of(inv: &Invocation, service: &Service) -> Result<String, String> {
    let mut policy = service.pull_policy.clone().unwrap_or_else(|| "missing".into());
    if let Some(flag) = inv.flags.value(Flag::PULL) {
        if !crate::compose::service::PULL_POLICIES.contains(&flag) {
            return Err(format!("invalid --pull option {flag:?}"));
        }
        policy = flag.to_string();
    }
    if inv.flags.is_set(Flag::BUILD) && service.build.is_some() {
        policy = "build".into();
    }
    Ok(policy)
}

/// Pull the images of `services` as their pull policy says (Compose's `pullRequiredImages`): `missing` (and
/// `if_not_present`) the images the session's store does not have yet, `always` every service's `image:`,
/// `never` and `build` none, a missing image then failing as the daemon's create does (` ✔ web Pulled`).
pub(super) async fn pull_missing<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
    services: &[Service],
) -> Outcome {
    let mut progress = Progress::at_the_end(ctx, inv, "Pulling");
    let local = ctx.local_client();
    for service in services {
        let image = image_of(project, service);
        let Ok(reference) = Reference::parse(&image).map(Reference::with_default_tag) else {
            return Outcome::failure(format!("invalid reference format: {image}\n"), 1);
        };
        let policy = match pull_policy_of(inv, service) {
            Ok(policy) => policy,
            Err(e) => return Outcome::failure(format!("{e}\n"), 1),
        };
        let present = local
            .pull_manifest(&ctx.local_repository(&reference), &reference.tag_or_digest())
            .await
            .is_ok();
        match policy.as_str() {
            "always" if service.image.is_some() => {}
            _ if present => continue,
            "never" | "build" if service.image.is_some() => {
                let mut stderr = progress.render();
                stderr.push_str(&format!(
                    "Error response from daemon: No such image: {}\n",
                    reference.familiar()
                ));
                return Outcome::failure(stderr, 1);
            }
            _ => {}
        }
        if service.image.is_none() {
            // `cli::compose_build::before_up` built every missing image unless the line said `--no-build`.
            return Outcome::failure(
                format!(
                    "slipway: service \"{}\" has no image {image} yet and --no-build was given: build it with \
                     'docker compose build {}'\n",
                    service.name, service.name
                ),
                1,
            );
        }
        let mut out = Printer::new(ctx).quiet();
        progress.set(service.name.clone(), "Pulling");
        if let Err(e) = super::transfer::pull_image(ctx, &image, &mut out, Stream::Stdout).await {
            let mut stderr = progress.render();
            stderr.push_str(&format!("Error response from daemon: {e}\n"));
            return Outcome::failure(stderr, 1);
        }
        progress.set(service.name.clone(), "Pulled");
    }
    Outcome {
        stderr: progress.render(),
        ..Outcome::default()
    }
}

/// `docker compose down [-v] [-t N]`: the project's containers stopped and removed, then its networks (and with
/// `-v` its volumes).
pub async fn down<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, project: &Project) -> Outcome {
    let timeout = match inv.flags.value(Flag::TIMEOUT).map(str::parse::<u64>).transpose() {
        Ok(t) => t,
        Err(_) => {
            let text = inv.flags.value(Flag::TIMEOUT).unwrap_or_default();
            return Outcome::failure(
                format!("invalid argument \"{text}\" for \"-t, --timeout\" flag\n"),
                1,
            );
        }
    };
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut progress = Progress::at_the_end(ctx, inv, "Running");
    // One-off `run` containers too with --remove-orphans, as Compose's `down` takes them (pkg/compose/down.go).
    let removing = inv.flags.is_set(Flag::REMOVE_ORPHANS);
    let members = match compose_project::members(&companion, &project.name).await {
        Ok(members) => members,
        Err(e) => return failed(&progress, e.to_string()),
    };
    let members: Vec<&Member> = members.iter().filter(|m| removing || !m.oneoff).collect();
    // Dependents first: the reverse of the order `up` starts them in.
    let order = ordered(project, &[]);
    for service in order.iter().rev() {
        for m in members.iter().filter(|m| m.service == service.name) {
            if let Err(e) = remove_container(&companion, &m.row, timeout, &mut progress).await {
                return failed(&progress, e.to_string());
            }
        }
    }
    // Then, with --remove-orphans, the containers of services the files no longer define.
    let orphans: Vec<&Member> = members
        .iter()
        .copied()
        .filter(|m| removing && !m.oneoff && orphaned(project, m))
        .collect();
    if let Err(e) = remove_orphans(&companion, &orphans, timeout, &mut progress).await {
        return failed(&progress, e.to_string());
    }
    if let Err(e) = remove_resources(
        &companion,
        project,
        inv.flags.is_set(Flag::VOLUMES),
        &mut progress,
    )
    .await
    {
        return failed(&progress, e.to_string());
    }
    Outcome {
        stderr: progress.render(),
        ..Outcome::default()
    }
}

/// The project's own networks (and with `volumes` its volumes) that exist, removed.
async fn remove_resources<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    volumes: bool,
    progress: &mut Progress<'_>,
) -> Result<(), CompanionError> {
    let networks = companion.networks().await?;
    for (key, network) in &project.networks {
        let name = network_name(project, key);
        let Some(found) = networks
            .iter()
            .find(|n| n.name == name)
            .filter(|_| !network.external)
        else {
            continue;
        };
        // A container of another project, or a one-off `run` left running, holds it: Compose's warning.
        if !found.containers.is_empty() {
            progress.done(format!("Network {name}"), IN_USE);
            continue;
        }
        progress.set(format!("Network {name}"), "Removing");
        companion.remove_network(&name).await?;
        progress.set(format!("Network {name}"), "Removed");
    }
    if !volumes {
        return Ok(());
    }
    let existing: BTreeSet<String> = companion.volumes().await?.into_iter().map(|v| v.name).collect();
    for (key, volume) in &project.volumes {
        let name = volume_name(project, key);
        if !volume.external && existing.contains(&name) {
            progress.set(format!("Volume {name}"), "Removing");
            companion.remove_volume(&name).await?;
            progress.set(format!("Volume {name}"), "Removed");
        }
    }
    Ok(())
}

/// `docker compose ps [-a] [-q] [SERVICE...]`: Compose's table (NAME IMAGE COMMAND SERVICE CREATED STATUS
/// PORTS).
pub async fn ps<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, project: &Project) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    let all = inv.flags.is_set(Flag::ALL);
    // One-off `run` containers too with -a, as Compose's `Ps` takes them (`oneOffInclude`).
    let rows = match project_containers(&companion, project, all).await {
        Ok(rows) => rows,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    let shown: Vec<&(String, ContainerSummary)> = rows
        .iter()
        .filter(|(_, r)| all || r.status == ContainerStatus::Running)
        .filter(|(s, _)| inv.args.is_empty() || inv.args.contains(s))
        .collect();
    if inv.flags.is_set(Flag::QUIET) {
        return Outcome::success(shown.iter().map(|(_, r)| format!("{}\n", r.id)).collect());
    }
    Outcome::success(ps_table(&shown, ctx.now))
}

fn ps_table(rows: &[&(String, ContainerSummary)], now: u64) -> String {
    let mut table = vec![[
        "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
    ]
    .map(String::from)];
    for (service, r) in rows {
        let age = super::format::human_duration(now.saturating_sub(r.created));
        let mut command = format!("\"{}\"", r.command);
        if command.chars().count() > 22 {
            command = format!("\"{}…\"", r.command.chars().take(19).collect::<String>());
        }
        table.push([
            r.name.clone(),
            r.image.clone(),
            command,
            service.clone(),
            format!("{age} ago"),
            super::containers::status_text(r, now),
            super::ports::ports_text(r),
        ]);
    }
    super::format::tabwrite(&table.into_iter().map(Vec::from).collect::<Vec<_>>())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::compose::project::{load, Options};
    use std::collections::BTreeMap;

    /// The project `app` of a `compose.yaml`, in `/project`.
    pub(in crate::cli) fn project(yaml: &str) -> Project {
        let mut files = BTreeMap::new();
        files.insert("compose.yaml".to_string(), yaml.to_string());
        let opts = Options {
            project_name: Some("app".into()),
            working_dir: "/project".into(),
            ..Options::default()
        };
        load(&files, &opts).expect("loads").project
    }

    #[test]
    fn containers_are_named_and_networked_as_compose_does() {
        let p = project(
            "services:\n  web:\n    image: busybox\n    depends_on: [db]\n    ports: ['8080:80']\n    \
             networks: [front, default]\n    command: [httpd, -f]\n  db:\n    image: busybox\n    \
             volumes: [data:/data]\n    environment: {A: b}\nnetworks:\n  front: {}\nvolumes:\n  data: {}\n",
        );
        let order: Vec<String> = ordered(&p, &[]).into_iter().map(|s| s.name).collect();
        assert_eq!(order.first().map(String::as_str), Some("db"));
        let web = create_request(&p, &p.services["web"], 1);
        assert_eq!(web.options.name.as_deref(), Some("app-web-1"));
        assert_eq!(web.options.network.as_deref(), Some("app_default"));
        assert_eq!(web.options.network_aliases, vec!["web".to_string()]);
        assert_eq!(
            web.options.publish,
            vec![PortMapping {
                host: 8080,
                container: 80
            }]
        );
        assert_eq!(web.options.cmd, vec!["httpd".to_string(), "-f".to_string()]);
        assert_eq!(network_names(&p, &p.services["web"])[1].0, "app_front");
        let db = create_request(&p, &p.services["db"], 1);
        assert_eq!(db.options.volumes[0].source, "app_data");
        assert_eq!(db.options.env, vec!["A=b".to_string()]);
        assert_eq!(scales(&p, &ordered(&p, &[]), &[]), Ok(vec![1, 1]));
        assert_eq!(scales(&p, &ordered(&p, &[]), &["web=3".into()]), Ok(vec![1, 3]));
        assert_eq!(
            scales(&p, &ordered(&p, &[]), &["web".into()]),
            Err("invalid scale specifier: \"web\"".into())
        );
        assert_eq!(
            scales(&p, &ordered(&p, &[]), &["nope=2".into()]),
            Err("no such service: nope".into())
        );
        let mut progress = Progress::default();
        progress.done("Network app_default".into(), "Created");
        progress.done("Container app-web-1".into(), "Started");
        assert_eq!(
            progress.render(),
            "[+] Running 2/2\n ✔ Network app_default  Created\n ✔ Container app-web-1  Started\n"
        );
    }

    /// `--progress plain` / `--ansi never`, and the default `auto` off a terminal: Compose's plain writer, one
    /// line per event (`fmt.Fprintln("", ID, "", StatusText)`), never the block; `auto` on a terminal and `tty`
    /// anywhere: the block; `quiet` prints nothing; an unknown value, or a pair Compose refuses, is its error.
    #[test]
    fn plain_progress_prints_each_event_as_compose_does() {
        let parsed = |line: &str| {
            let words: Vec<String> = line.split(' ').map(str::to_string).collect();
            let Ok(crate::cli::parse::Parsed::Run(inv)) = crate::cli::parse::parse(&words) else {
                panic!("{line}")
            };
            crate::cli::compose::subcommand(&inv).expect("a compose subcommand")
        };
        let piped = |line: &str| ProgressMode::of(&parsed(line), false);
        let on_a_terminal = |line: &str| ProgressMode::of(&parsed(line), true);
        assert_eq!(piped("compose up"), Ok(ProgressMode::Plain));
        assert_eq!(piped("compose --progress auto up"), Ok(ProgressMode::Plain));
        assert_eq!(on_a_terminal("compose up"), Ok(ProgressMode::Tty));
        assert_eq!(piped("compose --progress tty up"), Ok(ProgressMode::Tty));
        assert_eq!(
            on_a_terminal("compose --progress plain up"),
            Ok(ProgressMode::Plain)
        );
        assert_eq!(on_a_terminal("compose --ansi never up"), Ok(ProgressMode::Plain));
        assert_eq!(piped("compose --ansi always up"), Ok(ProgressMode::Plain));
        assert_eq!(
            on_a_terminal("compose --ansi never --progress tty up"),
            Err("can't use --progress tty while ANSI support is disabled".into())
        );
        assert_eq!(
            piped("compose --ansi always --progress plain up"),
            Err("can't use --progress plain while ANSI support is forced".into())
        );
        assert_eq!(piped("compose --progress quiet down"), Ok(ProgressMode::Quiet));
        assert_eq!(
            on_a_terminal("compose --progress none down"),
            Ok(ProgressMode::Quiet)
        );
        assert_eq!(
            piped("compose --progress fancy up"),
            Err("unsupported --progress value \"fancy\"".into())
        );
        assert_eq!(
            piped("compose --ansi sometimes up"),
            Err("unsupported --ansi value \"sometimes\"".into())
        );
        assert!(piped("compose --progress json up").is_err());
        let mut progress = Progress {
            plain: Some(String::new()),
            ..Progress::default()
        };
        progress.set("Container app-web-1".into(), "Creating");
        progress.set("Container app-web-1".into(), "Created");
        progress.done("Network app_default".into(), "Removed");
        assert_eq!(
            progress.render(),
            " Container app-web-1  Creating\n Container app-web-1  Created\n Network app_default  Removed\n"
        );
    }

    #[test]
    fn on_a_terminal_the_block_is_redrawn_as_compose_waits() {
        let drawn = std::cell::RefCell::new(Vec::<(String, String)>::new());
        let sink = |_: Stream, key: &str, line: &str| drawn.borrow_mut().push((key.into(), line.into()));
        let mut progress = Progress {
            live: Some(&sink),
            ..Progress::default()
        };
        progress.done("Container app-db-1".into(), "Started");
        progress.set("Container app-db-1".into(), "Waiting");
        // The screen as the keyed lines leave it after each step.
        let screen = |drawn: &[(String, String)]| {
            let mut rows: Vec<(String, String)> = Vec::new();
            for (key, line) in drawn {
                match rows.iter_mut().find(|(k, _)| k == key) {
                    Some(row) => row.1 = line.clone(),
                    None => rows.push((key.clone(), line.clone())),
                }
            }
            rows.into_iter().map(|(_, line)| line + "\n").collect::<String>()
        };
        assert_eq!(
            screen(&drawn.borrow()),
            "[+] Running 0/1\n ⠋ Container app-db-1  Waiting\n"
        );
        progress.set("Container app-db-1".into(), "Healthy");
        progress.set("Container app-web-1".into(), "Creating");
        progress.set("Container app-web-1".into(), "Started");
        assert_eq!(
            screen(&drawn.borrow()),
            "[+] Running 2/2\n ✔ Container app-db-1   Healthy\n ✔ Container app-web-1  Started\n"
        );
        // Drawn already: nothing more is printed at the end.
        assert_eq!(progress.render(), "");
        let keys: Vec<&str> = ["Running", "Running:Container app-db-1"].to_vec();
        assert!(drawn
            .borrow()
            .iter()
            .all(|(k, _)| keys.contains(&k.as_str()) || k.ends_with("app-web-1")));
    }
}
