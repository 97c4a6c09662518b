//! Container commands (`run`, `ps`, `logs`, `stop`, `kill`, `rm`) against the companion's container API
//! (`docs/runner-api.md`), over the same transport trait as the registry client: `fetch` in the page,
//! an HTTP client natively.

use super::context::{ProgressSink, Stream};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::api::{
    Companion, CompanionError, ContainerStatus, ContainerSummary, CreateContainer, CreateQuery, KillQuery,
    LogChunk, LogStream, LogsQuery, PortMapping, RemoveQuery, RunOptions, StopQuery, VolumeMount,
};
use crate::registry::transport::Transport;

/// Moved to the protocol's client ([`crate::api`]); kept here for callers outside the interpreter.
pub use crate::api::{Created, SessionTransport};

/// Whether a `docker run` hands the terminal to the container (`-i`/`-t` without `-d`) instead of waiting for
/// its output.
pub fn is_interactive_run(inv: &Invocation) -> bool {
    (inv.flags.is_set(Flag::INTERACTIVE) || inv.flags.is_set(Flag::TTY)) && !inv.flags.is_set(Flag::DETACH)
}

/// Which of the terminal's streams a chunk of output goes to (a TTY's output is stdout).
pub(super) fn stream_of(chunk: &LogChunk) -> Stream {
    match chunk.stream {
        LogStream::Stderr => Stream::Stderr,
        LogStream::Stdout | LogStream::Tty => Stream::Stdout,
    }
}

/// `docker logs --timestamps`: each line starts with the time it was written
/// (`2026-11-28T05:05:13.123456789Z `). A chunk may end mid-line; the next line of the same stream is stamped
/// when it starts.
#[derive(Debug)]
pub(super) struct Timestamps {
    on: bool,
    at_line_start: [bool; 2],
}

impl Timestamps {
    pub(super) fn new(on: bool) -> Self {
        Timestamps {
            on,
            at_line_start: [true; 2],
        }
    }

    pub(super) fn stamp(&mut self, chunk: &LogChunk) -> String {
        if !self.on {
            return chunk.data.clone();
        }
        let stamp = format!("{} ", crate::image::rfc3339_nanos(chunk.time_ns));
        let at_start = &mut self.at_line_start[usize::from(stream_of(chunk) == Stream::Stderr)];
        let mut out = String::with_capacity(chunk.data.len() + stamp.len());
        for piece in chunk.data.split_inclusive('\n') {
            if *at_start {
                out.push_str(&stamp);
            }
            out.push_str(piece);
            *at_start = piece.ends_with('\n');
        }
        out
    }
}

/// A `docker run` flag value docker refuses, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunFlagError {
    #[error("invalid published port: {0}")]
    Port(String),
    #[error("invalid size: '{0}'")]
    Size(String),
    #[error(transparent)]
    Mount(#[from] super::mounts::MountFlagError),
    /// A flag that takes a number.
    #[error("invalid argument \"{text}\" for \"--{flag}\" flag")]
    Number { text: String, flag: &'static str },
    /// A `--health-*` or `--restart` value docker refuses.
    #[error(transparent)]
    Health(#[from] super::supervision::FlagError),
}

/// `-p 8000:8000`, `-p 8000`; docker's "ip:" forms are not supported on the companion.
pub(super) fn publish_spec(spec: &str) -> Result<PortMapping, RunFlagError> {
    let spec = spec.strip_suffix("/tcp").unwrap_or(spec);
    let parse = |p: &str| p.parse::<u16>().map_err(|_| RunFlagError::Port(spec.to_string()));
    Ok(match spec.split_once(':') {
        Some((host, container)) => PortMapping {
            host: parse(host)?,
            container: parse(container)?,
        },
        None => PortMapping {
            host: 0,
            container: parse(spec)?,
        },
    })
}

/// `-m 512m` → bytes, with docker's units (b, k, m, g).
pub fn memory_bytes(text: &str) -> Result<i64, RunFlagError> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = lower.split_at(
        lower
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(lower.len()),
    );
    let size = || RunFlagError::Size(text.to_string());
    let number: f64 = digits.parse().map_err(|_| size())?;
    let scale = match unit.trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(size()),
    };
    Ok((number * scale) as i64)
}

