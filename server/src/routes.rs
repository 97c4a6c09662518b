//! The HTTP surface: one router for the web app, the registry (`/v2/`) and the companion API (`/api/`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use slipway::api::{paths, ErrorBody, RegistryInfo, RuntimeInfo, ServerInfo};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// What every handler may read: fixed at start.
#[derive(Debug, Clone)]
pub struct AppState {
    pub runtime: RuntimeInfo,
    pub registry_dir: PathBuf,
    pub dist_dir: PathBuf,
    /// The embedded OCI registry, served under `/v2/`.
    pub registry: crate::registry::Registry,
    /// The container runner; None when no OCI runtime is usable (the API then answers 503).
    pub runner: Option<Arc<crate::runner::Runner>>,
    /// The host names the server answers to (`--public-host`), for the front door's Host check.
    pub site_names: Arc<crate::guard::SiteNames>,
    /// The sessions the server issued, and their attach tickets.
    pub sessions: Arc<crate::sessions::Sessions>,
    /// The class (`slipway serve --classroom`): sessions come from signing in with a join code.
    pub classroom: Option<Arc<crate::classroom::Classroom>>,
    /// `ADD <url>`'s fetches (`--fetch-allow`).
    pub fetcher: Arc<crate::fetch::Fetcher>,
}

pub fn app(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route(paths::INFO, get(info))
        .route(paths::EMBED_BUDGET, get(embed_budget));
    let web = if state.dist_dir.join("index.html").is_file() {
        app_files(&state.dist_dir)
    } else {
        Router::new().fallback(app_not_built)
    }
    .layer(axum::middleware::from_fn(not_the_apps));
    let containers = match &state.runner {
        Some(runner) => crate::runner::router(runner.clone()),
        None => Router::new()
            .route(paths::CONTAINERS, axum::routing::any(no_runner))
            .route(paths::CONTAINERS_ANY, axum::routing::any(no_runner))
            .route(paths::STEPS, axum::routing::any(no_runner)),
    };
    let registry = crate::registry::router(&state.registry);
    let front_door = axum::middleware::from_fn_with_state(state.site_names.clone(), crate::guard::front_door);
    let class = crate::classroom::ClassState {
        classroom: state.classroom.clone(),
        sessions: state.sessions.clone(),
        progress: state.classroom.clone().and_then(|c| {
            let store = state.registry.store().clone();
            crate::classroom::progress_watch::Tracker::start(c, state.runner.clone(), store, &state.dist_dir)
        }),
    };
    let sessions = match &state.classroom {
        None => Router::new()
            .route(paths::SESSIONS, axum::routing::post(crate::sessions::issue))
            .with_state(state.sessions.clone()),
        Some(_) => crate::classroom::router(class.clone()),
    };
    let observe =
        axum::middleware::from_fn_with_state(class.clone(), crate::classroom::progress_watch::observe);
    let after_the_end = axum::middleware::from_fn_with_state(
        class.clone(),
        crate::classroom::lifetimes::refuse_after_the_end,
    );
    let teacher_only = axum::middleware::from_fn_with_state(class, crate::classroom::teacher_only);
    let session_gate = axum::middleware::from_fn_with_state(state.sessions.clone(), crate::sessions::gate);
    let budgets = Arc::new(crate::embed_budget::EmbedBudgets::new(
        state.site_names.embed_budget(),
        state.sessions.clone(),
    ));
    let embed_pages = Router::new()
        .route(
            paths::EMBED_SESSION,
            axum::routing::post(crate::embed_budget::register),
        )
        .with_state(budgets.clone());
    let page_budget = axum::middleware::from_fn_with_state(budgets, crate::embed_budget::enforce);
    api.with_state(state.clone())
        .merge(sessions)
        .merge(registry)
        .merge(containers)
        .merge(embed_pages)
        .merge(crate::fetch::router(state.fetcher.clone()))
        .merge(web.with_state(state))
        .layer(page_budget)
        .layer(observe)
        .layer(teacher_only)
        .layer(after_the_end)
        .layer(session_gate)
        .layer(front_door)
        .layer(TraceLayer::new_for_http())
}

