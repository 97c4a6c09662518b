//! `/api/registry-proxy/<host>/<path>`: lets the browser reach registries that send no CORS headers (Docker Hub,
//! Quay). Requests pass through with the learner's credentials, which are never stored; `Location` and the
//! token realm in `WWW-Authenticate` are rewritten to come back through the proxy. Only listed hosts are served,
//! so this is not an open proxy.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use super::RegistryError;

pub const PREFIX: &str = slipway::api::paths::REGISTRY_PROXY;

/// Registry and token hosts the proxy serves by default.
pub const DEFAULT_HOSTS: [&str; 5] = [
    "registry-1.docker.io",
    "auth.docker.io",
    "quay.io",
    "ghcr.io",
    "index.docker.io",
];

/// The proxy's HTTP client and the hosts it may reach.
pub struct RegistryProxy {
    client: reqwest::Client,
    hosts: Vec<String>,
}

/// Request headers passed upstream; everything else (cookies, the browser's Origin, ...) stays here.
const FORWARDED_REQUEST: [HeaderName; 6] = [
    header::AUTHORIZATION,
    header::ACCEPT,
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_RANGE,
    header::RANGE,
];

/// Response headers passed back to the browser.
const FORWARDED_RESPONSE: [&str; 11] = [
    "content-type",
    "content-length",
    "content-range",
    "range",
    "docker-content-digest",
    "docker-upload-uuid",
    "docker-distribution-api-version",
    "oci-subject",
    "link",
    "location",
    "www-authenticate",
];

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

impl RegistryProxy {
    pub fn new(hosts: Vec<String>) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .expect("a reqwest client with rustls builds");
        RegistryProxy { client, hosts }
    }

    fn allows(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    fn scheme(host: &str) -> &'static str {
        if is_loopback(host) {
            "http"
        } else {
            "https"
        }
    }

    /// An upstream URL back to a proxy path, when its host is one the proxy serves.
    fn proxied(&self, url: &str, origin: &str) -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let host = rest.split(['/', '?']).next()?;
        self.allows(host).then(|| format!("{origin}{PREFIX}/{rest}"))
    }
}

/// Rewrite `realm="https://auth.docker.io/token"` to the proxy, leaving other parameters alone.
fn rewrite_challenge(proxy: &RegistryProxy, value: &str, origin: &str) -> String {
    let Some(start) = value.find("realm=\"") else {
        return value.to_string();
    };
    let realm_start = start + "realm=\"".len();
    let Some(length) = value[realm_start..].find('"') else {
        return value.to_string();
    };
    let realm = &value[realm_start..realm_start + length];
    match proxy.proxied(realm, origin) {
        Some(proxied) => format!(
            "{}{proxied}{}",
            &value[..realm_start],
            &value[realm_start + length..]
        ),
        None => value.to_string(),
    }
}

pub async fn forward(
    State(proxy): State<Arc<RegistryProxy>>,
    Path(rest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (host, path) = rest.split_once('/').unwrap_or((rest.as_str(), ""));
    if !proxy.allows(host) {
        let mut refused = RegistryError::Denied(format!(
            "the registry proxy does not serve {host:?} (allowed: {}); an operator allows it with \
             `slipway serve --proxy-host {host}`",
            proxy.hosts.join(", ")
        ))
        .into_response();
        // A HEAD's answer has no body: the header names the host for the client's message.
        if let Ok(value) = HeaderValue::from_str(host) {
            refused.headers_mut().insert(
                HeaderName::from_static(slipway::registry::PROXY_REFUSED_HEADER),
                value,
            );
        }
        return refused;
    }
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let url = format!("{}://{host}/{path}{query}", RegistryProxy::scheme(host));
    let reqwest_method = match reqwest::Method::from_bytes(method.as_str().as_bytes()) {
        Ok(m) => m,
        Err(_) => return RegistryError::Unsupported(method.to_string()).into_response(),
    };
    let mut request = proxy.client.request(reqwest_method, &url);
    for name in FORWARDED_REQUEST {
        if let Some(value) = headers.get(&name).and_then(|v| v.to_str().ok()) {
            request = request.header(name.as_str(), value);
        }
    }
    if method != Method::GET && method != Method::HEAD {
        let stream = body.into_data_stream().map_err(std::io::Error::other);
        request = request.body(reqwest::Body::wrap_stream(stream));
    }
    let upstream = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            let body = format!(
                "{{\"errors\":[{{\"code\":\"UNKNOWN\",\"message\":\"cannot reach {host}: {}\"}}]}}",
                json_escape(&e.to_string())
            );
            return (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
        }
    };
    let origin = super::gate::host_url(&headers);
    let mut response = Response::new(Body::empty());
    *response.status_mut() =
        StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    for name in FORWARDED_RESPONSE {
        let Some(value) = upstream.headers().get(name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let value = match name {
            "location" if value.starts_with('/') => format!("{origin}{PREFIX}/{host}{value}"),
            "location" => proxy.proxied(value, &origin).unwrap_or_else(|| value.to_string()),
            "www-authenticate" => rewrite_challenge(&proxy, value, &origin),
            _ => value.to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    if method != Method::HEAD {
        *response.body_mut() = Body::from_stream(upstream.bytes_stream());
    }
    response
}

fn json_escape(text: &str) -> String {
    serde_json::to_string(text)
        .map(|quoted| quoted.trim_matches('"').to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms_and_locations_come_back_through_the_proxy() {
        let proxy = RegistryProxy::new(vec!["registry-1.docker.io".into(), "auth.docker.io".into()]);
        let challenge = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#;
        assert_eq!(
            rewrite_challenge(&proxy, challenge, "http://localhost:8080"),
            r#"Bearer realm="http://localhost:8080/api/registry-proxy/auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#
        );
        let foreign = r#"Bearer realm="https://evil.example/token""#;
        assert_eq!(rewrite_challenge(&proxy, foreign, "http://x"), foreign);
        assert_eq!(
            proxy
                .proxied(
                    "https://registry-1.docker.io/v2/x/blobs/uploads/1?_state=a",
                    "http://o"
                )
                .as_deref(),
            Some("http://o/api/registry-proxy/registry-1.docker.io/v2/x/blobs/uploads/1?_state=a")
        );
        assert!(is_loopback("127.0.0.1:5000") && is_loopback("localhost") && !is_loopback("quay.io"));
    }
}