/// What `POST /api/containers` is asked for a `docker run` invocation.
pub fn create_request(inv: &Invocation) -> Result<CreateContainer, RunFlagError> {
    let flags = &inv.flags;
    let publish = flags
        .values(Flag::PUBLISH)
        .iter()
        .map(|p| publish_spec(p))
        .collect::<Result<Vec<_>, _>>()?;
    let value = |flag: Flag| flags.value(flag).map(str::to_string);
    // docker's words for a flag value that is not a number.
    fn number<N: std::str::FromStr>(
        flags: &super::parse::Flags,
        flag: Flag,
    ) -> Result<Option<N>, RunFlagError> {
        let Some(text) = flags.value(flag) else {
            return Ok(None);
        };
        text.parse().map(Some).map_err(|_| RunFlagError::Number {
            text: text.to_string(),
            flag: flag.long(),
        })
    }
    let cpus = number(flags, Flag::CPUS)?;
    let pids_limit = number(flags, Flag::PIDS_LIMIT)?;
    Ok(CreateContainer {
        image: inv.args[0].clone(),
        options: RunOptions {
            name: value(Flag::NAME),
            entrypoint: value(Flag::ENTRYPOINT).map(|e| vec![e]),
            cmd: inv.args[1..].to_vec(),
            env: flags.values(Flag::ENV).to_vec(),
            workdir: value(Flag::WORKDIR),
            user: value(Flag::USER),
            hostname: value(Flag::HOSTNAME),
            tty: flags.is_set(Flag::TTY),
            interactive: flags.is_set(Flag::INTERACTIVE),
            memory: flags.value(Flag::MEMORY).map(memory_bytes).transpose()?,
            cpus,
            pids_limit,
            publish,
            network: value(Flag::NETWORK),
            network_aliases: flags.values(Flag::NETWORK_ALIAS).to_vec(),
            volumes: super::mounts::mounts_of(inv)?,
            binds: super::mounts::binds_of(inv),
            mounts: flags.values(Flag::MOUNT).to_vec(),
            labels: super::build::labels(flags.values(Flag::LABEL)),
            healthcheck: super::supervision::healthcheck(inv)?,
            restart: super::supervision::restart_policy(inv)?,
            ..RunOptions::default()
        },
    })
}

/// `docker run`: create and start; detached prints the id, attached tells `foreground` the id, waits and
/// prints the output.
pub async fn run<T: Transport>(
    transport: &T,
    base: &str,
    (inv, mounts): (&Invocation, Option<&[VolumeMount]>),
    foreground: Option<&dyn Fn(&str)>,
) -> Outcome {
    let created = match create_started(transport, base, (inv, mounts), None).await {
        Ok(created) => created,
        Err(failed) => return failed,
    };
    let (id, warned) = (&created.id, warnings(&created));
    if inv.flags.is_set(Flag::DETACH) {
        return Outcome {
            stdout: format!("{id}\n"),
            stderr: warned,
            exit_code: 0,
        };
    }
    if let Some(foreground) = foreground {
        foreground(id);
    }
    let mut outcome = wait_and_collect(transport, base, inv, id).await;
    outcome.stderr.insert_str(0, &warned);
    outcome
}

/// The daemon's warnings about a new container, as the docker CLI prints them on stderr (`WARNING: ...`).
pub fn warnings(created: &Created) -> String {
    created
        .warnings
        .iter()
        .map(|w| format!("WARNING: {w}\n"))
        .collect()
}

