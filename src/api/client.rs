//! The typed client of the companion's `/api/` routes, over the registry client's [`Transport`] (`fetch` in
//! the page, an HTTP client natively): one method per route, taking and returning the [`super`] types.

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::registry::transport::{url_origin, LineSplitter, TransportError};
use crate::registry::{HttpRequest, HttpResponse, Method, Transport};

/// Called with a token the companion issued after the old one was refused (or none was held): the page keeps
/// it in `sessionStorage`, `slipway docker` in its session file.
pub type OnRenew = Arc<dyn Fn(&str) + Send + Sync>;

/// A transport that names the caller's session ([`SESSION_HEADER`]): the companion shows each session only
/// its own containers and counts them against its own quota. The header goes only to the companion (`home`):
/// a lesson or registry on another origin never hears the token.
///
/// With [`SessionTransport::renewing`], a request that needs a session ([`paths::needs_session`]) while none
/// is held first asks the companion for one ([`paths::SESSIONS`]), and a 401 from the companion (the session
/// expired, or the server restarted) gets a new session and the request is sent once more.
pub struct SessionTransport<'a, T> {
    pub inner: &'a T,
    /// The token, shared by clones (a renewal holds for all of them).
    session: Arc<Mutex<String>>,
    /// The companion's origin (`http://127.0.0.1:8080`: [`SessionTransport::new`] drops a path); `""` when only
    /// relative URLs (the page's own origin) reach it.
    pub home: String,
    on_renew: Option<OnRenew>,
}

// By hand: the derive would ask `T: Clone`, and only the reference is copied.
impl<T> Clone for SessionTransport<'_, T> {
    fn clone(&self) -> Self {
        SessionTransport {
            inner: self.inner,
            session: self.session.clone(),
            home: self.home.clone(),
            on_renew: self.on_renew.clone(),
        }
    }
}

impl<'a, T> SessionTransport<'a, T> {
    /// A transport that sends `session` as it is (no renewal).
    pub fn new(inner: &'a T, session: impl Into<String>, home: &str) -> Self {
        SessionTransport {
            inner,
            session: Arc::new(Mutex::new(session.into())),
            home: url_origin(home).unwrap_or(home).to_string(),
            on_renew: None,
        }
    }

    /// Get a session from the companion when none is held or the held one is refused; `on_renew` hears each
    /// new token.
    pub fn renewing(mut self, on_renew: OnRenew) -> Self {
        self.on_renew = Some(on_renew);
        self
    }

    /// The token sent now (`""` when none is held yet).
    pub fn session(&self) -> String {
        self.session.lock().map(|s| s.clone()).unwrap_or_default()
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
        let session = self.session();
        if self.is_home(&request.url) && !session.is_empty() {
            request.header(SESSION_HEADER, session)
        } else {
            request
        }
    }

    /// Whether `request` goes to a companion route that acts for a session, and may get (or renew) one: a 401
    /// elsewhere (a registry login) is no verdict on the session.
    fn renews(&self, request: &HttpRequest) -> bool {
        self.on_renew.is_some() && self.is_home(&request.url) && paths::needs_session(url_path(&request.url))
    }
}

impl<T: Transport> SessionTransport<'_, T> {
    /// `POST /api/sessions` on the companion: the new token is held (and told to `on_renew`).
    pub async fn renew(&self) -> Result<String, CompanionError> {
        let base = self.home.clone();
        let response = self
            .inner
            .send(HttpRequest::new(
                Method::Post,
                format!("{base}{}", paths::SESSIONS),
            ))
            .await
            .map_err(|source| CompanionError::Unreachable { base, source })?;
        let response = refused_unless_success(response)?;
        let issued: SessionIssued =
            serde_json::from_slice(&response.body).map_err(CompanionError::Unreadable)?;
        if let Ok(mut held) = self.session.lock() {
            *held = issued.token.clone();
        }
        if let Some(hook) = &self.on_renew {
            hook(&issued.token);
        }
        Ok(issued.token)
    }

    /// Before `request`: a session when it needs one and none is held.
    async fn ensure_for(&self, request: &HttpRequest) {
        if self.renews(request) && self.session().is_empty() {
            let _ = self.renew().await;
        }
    }
}

