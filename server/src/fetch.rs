//! `POST /api/fetch`: the companion fetches the URL of a build's `ADD <url>` for the builder (in the page or
//! `slipway docker`), only from the hosts the operator allows (`--fetch-allow HOST[:PORT]`; none by default).
//! Redirects are followed only to allowed hosts, the host's addresses are resolved and checked here (never this
//! server's own listeners unless that host:port is allowed by name) and the connection goes to the checked
//! address; answers are bounded in size and time, compressed answers are refused (no decompression bombs),
//! and each session may fetch so many URLs a minute. docs/runner-api.md ("Fetching ADD URLs").

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use slipway::api::{paths, ErrorBody, FetchRequest};

use crate::api_json::ApiJson;

/// Redirects followed before giving up (Go's `http.Client`, which BuildKit uses, stops after 10).
const MAX_REDIRECTS: usize = 10;

/// `slipway serve`'s flags for `ADD <url>`.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    /// A host (`HOST` for any port, `HOST:PORT` for one) whose files builds may `ADD` by URL (repeatable or
    /// comma-separated). Default: none, so `ADD https://...` fails and names this flag. Redirects are followed
    /// only to allowed hosts; this server's own listeners only when allowed as `HOST:PORT`.
    #[arg(long = "fetch-allow", value_name = "HOST[:PORT]", env = "SLIPWAY_FETCH_ALLOW", value_delimiter = ',', value_parser = Allowed::parse)]
    pub fetch_allow: Vec<Allowed>,
    /// Largest file `ADD <url>` may fetch, in bytes (default 32 MiB); a larger answer is refused.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub fetch_max_bytes: u64,
    /// Seconds one fetch may take, redirects included, before it is cut.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub fetch_timeout: u64,
    /// URLs one session may fetch per minute.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub fetches_per_minute: u32,
}

impl FetchArgs {
    /// The route's state; `own` are this server's listeners (the app's and the previews').
    pub fn fetcher(&self, own: Vec<SocketAddr>) -> Fetcher {
        Fetcher::new(
            FetchLimits {
                allow: self.fetch_allow.clone(),
                max_bytes: self.fetch_max_bytes,
                timeout: Duration::from_secs(self.fetch_timeout),
                per_minute: self.fetches_per_minute,
            },
            own,
        )
    }
}

/// One `--fetch-allow` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// Lower case; IPv6 without brackets.
    pub host: String,
    /// `None`: any port.
    pub port: Option<u16>,
}

impl Allowed {
    pub fn parse(text: &str) -> Result<Allowed, String> {
        let text = text.trim().to_ascii_lowercase();
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, after) = rest
                    .split_once(']')
                    .ok_or("an IPv6 address needs its closing ]")?;
                (host.to_owned(), after.strip_prefix(':'))
            }
            None if text.matches(':').count() > 1 => (text.clone(), None),
            None => match text.split_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (text.clone(), None),
            },
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or(format!("{p:?} is not a port"))
            })
            .transpose()?;
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if !valid {
            return Err(format!("{host:?} is not a host name or address"));
        }
        Ok(Allowed { host, port })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

/// What the operator set.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    pub allow: Vec<Allowed>,
    pub max_bytes: u64,
    pub timeout: Duration,
    pub per_minute: u32,
}

/// The route's state: the limits, this server's listeners, each session's recent fetches, and a bound on
/// fetches in flight (each may hold up to `max_bytes` in memory).
#[derive(Debug)]
pub struct Fetcher {
    limits: FetchLimits,
    own: Vec<SocketAddr>,
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    in_flight: tokio::sync::Semaphore,
}

