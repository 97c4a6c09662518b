//! Container commands (`run`, `ps`, `logs`, `stop`, `kill`, `rm`) against the companion's container API
//! (`docs/runner-api.md`), over the same transport trait as the registry client: `fetch` in the page,
//! an HTTP client natively.

use serde::Deserialize;
use serde_json::json;

use super::context::{ProgressSink, Stream};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::registry::transport::{url_origin, HttpRequest, HttpResponse, LineSplitter, Method, Transport};

/// A transport that names the caller's session (`X-Slipway-Session`): the companion shows each session only
/// its own containers and counts them against its own quota. The header goes only to the companion (`home`):
/// a lesson or registry on another origin never hears the token.
pub struct SessionTransport<'a, T> {
    pub inner: &'a T,
    pub session: String,
    /// The companion's origin (`http://127.0.0.1:8080`: [`SessionTransport::new`] drops a path); `""` when only
    /// relative URLs (the page's own origin) reach it.
    pub home: String,
}

impl<'a, T> SessionTransport<'a, T> {
    pub fn new(inner: &'a T, session: impl Into<String>, home: &str) -> Self {
        SessionTransport {
            inner,
            session: session.into(),
            home: url_origin(home).unwrap_or(home).to_string(),
        }
    }

    /// Whether `url` is on the companion: a relative URL (resolved against the page, which the companion
    /// serves) or an absolute one on `home`'s origin. Anything else, `//host` included, is a stranger.
    pub fn is_home(&self, url: &str) -> bool {
        match url_origin(url) {
            None => !url.starts_with("//"),
            Some(origin) => !self.home.is_empty() && origin.eq_ignore_ascii_case(&self.home),
        }
    }

    fn with_session(&self, request: HttpRequest) -> HttpRequest {
        if self.is_home(&request.url) {
            request.header("X-Slipway-Session", self.session.clone())
        } else {
            request
        }
    }
}

impl<T: Transport> Transport for SessionTransport<'_, T> {
    async fn send(
        &self,
        request: HttpRequest,
    ) -> Result<HttpResponse, crate::registry::transport::TransportError> {
        self.inner.send(self.with_session(request)).await
    }

    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, crate::registry::transport::TransportError> {
        self.inner
            .send_streaming(self.with_session(request), on_chunk)
            .await
    }
}

/// One row of `GET /api/containers`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub image: String,
    pub command: String,
    pub created: u64,
    pub status: String,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub ports: Vec<PortRow>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PortRow {
    pub host: u16,
    pub container: u16,
}

/// The answer to `POST /api/containers`.
#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// Whether a `docker run` hands the terminal to the container (`-i`/`-t` without `-d`) instead of waiting for
/// its output.
pub fn is_interactive_run(inv: &Invocation) -> bool {
    (inv.flags.is_set(Flag::INTERACTIVE) || inv.flags.is_set(Flag::TTY)) && !inv.flags.is_set(Flag::DETACH)
}

#[derive(Debug, Deserialize)]
struct WaitState {
    exit_code: Option<i32>,
    #[serde(default)]
    oom_killed: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LogChunk {
    stream: String,
    data: String,
    /// When the container wrote it, in nanoseconds since the Unix epoch (`--timestamps`).
    #[serde(default)]
    time_ns: u128,
}

impl LogChunk {
    fn stream(&self) -> Stream {
        match self.stream.as_str() {
            "stderr" => Stream::Stderr,
            _ => Stream::Stdout,
        }
    }
}

/// `docker logs --timestamps`: each line starts with the time it was written
/// (`2026-11-28T05:05:13.123456789Z `). A chunk may end mid-line; the next line of the same stream is stamped
/// when it starts.
#[derive(Debug)]
struct Timestamps {
    on: bool,
    at_line_start: [bool; 2],
}

impl Timestamps {
    fn new(on: bool) -> Self {
        Timestamps {
            on,
            at_line_start: [true; 2],
        }
    }

    fn stamp(&mut self, chunk: &LogChunk) -> String {
        if !self.on {
            return chunk.data.clone();
        }
        let stamp = format!("{} ", crate::image::rfc3339_nanos(chunk.time_ns));
        let at_start = &mut self.at_line_start[usize::from(chunk.stream() == Stream::Stderr)];
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

/// What the docker CLI prints when the daemon answers with an error.
pub(super) fn daemon_error(response: &HttpResponse) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&response.body).trim().to_string());
    format!("Error response from daemon: {message}")
}