/// Ctrl-C on a foreground `docker run` (no `-t`): docker's CLI forwards SIGINT to the container (`--sig-proxy`),
/// then waits. A process that ignores SIGINT (any PID 1 without a handler, `sleep` among them) would hold the
/// page's prompt forever, so the page then stops it as `docker stop -t 3` does (SIGTERM, SIGKILL after 3 s) and
/// removes it for `--rm`. See docs/docker-cli.md.
pub async fn interrupt<T: Transport>(transport: &T, base: &str, id: &str, remove: bool) {
    let companion = Companion::new(transport, base);
    let int = KillQuery {
        signal: Some("INT".into()),
    };
    let _ = companion.kill(id, &int).await;
    let _ = companion.stop(id, &StopQuery { t: Some(3) }).await;
    if remove {
        let _ = companion.remove(id, &RemoveQuery { force: true }).await;
    }
}

/// The command docker names in "Run 'docker VERB --help'": `run` or `create`.
pub fn verb(inv: &Invocation) -> &'static str {
    match inv.command.id {
        CommandId::ContainerCreate => "create",
        _ => "run",
    }
}

/// Create and start the container of a `docker run`; a failure is docker's message with exit code 125.
pub async fn create_started<T: Transport>(
    transport: &T,
    base: &str,
    (inv, mounts): (&Invocation, Option<&[VolumeMount]>),
    console_size: Option<[u16; 2]>,
) -> Result<Created, Outcome> {
    create_container(transport, base, (inv, mounts), console_size, true).await
}

/// Create the container of a `docker run` (and start it, with `start`) or a `docker create`; a failure is
/// docker's message with exit code 125. `mounts`: the flags' mounts with the project's binds packed
/// ([`super::mounts::resolved_mounts`]).
pub async fn create_container<T: Transport>(
    transport: &T,
    base: &str,
    (inv, mounts): (&Invocation, Option<&[VolumeMount]>),
    console_size: Option<[u16; 2]>,
    start: bool,
) -> Result<Created, Outcome> {
    let verb = verb(inv);
    let mut request = create_request(inv).map_err(|e| {
        Outcome::failure(
            format!("docker: {e}\n\nRun 'docker {verb} --help' for more information"),
            125,
        )
    })?;
    if let Some(mounts) = mounts {
        request.options.volumes = mounts.to_vec();
    }
    if is_interactive_run(inv) || !start {
        // Nobody waits to remove it afterwards: the companion does (`--rm`).
        request.options.auto_remove = inv.flags.is_set(Flag::RM);
    }
    if inv.flags.is_set(Flag::TTY) {
        request.options.console_size = console_size;
    }
    let query = CreateQuery {
        start,
        // `docker run` without `-d` attaches before it starts, as docker's CLI does (`run.go`).
        attach: start && !inv.flags.is_set(Flag::DETACH),
        platform: inv.flags.value(Flag::PLATFORM).map(str::to_string),
    };
    match Companion::new(transport, base)
        .create_with(&request, &query)
        .await
    {
        Ok(created) => Ok(created),
        // With `--platform` the image was looked for (and pulled) first: the daemon's words alone.
        Err(refused @ CompanionError::Refused { status: 404, .. }) if query.platform.is_some() => {
            Err(Outcome::failure(
                format!("docker: {refused}\n\nRun 'docker {verb} --help' for more information"),
                125,
            ))
        }
        Err(refused @ CompanionError::Refused { status: 404, .. }) => {
            let image = &inv.args[0];
            let tagged = if image.contains(':') || image.contains('@') {
                image.clone()
            } else {
                format!("{image}:latest")
            };
            Err(Outcome::failure(
                format!(
                    "Unable to find image '{tagged}' locally\ndocker: {refused}\n\nRun 'docker {verb} --help' for more information"
                ),
                125,
            ))
        }
        Err(refused @ CompanionError::Refused { .. }) => {
            Err(Outcome::failure(format!("docker: {refused}"), 125))
        }
        Err(CompanionError::Unreadable(_)) => Err(Outcome::failure(
            "docker: the companion's answer had no container id".into(),
            125,
        )),
        Err(unreachable) => Err(Outcome::failure(unreachable.to_string(), 125)),
    }
}

