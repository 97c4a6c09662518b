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
}

/// A file the companion fetched for the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub body: Vec<u8>,
    /// The remote host's `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// The remote host's `ETag`, as sent.
    pub etag: Option<String>,
}

impl<T: Transport> Companion<'_, T> {
    /// `POST /api/fetch`: `url` fetched by the companion (its allowlist, size and time limits apply).
    pub async fn fetch(&self, url: &str) -> Result<Fetched, CompanionError> {
        let body =
            serde_json::to_vec(&FetchRequest { url: url.to_owned() }).map_err(CompanionError::Unreadable)?;
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
        if !response.is_success() {
            return Err(CompanionError::Refused {
                status: response.status,
                message: ErrorBody::message_of(&response.body),
            });
        }
        Ok(Fetched {
            last_modified: response.header("last-modified").map(str::to_owned),
            etag: response.header("etag").map(str::to_owned),
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
        });
        assert!(serde_json::from_str::<FetchRequest>(r#"{"url":"x","checksum":"y"}"#).is_err());
    }
}