/// The app Trunk built. The build writes `NAME.br` and `NAME.gz` beside its files (scripts/precompress.mjs): they go
/// out as they are to a browser that accepts them (brotli first), with `Content-Encoding` set; any other file is
/// gzipped per request. Every answer says it varies with `Accept-Encoding`, for caches between. Only the app's files
/// are compressed: registry blobs must go out byte for byte (digests, Range).
fn app_files<S: Clone + Send + Sync + 'static>(dist: &std::path::Path) -> Router<S> {
    let index = ServeFile::new(dist.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dist)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    // The docs embeds' runner frame is a page of its own: the `embed-runner` module, not the app (www/embed-runner.html).
    let runner = ServeFile::new(dist.join("embed-runner.html"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .route_service(paths::EMBED_RUNNER, runner)
        .fallback_service(files)
        // Inside the compression layer: it sees the header and does not add a second one.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The registry's paths (the OCI distribution spec's, served by [`crate::registry::router`]).
const REGISTRY_PATHS: &str = "/v2/";

/// The app's files answer every path but the API's and the registry's: an unknown path there is dockerd's JSON
/// 404 (or the registry's error), never the app's `index.html`, which a client would read as an answer.
async fn not_the_apps(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let below = |prefix: &str| path.starts_with(prefix) || path == prefix.trim_end_matches('/');
    if below(paths::API) {
        return (StatusCode::NOT_FOUND, Json(ErrorBody::new("page not found"))).into_response();
    }
    if below(REGISTRY_PATHS) {
        return crate::registry::RegistryError::NotFound(path.to_string()).into_response();
    }
    next.run(request).await
}

async fn info(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Json<ServerInfo> {
    Json(ServerInfo {
        name: "slipway".to_string(),
        version: slipway::VERSION.to_string(),
        runtime: state.runtime.clone(),
        registry: RegistryInfo {
            storage: state.registry_dir.display().to_string(),
        },
        preview: state.site_names.preview().cloned(),
        classroom: state.classroom.as_ref().map(|c| c.info()),
        platform: Some(crate::platform::host()),
    })
}

/// What one docs page's runner frame may use (docs/embedding.md).
async fn embed_budget(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Json<slipway::api::EmbedBudget> {
    Json(state.site_names.embed_budget())
}

async fn no_runner() -> Response {
    let message = format!(
        "containers are unavailable: no usable OCI runtime (see {})",
        paths::INFO
    );
    (StatusCode::SERVICE_UNAVAILABLE, Json(ErrorBody::new(message))).into_response()
}

async fn app_not_built(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Response {
    let body = format!(
        "<!DOCTYPE html><title>Slipway</title><h1>The Slipway web app is not built</h1>\
         <p>No <code>index.html</code> in <code>{}</code>. Run <code>trunk build --release</code> \
         (or the README's first command), or pass <code>--dist</code>.</p>",
        state.dist_dir.display()
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn state(dist: PathBuf) -> Arc<AppState> {
        Arc::new(AppState {
            runtime: RuntimeInfo::Unavailable {
                reason: "test".into(),
            },
            registry_dir: PathBuf::from("/data/registry"),
            dist_dir: dist,
            registry: crate::registry::Registry::open(
                &std::env::temp_dir().join(format!("slipway-routes-test-{}", std::process::id())),
                Default::default(),
            )
            .unwrap(),
            runner: None,
            site_names: Default::default(),
            sessions: Default::default(),
            classroom: None,
            fetcher: Default::default(),
        })
    }

    async fn get(router: Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = router
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn registry_base_answers_with_the_api_version_header() {
        let (status, headers, body) = get(app(state("/nonexistent".into())), "/v2/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["docker-distribution-api-version"], "registry/2.0");
        assert_eq!(body, "{}");
    }

    #[tokio::test]
    async fn info_names_version_and_runtime_but_no_host_path() {
        let (status, _, body) = get(app(state("/nonexistent".into())), "/api/info").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!body.contains("/data/registry"), "{body}");
        let info: ServerInfo = serde_json::from_str(&body).unwrap();
        assert_eq!(info.name, "slipway");
        assert_eq!(info.version, slipway::VERSION);
        assert_eq!(
            info.runtime,
            RuntimeInfo::Unavailable {
                reason: "test".into()
            }
        );
        assert_eq!(
            info.platform,
            Some(crate::platform::host()),
            "the host's platform, as docker's daemon names it"
        );
    }

    #[tokio::test]
    async fn missing_dist_is_explained_not_a_bare_404() {
        let (status, _, body) = get(app(state("/nonexistent".into())), "/").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("not built"), "{body}");
    }

    #[tokio::test]
    async fn built_app_is_served_with_index_fallback() {
        let dist = std::env::temp_dir().join(format!("slipway-dist-test-{}", std::process::id()));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<p>app</p>").unwrap();
        std::fs::write(dist.join("app.js"), "1").unwrap();
        let router = app(state(dist.clone()));
        assert_eq!(get(router.clone(), "/").await.2, "<p>app</p>");
        assert_eq!(get(router.clone(), "/app.js").await.2, "1");
        assert_eq!(get(router.clone(), "/lesson/1").await.2, "<p>app</p>");
        // Below the API and the registry, an unknown path is a JSON error, never the app's page.
        for uri in ["/api/nope", "/api", "/api/containers/a/b:c", "/v2/nope/x"] {
            let (status, headers, body) = get(router.clone(), uri).await;
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{uri}: {status}"
            );
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{uri}"
            );
            assert!(!body.contains("<p>app</p>"), "{uri}: {body}");
        }
        let (status, _, body) = get(router, "/api/nope").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::NOT_FOUND, r#"{"message":"page not found"}"#)
        );
        std::fs::remove_dir_all(dist).unwrap();
    }
}
