//! The preview proxy: on the preview listener (`crate::previews`, an origin of its own), `slipway::api::paths::
//! PREVIEW_PATH` forwards HTTP (and WebSocket upgrades) to `127.0.0.1:port` inside the network namespace of the
//! container whose preview token the path names, so the page can show the learner's web app.
//!
//! The container's app is a stranger's code: what it answers must not act on any origin (only an allowlist of
//! upstream headers passes, and every answer is sandboxed by CSP into an opaque origin), and what the proxy sends
//! it carries none of the caller's credentials.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::TokioIo;

use super::lifecycle::Status;
use super::network::connect_in_netns;
use super::preview_token::same_token;
use super::{Container, Runner, RunnerError};

/// Every preview answer runs in an opaque origin, even when opened directly rather than in the page's frame.
pub const PREVIEW_CSP: &str = "sandbox allow-scripts allow-forms allow-popups";

/// Upstream headers a preview answer keeps: they describe the body, and none can act on an origin (cookies,
/// service workers, HSTS, CORS, site data, CSP are all dropped).
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "content-language",
    "content-range",
    "accept-ranges",
    "cache-control",
    "expires",
    "etag",
    "last-modified",
    "date",
    "vary",
    "location",
    // A WebSocket upgrade's answer.
    "connection",
    "upgrade",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// Request headers the container's app never sees: the caller's credentials for the app, the registry or anything.
fn credential_headers() -> [HeaderName; 4] {
    [
        header::AUTHORIZATION,
        header::PROXY_AUTHORIZATION,
        header::COOKIE,
        HeaderName::from_static(slipway::api::SESSION_HEADER),
    ]
}

impl Runner {
    /// The container whose preview token is `token`, in any session: the token is the capability.
    fn by_preview_token(&self, token: &str) -> Option<Arc<Container>> {
        self.table()
            .values()
            .find(|c| !c.preview_token.is_empty() && same_token(&c.preview_token, token))
            .cloned()
    }
}

/// The preview listener's routes (`crate::previews` serves them on their own port).
pub fn preview_router(runner: Arc<Runner>) -> Router {
    Router::new()
        .route(slipway::api::paths::PREVIEW, axum::routing::any(preview_root))
        .route(
            slipway::api::paths::PREVIEW_PATH,
            axum::routing::any(preview_path),
        )
        .fallback(|| async { not_found() })
        .with_state(runner)
        .layer(axum::middleware::map_response(sandboxed))
}