/// The path of a URL, absolute or relative, without its query.
fn url_path(url: &str) -> &str {
    let rest = url_origin(url).map_or(url, |origin| &url[origin.len()..]);
    rest.split(['?', '#']).next().unwrap_or(rest)
}

impl<T: Transport> Transport for SessionTransport<'_, T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.ensure_for(&request).await;
        let again = self.renews(&request).then(|| request.clone());
        let response = self.inner.send(self.with_session(request)).await?;
        match again {
            Some(request) if response.status == 401 && self.renew().await.is_ok() => {
                self.inner.send(self.with_session(request)).await
            }
            _ => Ok(response),
        }
    }

    /// Streamed answers are not sent twice (their chunks are out already): a 401 renews the session for the
    /// next request.
    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, TransportError> {
        self.ensure_for(&request).await;
        let renews = self.renews(&request);
        let response = self
            .inner
            .send_streaming(self.with_session(request), on_chunk)
            .await?;
        if renews && response.status == 401 {
            let _ = self.renew().await;
        }
        Ok(response)
    }
}

/// Why a call to the companion gave no answer of the expected type.
#[derive(Debug, thiserror::Error)]
pub enum CompanionError {
    /// No HTTP answer at all (connection refused, CORS refused, ...).
    #[error("Cannot connect to the Slipway companion at {base}: {source}")]
    Unreachable {
        base: String,
        #[source]
        source: TransportError,
    },
    /// An error status, with the message of its [`ErrorBody`].
    #[error("Error response from daemon: {message}")]
    Refused { status: u16, message: String },
    /// A success whose body is not the route's answer type.
    #[error("unreadable answer from the companion: {0}")]
    Unreadable(#[source] serde_json::Error),
}

/// The companion at `base` (`""` in the page: its own origin; `http://127.0.0.1:8080` natively), reached
/// through `transport` (which names the session: a [`SessionTransport`]).
pub struct Companion<'a, T> {
    pub transport: &'a T,
    pub base: &'a str,
}

impl<'a, T: Transport> Companion<'a, T> {
    pub fn new(transport: &'a T, base: &'a str) -> Self {
        Companion { transport, base }
    }

    pub(super) fn request(&self, method: Method, path_and_query: &str) -> HttpRequest {
        HttpRequest::new(method, format!("{}{path_and_query}", self.base))
    }

    fn unreachable(&self, source: TransportError) -> CompanionError {
        CompanionError::Unreachable {
            base: self.base.to_string(),
            source,
        }
    }

