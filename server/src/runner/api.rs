//! The container API under `/api/containers` and `/api/steps` (see `docs/runner-api.md`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};

use super::exec::{Exec, ExecOptions, ExecState};
use super::io::ProcessIo;
use super::logs::{rfc3339, Chunk, Follower, Stream};
use super::{images::ImageError, RunOptions, RunStep, Runner, RunnerError};

impl RunnerError {
    /// The HTTP status this error is answered with.
    fn status(&self) -> StatusCode {
        match self {
            RunnerError::NotFound(_) | RunnerError::Image(ImageError::NotFound(_)) => StatusCode::NOT_FOUND,
            RunnerError::Image(ImageError::BlobNotFound(_)) => StatusCode::NOT_FOUND,
            RunnerError::Conflict(_) => StatusCode::CONFLICT,
            RunnerError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            RunnerError::Spec(_) | RunnerError::User(_) | RunnerError::Image(_) | RunnerError::Publish(_) => {
                StatusCode::BAD_REQUEST
            }
            RunnerError::Unpack(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RunnerError::Registry(e) => e.code_and_status().1,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for RunnerError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(serde_json::json!({ "message": self.to_string() })),
        )
            .into_response()
    }
}

type ApiResult<T> = Result<T, RunnerError>;

/// The caller's session: an opaque token the page picks (`X-Slipway-Session`); containers are only visible to,
/// and counted against, the session that created them. No header: the shared anonymous session.
pub fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

/// The session of a WebSocket request: browsers cannot set headers on a WebSocket, so the page passes its token
/// as `?session=TOKEN` instead; the header wins when both are present. Same rules as the header.
fn ws_session(headers: &HeaderMap, query: &SessionQuery) -> String {
    crate::registry::local::session_token(headers)
        .or_else(|| {
            query
                .session
                .as_deref()
                .and_then(crate::registry::local::token_from)
        })
        .unwrap_or_default()
}

#[derive(Debug, Deserialize)]
struct SessionQuery {
    session: Option<String>,
}

pub fn router(runner: Arc<Runner>) -> Router {
    Router::new()
        .route("/api/containers", get(list).post(create))
        .route("/api/containers/{id}", get(inspect).delete(remove))
        .route("/api/containers/{id}/start", post(start))
        .route("/api/containers/{id}/stop", post(stop))
        .route("/api/containers/{id}/kill", post(kill))
        .route("/api/containers/{id}/wait", post(wait))
        .route("/api/containers/{id}/logs", get(logs))
        .route("/api/containers/{id}/attach", get(attach))
        .route(
            "/api/containers/{id}/proxy/{port}/",
            axum::routing::any(super::proxy::proxy_root),
        )
        .route(
            "/api/containers/{id}/proxy/{port}/{*path}",
            axum::routing::any(super::proxy::proxy_path),
        )
        .route("/api/containers/{id}/exec", post(exec_create))
        .route("/api/execs/{id}", get(exec_inspect))
        .route("/api/execs/{id}/wait", post(exec_wait))
        .route("/api/execs/{id}/attach", get(exec_attach))
        .route("/api/steps", post(step))
        .with_state(runner)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(default)]
    all: bool,
}

async fn list(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Json<Vec<super::Summary>> {
    Json(r.list_in(Some(&session(&headers)), q.all))
}

#[derive(Debug, Deserialize)]
struct CreateRequest {
    image: String,
    #[serde(flatten)]
    options: RunOptions,
}

#[derive(Debug, Deserialize)]
struct CreateQuery {
    /// `docker run`: create and start in one call.
    #[serde(default)]
    start: bool,
}

#[derive(Debug, Serialize)]
struct Created {
    id: String,
    name: String,
    ports: Vec<super::spec::PortMapping>,
}

async fn create(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<CreateQuery>,
    Json(req): Json<CreateRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let mut options = req.options;
    options.session = session(&headers);
    let c = r.create(&req.image, options).await?;
    if q.start {
        if let Err(e) = r.start(&c).await {
            let _ = r.remove(&c, true).await;
            return Err(e);
        }
    }
    let summary = c.summary();
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: c.id.clone(),
            name: c.name.clone(),
            ports: summary.ports,
        }),
    ))
}

