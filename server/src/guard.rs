//! The app's front door against other sites. A Host check stops DNS rebinding (a hostile domain that resolves to
//! the learner's 127.0.0.1), an Origin check on WebSocket upgrades and state-changing `/api/` requests stops a
//! hostile page from driving a learner's containers, every response carries `nosniff` and a referrer policy, and
//! every HTML document a Content-Security-Policy: the app's own scripts and wasm only (inline scripts by hash),
//! frames only from the preview origin, and `frame-ancestors 'self'` (except the embed, whose point is to be
//! framed by docs pages). JSON, wasm, scripts and registry blobs need no policy: it is built for documents only.
//! Containers' web apps are never served here: `crate::previews` serves them on an origin of their own.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::Digest;
use slipway::api::PreviewInfo;

/// The host names this server answers to, besides IP addresses and `localhost` (`slipway serve --public-host`),
/// and what the app's Content-Security-Policy names: the preview origin, the inline scripts' hashes, the sites
/// that may frame the embed.
#[derive(Debug, Clone, Default)]
pub struct SiteNames {
    public_hosts: Vec<String>,
    preview: Option<PreviewInfo>,
    page: Option<Arc<PageScripts>>,
    embed_ancestors: Vec<String>,
    embed_budget: slipway::api::EmbedBudget,
}

/// The built page's inline scripts, hashed again whenever `index.html` changes (a rebuild while the server runs
/// names new wasm files in Trunk's loader script). Asked for by HTML documents only: one `stat` each, and a read
/// and hash only when the file's (mtime, length) changed.
#[derive(Debug)]
struct PageScripts {
    index: PathBuf,
    seen: Mutex<Option<(FileStamp, Arc<str>)>>,
}

/// What tells a rebuilt `index.html` from the one already hashed: its modification time and length.
type FileStamp = (SystemTime, u64);

impl PageScripts {
    /// The hashes as the policy names them: ` 'sha256-...'` each.
    fn sources(&self) -> Arc<str> {
        let Ok(meta) = std::fs::metadata(&self.index) else {
            return Arc::from("");
        };
        let stamp = (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len());
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match &*seen {
            Some((key, sources)) if *key == stamp => sources.clone(),
            _ => {
                let html = std::fs::read_to_string(&self.index).unwrap_or_default();
                let sources: String = inline_script_hashes(&html)
                    .iter()
                    .map(|h| format!(" '{h}'"))
                    .collect();
                let sources = Arc::<str>::from(sources);
                *seen = Some((stamp, sources.clone()));
                sources
            }
        }
    }
}

impl SiteNames {
    pub fn new(public_hosts: &[String]) -> Self {
        SiteNames {
            public_hosts: public_hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            ..Default::default()
        }
    }

    /// Where containers' web apps are served: the page may frame and fetch it.
    pub fn with_preview(mut self, preview: PreviewInfo) -> Self {
        self.preview = Some(preview);
        self
    }

    pub fn preview(&self) -> Option<&PreviewInfo> {
        self.preview.as_ref()
    }

    /// The inline scripts of the built page (`dist/index.html`), allowed by hash.
    pub fn with_page(mut self, index: PathBuf) -> Self {
        self.page = Some(Arc::new(PageScripts {
            index,
            seen: Mutex::new(None),
        }));
        self
    }

    /// Origins that may frame `/embed` (`slipway serve --embed-ancestor`); none given: any site may.
    pub fn with_embed_ancestors(mut self, origins: &[String]) -> Self {
        self.embed_ancestors = origins.to_vec();
        self
    }

    /// What one docs page's runner frame may use (`--embed-containers`, `--embed-build-minutes`).
    pub fn with_embed_budget(mut self, budget: slipway::api::EmbedBudget) -> Self {
        self.embed_budget = budget;
        self
    }

    pub fn embed_budget(&self) -> slipway::api::EmbedBudget {
        self.embed_budget
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

    /// The app's Content-Security-Policy for a page reached as `host` (no port), framed as `framing` says.
    fn policy(&self, host: Option<&str>, embed: bool) -> String {
        let hashes = self.page.as_ref().map(|page| page.sources()).unwrap_or_default();
        let preview = match (&self.preview, host) {
            (Some(preview), Some(host)) => format!(" {}", preview.source(host)),
            (Some(preview), None) => format!(" *:{}", preview.port),
            (None, _) => String::new(),
        };
        let ancestors = match (embed, self.embed_ancestors.is_empty()) {
            (false, _) => "; frame-ancestors 'self'".to_string(),
            (true, true) => String::new(),
            (true, false) => format!("; frame-ancestors 'self' {}", self.embed_ancestors.join(" ")),
        };
        // Styles: xterm.js and CodeMirror set element styles from script. Connections: lessons and registries on
        // other sites are fetched (without credentials), the terminal attaches over WebSockets.
        format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; \
             connect-src 'self' http: https: ws: wss:; frame-src 'self'{preview}; object-src 'none'; \
             base-uri 'self'; form-action 'self'{ancestors}"
        )
    }
}

