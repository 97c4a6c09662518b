//! The container API under `/api/containers` and `/api/steps` (see `docs/runner-api.md`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use slipway::api::{self, paths, AttachFrame, ErrorBody, PlatformInfo, StepEvent, NDJSON};

use crate::api_json::ApiJson;
use crate::sessions::{SessionError, Sessions};

use super::exec::{Exec, ExecOptions, ExecState};
use super::io::ProcessIo;
use super::logs::{rfc3339, Chunk, Follower, Stream};
use super::{images::ImageError, RunStep, Runner, RunnerError};

impl RunnerError {
    /// The HTTP status this error is answered with.
    fn status(&self) -> StatusCode {
        match self {
            RunnerError::NotFound(_)
            | RunnerError::PlatformMismatch(_)
            | RunnerError::Image(ImageError::NotFound(_)) => StatusCode::NOT_FOUND,
            RunnerError::Image(ImageError::BlobNotFound(_)) => StatusCode::NOT_FOUND,
            RunnerError::Conflict(_) | RunnerError::Refused(_) => StatusCode::CONFLICT,
            RunnerError::TooMany(_) | RunnerError::ServerFull(_) => StatusCode::TOO_MANY_REQUESTS,
            RunnerError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            RunnerError::Spec(_) | RunnerError::User(_) | RunnerError::Image(_) | RunnerError::Publish(_) => {
                StatusCode::BAD_REQUEST
            }
            RunnerError::Unpack(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RunnerError::Registry(e) => e.code_and_status().1,
            RunnerError::Volume(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            RunnerError::Network(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for RunnerError {
    fn into_response(self) -> Response {
        (self.status(), Json(ErrorBody::new(self.to_string()))).into_response()
    }
}

type ApiResult<T> = Result<T, RunnerError>;

/// The caller's session: a token the server issued ([`api::SESSION_HEADER`]), checked live by
/// [`crate::sessions::gate`] before any of these handlers runs; containers are only visible to, and counted
/// against, the session that created them.
pub fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

pub fn router(runner: Arc<Runner>) -> Router {
    Router::new()
        .route(paths::CONTAINERS, get(list).post(create))
        .route(paths::CONTAINER, get(inspect).delete(remove))
        .route(paths::CONTAINER_START, post(start))
        .route(paths::CONTAINER_STOP, post(stop))
        .route(paths::CONTAINER_KILL, post(kill))
        .route(paths::CONTAINER_WAIT, post(wait))
        .route(paths::CONTAINER_LOGS, get(logs))
        .route(paths::CONTAINER_PAUSE, post(pause))
        .route(paths::CONTAINER_UNPAUSE, post(unpause))
        .route(paths::CONTAINER_RENAME, post(rename))
        .route(paths::CONTAINER_TOP, get(top))
        .route(paths::CONTAINER_RESTART, post(restart))
        .route(paths::CONTAINER_CHANGES, get(changes))
        .route(paths::CONTAINERS_PRUNE, post(prune))
        .route(paths::SYSTEM, get(system))
        .route(paths::STATS, get(stats))
        .route(paths::CONTAINER_UPDATE, post(update))
        .route(paths::CONTAINER_COMMIT, post(commit))
        .route(paths::CONTAINER_ATTACH, get(attach))
        .route(paths::CONTAINER_ATTACH_TICKET, post(attach_ticket::<false>))
        .route(paths::EXEC_ATTACH_TICKET, post(attach_ticket::<true>))
        .route(paths::CONTAINER_EXEC, post(exec_create))
        .route(paths::EXEC, get(exec_inspect))
        .route(paths::EXEC_WAIT, post(exec_wait))
        .route(paths::EXEC_ATTACH, get(exec_attach))
        .route(paths::STEPS, post(step))
        .merge(super::networks_api::routes())
        .merge(super::volumes_api::routes())
        .merge(super::copy::routes())
        .merge(super::events_api::routes())
        .merge(super::health_api::routes())
        .with_state(runner)
}

async fn list(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<api::ListQuery>,
) -> Json<Vec<super::Summary>> {
    Json(r.list_in(Some(&session(&headers)), q.all))
}

async fn create(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<api::CreateQuery>,
    ApiJson(req): ApiJson<api::CreateContainer>,
) -> ApiResult<(StatusCode, Json<api::Created>)> {
    let mut options = req.options;
    options.session = session(&headers);
    let platform = match q.platform.as_deref().map(|p| (p, PlatformInfo::parse(p))) {
        None => None,
        Some((_, Some(platform))) => Some(platform),
        Some((text, None)) => return Err(RunnerError::Spec(super::spec::SpecError::Invalid(
            format!("error parsing specified platform: {text:?}: unknown operating system or architecture: invalid argument"),
        ))),
    };
    let (c, warnings) = r.create_on(&req.image, options, platform).await?;
    if q.start && q.attach {
        // Docker's CLI attaches to what it runs, then starts it: dockerd's `attach` comes between the `create`
        // and the `start`. The page opens the attach WebSocket of a `-i`/`-t` container only once it runs.
        r.container_event(&c, "attach", &[]);
        let later = c.opts.tty || c.opts.interactive;
        c.attach_recorded
            .store(later, std::sync::atomic::Ordering::SeqCst);
    }
    if q.start {
        if let Err(e) = r.start(&c).await {
            let _ = r.remove(&c, true).await;
            return Err(e);
        }
    }
    let summary = c.summary();
    Ok((
        StatusCode::CREATED,
        Json(api::Created {
            id: c.id.clone(),
            name: c.name.clone(),
            ports: summary.ports,
            warnings,
        }),
    ))
}

async fn inspect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<api::ContainerInspect>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    Ok(Json(api::ContainerInspect {
        summary: r.summary_of(&c),
        args: c.args.clone(),
        options: c.opts.clone(),
        state: c.state(),
        log_followers: c.io.logs.followers(),
        config: r.inspect_config(&c).await,
        health_state: c.health.state(),
        restart_count: c.restarts.count(),
        networks: r.networks.container_endpoints(&c.id),
    }))
}

async fn start(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    match c.state().status {
        // As dockerd: starting a running container changes nothing.
        super::Status::Running => {}
        super::Status::Exited => r.start_again(&c).await?,
        super::Status::Created => r.start(&c).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn restart(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<api::RestartQuery>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.restart(&c, q.t.map(Duration::from_secs)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn stats(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<api::StatsQuery>,
) -> Json<Vec<api::StatsRow>> {
    Json(r.stats(&session(&headers), q.all).await)
}

async fn update(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(limits): ApiJson<api::UpdateLimits>,
) -> ApiResult<Json<serde_json::Value>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.update_limits(&c, limits).await?;
    r.container_event(&c, "update", &[]);
    Ok(Json(serde_json::json!({ "Warnings": [] })))
}

async fn commit(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<api::CommitQuery>,
) -> ApiResult<(StatusCode, Json<api::StepLayer>)> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    Ok((StatusCode::CREATED, Json(r.commit(&c, &q.repository).await?)))
}

async fn system(State(r): State<Arc<Runner>>, headers: HeaderMap) -> Json<api::SystemInfo> {
    Json(r.system_info(&session(&headers)).await)
}

async fn changes(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<api::Change>>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    Ok(Json(r.changes(&c).await?))
}

async fn stop(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<api::StopQuery>,
) -> ApiResult<Json<super::lifecycle::State>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.thaw(&c).await;
    Ok(Json(r.stop(&c, q.t.map(Duration::from_secs)).await?))
}

async fn kill(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<api::KillQuery>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.thaw(&c).await;
    r.kill(&c, q.signal.as_deref().unwrap_or("KILL")).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn wait(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<super::lifecycle::State>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    // docker wait's default condition is "not running": a container never started answers at once.
    if c.state().status == super::Status::Created {
        return Ok(Json(c.state()));
    }
    Ok(Json(c.wait().await))
}

async fn remove(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<api::RemoveQuery>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    if q.force {
        r.thaw(&c).await;
    }
    r.remove(&c, q.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn pause(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.pause(&c).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn unpause(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.unpause(&c).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rename(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<api::RenameQuery>,
) -> ApiResult<StatusCode> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.rename(&c, &q.name)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn top(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<api::TopAnswer>> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let top = r.top(&c).await?;
    r.container_event(&c, "top", &[]);
    Ok(Json(top))
}

async fn prune(State(r): State<Arc<Runner>>, headers: HeaderMap) -> Json<api::PruneAnswer> {
    Json(r.prune(&session(&headers)).await)
}

fn render(chunk: &Chunk, q: &api::LogsQuery) -> Bytes {
    if q.format == api::LogFormat::Json {
        return ndjson_line(&api::LogChunk {
            seq: chunk.seq,
            stream: chunk.stream,
            time_ns: chunk.time_ns,
            data: String::from_utf8_lossy(&chunk.data).into_owned(),
        });
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
    Query(q): Query<api::LogsQuery>,
) -> ApiResult<Response> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let (past, rx, closed) = c.io.logs.snapshot(q.tail);
    let last_seq = past.last().map(|ch| ch.seq);
    let head: Vec<Result<Bytes, std::io::Error>> = past.iter().map(|ch| Ok(render(ch, &q))).collect();
    let content_type = if q.format == api::LogFormat::Json {
        NDJSON
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

/// What an attach ticket of container `id` opens.
fn container_target(id: &str) -> String {
    format!("container:{id}")
}

/// What an attach ticket of exec `id` opens.
fn exec_target(id: &str) -> String {
    format!("exec:{id}")
}

/// `POST /api/containers/{id}/attach-ticket` (or, with `EXEC`, `/api/execs/{id}/attach-ticket`): a one-time
/// ticket for the attach WebSocket of the caller's container (or exec).
async fn attach_ticket<const EXEC: bool>(
    State(r): State<Arc<Runner>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<api::AttachTicket>, Response> {
    let session = session(&headers);
    let target = if EXEC {
        find_exec_in(&r, &session, &id).map(|exec| exec_target(&exec.id))
    } else {
        r.get_in(Some(&session), &id).map(|c| container_target(&c.id))
    };
    let target = target.map_err(IntoResponse::into_response)?;
    let ticket = sessions.ticket(&session, target);
    ticket.map(Json).map_err(IntoResponse::into_response)
}

/// The attach WebSocket of a container: its ticket (`?ticket=`, used up here) names the session and the
/// container; an id, prefix or name that resolves to any other container is refused.
async fn attach(
    State(r): State<Arc<Runner>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    Path(id): Path<String>,
    Query(q): Query<api::TicketQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, Response> {
    let grant = sessions
        .redeem(q.ticket.as_deref())
        .map_err(IntoResponse::into_response)?;
    let c = r
        .get_in(Some(&grant.session), &id)
        .map_err(IntoResponse::into_response)?;
    if grant.target != container_target(&c.id) {
        return Err(SessionError::BadTicket.into_response());
    }
    let mut mode = AttachMode::of(&q).map_err(IntoResponse::into_response)?;
    // dockerd's `ContainerAttach` (unless recorded before the start: `create`) and `ContainerResize` (a TTY's
    // size changed: `height`, `width`).
    if !c.attach_recorded.swap(false, std::sync::atomic::Ordering::SeqCst) {
        r.container_event(&c, "attach", &[]);
    }
    let (r2, c2) = (r.clone(), c.clone());
    mode.resized = Some(Box::new(move |cols, rows| {
        let size = [("height", rows.to_string()), ("width", cols.to_string())];
        r2.container_event(&c2, "resize", &size);
    }));
    // dockerd's attach logs `detach` when the client's detach keys end it (`daemon/attach.go`).
    let (r3, c3) = (r.clone(), c.clone());
    mode.detached = Some(Box::new(move || r3.container_event(&c3, "detach", &[])));
    Ok(limited(ws, &r).on_upgrade(move |socket| attach_session(c, socket, mode)))
}

/// Something with a process to attach to: a container or an exec.
trait Attachable: Send + Sync + 'static {
    fn io(&self) -> &ProcessIo;
    /// An attach session ended (an `--rm` container waits for one before it goes).
    fn attach_ended(&self) {}
    /// Resolves when the process ended: the final text frame.
    fn exit(&self) -> impl std::future::Future<Output = AttachFrame> + Send + '_;
}

impl Attachable for super::Container {
    fn io(&self) -> &ProcessIo {
        &self.io
    }
    fn attach_ended(&self) {
        // A permit, kept if the process has not ended yet: the first session that ends counts.
        self.attach_ended.notify_one();
    }
    async fn exit(&self) -> AttachFrame {
        let state = self.wait().await;
        AttachFrame::Exit {
            exit_code: state.exit_code,
            oom_killed: Some(state.oom_killed),
        }
    }
}

impl Attachable for Exec {
    fn io(&self) -> &ProcessIo {
        &self.io
    }
    async fn exit(&self) -> AttachFrame {
        AttachFrame::Exit {
            exit_code: Some(self.wait().await),
            oom_killed: None,
        }
    }
}

/// How an attach goes, from its query: `docker attach` asks for new output only, detach keys, no stdin.
struct AttachMode {
    replay: bool,
    detach: Option<api::DetachKeys>,
    stdin: bool,
    /// Told each size the TTY took (`cols`, `rows`): a container's `resize` event.
    resized: Option<Box<dyn Fn(u16, u16) + Send>>,
    /// Told when the detach keys end the attach: a container's `detach` event, an exec's `exec_detach`.
    detached: Option<Box<dyn FnOnce() + Send>>,
}

impl AttachMode {
    /// Bad detach keys: docker's error, as a 400 before the upgrade.
    fn of(q: &api::TicketQuery) -> Result<AttachMode, (StatusCode, Json<ErrorBody>)> {
        let detach = q
            .detach_keys
            .as_deref()
            .map(api::DetachKeys::parse)
            .transpose()
            .map_err(|_| {
                let keys = q.detach_keys.clone().unwrap_or_default();
                let body = ErrorBody::new(format!("Invalid detach keys ({keys}) provided"));
                (StatusCode::BAD_REQUEST, Json(body))
            })?;
        Ok(AttachMode {
            replay: !q.new_output,
            detach,
            stdin: !q.no_stdin,
            resized: None,
            detached: None,
        })
    }
}

/// Output as binary frames (replaying what was already written unless `docker attach` asked for new output
/// only); binary frames in are input; text frames are [`AttachFrame`] controls (`resize`, `eof`; any other text
/// is input). A final `exit` frame reports the exit; typing the detach keys ends the attach with `detached`
/// instead, the process left running.
async fn attach_session<T: Attachable>(target: Arc<T>, socket: WebSocket, mut mode: AttachMode) {
    let (mut sink, mut stream) = socket.split();
    let (past, rx, closed) = target.io().logs.snapshot(None);
    let mut follower = Follower::new(target.io().logs.clone(), rx, past.last().map(|ch| ch.seq));
    let past = if mode.replay { past } else { Vec::new() };
    let out_target = target.clone();
    let (detached_tx, detached_rx) = tokio::sync::oneshot::channel::<()>();
    let out = tokio::spawn(async move {
        let streamed = async {
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
            let _ = sink.send(Message::Text(exit.to_text().into())).await;
        };
        let detached = tokio::select! {
            _ = streamed => false,
            signal = detached_rx => signal.is_ok(),
        };
        if detached {
            let _ = sink
                .send(Message::Text(AttachFrame::Detached.to_text().into()))
                .await;
        }
        let _ = sink.close().await;
    });
    let mut detached_tx = Some(detached_tx);
    let failed = loop {
        let msg = match stream.next().await {
            Some(Ok(msg)) => msg,
            Some(Err(e)) => break Some(e),
            None => break None,
        };
        let input = match msg {
            Message::Binary(bytes) => bytes.to_vec(),
            Message::Text(text) => match AttachFrame::from_text(&text) {
                // A terminal that is not laid out yet measures 0: keep the size the TTY has.
                Some(AttachFrame::Resize { cols, rows }) if cols > 0 && rows > 0 => {
                    if let (Ok(()), Some(resized)) = (target.io().resize(cols, rows), &mode.resized) {
                        resized(cols, rows);
                    }
                    continue;
                }
                Some(AttachFrame::Resize { .. }) => continue,
                Some(AttachFrame::Eof) => {
                    target.io().close_input();
                    continue;
                }
                // Only the server sends `exit` and `detached`: from the client they are text like any other.
                Some(AttachFrame::Exit { .. } | AttachFrame::Detached) | None => text.as_bytes().to_vec(),
            },
            Message::Close(_) => break None,
            _ => continue,
        };
        if !mode.stdin {
            continue;
        }
        let (input, detach) = match mode.detach.as_mut() {
            Some(keys) => keys.feed(&input),
            None => (input, false),
        };
        if !input.is_empty() {
            let _ = target.io().write_input(input).await;
        }
        if detach {
            if let Some(tx) = detached_tx.take() {
                let _ = tx.send(());
            }
            if let Some(detached) = mode.detached.take() {
                detached();
            }
            break None;
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

async fn exec_create(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(opts): ApiJson<ExecOptions>,
) -> ApiResult<(StatusCode, Json<api::ExecCreated>)> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let exec = r.exec(&c, opts).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::ExecCreated { id: exec.id.clone() }),
    ))
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

/// The attach WebSocket of an exec, opened by its ticket as [`attach`].
async fn exec_attach(
    State(r): State<Arc<Runner>>,
    Extension(sessions): Extension<Arc<Sessions>>,
    Path(id): Path<String>,
    Query(q): Query<api::TicketQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, Response> {
    let grant = sessions
        .redeem(q.ticket.as_deref())
        .map_err(IntoResponse::into_response)?;
    let exec = find_exec_in(&r, &grant.session, &id).map_err(IntoResponse::into_response)?;
    if grant.target != exec_target(&exec.id) {
        return Err(SessionError::BadTicket.into_response());
    }
    let mut mode = AttachMode::of(&q).map_err(IntoResponse::into_response)?;
    // dockerd's exec start logs `exec_detach` (with its `execID`) when the detach keys end it (`daemon/exec.go`).
    let (r2, e2) = (r.clone(), exec.clone());
    mode.detached = Some(Box::new(move || {
        r2.container_event(&e2.container, "exec_detach", &[("execID", e2.id.clone())])
    }));
    Ok(limited(ws, &r).on_upgrade(move |socket| attach_session(exec, socket, mode)))
}

/// An attach WebSocket takes messages up to `--max-websocket-message` (axum's default is 64 MiB).
fn limited(ws: WebSocketUpgrade, runner: &Runner) -> WebSocketUpgrade {
    let most = runner.config.max_websocket_message;
    ws.max_message_size(most).max_frame_size(most)
}

async fn step(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    ApiJson(mut step): ApiJson<RunStep>,
) -> ApiResult<Response> {
    step.session = session(&headers);
    let streamed = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(NDJSON));
    if !streamed {
        return Ok(Json(api::StepResult::from(r.run_step(step).await?)).into_response());
    }
    // Refusals (unknown layer or repository, quota) are still plain error statuses: nothing has run yet.
    let prepared = r.prepare_step(step).await?;
    let logs = prepared.logs().clone();
    let mut ahead = prepared.ahead();
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
                // Waiting for a builder: where the step stands, as the queue moves.
                Ok(()) = ahead.changed() => {
                    let queued = StepEvent::Queued { ahead: *ahead.borrow_and_update() };
                    if tx.send(Ok(ndjson_line(&queued))).await.is_err() {
                        return;
                    }
                }
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
            // The output was already sent as output events.
            Ok(Ok(result)) => StepEvent::Result(api::StepResult {
                output: String::new(),
                ..result.into()
            }),
            Ok(Err(e)) => StepEvent::Error {
                status: e.status().as_u16(),
                message: e.to_string(),
            },
            Err(e) => StepEvent::Error {
                status: 500,
                message: e.to_string(),
            },
        };
        let _ = tx.send(Ok(ndjson_line(&last))).await;
    });
    Ok(([(header::CONTENT_TYPE, NDJSON)], Body::from_stream(body)).into_response())
}

fn ndjson_line(value: &impl serde::Serialize) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// One chunk of a step's output as a line of the streamed answer.
fn step_output_line(chunk: &Chunk) -> Bytes {
    ndjson_line(&StepEvent::Output {
        stream: chunk.stream,
        data: String::from_utf8_lossy(&chunk.data).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// A runner that never runs anything: the bodies below are refused before it is asked.
    fn idle_runner(data: &std::path::Path) -> Arc<Runner> {
        let config = super::super::RunnerConfig::new(data.to_path_buf(), "/nonexistent/runc".into());
        let images = super::super::OciLayoutSource::new(vec![]);
        Arc::new(Runner::new(config, Arc::new(images)).unwrap())
    }

    async fn post(router: Router, path: &str, body: &str) -> (StatusCode, ErrorBody) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let error = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not an error body ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, error)
    }

    #[tokio::test]
    async fn an_unknown_field_is_a_400_that_names_it() {
        let data = tempfile::Builder::new()
            .prefix("slipway-api-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let router = router(idle_runner(data.path()));
        for (path, body, field) in [
            (paths::CONTAINERS, r#"{"image":"busybox","memroy":1}"#, "memroy"),
            (paths::STEPS, r#"{"layers":[],"comand":"true"}"#, "comand"),
            (
                &paths::container_exec("web"),
                r#"{"cmd":["sh"],"tyy":true}"#,
                "tyy",
            ),
        ] {
            let (status, error) = post(router.clone(), path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {}", error.message);
            assert!(
                error.message.contains(&format!("unknown field `{field}`")),
                "{path}: {}",
                error.message
            );
        }
        let (status, error) = post(router, paths::CONTAINERS, r#"{"image":"busybox","tty":"yes"}"#).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a wrong type too: {}",
            error.message
        );
    }
}
