//! The embedded OCI distribution registry (spec v1.1) under `/v2/`: storage on disk and its HTTP surface.
//!
//! Names contain `/`, so one catch-all route takes every `/v2/...` path and [`names::Route`] splits it.

pub mod auth;
pub mod digest;
pub mod error;
pub mod gc;
pub mod images;
pub mod import;
pub mod local;
pub mod login_limit;
pub mod manifest;
pub mod names;
pub mod proxy;
pub mod quota;
pub mod repository;
pub mod storage;
pub mod upstream;
pub mod usage;

mod blobs;
mod gate;
mod listing;
mod manifests;
mod read_only;
mod uploads;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use error::RegistryError;
pub use storage::{Limits, Store};

use names::{RepoName, Route};

/// Settings fixed at start: limits and the browser origins allowed to call the registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    pub limits: Limits,
    /// Extra origins (e.g. `https://docs.example.org`) besides loopback ones, which are always allowed.
    pub cors_origins: Vec<String>,
    /// Users and token signing; `None` leaves the registry open (the local default, like `registry:2`).
    pub auth: Option<Arc<auth::Auth>>,
    /// Upstream registries (`HOST`, `URL`) for the pull-through cache.
    pub upstreams: Vec<(String, String)>,
    /// Hosts the browser may reach through `/api/registry-proxy/`, besides [`proxy::DEFAULT_HOSTS`].
    pub proxy_hosts: Vec<String>,
}

/// A handle on the registry: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Registry {
    store: Arc<Store>,
    cors_origins: Arc<Vec<String>>,
    auth: Option<Arc<auth::Auth>>,
    upstreams: Option<Arc<upstream::Upstreams>>,
    proxy: Arc<proxy::RegistryProxy>,
}

/// What every registry request may use.
#[derive(Clone)]
struct Shared {
    store: Arc<Store>,
    upstreams: Option<Arc<upstream::Upstreams>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("store", &self.store).finish()
    }
}

impl Registry {
    /// Open the storage under `root` (creating it, and clearing what a crash left half-written).
    pub fn open(root: &Path, options: RegistryOptions) -> std::io::Result<Self> {
        let store = Store::open(root, options.limits)?;
        store.clear_temp()?;
        Ok(Registry {
            store: Arc::new(store),
            cors_origins: Arc::new(options.cors_origins),
            auth: options.auth,
            upstreams: (!options.upstreams.is_empty())
                .then(|| Arc::new(upstream::Upstreams::new(&options.upstreams))),
            proxy: Arc::new(proxy::RegistryProxy::new(
                proxy::DEFAULT_HOSTS
                    .iter()
                    .map(|h| h.to_string())
                    .chain(options.proxy_hosts)
                    .collect(),
            )),
        })
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}

/// The `/v2/` routes, ready to merge into the app's router.
pub fn router(registry: &Registry) -> Router {
    let origins = registry.cors_origins.clone();
    let allow_origin = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        let origin = origin.to_str().unwrap_or("");
        origins.iter().any(|o| o == origin) || is_loopback_origin(origin)
    });
    let cors = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::CONTENT_RANGE,
            header::RANGE,
            header::ACCEPT,
            HeaderName::from_static(local::SESSION_HEADER),
        ])
        .expose_headers([
            HeaderName::from_static("docker-content-digest"),
            HeaderName::from_static("docker-upload-uuid"),
            HeaderName::from_static("docker-distribution-api-version"),
            HeaderName::from_static("oci-subject"),
            HeaderName::from_static("oci-filters-applied"),
            header::LOCATION,
            header::RANGE,
            header::CONTENT_RANGE,
            header::CONTENT_LENGTH,
            header::WWW_AUTHENTICATE,
            header::LINK,
        ])
        .max_age(std::time::Duration::from_secs(600));
    let routes = Router::new()
        .route("/v2", any(base))
        .route("/v2/", any(base))
        .route("/v2/{*rest}", any(dispatch))
        .with_state(Shared {
            store: registry.store.clone(),
            upstreams: registry.upstreams.clone(),
        });
    let routes = match &registry.auth {
        Some(auth) => {
            let token = Router::new()
                .route("/token", axum::routing::get(gate::token))
                .with_state(auth.clone());
            routes
                .layer(axum::middleware::from_fn_with_state(auth.clone(), gate::check))
                .merge(token)
        }
        None => routes,
    };
    let proxy = Router::new()
        .route(&format!("{}/{{*rest}}", proxy::PREFIX), any(proxy::forward))
        .with_state(registry.proxy.clone());
    let images = Router::new()
        .route(slipway::api::paths::IMAGES, axum::routing::get(images::list))
        .with_state(registry.store.clone());
    routes.merge(proxy).merge(images).layer(cors)
}

/// `http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`: the app served on this machine.
fn is_loopback_origin(origin: &str) -> bool {
    let Some(host_port) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| &h[1..])
    } else {
        host_port.split(':').next()
    };
    matches!(host, Some("localhost" | "127.0.0.1" | "::1"))
}

/// Base check: 200 says "this is a registry speaking API v2".
async fn base(method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return RegistryError::Unsupported(format!("{method} /v2/")).into_response();
    }
    with_api_version(([(header::CONTENT_TYPE, "application/json")], "{}").into_response())
}