/// An attached, non-interactive `docker run`: wait for the exit, then print the output (and honour `--rm`).
pub(super) async fn wait_and_collect<T: Transport>(
    transport: &T,
    base: &str,
    inv: &Invocation,
    id: &str,
) -> Outcome {
    let companion = Companion::new(transport, base);
    let state = match companion.wait(id).await {
        Ok(state) => Some(state),
        Err(CompanionError::Unreadable(_)) => None,
        Err(refused @ CompanionError::Refused { .. }) => {
            return Outcome::failure(format!("docker: {refused}"), 125)
        }
        Err(unreachable) => return Outcome::failure(unreachable.to_string(), 125),
    };
    let mut outcome = logs_of(&companion, id, &LogsQuery::default(), Timestamps::new(false)).await;
    if let Some(error) = state.as_ref().and_then(|s| s.error.as_ref()) {
        outcome.stderr.push_str(&format!("docker: {error}\n"));
    }
    if state.as_ref().is_some_and(|s| s.oom_killed) {
        outcome
            .stderr
            .push_str("docker: the container was killed: out of memory (see -m/--memory)\n");
    }
    outcome.exit_code = state.and_then(|s| s.exit_code).unwrap_or(125);
    if inv.flags.is_set(Flag::RM) {
        let _ = super::mounts::remove_container(&companion, id, true, true).await;
    }
    outcome
}

async fn logs_of<T: Transport>(
    companion: &Companion<'_, T>,
    id: &str,
    query: &LogsQuery,
    mut timestamps: Timestamps,
) -> Outcome {
    match companion.logs(id, query).await {
        Ok(chunks) => {
            let mut out = Outcome::default();
            for chunk in &chunks {
                let text = timestamps.stamp(chunk);
                match stream_of(chunk) {
                    Stream::Stderr => out.stderr.push_str(&text),
                    Stream::Stdout => out.stdout.push_str(&text),
                }
            }
            out
        }
        Err(e) => Outcome::failure(e.to_string(), 1),
    }
}

/// `docker logs [-f] [--tail N] [-t] CONTAINER`. With `-f` the output goes to `progress` line by line as the
/// container writes it, until the container's output ends (it exited); without a progress sink it is collected.
pub async fn logs<T: Transport>(
    transport: &T,
    base: &str,
    inv: &Invocation,
    progress: Option<ProgressSink<'_>>,
) -> Outcome {
    let tail = match inv.flags.value(Flag::TAIL).filter(|t| *t != "all") {
        Some(tail) => match tail.parse::<usize>() {
            Ok(lines) => Some(lines),
            Err(_) => {
                return Outcome::failure(
                    format!("Error response from daemon: invalid value for tail: {tail:?}"),
                    1,
                )
            }
        },
        None => None,
    };
    let query = LogsQuery {
        tail,
        timestamps: inv.flags.is_set(Flag::TIMESTAMPS),
        ..LogsQuery::default()
    };
    let companion = Companion::new(transport, base);
    let mut timestamps = Timestamps::new(query.timestamps);
    let id = &inv.args[0];
    if !inv.flags.is_set(Flag::FOLLOW) {
        return logs_of(&companion, id, &query, timestamps).await;
    }
    let mut out = Outcome::default();
    let mut follower = LogFollower::default();
    let mut show = |chunk: LogChunk| {
        let (stream, text) = (stream_of(&chunk), timestamps.stamp(&chunk));
        match progress {
            Some(sink) => follower.push(stream, &text, sink),
            None if stream == Stream::Stderr => out.stderr.push_str(&text),
            None => out.stdout.push_str(&text),
        }
    };
    let followed = companion.follow_logs(id, &query, &mut show).await;
    if let Some(sink) = progress {
        follower.flush(sink);
    }
    match followed {
        Ok(()) => out,
        Err(e) => Outcome::failure(e.to_string(), 1),
    }
}

/// Followed output cut into whole lines per stream, for a sink that shows lines (a chunk may end mid-line).
#[derive(Default)]
struct LogFollower {
    stdout: String,
    stderr: String,
}

