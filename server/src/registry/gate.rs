//! The HTTP side of registry auth: the middleware that challenges `/v2/` requests, and the `/token` endpoint.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::{Access, Auth, Decision, Identity, LoginRefused, SERVICE};
use super::names::Route;
use super::RegistryError;
use crate::connections::ClientAddress;

/// The access a `/v2/...` request needs; `None` for the base endpoint.
fn needed(method: &Method, path: &str) -> Option<Access> {
    let rest = path.strip_prefix("/v2/").filter(|r| !r.is_empty())?;
    let route = Route::parse(rest)?;
    let repository = |name: String, actions: &[&str]| Access {
        kind: "repository".into(),
        name,
        actions: actions.iter().map(|a| a.to_string()).collect(),
    };
    let write = if *method == Method::DELETE {
        "delete"
    } else {
        "push"
    };
    let reading = *method == Method::GET || *method == Method::HEAD;
    Some(match route.repository() {
        None => Access {
            kind: "registry".into(),
            name: "catalog".into(),
            actions: vec!["*".into()],
        },
        Some(name) if reading => repository(name.to_string(), &["pull"]),
        Some(name) => repository(name.to_string(), &[write]),
    })
}

/// `scheme://host` the client used to reach us (Host, and `X-Forwarded-Proto` behind a TLS proxy): the base for
/// URLs we hand back (token realm, proxied `Location`s).
pub(super) fn host_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn challenge(headers: &HeaderMap, access: Option<&Access>, why: String) -> Response {
    let mut value = format!(
        "Bearer realm=\"{}/token\",service=\"{SERVICE}\"",
        host_url(headers)
    );
    if let Some(access) = access {
        // Docker asks for pull with push, so one token serves the whole push.
        let mut scope = access.clone();
        if scope.actions.iter().any(|a| a == "push") && !scope.actions.iter().any(|a| a == "pull") {
            scope.actions.insert(0, "pull".into());
        }
        value.push_str(&format!(",scope=\"{}\"", scope.scope()));
    }
    let mut response = RegistryError::Unauthorized(why).into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Set on a request whose caller may pull nothing outside its own local store (anonymous, on a registry without
/// anonymous pull), so that a mount without `from` looks only there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OwnStoreOnly;

/// Whether the query asks for a mount without naming where from (`?mount=` without `from=`).
fn mounts_without_from(uri: &Uri) -> bool {
    let pairs = || uri.query().unwrap_or("").split('&');
    pairs().any(|pair| pair.starts_with("mount=")) && !pairs().any(|pair| pair.starts_with("from="))
}

/// Drop `mount`/`from` from a query: a mount the caller may not read becomes a plain upload.
fn without_mount(uri: &Uri) -> Uri {
    let query: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.starts_with("mount=") && !pair.starts_with("from=") && !pair.is_empty())
        .collect();
    let path_and_query = if query.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), query.join("&"))
    };
    path_and_query.parse().unwrap_or_else(|_| uri.clone())
}

/// Middleware: let the request through, or answer 401 (with a challenge) or 403 saying why.
pub async fn check(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let needed = needed(request.method(), request.uri().path());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let client = crate::connections::client_address(request.extensions());
    // A session's local store needs no login: the session header is its key (checked by the dispatcher).
    if needed
        .as_ref()
        .is_some_and(|access| access.kind == "repository" && super::local::is_reserved(&access.name))
    {
        // Without anonymous pull, only a valid credential (a user's: anonymous tokens are not issued then)
        // reads the shared repositories, and so may mount from them without naming one.
        if mounts_without_from(request.uri())
            && !auth.anonymous_pull
            && (authorization.is_none()
                || auth
                    .authorize_off_workers(authorization.as_deref(), None, client)
                    .await
                    != Decision::Allowed)
        {
            request.extensions_mut().insert(OwnStoreOnly);
        }
        return next.run(request).await;
    }
    match auth
        .authorize_off_workers(authorization.as_deref(), needed.as_ref(), client)
        .await
    {
        Decision::Allowed => {}
        Decision::Unauthenticated(why) => {
            return super::with_api_version(challenge(request.headers(), needed.as_ref(), why))
        }
        Decision::Denied(why) => return super::with_api_version(RegistryError::Denied(why).into_response()),
        Decision::TooManyLogins(refused) => {
            return super::with_api_version(RegistryError::from(refused).into_response())
        }
    }
    let from = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("from=")))
        .map(|name| name.replace("%2F", "/").replace("%2f", "/"));
    if let Some(from) = from.filter(|from| !super::local::is_reserved(from)) {
        let read = Access {
            kind: "repository".into(),
            name: from,
            actions: vec!["pull".into()],
        };
        if auth
            .authorize_off_workers(authorization.as_deref(), Some(&read), client)
            .await
            != Decision::Allowed
        {
            *request.uri_mut() = without_mount(request.uri());
        }
    }
    next.run(request).await
}

/// `GET /token?service=...&scope=...`: Basic credentials (or none) → a signed token for what they allow.
pub async fn token(
    State(auth): State<Arc<Auth>>,
    Query(params): Query<Vec<(String, String)>>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let identity = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) => match auth.check_basic_off_workers(value, client).await {
            Ok(identity) => identity,
            Err(LoginRefused::Wrong(why)) => return RegistryError::Unauthorized(why).into_response(),
            Err(LoginRefused::TooMany(refused)) => return RegistryError::from(refused).into_response(),
        },
        None => Identity::Anonymous,
    };
    if identity == Identity::Anonymous && !auth.anonymous_pull {
        return RegistryError::Unauthorized("log in first: this registry allows no anonymous access".into())
            .into_response();
    }
    let access: Vec<Access> = params
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split(' '))
        .filter_map(Access::parse_scope)
        .map(|requested| auth.grant(&identity, &requested))
        .collect();
    let (token, expires_in) = auth.issue(&identity, access);
    Json(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": expires_in,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_without_from_are_recognized() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        assert!(mounts_without_from(&uri("/v2/a/blobs/uploads/?mount=sha256:00")));
        assert!(!mounts_without_from(&uri(
            "/v2/a/blobs/uploads/?mount=sha256:00&from=b"
        )));
        assert!(!mounts_without_from(&uri(
            "/v2/a/blobs/uploads/?digest=sha256:00"
        )));
        assert!(!mounts_without_from(&uri("/v2/a/blobs/uploads/")));
    }
}