#[derive(Debug, Serialize)]
struct Inspect {
    #[serde(flatten)]
    summary: super::Summary,
    args: Vec<String>,
    options: RunOptions,
    state: super::lifecycle::State,
    /// How many readers follow its output right now (`logs -f`, attaches): one that went away must not stay.
    log_followers: usize,
}

async fn inspect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Inspect>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    Ok(Json(Inspect {
        summary: c.summary(),
        args: c.args.clone(),
        options: c.opts.clone(),
        state: c.state(),
        log_followers: c.io.logs.followers(),
    }))
}

async fn start(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.start(&c).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct StopQuery {
    /// Seconds to wait after SIGTERM before SIGKILL.
    t: Option<u64>,
}

async fn stop(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<StopQuery>,
) -> ApiResult<Json<super::lifecycle::State>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    Ok(Json(r.stop(&c, q.t.map(Duration::from_secs)).await?))
}

#[derive(Debug, Deserialize)]
struct KillQuery {
    signal: Option<String>,
}

async fn kill(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<KillQuery>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.kill(&c, q.signal.as_deref().unwrap_or("KILL")).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn wait(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<super::lifecycle::State>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    Ok(Json(c.wait().await))
}

#[derive(Debug, Deserialize)]
struct RemoveQuery {
    #[serde(default)]
    force: bool,
}

async fn remove(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.remove(&c, q.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    #[serde(default)]
    follow: bool,
    tail: Option<usize>,
    #[serde(default)]
    timestamps: bool,
    /// `raw` (default) or `json` (one chunk object per line).
    format: Option<String>,
}

fn render(chunk: &Chunk, q: &LogsQuery) -> Bytes {
    if q.format.as_deref() == Some("json") {
        let mut line = serde_json::to_vec(chunk).unwrap_or_default();
        line.push(b'\n');
        return Bytes::from(line);
    }
    if q.timestamps && chunk.stream != Stream::Tty {
        let mut out = format!("{} ", rfc3339(chunk.time_ns)).into_bytes();
        out.extend_from_slice(&chunk.data);
        return Bytes::from(out);
    }
    Bytes::from(chunk.data.clone())
}

async fn logs(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LogsQuery>,
) -> ApiResult<Response> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let (past, rx, closed) = c.io.logs.snapshot(q.tail);
    let last_seq = past.last().map(|ch| ch.seq);
    let head: Vec<Result<Bytes, std::io::Error>> = past.iter().map(|ch| Ok(render(ch, &q))).collect();
    let content_type = if q.format.as_deref() == Some("json") {
        "application/x-ndjson"
    } else {
        "text/plain; charset=utf-8"
    };
    let body = if !q.follow || closed {
        Body::from_stream(futures_util::stream::iter(head))
    } else {
        let mut follower = Follower::new(c.io.logs.clone(), rx, last_seq);
        let live = async_stream(move |tx| async move {
            let follow = async {
                while let Some(chunks) = follower.next().await {
                    for ch in chunks {
                        if tx.send(Ok(render(&ch, &q))).await.is_err() {
                            return;
                        }
                    }
                }
                // As `docker logs -f`: done when the container is, not merely its output (it exits right after).
                c.wait().await;
            };
            // The client went away (Ctrl-C in the page): stop following now, not at the container's next
            // output or its exit, which may be never.
            tokio::select! {
                () = follow => {}
                () = tx.closed() => {}
            }
        });
        Body::from_stream(futures_util::stream::iter(head).chain(live))
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// A stream fed by a task through a channel (no extra crate).
fn async_stream<F, Fut>(f: F) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn attach(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<SessionQuery>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let c = r.get_in(Some(&ws_session(&headers, &q)), &id)?;
    Ok(limited(ws, &r).on_upgrade(move |socket| attach_session(c, socket)))
}

/// Something with a process to attach to: a container or an exec.
trait Attachable: Send + Sync + 'static {
    fn io(&self) -> &ProcessIo;
    /// An attach session ended (an `--rm` container waits for one before it goes).
    fn attach_ended(&self) {}
    /// Resolves when the process ended: the final text frame.
    fn exit(&self) -> impl std::future::Future<Output = serde_json::Value> + Send + '_;
}

impl Attachable for super::Container {
    fn io(&self) -> &ProcessIo {
        &self.io
    }
    fn attach_ended(&self) {
        // A permit, kept if the process has not ended yet: the first session that ends counts.
        self.attach_ended.notify_one();
    }
    async fn exit(&self) -> serde_json::Value {
        let state = self.wait().await;
        serde_json::json!({"type": "exit", "exit_code": state.exit_code, "oom_killed": state.oom_killed})
    }
}

impl Attachable for Exec {
    fn io(&self) -> &ProcessIo {
        &self.io
    }
    async fn exit(&self) -> serde_json::Value {
        serde_json::json!({"type": "exit", "exit_code": self.wait().await})
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Control {
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Close stdin (EOF).
    Eof,
}

/// Output as binary frames (replaying what was already written); binary frames in are input; text frames are
/// JSON controls (`{"type":"resize","cols":80,"rows":24}`, `{"type":"eof"}`). A final text frame reports the exit.
async fn attach_session<T: Attachable>(target: Arc<T>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (past, rx, closed) = target.io().logs.snapshot(None);
    let mut follower = Follower::new(target.io().logs.clone(), rx, past.last().map(|ch| ch.seq));
    let out_target = target.clone();
    let out = tokio::spawn(async move {
        for ch in past {
            if sink.send(Message::Binary(Bytes::from(ch.data))).await.is_err() {
                return;
            }
        }
        if !closed {
            while let Some(chunks) = follower.next().await {
                for ch in chunks {
                    if sink.send(Message::Binary(Bytes::from(ch.data))).await.is_err() {
                        return;
                    }
                }
            }
        }
        let exit = out_target.exit().await;
        let _ = sink.send(Message::Text(exit.to_string().into())).await;
        let _ = sink.close().await;
    });
    let failed = loop {
        let msg = match stream.next().await {
            Some(Ok(msg)) => msg,
            Some(Err(e)) => break Some(e),
            None => break None,
        };
        match msg {
            Message::Binary(bytes) => {
                let _ = target.io().write_input(bytes.to_vec()).await;
            }
            Message::Text(text) => match serde_json::from_str::<Control>(&text) {
                // A terminal that is not laid out yet measures 0: keep the size the TTY has.
                Ok(Control::Resize { cols, rows }) if cols > 0 && rows > 0 => {
                    let _ = target.io().resize(cols, rows);
                }
                Ok(Control::Resize { .. }) => {}
                Ok(Control::Eof) => target.io().close_input(),
                Err(_) => {
                    let _ = target.io().write_input(text.as_bytes().to_vec()).await;
                }
            },
            Message::Close(_) => break None,
            _ => {}
        }
    };
    match failed {
        // A message past the size limit or a broken frame: the client is dropped, output and all.
        Some(e) => {
            tracing::debug!(error = %e, "attach input failed: closing the attach");
            out.abort();
        }
        None => {
            let _ = out.await;
        }
    }
    target.attach_ended();
}

#[derive(Debug, Serialize)]
struct ExecCreated {
    id: String,
}

async fn exec_create(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(opts): Json<ExecOptions>,
) -> ApiResult<(StatusCode, Json<ExecCreated>)> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let exec = r.exec(&c, opts).await?;
    Ok((StatusCode::CREATED, Json(ExecCreated { id: exec.id.clone() })))
}

fn find_exec(r: &Runner, headers: &HeaderMap, id: &str) -> ApiResult<Arc<Exec>> {
    find_exec_in(r, &session(headers), id)
}

fn find_exec_in(r: &Runner, session: &str, id: &str) -> ApiResult<Arc<Exec>> {
    r.execs
        .get(id)
        .filter(|e| e.container.session == session)
        .ok_or_else(|| RunnerError::NotFound(format!("exec {id}")))
}

async fn exec_inspect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecState>> {
    Ok(Json(find_exec(&r, &headers, &id)?.state()))
}

async fn exec_wait(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecState>> {
    let exec = find_exec(&r, &headers, &id)?;
    exec.wait().await;
    Ok(Json(exec.state()))
}

async fn exec_attach(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<SessionQuery>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let exec = find_exec_in(&r, &ws_session(&headers, &q), &id)?;
    Ok(limited(ws, &r).on_upgrade(move |socket| attach_session(exec, socket)))
}

/// An attach WebSocket takes messages up to `--max-websocket-message` (axum's default is 64 MiB).
fn limited(ws: WebSocketUpgrade, runner: &Runner) -> WebSocketUpgrade {
    let most = runner.config.max_websocket_message;
    ws.max_message_size(most).max_frame_size(most)
}

/// The streamed answer's media type, asked for with `Accept`.
const NDJSON: &str = "application/x-ndjson";

async fn step(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Json(mut step): Json<RunStep>,
) -> ApiResult<Response> {
    step.session = session(&headers);
    let streamed = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(NDJSON));
    if !streamed {
        return Ok(Json(r.run_step(step).await?).into_response());
    }
    // Refusals (unknown layer or repository, quota) are still plain error statuses: nothing has run yet.
    let prepared = r.prepare_step(step).await?;
    let logs = prepared.logs().clone();
    let mut rx = logs.snapshot(None).1;
    // The step runs to the end (and cleans up) even when the client goes away.
    let mut finished = tokio::spawn(async move { r.finish_step(prepared).await });
    let body = async_stream(move |tx| async move {
        let mut sent: Option<u64> = None;
        let forward = |sent: &mut Option<u64>| {
            let chunks = logs.since(*sent);
            if let Some(last) = chunks.last() {
                *sent = Some(last.seq);
            }
            chunks.iter().map(step_output_line).collect::<Vec<_>>()
        };
        let result = loop {
            tokio::select! {
                result = &mut finished => break result,
                _ = rx.recv() => {
                    for line in forward(&mut sent) {
                        if tx.send(Ok(line)).await.is_err() {
                            // The client left; the step still finishes in its task.
                            return;
                        }
                    }
                }
            }
        };
        for line in forward(&mut sent) {
            let _ = tx.send(Ok(line)).await;
        }
        let last = match result {
            Ok(Ok(result)) => {
                let mut v = serde_json::to_value(result).unwrap_or_default();
                if let Some(fields) = v.as_object_mut() {
                    // Already sent as output events.
                    fields.remove("output");
                    fields.insert("type".into(), "result".into());
                }
                v
            }
            Ok(Err(e)) => {
                serde_json::json!({"type": "error", "status": e.status().as_u16(), "message": e.to_string()})
            }
            Err(e) => serde_json::json!({"type": "error", "status": 500, "message": e.to_string()}),
        };
        let _ = tx.send(Ok(ndjson_line(&last))).await;
    });
    Ok(([(header::CONTENT_TYPE, NDJSON)], Body::from_stream(body)).into_response())
}

fn ndjson_line(value: &serde_json::Value) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// One chunk of a step's output as a line of the streamed answer.
fn step_output_line(chunk: &Chunk) -> Bytes {
    ndjson_line(&serde_json::json!({
        "type": "output",
        "stream": chunk.stream,
        "data": String::from_utf8_lossy(&chunk.data),
    }))
}