pub(super) async fn call<T: Transport>(
    transport: &T,
    base: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<HttpResponse, String> {
    let mut request = HttpRequest::new(method, format!("{base}{path}"));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_string().into_bytes());
    }
    transport
        .send(request)
        .await
        .map_err(|e| format!("Cannot connect to the Slipway companion at {base}: {}", e.0))
}

/// `-p 8000:8000`, `-p 8000`; docker's "ip:" forms are not supported on the companion.
fn publish_spec(spec: &str) -> Result<serde_json::Value, String> {
    let spec = spec.strip_suffix("/tcp").unwrap_or(spec);
    let parse = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("invalid published port: {spec}"))
    };
    Ok(match spec.split_once(':') {
        Some((host, container)) => json!({"host": parse(host)?, "container": parse(container)?}),
        None => json!({"host": 0, "container": parse(spec)?}),
    })
}

/// `-m 512m` → bytes, with docker's units (b, k, m, g).
pub fn memory_bytes(text: &str) -> Result<i64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = lower.split_at(
        lower
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(lower.len()),
    );
    let number: f64 = digits.parse().map_err(|_| format!("invalid size: '{text}'"))?;
    let scale = match unit.trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("invalid size: '{text}'")),
    };
    Ok((number * scale) as i64)
}

/// The JSON body of `POST /api/containers` for a `docker run` invocation.
pub fn create_body(inv: &Invocation) -> Result<serde_json::Value, String> {
    let flags = &inv.flags;
    let publish = flags
        .values(Flag::PUBLISH)
        .iter()
        .map(|p| publish_spec(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut body = json!({
        "image": inv.args[0],
        "cmd": inv.args[1..],
        "env": flags.values(Flag::ENV),
        "tty": flags.is_set(Flag::TTY),
        "interactive": flags.is_set(Flag::INTERACTIVE),
        "publish": publish,
    });
    for (flag, field) in [
        (Flag::NAME, "name"),
        (Flag::WORKDIR, "workdir"),
        (Flag::USER, "user"),
        (Flag::HOSTNAME, "hostname"),
    ] {
        if let Some(v) = flags.value(flag) {
            body[field] = json!(v);
        }
    }
    if let Some(e) = flags.value(Flag::ENTRYPOINT) {
        body["entrypoint"] = json!([e]);
    }
    if let Some(m) = flags.value(Flag::MEMORY) {
        body["memory"] = json!(memory_bytes(m)?);
    }
    if let Some(c) = flags.value(Flag::CPUS) {
        body["cpus"] = json!(c
            .parse::<f64>()
            .map_err(|_| format!("invalid argument \"{c}\" for \"--cpus\" flag"))?);
    }
    if let Some(p) = flags.value(Flag::PIDS_LIMIT) {
        body["pids_limit"] = json!(p
            .parse::<i64>()
            .map_err(|_| format!("invalid argument \"{p}\" for \"--pids-limit\" flag"))?);
    }
    Ok(body)
}

/// `docker run`: create and start; detached prints the id, attached tells `foreground` the id, waits and
/// prints the output.
pub async fn run<T: Transport>(
    transport: &T,
    base: &str,
    inv: &Invocation,
    foreground: Option<&dyn Fn(&str)>,
) -> Outcome {
    let id = match create_started(transport, base, inv, None).await {
        Ok(created) => created.id,
        Err(failed) => return failed,
    };
    if inv.flags.is_set(Flag::DETACH) {
        return Outcome::success(format!("{id}\n"));
    }
    if let Some(foreground) = foreground {
        foreground(&id);
    }
    wait_and_collect(transport, base, inv, &id).await
}

/// Ctrl-C on a foreground `docker run` (no `-t`): docker's CLI forwards SIGINT to the container (`--sig-proxy`),
/// then waits. A process that ignores SIGINT (any PID 1 without a handler, `sleep` among them) would hold the
/// page's prompt forever, so the page then stops it as `docker stop -t 3` does (SIGTERM, SIGKILL after 3 s) and
/// removes it for `--rm`. See docs/docker-cli.md.
pub async fn interrupt<T: Transport>(transport: &T, base: &str, id: &str, remove: bool) {
    let container = format!("/api/containers/{id}");
    let _ = call(
        transport,
        base,
        Method::Post,
        &format!("{container}/kill?signal=INT"),
        None,
    )
    .await;
    let _ = call(
        transport,
        base,
        Method::Post,
        &format!("{container}/stop?t=3"),
        None,
    )
    .await;
    if remove {
        let _ = call(
            transport,
            base,
            Method::Delete,
            &format!("{container}?force=true"),
            None,
        )
        .await;
    }
}

/// Create and start the container of a `docker run`; a failure is docker's message with exit code 125.
pub async fn create_started<T: Transport>(
    transport: &T,
    base: &str,
    inv: &Invocation,
    console_size: Option<[u16; 2]>,
) -> Result<Created, Outcome> {
    let mut body = create_body(inv).map_err(|e| {
        Outcome::failure(
            format!("docker: {e}\n\nRun 'docker run --help' for more information"),
            125,
        )
    })?;
    if is_interactive_run(inv) {
        // Nobody waits to remove it afterwards: the companion does (`--rm`).
        body["auto_remove"] = json!(inv.flags.is_set(Flag::RM));
    }
    if let (true, Some(size)) = (inv.flags.is_set(Flag::TTY), console_size) {
        body["console_size"] = json!(size);
    }
    let created = match call(
        transport,
        base,
        Method::Post,
        "/api/containers?start=true",
        Some(body),
    )
    .await
    {
        Ok(r) if r.is_success() => r,
        Ok(r) if r.status == 404 => {
            let image = &inv.args[0];
            let tagged = if image.contains(':') || image.contains('@') {
                image.clone()
            } else {
                format!("{image}:latest")
            };
            return Err(Outcome::failure(
                format!(
                    "Unable to find image '{tagged}' locally\ndocker: {}\n\nRun 'docker run --help' for more information",
                    daemon_error(&r)
                ),
                125,
            ));
        }
        Ok(r) => return Err(Outcome::failure(format!("docker: {}", daemon_error(&r)), 125)),
        Err(e) => return Err(Outcome::failure(e, 125)),
    };
    serde_json::from_slice::<Created>(&created.body)
        .map_err(|_| Outcome::failure("docker: the companion's answer had no container id".into(), 125))
}

/// An attached, non-interactive `docker run`: wait for the exit, then print the output (and honour `--rm`).
async fn wait_and_collect<T: Transport>(transport: &T, base: &str, inv: &Invocation, id: &str) -> Outcome {
    let state = match call(
        transport,
        base,
        Method::Post,
        &format!("/api/containers/{id}/wait"),
        None,
    )
    .await
    {
        Ok(r) if r.is_success() => serde_json::from_slice::<WaitState>(&r.body).ok(),
        Ok(r) => return Outcome::failure(format!("docker: {}", daemon_error(&r)), 125),
        Err(e) => return Outcome::failure(e, 125),
    };
    let mut outcome = logs_of(transport, base, id, "", Timestamps::new(false)).await;
    let state = state.unwrap_or(WaitState {
        exit_code: None,
        oom_killed: false,
        error: None,
    });
    if let Some(error) = state.error {
        outcome.stderr.push_str(&format!("docker: {error}\n"));
    }
    if state.oom_killed {
        outcome
            .stderr
            .push_str("docker: the container was killed: out of memory (see -m/--memory)\n");
    }
    outcome.exit_code = state.exit_code.unwrap_or(125);
    if inv.flags.is_set(Flag::RM) {
        let _ = call(
            transport,
            base,
            Method::Delete,
            &format!("/api/containers/{id}?force=true"),
            None,
        )
        .await;
    }
    outcome
}

async fn logs_of<T: Transport>(
    transport: &T,
    base: &str,
    id: &str,
    query: &str,
    mut timestamps: Timestamps,
) -> Outcome {
    let path = format!("/api/containers/{id}/logs?format=json{query}");
    match call(transport, base, Method::Get, &path, None).await {
        Ok(r) if r.is_success() => {
            let mut out = Outcome::default();
            for line in String::from_utf8_lossy(&r.body)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                if let Ok(chunk) = serde_json::from_str::<LogChunk>(line) {
                    let text = timestamps.stamp(&chunk);
                    match chunk.stream() {
                        Stream::Stderr => out.stderr.push_str(&text),
                        Stream::Stdout => out.stdout.push_str(&text),
                    }
                }
            }
            out
        }
        Ok(r) => Outcome::failure(daemon_error(&r), 1),
        Err(e) => Outcome::failure(e, 1),
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
    let mut query = String::new();
    if let Some(tail) = inv.flags.value(Flag::TAIL).filter(|t| *t != "all") {
        query.push_str(&format!("&tail={tail}"));
    }
    if inv.flags.is_set(Flag::TIMESTAMPS) {
        query.push_str("&timestamps=true");
    }
    let mut timestamps = Timestamps::new(inv.flags.is_set(Flag::TIMESTAMPS));
    if !inv.flags.is_set(Flag::FOLLOW) {
        return logs_of(transport, base, &inv.args[0], &query, timestamps).await;
    }
    let id = &inv.args[0];
    let request = HttpRequest::new(
        Method::Get,
        format!("{base}/api/containers/{id}/logs?format=json&follow=true{query}"),
    );
    let mut out = Outcome::default();
    let mut follower = LogFollower::default();
    let mut ndjson = LineSplitter::default();
    let mut show = |line: &str| {
        let Ok(chunk) = serde_json::from_str::<LogChunk>(line) else {
            return;
        };
        let (stream, text) = (chunk.stream(), timestamps.stamp(&chunk));
        match progress {
            Some(sink) => follower.push(stream, &text, sink),
            None if stream == Stream::Stderr => out.stderr.push_str(&text),
            None => out.stdout.push_str(&text),
        }
    };
    let response = transport
        .send_streaming(request, &mut |bytes| {
            ndjson.feed(bytes).iter().for_each(|l| show(l))
        })
        .await;
    if let Some(rest) = ndjson.finish() {
        show(&rest);
    }
    if let Some(sink) = progress {
        follower.flush(sink);
    }
    match response {
        Ok(r) if r.is_success() => out,
        Ok(r) => Outcome::failure(daemon_error(&r), 1),
        Err(e) => Outcome::failure(
            format!("Cannot connect to the Slipway companion at {base}: {}", e.0),
            1,
        ),
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
pub fn ps_table(rows: &[ContainerRow], now: u64, quiet: bool, no_trunc: bool) -> String {
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
    match list(transport, base, inv.flags.is_set(Flag::ALL) || last.is_some()).await {
        Ok(mut rows) => {
            rows.truncate(last.unwrap_or(usize::MAX));
            let (quiet, no_trunc) = (inv.flags.is_set(Flag::QUIET), inv.flags.is_set(Flag::NO_TRUNC));
            Outcome::success(ps_table(&rows, now, quiet, no_trunc))
        }
        Err(e) => Outcome::failure(e, 1),
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

/// The session's containers (`GET /api/containers`), newest first; `all` includes stopped ones.
pub async fn list<T: Transport>(transport: &T, base: &str, all: bool) -> Result<Vec<ContainerRow>, String> {
    let path = format!("/api/containers{}", if all { "?all=true" } else { "" });
    match call(transport, base, Method::Get, &path, None).await {
        Ok(r) if r.is_success() => serde_json::from_slice::<Vec<ContainerRow>>(&r.body)
            .map_err(|e| format!("docker: unreadable answer from the companion: {e}")),
        Ok(r) => Err(daemon_error(&r)),
        Err(e) => Err(e),
    }
}

/// docker's STATUS column: `Up 3 minutes`, `Exited (0) 2 seconds ago`, `Created`.
pub fn status_text(row: &ContainerRow, now: u64) -> String {
    let age = super::format::human_duration(now.saturating_sub(row.created));
    match (row.status.as_str(), row.exit_code) {
        ("running", _) => format!("Up {age}"),
        ("exited", code) => format!("Exited ({}) {age} ago", code.unwrap_or(-1)),
        _ => "Created".to_string(),
    }
}

/// docker's PORTS column: `127.0.0.1:8000->8000/tcp, ...`.
pub fn ports_text(row: &ContainerRow) -> String {
    row.ports
        .iter()
        .map(|p| format!("127.0.0.1:{}->{}/tcp", p.host, p.container))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `docker stop|kill|rm CONTAINER...`: each name is echoed on success, as docker does.
pub async fn each_container<T: Transport>(transport: &T, base: &str, inv: &Invocation) -> Outcome {
    let mut out = Outcome::default();
    for name in &inv.args {
        let (method, path) = match inv.command.id {
            CommandId::ContainerStop => {
                let t = inv
                    .flags
                    .value(Flag::TIME)
                    .map(|t| format!("?t={t}"))
                    .unwrap_or_default();
                (Method::Post, format!("/api/containers/{name}/stop{t}"))
            }
            CommandId::ContainerKill => {
                let s = inv.flags.value(Flag::SIGNAL).unwrap_or("KILL");
                (Method::Post, format!("/api/containers/{name}/kill?signal={s}"))
            }
            _ => {
                let force = if inv.flags.is_set(Flag::FORCE) {
                    "?force=true"
                } else {
                    ""
                };
                (Method::Delete, format!("/api/containers/{name}{force}"))
            }
        };
        match call(transport, base, method, &path, None).await {
            Ok(r) if r.is_success() => out.stdout.push_str(&format!("{name}\n")),
            Ok(r) => {
                out.stderr.push_str(&format!("{}\n", daemon_error(&r)));
                out.exit_code = 1;
            }
            Err(e) => {
                out.stderr.push_str(&format!("{e}\n"));
                out.exit_code = 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_the_companion_hears_the_session() {
        let native = SessionTransport::new(&(), "secret", "http://127.0.0.1:8080/");
        let to = |t: &SessionTransport<'_, ()>, url: &str| {
            t.with_session(HttpRequest::new(Method::Get, url))
                .headers
                .iter()
                .any(|(name, value)| name == "X-Slipway-Session" && value == "secret")
        };
        assert!(to(&native, "http://127.0.0.1:8080/v2/") && to(&native, "http://127.0.0.1:8080"));
        assert!(to(&native, "HTTP://127.0.0.1:8080/api/containers?all=true"));
        assert!(!to(
            &native,
            "http://127.0.0.1:5000/v2/learner1/app/blobs/sha256:00"
        ));
        assert!(!to(&native, "http://127.0.0.1:80801/v2/"));
        assert!(!to(&native, "http://127.0.0.1:8080.evil.example/"));
        assert!(!to(&native, "http://127.0.0.1:8080@evil.example/"));
        // The page: relative URLs are its own origin, which the companion serves.
        let page = SessionTransport::new(&(), "secret", "http://play.example.org");
        assert!(to(&page, "/api/images") && to(&page, "api/images") && to(&page, "/?lesson=http://x/"));
        assert!(to(&page, "http://play.example.org/static/lessons/a/lesson.json"));
        assert!(!to(&page, "http://127.0.0.1:9/lesson.json") && !to(&page, "//evil.example/lesson.json"));
        assert!(
            !to(&page, "https://play.example.org/api/images"),
            "another scheme is another origin"
        );
        let relative_only = SessionTransport::new(&(), "secret", "");
        assert!(to(&relative_only, "/api/images") && !to(&relative_only, "http://127.0.0.1:8080/"));
        assert_eq!(url_origin("http://h:1/p?q#f"), Some("http://h:1"));
        assert_eq!(url_origin("http://h?q"), Some("http://h"));
        assert_eq!(url_origin("/a:b"), None);
        assert!(!to(&page, "data:text/plain,secret"));
        let with_path = SessionTransport::new(&(), "secret", "http://127.0.0.1:8080/slipway/");
        assert!(to(&with_path, "http://127.0.0.1:8080/slipway/api/images"));
    }

    #[test]
    fn run_flags_become_the_create_body() {
        let words = crate::cli::words::split_words(
            "docker run --rm -p 8000:8000 -e A=1 -m 64m --cpus 0.5 --pids-limit 32 -w /app --name web user/app python3 app.py",
        )
        .unwrap();
        let crate::cli::parse::Parsed::Run(inv) = crate::cli::parse::parse(&words).unwrap() else {
            panic!()
        };
        let body = create_body(&inv).unwrap();
        assert_eq!(body["image"], "user/app");
        assert_eq!(body["cmd"], json!(["python3", "app.py"]));
        assert_eq!(body["publish"], json!([{"host": 8000, "container": 8000}]));
        assert_eq!(body["memory"], 64 * 1024 * 1024);
        assert_eq!(body["cpus"], 0.5);
        assert_eq!(body["pids_limit"], 32);
        assert_eq!(body["name"], "web");
        assert_eq!(body["workdir"], "/app");
    }

    #[test]
    fn sizes_and_ports_parse_like_docker() {
        assert_eq!(memory_bytes("512m"), Ok(512 << 20));
        assert_eq!(memory_bytes("1g"), Ok(1 << 30));
        assert_eq!(memory_bytes("100"), Ok(100));
        assert!(memory_bytes("lots").is_err());
        assert_eq!(publish_spec("80").unwrap(), json!({"host": 0, "container": 80}));
        assert!(publish_spec("x:80").is_err());
    }

    #[test]
    fn ps_table_uses_dockers_columns_and_statuses() {
        let rows = vec![ContainerRow {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            image: "user/app".into(),
            command: "python3 -m http.server 8000".into(),
            created: 100,
            status: "exited".into(),
            exit_code: Some(0),
            ports: vec![],
        }];
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
    }
}
