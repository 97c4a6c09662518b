//! `ADD <url>` in builds: `POST /api/fetch` asks the companion to fetch a URL through its allowlist (`slipway
//! serve --fetch-allow HOST[:PORT]`, docs/runner-api.md "Fetching ADD URLs"). The answer's body is the file as
//! the remote host sent it; `Last-Modified` and `ETag` come back as that host sent them.

use serde::{Deserialize, Serialize};

use super::{paths, Companion, CompanionError, ErrorBody};
use crate::registry::{HttpRequest, Method, Transport};

/// The body of `POST /api/fetch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequest {
    /// An `http://` or `https://` URL.
    pub url: String,
    /// The `ETag` of the copy the builder has (sent on as `If-None-Match`; a `304` answers that it is current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_none_match: Option<String>,
}

/// A file the companion fetched for the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The remote host's `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// The remote host's `ETag`, as sent.
    pub etag: Option<String>,
    /// The host answered `304 Not Modified` to `If-None-Match`: the builder's copy is current (no body).
    pub not_modified: bool,
}

impl<T: Transport> Companion<'_, T> {
    /// `POST /api/fetch`: `url` fetched by the companion (its allowlist, size and time limits apply); with
    /// `if_none_match`, a `304` from the host comes back as [`Fetched::not_modified`].
    pub async fn fetch(&self, url: &str, if_none_match: Option<&str>) -> Result<Fetched, CompanionError> {
        let request = FetchRequest {
            url: url.to_owned(),
            if_none_match: if_none_match.map(str::to_owned),
        };
        let body = serde_json::to_vec(&request).map_err(CompanionError::Unreadable)?;
        let request = HttpRequest::new(Method::Post, format!("{}{}", self.base, paths::FETCH))
            .header("Content-Type", "application/json")
            .body(body);
        let response = self
            .transport
            .send(request)
            .await
            .map_err(|source| CompanionError::Unreachable {
                base: self.base.to_string(),
                source,
            })?;
        let not_modified = response.status == 304;
        if !response.is_success() && !not_modified {
            return Err(CompanionError::Refused {
                status: response.status,
                message: ErrorBody::message_of(&response.body),
            });
        }
        Ok(Fetched {
            last_modified: response.header("last-modified").map(str::to_owned),
            etag: response.header("etag").map(str::to_owned),
            not_modified,
            body: response.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_round_trips_and_refuses_unknown_fields() {
        super::super::round_trip(&FetchRequest {
            url: "https://example.com/a.txt".into(),
            if_none_match: None,
        });
        super::super::round_trip(&FetchRequest {
            url: "https://example.com/a.txt".into(),
            if_none_match: Some("\"v1\"".into()),
        });
        assert!(serde_json::from_str::<FetchRequest>(r#"{"url":"x","checksum":"y"}"#).is_err());
    }
}