/// Every answer of the preview listener, the container's or its own (404, 502): sandboxed by CSP into an opaque
/// origin, never sniffed, never telling a linked site the token.
async fn sandboxed(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PREVIEW_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // The lesson's check reads the answer from the app's page: no credentials ride along, so any origin may.
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

fn not_found() -> Response {
    let body = slipway::api::ErrorBody::new("no preview here: the link is wrong or its container is gone");
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

fn bad_gateway(why: impl std::fmt::Display) -> Response {
    let body = slipway::api::ErrorBody::new(format!("proxy: {why}"));
    (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response()
}

async fn preview_root(
    State(r): State<Arc<Runner>>,
    Path((token, port)): Path<(String, u16)>,
    req: Request,
) -> Response {
    answer(r, token, port, String::new(), req).await
}

async fn preview_path(
    State(r): State<Arc<Runner>>,
    Path((token, port, path)): Path<(String, u16, String)>,
    req: Request,
) -> Response {
    answer(r, token, port, path, req).await
}

async fn answer(r: Arc<Runner>, token: String, port: u16, path: String, req: Request) -> Response {
    let Some(c) = r.by_preview_token(&token) else {
        return not_found();
    };
    let prefix = slipway::api::paths::preview(&token, port);
    let mut response = match forward(&c, port, path, req).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    confine(response.headers_mut(), &prefix, port);
    response
}

/// Only [`KEPT_HEADERS`] stay (a redirect kept below the preview prefix); [`sandboxed`] then adds ours.
fn confine(headers: &mut HeaderMap, prefix: &str, port: u16) {
    let upstream = std::mem::take(headers);
    let mut last: Option<HeaderName> = None;
    for (name, value) in upstream {
        // A header repeated upstream comes as (Some(name), v1), (None, v2), ...
        let name = match name {
            Some(name) => name,
            None => match &last {
                Some(name) => name.clone(),
                None => continue,
            },
        };
        last = Some(name.clone());
        if !KEPT_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = if name == header::LOCATION {
            match value.to_str().map(|v| below_prefix(v, prefix, port)) {
                Ok(v) => match HeaderValue::from_str(&v) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                Err(_) => continue,
            }
        } else {
            value
        };
        headers.append(name, value);
    }
}

/// A redirect the app sends for itself (`/login`, `http://localhost:8000/x`) stays below the preview prefix.
fn below_prefix(location: &str, prefix: &str, port: u16) -> String {
    let own = ["localhost", "127.0.0.1"]
        .iter()
        .find_map(|host| location.strip_prefix(&format!("http://{host}:{port}")));
    let own = own.filter(|rest| rest.is_empty() || rest.starts_with('/'));
    match own.or_else(|| {
        location
            .strip_prefix('/')
            .filter(|r| !r.starts_with('/'))
            .map(|_| location)
    }) {
        Some(path) => format!(
            "{}{}",
            prefix.trim_end_matches('/'),
            if path.is_empty() { "/" } else { path }
        ),
        None => location.to_string(),
    }
}

async fn forward(c: &Container, port: u16, path: String, mut req: Request) -> Result<Response, RunnerError> {
    let state = c.state();
    let (Status::Running, Some(pid)) = (state.status, state.pid) else {
        return Err(RunnerError::Conflict(format!(
            "container {} is not running",
            c.name
        )));
    };
    let stream = match connect_in_netns(PathBuf::from(format!("/proc/{pid}/ns/net")), port).await {
        Ok(s) => s,
        Err(e) => {
            return Ok(bad_gateway(format!(
                "nothing answers on port {port} in the container: {e}"
            )))
        }
    };
    let (mut sender, conn) =
        match hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => return Ok(bad_gateway(e)),
        };
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let path_and_query = match req.uri().query() {
        Some(q) => format!("/{path}?{q}"),
        None => format!("/{path}"),
    };
    let client_upgrade = hyper::upgrade::on(&mut req);
    let (mut parts, body) = req.into_parts();
    parts.uri = Uri::try_from(path_and_query).map_err(|e| RunnerError::Conflict(e.to_string()))?;
    parts
        .headers
        .insert(header::HOST, header::HeaderValue::from_static("localhost"));
    for name in credential_headers() {
        parts.headers.remove(name);
    }
    let upstream_req = hyper::Request::from_parts(parts, body);
    let mut resp = match sender.send_request(upstream_req).await {
        Ok(resp) => resp,
        Err(e) => return Ok(bad_gateway(e)),
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        let upstream_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            if let (Ok(client), Ok(upstream)) = (client_upgrade.await, upstream_upgrade.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(upstream))
                    .await;
            }
        });
    }
    Ok(resp.map(Body::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_upstream_headers_pass() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "text/html"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
            ("service-worker-allowed", "/"),
            ("clear-site-data", "\"*\""),
            ("strict-transport-security", "max-age=1"),
            ("access-control-allow-credentials", "true"),
            ("content-security-policy", "default-src *"),
            ("vary", "a"),
            ("vary", "b"),
        ] {
            headers.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        confine(&mut headers, "/p/t/8000/", 8000);
        let names: Vec<_> = headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["content-type", "vary"]);
        assert_eq!(headers.get_all("vary").iter().count(), 2);
    }

    #[tokio::test]
    async fn every_answer_of_the_preview_listener_is_sandboxed_even_a_404() {
        let response = sandboxed(not_found()).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["content-security-policy"], PREVIEW_CSP);
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }

    #[test]
    fn redirects_of_the_app_stay_below_the_preview_prefix() {
        let p = "/p/t/8000/";
        assert_eq!(below_prefix("/login?x=1", p, 8000), "/p/t/8000/login?x=1");
        assert_eq!(below_prefix("http://localhost:8000/a", p, 8000), "/p/t/8000/a");
        assert_eq!(below_prefix("http://127.0.0.1:8000", p, 8000), "/p/t/8000/");
        assert_eq!(below_prefix("next", p, 8000), "next");
        assert_eq!(below_prefix("//evil.example/", p, 8000), "//evil.example/");
        assert_eq!(
            below_prefix("https://example.org/", p, 8000),
            "https://example.org/"
        );
    }
}