fn with_api_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// What one request brings, for the handlers.
pub(crate) struct Request {
    pub method: Method,
    pub params: HashMap<String, String>,
    pub headers: HeaderMap,
    /// Every `tag=` of the query, in order (`params` keeps one value per name): a manifest `PUT` tags each.
    pub tags: Vec<String>,
}

impl Request {
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn dispatch(
    State(shared): State<Shared>,
    UrlPath(rest): UrlPath<String>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    own_store_only: Option<Extension<gate::OwnStoreOnly>>,
    body: Body,
) -> Response {
    // As axum's `Query` reads it (a malformed query: no parameters), and the repeated `tag=` besides.
    let params = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let request = Request {
        method,
        params,
        headers,
        tags: manifests::query_tags(uri.query().unwrap_or_default()),
    };
    let result = route(shared, &rest, request, own_store_only.is_none(), body).await;
    with_api_version(result.unwrap_or_else(IntoResponse::into_response))
}

/// `pulls_shared`: whether the caller may pull repositories outside the local stores (the auth gate says no
/// for an anonymous caller of a registry without anonymous pull).
async fn route(
    shared: Shared,
    rest: &str,
    request: Request,
    pulls_shared: bool,
    body: Body,
) -> Result<Response, RegistryError> {
    let Shared { store, upstreams } = shared;
    let upstreams = upstreams.as_deref();
    let route = Route::parse(rest).ok_or_else(|| RegistryError::NotFound(format!("/v2/{rest}")))?;
    let mut request = request;
    let key = local::request_key(&request.headers);
    guard_local_names(&route, &mut request, &key)?;
    read_only::check(&store, &route, &request.method).await?;
    let method = request.method.clone();
    let unsupported = || Err(RegistryError::Unsupported(format!("{method} /v2/{rest}")));
    match route {
        Route::Catalog => match method {
            Method::GET => listing::catalog(&store, &request).await,
            _ => unsupported(),
        },
        Route::Blob { name, digest } => {
            let repo = RepoName::parse(&name)?;
            match method {
                Method::GET | Method::HEAD => blobs::get(&store, upstreams, &repo, &digest, &request).await,
                Method::DELETE => blobs::delete(&store, &repo, &digest).await,
                _ => unsupported(),
            }
        }
        Route::UploadStart { name } => {
            let repo = RepoName::parse(&name)?;
            match method {
                Method::POST => {
                    let reach = uploads::MountReach {
                        own_store: local::prefix(&key),
                        shared: pulls_shared,
                    };
                    uploads::start(&store, &repo, &request, &reach, body).await
                }
                _ => unsupported(),
            }
        }
        Route::Upload { name, id } => {
            let repo = RepoName::parse(&name)?;
            match method {
                Method::PATCH => uploads::patch(&store, &repo, &id, &request, body).await,
                Method::PUT => uploads::finish(&store, &repo, &id, &request, body).await,
                Method::GET => uploads::status(&store, &repo, &id).await,
                Method::DELETE => uploads::cancel(&store, &repo, &id).await,
                _ => unsupported(),
            }
        }
        Route::Manifest { name, reference } => {
            let repo = RepoName::parse(&name)?;
            match method {
                Method::GET | Method::HEAD => {
                    manifests::get(&store, upstreams, &repo, &reference, &request).await
                }
                Method::PUT => manifests::put(&store, &repo, &reference, &request, body).await,
                Method::DELETE => manifests::delete(&store, &repo, &reference).await,
                _ => unsupported(),
            }
        }
        Route::TagsList { name } => {
            let repo = RepoName::parse(&name)?;
            match method {
                Method::GET => listing::tags(&store, &repo, &request).await,
                _ => unsupported(),
            }
        }
        Route::Referrers { name, digest } => {
            let repo = RepoName::parse(&name)?;
            match method {
                Method::GET => listing::referrers(&store, &repo, &digest, &request).await,
                _ => unsupported(),
            }
        }
    }
}

/// The reserved `slipway-local/KEY/...` repositories answer only their own session: any other request is told
/// the name is unknown, and a mount from another session's repository becomes a plain upload.
fn guard_local_names(route: &Route, request: &mut Request, key: &str) -> Result<(), RegistryError> {
    let Some(name) = route.repository() else {
        return Ok(());
    };
    local::check(name, key)?;
    if let Route::UploadStart { .. } = route {
        let foreign = request
            .params
            .get("from")
            .is_some_and(|from| local::check(from, key).is_err());
        if foreign {
            request.params.remove("mount");
            request.params.remove("from");
        }
    }
    Ok(())
}

/// Run blocking storage work (fsync, renames, directory walks) off the async workers.
pub(crate) async fn blocking<T, F>(store: &Arc<Store>, work: F) -> Result<T, RegistryError>
where
    F: FnOnce(&Store) -> Result<T, RegistryError> + Send + 'static,
    T: Send + 'static,
{
    let store = store.clone();
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|e| RegistryError::Io(std::io::Error::other(e.to_string())))?
}

/// A response with headers and an optional body.
pub(crate) fn respond(
    status: axum::http::StatusCode,
    headers: Vec<(HeaderName, String)>,
    body: Body,
) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

pub(crate) const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
pub(crate) const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_are_recognized() {
        assert!(is_loopback_origin("http://localhost:8080"));
        assert!(is_loopback_origin("http://127.0.0.1:3000"));
        assert!(is_loopback_origin("http://[::1]:80"));
        assert!(!is_loopback_origin("http://localhost.evil.com"));
        assert!(!is_loopback_origin("https://example.org"));
    }
}