impl LogFollower {
    fn pending(&mut self, stream: Stream) -> &mut String {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    fn push(&mut self, stream: Stream, data: &str, sink: ProgressSink<'_>) {
        let pending = self.pending(stream);
        pending.push_str(data);
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            sink(stream, line.trim_end_matches('\n').trim_end_matches('\r'));
        }
    }

    fn flush(&mut self, sink: ProgressSink<'_>) {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(self.pending(stream));
            if !rest.is_empty() {
                sink(stream, &rest);
            }
        }
    }
}

/// The `docker ps` table, with docker's column names and its "Up …" / "Exited (N) … ago" statuses.
pub fn ps_table(rows: &[ContainerSummary], now: u64, quiet: bool, no_trunc: bool) -> String {
    if quiet {
        return rows
            .iter()
            .map(|r| {
                format!(
                    "{}\n",
                    if no_trunc {
                        &r.id[..]
                    } else {
                        &r.id[..12.min(r.id.len())]
                    }
                )
            })
            .collect();
    }
    let mut table = vec![[
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ]
    .map(String::from)];
    for r in rows {
        let age = super::format::human_duration(now.saturating_sub(r.created));
        let status = status_text(r, now);
        let mut command = format!("\"{}\"", r.command);
        if !no_trunc && command.chars().count() > 22 {
            command = format!("\"{}…\"", r.command.chars().take(19).collect::<String>());
        }
        let ports = ports_text(r);
        let id = if no_trunc {
            r.id.clone()
        } else {
            r.id.chars().take(12).collect()
        };
        table.push([
            id,
            r.image.clone(),
            command,
            format!("{age} ago"),
            status,
            ports,
            r.name.clone(),
        ]);
    }
    super::format::tabwrite(&table.into_iter().map(Vec::from).collect::<Vec<_>>())
}

/// `docker ps [-a] [-q] [-n N | -l]`. `now` is the caller's clock in Unix seconds (the page and natively differ).
pub async fn ps<T: Transport>(transport: &T, base: &str, inv: &Invocation, now: u64) -> Outcome {
    let last = match last_containers(inv) {
        Ok(last) => last,
        Err(e) => return Outcome::failure(format!("{e}\n"), 125),
    };
    let filter = match super::ps_filters::PsFilter::parse(inv.flags.values(Flag::FILTER)) {
        Ok(filter) => filter,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    match list(transport, base, inv.flags.is_set(Flag::ALL) || last.is_some()).await {
        Ok(mut rows) => {
            rows.retain(|r| filter.keeps(r));
            rows.truncate(last.unwrap_or(usize::MAX));
            let (quiet, no_trunc) = (inv.flags.is_set(Flag::QUIET), inv.flags.is_set(Flag::NO_TRUNC));
            Outcome::success(ps_table(&rows, now, quiet, no_trunc))
        }
        Err(e) => Outcome::failure(e.to_string(), 1),
    }
}

/// `ps -n`/`--last` given something other than a number, as pflag words it.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid argument \"{0}\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"{0}\": invalid syntax"
)]
pub struct InvalidLast(String);

/// How many of the newest containers `-n N` (`-l`: one) asks for, in any state, as docker counts them: a
/// number below 1 sets no limit.
pub(super) fn last_containers(inv: &Invocation) -> Result<Option<usize>, InvalidLast> {
    if inv.flags.is_set(Flag::LATEST) {
        return Ok(Some(1));
    }
    let Some(text) = inv.flags.value(Flag::LAST) else {
        return Ok(None);
    };
    let n: i64 = text.parse().map_err(|_| InvalidLast(text.to_string()))?;
    Ok(usize::try_from(n).ok().filter(|n| *n > 0))
}

/// Why the session's containers could not be listed, in docker's words.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The companion's answer is no container list.
    #[error("docker: {0}")]
    Unreadable(#[source] CompanionError),
    #[error(transparent)]
    Companion(CompanionError),
}