/// Why a fetch was refused: the message goes to the build's output.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("this server fetches no URLs for ADD: its operator can allow hosts with `slipway serve --fetch-allow HOST[:PORT]`")]
    NoneAllowed,
    #[error(
        "{0}: the server's operator has not allowed this host (`slipway serve --fetch-allow HOST[:PORT]`)"
    )]
    NotAllowed(String),
    #[error("redirected to {0}, which the server's operator has not allowed (`slipway serve --fetch-allow HOST[:PORT]`)")]
    RedirectNotAllowed(String),
    #[error("{0}: is this server's own listener; the operator can allow it only by name, `--fetch-allow HOST:PORT`")]
    OwnListener(String),
    #[error("unsupported URL {0:?}: only http:// and https:// URLs are fetched")]
    BadUrl(String),
    #[error("{0}")]
    Upstream(String),
    /// BuildKit's words for an error status.
    #[error("invalid response status {0}")]
    Status(u16),
    #[error("stopped after {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error(
        "the answer is compressed (Content-Encoding: {0}); the server fetches only uncompressed answers"
    )]
    Encoded(String),
    #[error("the file is larger than this server's limit of {0} bytes (`slipway serve --fetch-max-bytes`)")]
    TooLarge(u64),
    #[error("the fetch took longer than this server's limit of {0} s (`slipway serve --fetch-timeout`)")]
    Timeout(u64),
    #[error("too many fetches: this session may fetch {0} URLs a minute")]
    TooMany(u32),
}

