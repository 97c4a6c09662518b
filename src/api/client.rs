//! The typed client of the companion's `/api/` routes, over the registry client's [`Transport`] (`fetch` in
//! the page, an HTTP client natively): one method per route, taking and returning the [`super`] types.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::registry::transport::{url_origin, LineSplitter, TransportError};
use crate::registry::{HttpRequest, HttpResponse, Method, Transport};

/// A transport that names the caller's session ([`SESSION_HEADER`]): the companion shows each session only
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
            request.header(SESSION_HEADER, self.session.clone())
        } else {
            request
        }
    }
}

impl<T: Transport> Transport for SessionTransport<'_, T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.inner.send(self.with_session(request)).await
    }

    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, TransportError> {
        self.inner
            .send_streaming(self.with_session(request), on_chunk)
            .await
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

    fn request(&self, method: Method, path_and_query: &str) -> HttpRequest {
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
    async fn call(&self, method: Method, path_and_query: &str) -> Result<(), CompanionError> {
        self.send(self.request(method, path_and_query)).await.map(drop)
    }

    /// A call with an optional JSON body whose answer is JSON of type `A`.
    async fn json<A: DeserializeOwned>(
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
    async fn stream_lines(
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
        let path = format!("{}{}", paths::CONTAINERS, query_string(&CreateQuery { start }));
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

/// The attach WebSocket's path for a browser, which cannot send the session header on a WebSocket: the
/// session rides in the query ([`SessionQuery`]).
pub fn attach_path_for(path: &str, session: &str) -> String {
    let query = SessionQuery {
        session: Some(session.to_string()),
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
