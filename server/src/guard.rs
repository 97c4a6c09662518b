//! The app's front door against other sites. A Host check stops DNS rebinding (a hostile domain that resolves to
//! the learner's 127.0.0.1), an Origin check on WebSocket upgrades and state-changing `/api/` requests stops a
//! hostile page from driving a learner's containers, and every response carries `nosniff`, a referrer policy and
//! `frame-ancestors 'self'` (except the embed and the previews, whose point is to be framed).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The host names this server answers to, besides IP addresses and `localhost` (`slipway serve --public-host`).
#[derive(Debug, Clone, Default)]
pub struct SiteNames {
    public_hosts: Vec<String>,
}

impl SiteNames {
    pub fn new(public_hosts: &[String]) -> Self {
        SiteNames {
            public_hosts: public_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// An IP literal cannot be rebound (a page on it has that origin already); a name must be `localhost` or one
    /// the operator named.
    fn allows_host(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        host.parse::<IpAddr>().is_ok()
            || host == "localhost"
            || host.ends_with(".localhost")
            || self.public_hosts.contains(&host)
    }
}

/// Middleware over the whole app.
pub async fn front_door(State(names): State<Arc<SiteNames>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(host) = &host {
        let name = host.parse::<Authority>().map(|a| a.host().to_string());
        if !name.as_deref().is_ok_and(|name| names.allows_host(name)) {
            return refuse(format!(
                "this server does not answer to the host name {host:?}: an operator adds it with \
                 `slipway serve --public-host NAME`"
            ));
        }
    }
    if needs_same_origin(request.method(), request.uri().path(), request.headers()) {
        if let Some(origin) = request.headers().get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("null");
            let same = host.as_deref().is_none_or(|host| same_origin(origin, host));
            if !same {
                return refuse(format!(
                    "requests from the page at {origin} may not act on this server's containers"
                ));
            }
        }
    }
    let framed = is_meant_to_be_framed(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !framed && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'self'"),
        );
    }
    response
}

fn refuse(message: String) -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

/// WebSocket upgrades anywhere (browsers let any page open one) and every `/api/` request that changes something.
/// The registry (`/v2/`) has its own CORS and token rules.
fn needs_same_origin(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    upgrade || (changes && path.starts_with(slipway::api::paths::API))
}

/// `http://127.0.0.1:8080` against the `Host` header `127.0.0.1:8080`.
fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// `/embed` is for docs pages on other sites, and a container's preview sits inside it.
fn is_meant_to_be_framed(path: &str) -> bool {
    path == "/embed" || path.starts_with("/embed/") || slipway::api::paths::is_container_proxy(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::{get, post};
    use axum::Router;
    use tower::ServiceExt;

    fn app() -> Router {
        let names = Arc::new(SiteNames::new(&["play.example.org".to_string()]));
        Router::new()
            .route("/", get(|| async { "page" }))
            .route("/embed", get(|| async { "embed" }))
            .route("/api/containers", post(|| async { "created" }))
            .layer(axum::middleware::from_fn_with_state(names, front_door))
    }

    async fn send(request: axum::http::Request<Body>) -> Response {
        app().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_foreign_host_name_is_refused_and_ip_literals_localhost_and_configured_names_pass() {
        for (host, status) in [
            ("evil.example:8080", StatusCode::FORBIDDEN),
            ("127.0.0.1:8080", StatusCode::OK),
            ("[::1]:8080", StatusCode::OK),
            ("192.0.2.7", StatusCode::OK),
            ("localhost:8080", StatusCode::OK),
            ("PLAY.example.org", StatusCode::OK),
        ] {
            let request = axum::http::Request::get("/")
                .header("host", host)
                .body(Body::empty())
                .unwrap();
            assert_eq!(send(request).await.status(), status, "{host}");
        }
    }

    #[tokio::test]
    async fn a_foreign_origin_cannot_upgrade_or_change_state_and_the_own_origin_can() {
        let post_from = |origin: &str| {
            axum::http::Request::post("/api/containers")
                .header("host", "127.0.0.1:8080")
                .header("origin", origin)
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(
            send(post_from("http://evil.example")).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(send(post_from("null")).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            send(post_from("http://127.0.0.1:8080")).await.status(),
            StatusCode::OK
        );
        let upgrade = axum::http::Request::get("/")
            .header("host", "127.0.0.1:8080")
            .header("origin", "http://127.0.0.1:9999")
            .header("upgrade", "websocket")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(upgrade).await.status(), StatusCode::FORBIDDEN);
        // A native client (the CLI) sends no Origin.
        let native = axum::http::Request::post("/api/containers")
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(native).await.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn responses_carry_nosniff_and_only_the_embed_may_be_framed_by_other_sites() {
        let page = send(axum::http::Request::get("/").body(Body::empty()).unwrap()).await;
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        assert_eq!(
            page.headers()["content-security-policy"],
            "frame-ancestors 'self'"
        );
        let embed = send(axum::http::Request::get("/embed").body(Body::empty()).unwrap()).await;
        assert!(!embed.headers().contains_key("content-security-policy"));
        assert!(is_meant_to_be_framed("/api/containers/abc/proxy/8000/index.html"));
    }
}