impl FetchError {
    fn status(&self) -> StatusCode {
        use FetchError::*;
        match self {
            NoneAllowed | NotAllowed(_) | RedirectNotAllowed(_) | OwnListener(_) => StatusCode::FORBIDDEN,
            BadUrl(_) => StatusCode::BAD_REQUEST,
            Upstream(_) | Status(_) | TooManyRedirects | Encoded(_) => StatusCode::BAD_GATEWAY,
            TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl IntoResponse for FetchError {
    fn into_response(self) -> Response {
        (self.status(), Json(ErrorBody::new(self.to_string()))).into_response()
    }
}

/// A fetched file and the headers the builder reads.
struct Answer {
    body: Vec<u8>,
    last_modified: Option<HeaderValue>,
    etag: Option<HeaderValue>,
    /// The host answered `304 Not Modified` to the request's `If-None-Match`.
    not_modified: bool,
}

pub fn router(fetcher: Arc<Fetcher>) -> Router {
    Router::new().route(paths::FETCH, post(fetch)).with_state(fetcher)
}

async fn fetch(
    State(fetcher): State<Arc<Fetcher>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<FetchRequest>,
) -> Response {
    // The session gate let only live sessions in; the token names whose budget this is.
    let session = crate::registry::local::session_token(&headers)
        .map(|t| crate::sessions::token_hash(&t))
        .unwrap_or_default();
    match fetcher
        .get(&session, &request.url, request.if_none_match.as_deref())
        .await
    {
        Ok(answer) => {
            let mut response = answer.body.into_response();
            if answer.not_modified {
                *response.status_mut() = StatusCode::NOT_MODIFIED;
            }
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if let Some(v) = answer.last_modified {
                headers.insert(header::LAST_MODIFIED, v);
            }
            if let Some(v) = answer.etag {
                headers.insert(header::ETAG, v);
            }
            response
        }
        Err(e) => {
            tracing::info!(url = %request.url, error = %e, "ADD url refused");
            e.into_response()
        }
    }
}

/// No host allowed: every fetch is refused with the flag to set.
impl Default for Fetcher {
    fn default() -> Self {
        Fetcher::new(
            FetchLimits {
                allow: Vec::new(),
                max_bytes: 32 << 20,
                timeout: Duration::from_secs(30),
                per_minute: 30,
            },
            Vec::new(),
        )
    }
}

impl Fetcher {
    pub fn new(limits: FetchLimits, own: Vec<SocketAddr>) -> Fetcher {
        Fetcher {
            limits,
            own,
            recent: Mutex::new(HashMap::new()),
            in_flight: tokio::sync::Semaphore::new(4),
        }
    }

    /// Counts a fetch against the session's minute.
    fn spend(&self, session: &str) -> Result<(), FetchError> {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
        });
        let times = recent.entry(session.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            times.pop_front();
        }
        if times.len() >= self.limits.per_minute as usize {
            return Err(FetchError::TooMany(self.limits.per_minute));
        }
        times.push_back(now);
        Ok(())
    }

    async fn get(&self, session: &str, url: &str, if_none_match: Option<&str>) -> Result<Answer, FetchError> {
        if self.limits.allow.is_empty() {
            return Err(FetchError::NoneAllowed);
        }
        let url = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_owned()))?;
        // Refused before it counts: a URL of a host not allowed costs the remote host nothing.
        self.allowed(&url, false)?;
        self.spend(session)?;
        let seconds = self.limits.timeout.as_secs();
        tokio::time::timeout(self.limits.timeout, async {
            let _permit = self
                .in_flight
                .acquire()
                .await
                .map_err(|e| FetchError::Upstream(e.to_string()))?;
            self.follow(url, if_none_match).await
        })
        .await
        .map_err(|_| FetchError::Timeout(seconds))?
    }

    /// The host and port of `url` when its scheme is http(s) and an entry allows it, and whether the entry
    /// names the port.
    fn allowed(&self, url: &reqwest::Url, redirected: bool) -> Result<(String, u16, bool), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(url.to_string()));
        }
        let host = match url.host_str() {
            Some(host) => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
            None => return Err(FetchError::BadUrl(url.to_string())),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let shown = format!("{host}:{port}");
        match self.limits.allow.iter().find(|a| a.matches(&host, port)) {
            Some(entry) => Ok((host, port, entry.port.is_some())),
            None if redirected => Err(FetchError::RedirectNotAllowed(shown)),
            None => Err(FetchError::NotAllowed(shown)),
        }
    }

    /// The addresses of `host`, without this server's listeners unless the entry named the port.
    async fn addresses(&self, host: &str, port: u16, named: bool) -> Result<Vec<SocketAddr>, FetchError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| FetchError::Upstream(format!("{host}: {e}")))?
            .collect();
        let own = |a: &SocketAddr| {
            self.own.iter().any(|o| {
                o.port() == a.port()
                    && (o.ip() == a.ip()
                        || o.ip().is_unspecified()
                        || (o.ip().is_loopback() && a.ip().is_loopback()))
            })
        };
        let usable: Vec<SocketAddr> = found.iter().copied().filter(|a| named || !own(a)).collect();
        match (usable.is_empty(), found.is_empty()) {
            (_, true) => Err(FetchError::Upstream(format!("{host}: no address"))),
            (true, false) => Err(FetchError::OwnListener(format!("{host}:{port}"))),
            (false, false) => Ok(usable),
        }
    }

    /// GET `url`, following redirects to allowed hosts only, each hop connecting to the addresses checked;
    /// `If-None-Match` is sent when the builder has a copy with that `ETag`.
    async fn follow(&self, mut url: reqwest::Url, if_none_match: Option<&str>) -> Result<Answer, FetchError> {
        for hop in 0..=MAX_REDIRECTS {
            let (host, port, named) = self.allowed(&url, hop > 0)?;
            let addresses = self.addresses(&host, port, named).await?;
            let mut client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10));
            if host.parse::<IpAddr>().is_err() {
                client = client.resolve_to_addrs(&host, &addresses);
            }
            let client = client.build().map_err(|e| FetchError::Upstream(e.to_string()))?;
            let mut request = client
                .get(url.clone())
                .header(header::ACCEPT_ENCODING, "identity")
                .header(header::USER_AGENT, format!("slipway/{}", slipway::VERSION));
            if let Some(etag) = if_none_match {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            let response = request
                .send()
                .await
                .map_err(|e| FetchError::Upstream(upstream_error(&e)))?;
            // 304 is in the 3xx range but ends the walk: the builder's copy is current.
            if response.status().is_redirection() && response.status() != reqwest::StatusCode::NOT_MODIFIED {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(FetchError::Status(response.status().as_u16()))?;
                url = url
                    .join(location)
                    .map_err(|_| FetchError::BadUrl(location.to_owned()))?;
                continue;
            }
            return self.read(response).await;
        }
        Err(FetchError::TooManyRedirects)
    }

    /// The body of a final answer, within the size limit.
    async fn read(&self, mut response: reqwest::Response) -> Result<Answer, FetchError> {
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Answer {
                body: Vec::new(),
                last_modified: None,
                etag: response.headers().get(header::ETAG).cloned(),
                not_modified: true,
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        let headers = response.headers();
        if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
            let encoding = encoding.to_str().unwrap_or("?").trim().to_owned();
            if !encoding.eq_ignore_ascii_case("identity") {
                return Err(FetchError::Encoded(encoding));
            }
        }
        let max = self.limits.max_bytes;
        if response.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let last_modified = headers.get(header::LAST_MODIFIED).cloned();
        let etag = headers.get(header::ETAG).cloned();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Upstream(upstream_error(&e)))?
        {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            body,
            last_modified,
            etag,
            not_modified: false,
        })
    }
}