    /// Send `request`; a non-2xx answer is [`CompanionError::Refused`].
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, CompanionError> {
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|e| self.unreachable(e))?;
        refused_unless_success(response)
    }

    /// A call without a body whose answer is of no interest beyond its success.
    pub(super) async fn call(&self, method: Method, path_and_query: &str) -> Result<(), CompanionError> {
        self.send(self.request(method, path_and_query)).await.map(drop)
    }

    /// A call with an optional JSON body whose answer is JSON of type `A`.
    pub(super) async fn json<A: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
    ) -> Result<A, CompanionError> {
        let mut request = self.request(method, path_and_query);
        if let Some(body) = body {
            request = with_json(request, body)?;
        }
        let response = self.send(request).await?;
        serde_json::from_slice(&response.body).map_err(CompanionError::Unreadable)
    }

    /// A streamed call: each complete NDJSON line of a 2xx answer goes to `on_line` as it arrives.
    pub(super) async fn stream_lines(
        &self,
        request: HttpRequest,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<(), CompanionError> {
        let mut lines = LineSplitter::default();
        let response = self
            .transport
            .send_streaming(request, &mut |chunk| {
                lines.feed(chunk).iter().for_each(|l| on_line(l))
            })
            .await
            .map_err(|e| self.unreachable(e))?;
        if let Some(rest) = lines.finish() {
            on_line(&rest);
        }
        refused_unless_success(response).map(drop)
    }

    /// `GET /api/info`.
    pub async fn info(&self) -> Result<ServerInfo, CompanionError> {
        self.json(Method::Get, paths::INFO, None::<&()>).await
    }

    /// `POST /api/embed/session`: this session is a docs page's runner frame's, held to the page's budget.
    pub async fn embed_session(&self) -> Result<EmbedBudget, CompanionError> {
        self.json(Method::Post, paths::EMBED_SESSION, None::<&()>).await
    }

    /// `POST /api/classroom/join`: sign in to the class with a join code.
    pub async fn join(&self, request: &JoinRequest) -> Result<SignedIn, CompanionError> {
        self.json(Method::Post, paths::CLASSROOM_JOIN, Some(request))
            .await
    }

    /// `GET /api/classroom/notices?after=N`: the member's notices after `after`, waiting a while for one
    /// (`None`: at once, only the number to start from).
    pub async fn notices(&self, after: Option<u64>) -> Result<Notices, CompanionError> {
        let path = format!(
            "{}{}",
            paths::CLASSROOM_NOTICES,
            query_string(&NoticeQuery { after })
        );
        self.json(Method::Get, &path, None::<&()>).await
    }

    /// `GET /api/classroom/progress/mine[?lesson=ID]` (a learner): their own progress as the server judged it,
    /// of lesson `lesson` only when given (its stable id).
    pub async fn my_progress(&self, lesson: Option<&str>) -> Result<MyProgress, CompanionError> {
        let query = MyProgressQuery {
            lesson: lesson.map(str::to_string),
        };
        let path = format!("{}{}", paths::CLASSROOM_MY_PROGRESS, query_string(&query));
        self.json(Method::Get, &path, None::<&()>).await
    }

    /// `POST /api/classroom/broadcast` (teachers).
    pub async fn broadcast(&self, message: &Broadcast) -> Result<(), CompanionError> {
        let request = with_json(self.request(Method::Post, paths::CLASSROOM_BROADCAST), message)?;
        self.send(request).await.map(drop)
    }

    /// `POST /api/classroom/extend` (teachers): the class's new end.
    pub async fn extend_time(&self, extend: &ExtendTime) -> Result<ClassEnds, CompanionError> {
        self.json(Method::Post, paths::CLASSROOM_EXTEND, Some(extend))
            .await
    }

    /// Makes sure the transport holds a live session before a command names things after it (its local
    /// repositories): one cheap request that needs a session (the running containers, an in-memory table), which
    /// a renewing [`SessionTransport`] answers by getting a new session when the companion forgot the old one.
    /// A companion that cannot be reached is left for the command itself to report.
    pub async fn touch_session(&self) {
        let _ = self.containers(false).await;
    }

    /// `GET /api/images`: the session's local images.
    pub async fn images(&self) -> Result<Vec<ImageRow>, CompanionError> {
        self.json(Method::Get, paths::IMAGES, None::<&()>).await
    }

    /// `GET /api/containers`: the session's containers, newest first; `all` includes stopped ones.
    pub async fn containers(&self, all: bool) -> Result<Vec<ContainerSummary>, CompanionError> {
        let path = format!("{}{}", paths::CONTAINERS, query_string(&ListQuery { all }));
        self.json(Method::Get, &path, None::<&()>).await
    }

    /// `POST /api/containers`: create a container, and start it when `start` (`docker run`).
    pub async fn create(&self, container: &CreateContainer, start: bool) -> Result<Created, CompanionError> {
        let query = CreateQuery {
            start,
            ..CreateQuery::default()
        };
        self.create_with(container, &query).await
    }

    /// `POST /api/containers` with the whole query (`--platform`).
    pub async fn create_with(
        &self,
        container: &CreateContainer,
        query: &CreateQuery,
    ) -> Result<Created, CompanionError> {
        let path = format!("{}{}", paths::CONTAINERS, query_string(query));
        self.json(Method::Post, &path, Some(container)).await
    }

    /// `GET /api/containers/{id}`.
    pub async fn inspect(&self, id: &str) -> Result<ContainerInspect, CompanionError> {
        self.json(Method::Get, &paths::container(id), None::<&()>).await
    }

    /// `POST /api/containers/{id}/start`.
    pub async fn start(&self, id: &str) -> Result<(), CompanionError> {
        self.call(Method::Post, &paths::container_start(id)).await
    }

    /// `POST /api/containers/{id}/stop`: SIGTERM, then SIGKILL after `query.t` seconds.
    pub async fn stop(&self, id: &str, query: &StopQuery) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::container_stop(id), query_string(query));
        self.call(Method::Post, &path).await
    }

    /// `POST /api/containers/{id}/kill`.
    pub async fn kill(&self, id: &str, query: &KillQuery) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::container_kill(id), query_string(query));
        self.call(Method::Post, &path).await
    }

    /// `DELETE /api/containers/{id}`.
    pub async fn remove(&self, id: &str, query: &RemoveQuery) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::container(id), query_string(query));
        self.call(Method::Delete, &path).await
    }

    /// `POST /api/containers/{id}/pause`.
    pub async fn pause(&self, id: &str) -> Result<(), CompanionError> {
        self.call(Method::Post, &paths::container_pause(id)).await
    }

    /// `POST /api/containers/{id}/unpause`.
    pub async fn unpause(&self, id: &str) -> Result<(), CompanionError> {
        self.call(Method::Post, &paths::container_unpause(id)).await
    }

    /// `POST /api/containers/{id}/rename?name=NEW`.
    pub async fn rename(&self, id: &str, query: &RenameQuery) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::container_rename(id), query_string(query));
        self.call(Method::Post, &path).await
    }

    /// `GET /api/containers/{id}/top`: the container's processes.
    pub async fn top(&self, id: &str) -> Result<TopAnswer, CompanionError> {
        self.json(Method::Get, &paths::container_top(id), None::<&()>)
            .await
    }

    /// `POST /api/containers/{id}/restart`: stop it if it runs (SIGKILL after `query.t` seconds), start it again.
    pub async fn restart(&self, id: &str, query: &RestartQuery) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::container_restart(id), query_string(query));
        self.call(Method::Post, &path).await
    }

    /// `GET /api/containers/{id}/changes`: the changes in its writable layer (`docker diff`).
    pub async fn changes(&self, id: &str) -> Result<Vec<Change>, CompanionError> {
        self.json(Method::Get, &paths::container_changes(id), None::<&()>)
            .await
    }

    /// `GET /api/containers/{id}/archive`: a tar of a path in the container (`docker cp CONTAINER:PATH ...`).
    pub async fn archive(&self, id: &str, query: &ArchiveQuery) -> Result<Vec<u8>, CompanionError> {
        let path = format!("{}{}", paths::container_archive(id), query_string(query));
        Ok(self.send(self.request(Method::Get, &path)).await?.body)
    }

    /// `GET /api/containers/{id}/export`: its whole root filesystem as a tar (`docker export`).
    pub async fn export(&self, id: &str) -> Result<Vec<u8>, CompanionError> {
        Ok(self
            .send(self.request(Method::Get, &paths::container_export(id)))
            .await?
            .body)
    }

    /// `GET /api/containers/{id}/archive/stat`: what a path of the container is.
    pub async fn stat_path(&self, id: &str, query: &ArchiveQuery) -> Result<PathStat, CompanionError> {
        let path = format!("{}{}", paths::container_archive_stat(id), query_string(query));
        self.json(Method::Get, &path, None::<&()>).await
    }

    /// `PUT /api/containers/{id}/archive`: extract `tar` into a directory of the container (`docker cp ...
    /// CONTAINER:PATH`).
    pub async fn extract(&self, id: &str, query: &ExtractQuery, tar: Vec<u8>) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::container_archive(id), query_string(query));
        let request = self.request(Method::Put, &path);
        self.send(request.header("Content-Type", "application/x-tar").body(tar))
            .await
            .map(drop)
    }

    /// `GET /api/stats`: the session's containers' use of their limits over about a second.
    pub async fn stats(&self, query: &StatsQuery) -> Result<Vec<StatsRow>, CompanionError> {
        let path = format!("{}{}", paths::STATS, query_string(query));
        self.json(Method::Get, &path, None::<&()>).await
    }

    /// `POST /api/containers/{id}/update`: change its limits.
    pub async fn update(&self, id: &str, limits: &UpdateLimits) -> Result<(), CompanionError> {
        let _warnings: serde_json::Value = self
            .json(Method::Post, &paths::container_update(id), Some(limits))
            .await?;
        Ok(())
    }

    /// `POST /api/containers/{id}/commit`: its changes as a layer blob of the session's local `repository`.
    pub async fn commit(&self, id: &str, query: &CommitQuery) -> Result<StepLayer, CompanionError> {
        let path = format!("{}{}", paths::container_commit(id), query_string(query));
        self.json(Method::Post, &path, None::<&()>).await
    }

    /// `GET /api/system`: `docker info`'s figures.
    pub async fn system(&self) -> Result<SystemInfo, CompanionError> {
        self.json(Method::Get, paths::SYSTEM, None::<&()>).await
    }

    /// `POST /api/containers/prune`: remove the session's stopped containers.
    pub async fn prune_containers(&self) -> Result<PruneAnswer, CompanionError> {
        self.json(Method::Post, paths::CONTAINERS_PRUNE, None::<&()>)
            .await
    }

    /// `POST /api/containers/{id}/await`: where the container stands once its healthcheck settled (or it runs,
    /// or exited), or when `query.timeout` seconds ran out.
    pub async fn await_container(&self, id: &str, query: &AwaitQuery) -> Result<AwaitAnswer, CompanionError> {
        let path = format!("{}{}", paths::container_await(id), query_string(query));
        self.json(Method::Post, &path, None::<&()>).await
    }

    /// `POST /api/containers/{id}/wait`: the state once the container exited.
    pub async fn wait(&self, id: &str) -> Result<ContainerState, CompanionError> {
        self.json(Method::Post, &paths::container_wait(id), None::<&()>)
            .await
    }

    /// `GET /api/containers/{id}/logs` in the JSON format: the output so far, chunk by chunk (`query.follow` is
    /// ignored: [`Companion::follow_logs`] follows).
    pub async fn logs(&self, id: &str, query: &LogsQuery) -> Result<Vec<LogChunk>, CompanionError> {
        let query = LogsQuery {
            follow: false,
            format: LogFormat::Json,
            ..*query
        };
        let path = format!("{}{}", paths::container_logs(id), query_string(&query));
        let response = self.send(self.request(Method::Get, &path)).await?;
        Ok(String::from_utf8_lossy(&response.body)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect())
    }

    /// `GET /api/containers/{id}/logs?follow=true` in the JSON format: each chunk goes to `on_chunk` as the
    /// container writes it, until its output ends (it exited).
    pub async fn follow_logs(
        &self,
        id: &str,
        query: &LogsQuery,
        on_chunk: &mut dyn FnMut(LogChunk),
    ) -> Result<(), CompanionError> {
        let query = LogsQuery {
            follow: true,
            format: LogFormat::Json,
            ..*query
        };
        let path = format!("{}{}", paths::container_logs(id), query_string(&query));
        self.stream_lines(self.request(Method::Get, &path), &mut |line| {
            if let Ok(chunk) = serde_json::from_str(line) {
                on_chunk(chunk);
            }
        })
        .await
    }

    /// `POST /api/containers/{id}/exec`: the new process's id, to attach to.
    pub async fn exec(&self, container: &str, options: &ExecOptions) -> Result<ExecCreated, CompanionError> {
        self.json(Method::Post, &paths::container_exec(container), Some(options))
            .await
    }

    /// `GET /api/execs/{id}`.
    pub async fn exec_state(&self, id: &str) -> Result<ExecState, CompanionError> {
        self.json(Method::Get, &paths::exec(id), None::<&()>).await
    }

    /// `POST /api/execs/{id}/wait`.
    pub async fn exec_wait(&self, id: &str) -> Result<ExecState, CompanionError> {
        self.json(Method::Post, &paths::exec_wait(id), None::<&()>).await
    }

    /// `POST .../attach-ticket` ([`paths::container_attach_ticket`] or [`paths::exec_attach_ticket`]), then the
    /// attach WebSocket's path with that ticket, to open within the ticket's life.
    pub async fn attach_path(&self, ticket_path: &str) -> Result<String, CompanionError> {
        self.attach_path_with(ticket_path, TicketQuery::default()).await
    }

    /// [`Self::attach_path`] with the rest of `query` (`docker attach`'s options) beside the ticket.
    pub async fn attach_path_with(
        &self,
        ticket_path: &str,
        mut query: TicketQuery,
    ) -> Result<String, CompanionError> {
        let ticket: AttachTicket = self.json(Method::Post, ticket_path, None::<&()>).await?;
        query.ticket = Some(ticket.ticket);
        Ok(format!(
            "{}{}",
            paths::attach_of_ticket(ticket_path),
            query_string(&query)
        ))
    }

    /// `POST /api/steps`, streamed: each [`StepEvent`] goes to `on_event` as it arrives (a line that is no
    /// event is an [`CompanionError::Unreadable`] error, after the rest of the answer).
    pub async fn run_step(
        &self,
        step: &StepRequest,
        on_event: &mut dyn FnMut(StepEvent),
    ) -> Result<(), CompanionError> {
        let request = with_json(self.request(Method::Post, paths::STEPS), step)?.header("Accept", NDJSON);
        let mut unreadable = None;
        self.stream_lines(
            request,
            &mut |line| match serde_json::from_str::<StepEvent>(line) {
                Ok(event) => on_event(event),
                Err(_) if line.trim().is_empty() => {}
                Err(e) => unreadable = unreadable.take().or(Some(e)),
            },
        )
        .await?;
        match unreadable {
            Some(e) => Err(CompanionError::Unreadable(e)),
            None => Ok(()),
        }
    }
}