/// The session's containers (`GET /api/containers`), newest first; `all` includes stopped ones.
pub async fn list<T: Transport>(
    transport: &T,
    base: &str,
    all: bool,
) -> Result<Vec<ContainerSummary>, ListError> {
    Companion::new(transport, base)
        .containers(all)
        .await
        .map_err(|e| match e {
            CompanionError::Unreadable(_) => ListError::Unreadable(e),
            e => ListError::Companion(e),
        })
}

/// docker's STATUS column: `Up 3 minutes`, `Up 5 seconds (healthy)`, `Exited (0) 2 seconds ago`,
/// `Restarting (1) 2 seconds ago`, `Created` (moby's `State.String`).
pub fn status_text(row: &ContainerSummary, now: u64) -> String {
    let age = super::format::human_duration(now.saturating_sub(row.created));
    match row.status {
        ContainerStatus::Running if row.paused => format!("Up {age} (Paused)"),
        _ if row.restarting => format!("Restarting ({}) {age} ago", row.exit_code.unwrap_or(-1)),
        ContainerStatus::Running if row.health.is_some() => {
            format!("Up {age} ({})", row.health.map_or("", |h| h.ps_word()))
        }
        ContainerStatus::Running => format!("Up {age}"),
        ContainerStatus::Exited => format!("Exited ({}) {age} ago", row.exit_code.unwrap_or(-1)),
        ContainerStatus::Created => "Created".to_string(),
    }
}

/// docker's PORTS column (kept here for the page's panels).
pub use super::ports::ports_text;