/// `sha256-BASE64` of every `<script>` without `src` in `html`, as CSP wants them.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(tag_end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + tag_end];
        let body_start = start + tag_end + 1;
        let Some(body_len) = rest[body_start..].find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = sha2::Sha256::digest(&rest.as_bytes()[body_start..body_start + body_len]);
            hashes.push(format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &rest[body_start + body_len..];
    }
    hashes
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
    let embed = is_meant_to_be_framed(request.uri().path());
    let page_host = host
        .as_deref()
        .and_then(|h| h.parse::<Authority>().ok())
        .map(|a| a.host().to_string());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if is_html(headers) && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(policy) = HeaderValue::from_str(&names.policy(page_host.as_deref(), embed)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}

/// A document a browser renders as the app (`text/html`): the only answers the policy acts on.
fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/html"))
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

/// `/embed` and its runner frame (`/embed/runner`, docs/embedding.md) are for docs pages on other sites.
fn is_meant_to_be_framed(path: &str) -> bool {
    path == "/embed" || path.starts_with("/embed/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::response::Html;
    use axum::routing::{get, post};
    use axum::Router;
    use tower::ServiceExt;

    fn app() -> Router {
        let names = Arc::new(SiteNames::new(&["play.example.org".to_string()]));
        Router::new()
            .route("/", get(|| async { Html("page") }))
            .route("/embed", get(|| async { Html("embed") }))
            .route(
                slipway::api::paths::EMBED_RUNNER,
                get(|| async { Html("runner") }),
            )
            .route("/api/info", get(|| async { axum::Json(serde_json::json!({})) }))
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
        let policy = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(policy.ends_with("; frame-ancestors 'self'"), "{policy}");
        for path in ["/embed", slipway::api::paths::EMBED_RUNNER] {
            let embed = send(axum::http::Request::get(path).body(Body::empty()).unwrap()).await;
            let policy = embed.headers()["content-security-policy"].to_str().unwrap();
            assert!(!policy.contains("frame-ancestors"), "{path}: {policy}");
        }
        let embed = send(axum::http::Request::get("/embed").body(Body::empty()).unwrap()).await;
        let policy = embed.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{policy}"
        );
    }

    #[tokio::test]
    async fn only_html_documents_carry_the_policy_and_every_answer_nosniff() {
        let info = send(axum::http::Request::get("/api/info").body(Body::empty()).unwrap()).await;
        assert_eq!(info.headers()["x-content-type-options"], "nosniff");
        assert_eq!(info.headers()["referrer-policy"], "no-referrer");
        assert!(
            !info.headers().contains_key("content-security-policy"),
            "{:?}",
            info.headers()
        );
        let created = send(
            axum::http::Request::post("/api/containers")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert!(!created.headers().contains_key("content-security-policy"));
        assert_eq!(created.headers()["x-content-type-options"], "nosniff");
        let mut headers = HeaderMap::new();
        for (value, html) in [
            ("text/html; charset=utf-8", true),
            ("TEXT/HTML", true),
            ("application/json", false),
            ("application/wasm", false),
            ("text/javascript", false),
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_html(&headers), html, "{value}");
        }
    }

    #[test]
    fn the_policy_allows_the_inline_scripts_by_hash_and_frames_only_from_the_preview_origin() {
        let html =
            "<script src=\"/a.js\"></script><script>alert(1)</script><script type=\"module\">x</script>";
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("index.html");
        std::fs::write(&index, html).unwrap();
        let names = SiteNames::new(&[])
            .with_page(index.clone())
            .with_preview(PreviewInfo {
                port: 8081,
                host: None,
            })
            .with_embed_ancestors(&["https://docs.example.org".into()]);
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            &*names.page.as_ref().unwrap().sources(),
            " 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=' \
             'sha256-LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE='"
        );
        let page = names.policy(Some("127.0.0.1"), false);
        assert!(page.contains("frame-src 'self' 127.0.0.1:8081;"), "{page}");
        assert!(
            page.contains("'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"),
            "{page}"
        );
        assert!(
            page.contains("object-src 'none'") && page.contains("base-uri 'self'"),
            "{page}"
        );
        // A rebuild while the server runs: the new loader script is allowed, the old one no longer.
        std::fs::write(&index, "<script>alert(22)</script>").unwrap();
        let rebuilt = names.policy(Some("127.0.0.1"), false);
        assert!(!rebuilt.contains("'sha256-bhHHL3z2"), "{rebuilt}");
        assert_eq!(rebuilt.matches("'sha256-").count(), 1, "{rebuilt}");
        let embed = names.policy(Some("127.0.0.1"), true);
        assert!(
            embed.ends_with("frame-ancestors 'self' https://docs.example.org"),
            "{embed}"
        );
    }
}