/// A reqwest error with its causes (reqwest's own text stops at "error sending request").
fn upstream_error(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(allow: &[&str], own: &[&str]) -> Fetcher {
        Fetcher::new(
            FetchLimits {
                allow: allow.iter().map(|a| Allowed::parse(a).unwrap()).collect(),
                max_bytes: 1 << 20,
                timeout: Duration::from_secs(5),
                per_minute: 2,
            },
            own.iter().map(|a| a.parse().unwrap()).collect(),
        )
    }

    #[test]
    fn entries_name_a_host_and_maybe_a_port() {
        assert_eq!(
            Allowed::parse("Example.COM:8443"),
            Ok(Allowed {
                host: "example.com".into(),
                port: Some(8443)
            })
        );
        assert_eq!(Allowed::parse("example.com").unwrap().port, None);
        assert_eq!(Allowed::parse("[::1]:80").unwrap().host, "::1");
        assert!(
            Allowed::parse("a/b").is_err() && Allowed::parse("h:0").is_err() && Allowed::parse("").is_err()
        );
    }

    #[test]
    fn only_allowed_http_urls_pass_and_redirects_say_so() {
        let f = fetcher(&["files.example", "127.0.0.1:9000"], &[]);
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert_eq!(
            f.allowed(&url("https://FILES.example/a"), false).unwrap(),
            ("files.example".into(), 443, false)
        );
        assert!(f.allowed(&url("http://127.0.0.1:9000/a"), false).unwrap().2);
        assert!(
            matches!(f.allowed(&url("http://127.0.0.1:9001/a"), false), Err(FetchError::NotAllowed(h)) if h == "127.0.0.1:9001")
        );
        assert!(matches!(
            f.allowed(&url("http://other/a"), true),
            Err(FetchError::RedirectNotAllowed(_))
        ));
        assert!(matches!(
            f.allowed(&url("ftp://files.example/a"), false),
            Err(FetchError::BadUrl(_))
        ));
    }

    #[tokio::test]
    async fn the_servers_own_listeners_need_their_port_named() {
        let f = fetcher(&["127.0.0.1", "localhost:8080"], &["127.0.0.1:8080"]);
        assert!(matches!(
            f.addresses("127.0.0.1", 8080, false).await,
            Err(FetchError::OwnListener(_))
        ));
        assert!(f.addresses("127.0.0.1", 8080, true).await.is_ok());
        assert!(f.addresses("127.0.0.1", 8081, false).await.is_ok());
    }

    #[tokio::test]
    async fn no_allowlist_refuses_everything_and_sessions_have_a_rate() {
        let none = fetcher(&[], &[]);
        assert!(matches!(
            none.get("s", "https://example.com/a", None).await,
            Err(FetchError::NoneAllowed)
        ));
        let f = fetcher(&["127.0.0.1"], &[]);
        f.spend("s").unwrap();
        f.spend("s").unwrap();
        assert!(matches!(f.spend("s"), Err(FetchError::TooMany(2))));
        f.spend("t").unwrap();
    }
}