/// The attach WebSocket's path with its one-time ticket ([`TicketQuery`]): a browser cannot send the session
/// header on a WebSocket, and a long-lived token does not belong in a URL.
pub fn attach_path_for(path: &str, ticket: &str) -> String {
    let query = TicketQuery {
        ticket: Some(ticket.to_string()),
        ..TicketQuery::default()
    };
    format!("{path}{}", query_string(&query))
}

fn with_json(request: HttpRequest, body: &impl Serialize) -> Result<HttpRequest, CompanionError> {
    let bytes = serde_json::to_vec(body).map_err(CompanionError::Unreadable)?;
    Ok(request.header("Content-Type", "application/json").body(bytes))
}

fn refused_unless_success(response: HttpResponse) -> Result<HttpResponse, CompanionError> {
    if response.is_success() {
        Ok(response)
    } else {
        Err(CompanionError::Refused {
            status: response.status,
            message: ErrorBody::message_of(&response.body),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Answers every request with `status` and `body`, and keeps the requests.
    struct Canned {
        status: u16,
        body: &'static str,
        sent: RefCell<Vec<HttpRequest>>,
    }

    impl Canned {
        fn new(status: u16, body: &'static str) -> Self {
            Canned {
                status,
                body,
                sent: RefCell::new(Vec::new()),
            }
        }
    }

    impl Transport for Canned {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.sent.borrow_mut().push(request);
            Ok(HttpResponse {
                status: self.status,
                headers: vec![],
                body: self.body.as_bytes().to_vec(),
            })
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        struct Nobody;
        impl std::task::Wake for Nobody {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        // The canned transport never waits: one poll finishes the call.
        let waker = std::task::Waker::from(std::sync::Arc::new(Nobody));
        match std::pin::pin!(future).poll(&mut std::task::Context::from_waker(&waker)) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("the canned transport does not wait"),
        }
    }

    #[test]
    fn calls_go_to_the_routes_paths_with_typed_bodies() {
        let transport = Canned::new(201, r#"{"id":"abc","name":"web","ports":[]}"#);
        let companion = Companion::new(&transport, "http://127.0.0.1:8080");
        let request = CreateContainer {
            image: "busybox".into(),
            options: RunOptions::default(),
        };
        let created = block_on(companion.create(&request, true)).unwrap();
        assert_eq!(created.name, "web");
        let sent = transport.sent.borrow_mut().remove(0);
        assert_eq!(sent.url, "http://127.0.0.1:8080/api/containers?start=true");
        assert_eq!(
            serde_json::from_slice::<CreateContainer>(&sent.body).unwrap(),
            request
        );
        block_on(companion.remove("web", &RemoveQuery { force: true })).unwrap();
        assert_eq!(
            transport.sent.borrow()[0].url,
            "http://127.0.0.1:8080/api/containers/web?force=true"
        );
    }

    #[test]
    fn an_error_answer_is_refused_with_its_message() {
        let transport = Canned::new(404, r#"{"message":"no such container: web"}"#);
        let error = block_on(Companion::new(&transport, "").wait("web")).unwrap_err();
        assert!(
            matches!(error, CompanionError::Refused { status: 404, .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "Error response from daemon: no such container: web"
        );
        let garbled = Canned::new(200, "<html>");
        let error = block_on(Companion::new(&garbled, "").containers(true)).unwrap_err();
        assert!(matches!(error, CompanionError::Unreadable(_)), "{error:?}");
    }

    #[test]
    fn a_step_streams_its_events() {
        let transport = Canned::new(
            200,
            "{\"output\":{\"stream\":\"stdout\",\"data\":\"hi\\n\"}}\n{\"result\":{\"exit_code\":0}}\n",
        );
        let mut events = Vec::new();
        block_on(Companion::new(&transport, "").run_step(&StepRequest::default(), &mut |e| events.push(e)))
            .unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(&events[1], StepEvent::Result(r) if r.exit_code == 0));
        let sent = &transport.sent.borrow()[0];
        assert_eq!(sent.url, paths::STEPS);
        assert!(sent.headers.contains(&("Accept".to_string(), NDJSON.to_string())));
    }

    #[test]
    fn the_attach_path_carries_a_ticket_not_the_session() {
        assert_eq!(
            attach_path_for(&paths::container_attach("abc123"), "t/x y"),
            "/api/containers/abc123/attach?ticket=t%2Fx%20y"
        );
    }

    /// Answers `/api/sessions` with a new token each time, and other requests with 401 unless they carry the
    /// newest one.
    #[derive(Default)]
    struct Issuing {
        issued: RefCell<Vec<String>>,
        sent: RefCell<Vec<HttpRequest>>,
    }

    impl Transport for Issuing {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.sent.borrow_mut().push(request.clone());
            let answer = |status: u16, body: String| HttpResponse {
                status,
                headers: vec![],
                body: body.into_bytes(),
            };
            if request.url.ends_with(paths::SESSIONS) {
                let token = format!("t{}", self.issued.borrow().len());
                self.issued.borrow_mut().push(token.clone());
                return Ok(answer(
                    201,
                    format!(r#"{{"token":"{token}","idle_seconds":1,"max_age_seconds":2}}"#),
                ));
            }
            let newest = self.issued.borrow().last().cloned().unwrap_or_default();
            let held = request
                .headers
                .iter()
                .find(|(n, _)| n == SESSION_HEADER)
                .map(|(_, v)| v.clone());
            Ok(match held {
                Some(token) if token == newest => answer(200, "[]".into()),
                _ => answer(401, r#"{"message":"reload"}"#.into()),
            })
        }
    }

    #[test]
    fn a_session_is_asked_for_first_and_renewed_once_when_refused() {
        let server = Issuing::default();
        let heard = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = heard.clone();
        let transport = SessionTransport::new(&server, "", "http://127.0.0.1:8080").renewing(Arc::new(
            move |token: &str| log.lock().unwrap().push(token.to_string()),
        ));
        let companion = Companion::new(&transport, "http://127.0.0.1:8080");
        block_on(companion.containers(false)).unwrap();
        assert_eq!(transport.session(), "t0");
        // The server forgot it (a restart): one 401, a new session, the request again.
        server.issued.borrow_mut().push("other".into());
        block_on(companion.images()).unwrap();
        assert_eq!(transport.session(), "t2");
        assert_eq!(*heard.lock().unwrap(), ["t0", "t2"]);
        assert_eq!(
            server.sent.borrow().len(),
            5,
            "session, list, refused, session, again"
        );
        // A transport without renewal sends what it holds, once.
        let fixed = SessionTransport::new(&server, "made-up", "http://127.0.0.1:8080");
        assert!(block_on(Companion::new(&fixed, "http://127.0.0.1:8080").images()).is_err());
        assert_eq!(server.sent.borrow().len(), 6);
    }

    #[test]
    fn only_the_companion_hears_the_session() {
        let native = SessionTransport::new(&(), "secret", "http://127.0.0.1:8080/");
        let to = |t: &SessionTransport<'_, ()>, url: &str| {
            t.with_session(HttpRequest::new(Method::Get, url))
                .headers
                .iter()
                .any(|(name, value)| name == SESSION_HEADER && value == "secret")
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
}
