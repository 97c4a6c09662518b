//! `GET /api/events` and `POST /api/events` (`docker events`): moby's `getEvents`
//! (api/server/router/system/system_routes.go) over the session's ring ([`super::events`]).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use slipway::api::{self, paths, ErrorBody, EventFilters, EventMessage, NDJSON};
use tokio::sync::broadcast;

use super::events::MAX_BYTES;
use super::Runner;
use crate::api_json::ApiJson;

/// The caller's session (checked live by the session gate before any handler runs).
fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

/// `/api/events`.
pub fn routes() -> Router<Arc<Runner>> {
    Router::new().route(paths::EVENTS, get(stream).post(record))
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(ErrorBody::new(message))).into_response()
}

/// A wire time, as moby's `eventTime`: absent is `None`.
fn event_time(value: Option<&str>) -> Result<Option<i128>, String> {
    value
        .filter(|v| !v.is_empty())
        .map(api::parse_timestamp)
        .transpose()
}

/// `GET /api/events`: the kept events the query asks for, then (unless `until` is past) the new ones as they
/// happen, until `until` or until the client goes.
async fn stream(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<api::EventsQuery>,
) -> Result<Response, Response> {
    let session = session(&headers);
    let since = event_time(q.since.as_deref()).map_err(bad_request)?;
    let until = event_time(q.until.as_deref()).map_err(bad_request)?;
    if let Some(until) = until {
        if until < since.unwrap_or(0) {
            return Err(bad_request(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                q.since.unwrap_or_default(),
                q.until.unwrap_or_default()
            )));
        }
    }
    let filters = EventFilters::from_json(q.filters.as_deref().unwrap_or_default()).map_err(bad_request)?;
    let line = |m: &EventMessage| {
        let mut text = serde_json::to_vec(m).unwrap_or_default();
        text.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(text))
    };
    let (kept, mut rx) = r.events.subscribe(&session, since, until, &filters);
    let head: Vec<_> = kept.iter().map(line).collect();
    let now = i128::from(super::events::now_nano());
    let body = match until {
        Some(until) if until < now => Body::from_stream(futures_util::stream::iter(head)),
        _ => {
            let wait = until.map(|u| Duration::from_nanos((u - now).clamp(0, i128::from(u64::MAX)) as u64));
            let (tx, mut live_rx) = tokio::sync::mpsc::channel(64);
            tokio::spawn(async move {
                let follow = async {
                    loop {
                        let recorded = match rx.recv().await {
                            Ok(recorded) => recorded,
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return,
                        };
                        if recorded.session != session || !filters.include(&recorded.message) {
                            continue;
                        }
                        if tx.send(line(&recorded.message)).await.is_err() {
                            return;
                        }
                    }
                };
                let deadline = async {
                    match wait {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => std::future::pending().await,
                    }
                };
                // Ctrl-C in the page closes the request: stop at once, not at the next event.
                tokio::select! {
                    () = follow => {}
                    () = deadline => {}
                    () = tx.closed() => {}
                }
            });
            let live = futures_util::stream::poll_fn(move |cx| live_rx.poll_recv(cx));
            Body::from_stream(futures_util::stream::iter(head).chain(live))
        }
    };
    Ok(([(header::CONTENT_TYPE, NDJSON)], body).into_response())
}

/// Actions of the page's image store the interpreter records (docker's image events).
const IMAGE_ACTIONS: &[&str] = &["pull", "push", "tag", "untag", "delete", "save", "load", "import"];

/// Attributes of a `container commit` the interpreter gives (it made the image); the rest are the container's.
const COMMIT_ATTRIBUTES: &[&str] = &["comment", "imageID", "imageRef"];

/// `POST /api/events`: an image event of the session's own store, as the interpreter saw it happen; or a
/// `container commit` of one of the session's containers (the companion adds the container's attributes).
async fn record(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    ApiJson(message): ApiJson<EventMessage>,
) -> Result<(StatusCode, Json<EventMessage>), Response> {
    if message.kind == "container" && message.action == "commit" {
        let c = r
            .get_in(Some(&session(&headers)), &message.actor.id)
            .map_err(IntoResponse::into_response)?;
        let given = &message.actor.attributes;
        let extra: Vec<(&str, String)> = COMMIT_ATTRIBUTES
            .iter()
            .map(|k| (*k, given.get(*k).cloned().unwrap_or_default()))
            .collect();
        if extra.iter().map(|(_, v)| v.len()).sum::<usize>() > MAX_BYTES / 4 {
            return Err(bad_request(format!("an event of at most {MAX_BYTES} bytes")));
        }
        r.container_event(&c, "commit", &extra);
        return Ok((StatusCode::CREATED, Json(message)));
    }
    if message.kind != "image" || !IMAGE_ACTIONS.contains(&message.action.as_str()) {
        return Err(bad_request(format!(
            "only image events ({}) and a container's commit are recorded by the client",
            IMAGE_ACTIONS.join(", ")
        )));
    }
    let message = EventMessage::new("image", &message.action, message.actor, 0);
    if message.weight() > MAX_BYTES {
        return Err(bad_request(format!("an event of at most {MAX_BYTES} bytes")));
    }
    let recorded = r.events.record_message(&session(&headers), message);
    Ok((StatusCode::CREATED, Json(recorded)))
}