/// `docker stop|kill|rm CONTAINER...`: each name is echoed on success, as docker does.
pub async fn each_container<T: Transport>(transport: &T, base: &str, inv: &Invocation) -> Outcome {
    let companion = Companion::new(transport, base);
    let mut out = Outcome::default();
    for name in &inv.args {
        let done = match inv.command.id {
            CommandId::ContainerStop => {
                match inv.flags.value(Flag::TIME).map(str::parse::<u64>).transpose() {
                    Ok(t) => companion.stop(name, &StopQuery { t }).await,
                    Err(_) => {
                        let time = inv.flags.value(Flag::TIME).unwrap_or_default();
                        out.stderr
                            .push_str(&format!("invalid argument \"{time}\" for \"-t, --time\" flag\n"));
                        out.exit_code = 1;
                        continue;
                    }
                }
            }
            CommandId::ContainerKill => {
                let signal = inv.flags.value(Flag::SIGNAL).unwrap_or("KILL").to_string();
                companion.kill(name, &KillQuery { signal: Some(signal) }).await
            }
            _ => {
                let (force, volumes) = (inv.flags.is_set(Flag::FORCE), inv.flags.is_set(Flag::VOLUMES));
                super::mounts::remove_container(&companion, name, force, volumes).await
            }
        };
        match done {
            Ok(()) => out.stdout.push_str(&format!("{name}\n")),
            Err(e) => {
                out.stderr.push_str(&format!("{e}\n"));
                out.exit_code = 1;
            }
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// An exited container's row, created at 100.
    pub(in crate::cli) fn summary_row() -> ContainerSummary {
        ContainerSummary {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            image: "user/app".into(),
            command: "python3 -m http.server 8000".into(),
            created: 100,
            status: ContainerStatus::Exited,
            exit_code: Some(0),
            ports: vec![],
            ports_mode: Default::default(),
            preview: String::new(),
            paused: false,
            health: None,
            restarting: false,
            labels: Default::default(),
        }
    }

    #[test]
    fn timestamps_start_every_line_of_each_stream() {
        let chunk = |stream: &str, data: &str, time_ns: u128| -> LogChunk {
            serde_json::from_value(json!({"seq": 1, "stream": stream, "data": data, "time_ns": time_ns}))
                .unwrap()
        };
        let mut stamps = Timestamps::new(true);
        let second = 1_795_842_313_000_000_000u128;
        assert_eq!(
            stamps.stamp(&chunk("stdout", "one\ntw", second)),
            "2026-11-28T05:05:13.000000000Z one\n2026-11-28T05:05:13.000000000Z tw"
        );
        // The rest of a line is not stamped again; another stream keeps its own line starts.
        assert_eq!(
            stamps.stamp(&chunk("stderr", "err\n", second + 5)),
            "2026-11-28T05:05:13.000000005Z err\n"
        );
        assert_eq!(
            stamps.stamp(&chunk("stdout", "o\nthree\n", second + 7)),
            "o\n2026-11-28T05:05:13.000000007Z three\n"
        );
        assert_eq!(Timestamps::new(false).stamp(&chunk("stdout", "x\n", 1)), "x\n");
    }

    #[test]
    fn run_flags_become_the_create_body() {
        let words = crate::cli::words::split_words(
            "docker run --rm -p 8000:8000 -e A=1 -m 64m --cpus 0.5 --pids-limit 32 -w /app -l team=web --label solo --name web user/app python3 app.py",
        )
        .unwrap();
        let crate::cli::parse::Parsed::Run(inv) = crate::cli::parse::parse(&words).unwrap() else {
            panic!()
        };
        let request = create_request(&inv).unwrap();
        assert_eq!(request.image, "user/app");
        let options = request.options;
        assert_eq!(options.cmd, ["python3", "app.py"]);
        assert_eq!(
            options.publish,
            [PortMapping {
                host: 8000,
                container: 8000
            }]
        );
        assert_eq!(options.env, ["A=1"]);
        assert_eq!(options.memory, Some(64 * 1024 * 1024));
        assert_eq!(options.cpus, Some(0.5));
        assert_eq!(options.pids_limit, Some(32));
        assert_eq!(options.name.as_deref(), Some("web"));
        assert_eq!(options.workdir.as_deref(), Some("/app"));
        let labels: Vec<(&str, &str)> = options
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(labels, [("solo", ""), ("team", "web")]);
    }

    #[test]
    fn sizes_and_ports_parse_like_docker() {
        assert_eq!(memory_bytes("512m"), Ok(512 << 20));
        assert_eq!(memory_bytes("1g"), Ok(1 << 30));
        assert_eq!(memory_bytes("100"), Ok(100));
        assert!(memory_bytes("lots").is_err());
        assert_eq!(
            publish_spec("80").unwrap(),
            PortMapping {
                host: 0,
                container: 80
            }
        );
        assert!(publish_spec("x:80").is_err());
    }

    #[test]
    fn ps_table_uses_dockers_columns_and_statuses() {
        let rows = vec![summary_row()];
        let table = ps_table(&rows, 130, false, false);
        let mut lines = table.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with("CONTAINER ID   IMAGE      COMMAND"),
            "{header}"
        );
        let row = lines.next().unwrap();
        assert!(row.starts_with("0123456789ab   user/app   \"python3 -m http.ser…\"   30 seconds ago   Exited (0) 30 seconds ago"), "{row}");
        assert_eq!(ps_table(&rows, 130, true, false), "0123456789ab\n");
        let paused = ContainerSummary {
            status: ContainerStatus::Running,
            paused: true,
            ..rows[0].clone()
        };
        assert_eq!(status_text(&paused, 280), "Up 3 minutes (Paused)");
        let up = |health| ContainerSummary {
            status: ContainerStatus::Running,
            health: Some(health),
            ..rows[0].clone()
        };
        use crate::api::HealthStatus;
        assert_eq!(
            status_text(&up(HealthStatus::Healthy), 105),
            "Up 5 seconds (healthy)"
        );
        assert_eq!(
            status_text(&up(HealthStatus::Starting), 105),
            "Up 5 seconds (health: starting)"
        );
        assert_eq!(
            status_text(&up(HealthStatus::Unhealthy), 105),
            "Up 5 seconds (unhealthy)"
        );
        let restarting = ContainerSummary {
            exit_code: Some(1),
            restarting: true,
            ..rows[0].clone()
        };
        assert_eq!(status_text(&restarting, 102), "Restarting (1) 2 seconds ago");
    }
}
