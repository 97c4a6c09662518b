//! A client for any OCI distribution registry, over a [`Transport`]: challenge-driven auth (Bearer tokens and
//! Basic), HEAD before upload ("Layer already exists"), cross-repository mount, monolithic and chunked uploads
//! with progress, manifest push, pull with digest verification, and tag lists.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest as _, Sha256, Sha512};

use super::challenge::{encode_query_value, Challenge, Credentials};
use super::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// Media types a pull accepts, images and indexes, OCI and Docker.
pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the registry: {0}")]
    Transport(#[from] TransportError),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("denied: {0}")]
    Denied(String),
    /// The companion's registry proxy does not forward to this host (only hosts its operator listed).
    #[error(
        "denied: this Slipway server does not forward requests to {0} (an operator allows it: slipway serve --proxy-host {0})"
    )]
    ProxyRefused(String),
    /// An error the registry explained with the OCI error envelope.
    #[error("{code}: {message}")]
    Registry {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer {status} to {method} {url}")]
    Unexpected {
        status: u16,
        method: &'static str,
        url: String,
    },
    #[error("digest mismatch: expected {expected}, received content hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("unsupported digest {0:?}: use sha256 or sha512")]
    UnsupportedDigest(String),
}

/// `sha256:<hex>` or `sha512:<hex>` of `bytes`, by the algorithm `expected` names.
pub fn digest_like(expected: &str, bytes: &[u8]) -> Result<String, ClientError> {
    let hex = |digest: &[u8]| digest.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match expected.split_once(':').map(|(a, _)| a) {
        Some("sha256") => Ok(format!("sha256:{}", hex(&Sha256::digest(bytes)))),
        Some("sha512") => Ok(format!("sha512:{}", hex(&Sha512::digest(bytes)))),
        _ => Err(ClientError::UnsupportedDigest(expected.to_string())),
    }
}

fn verify(expected: &str, bytes: &[u8]) -> Result<(), ClientError> {
    let actual = digest_like(expected, bytes)?;
    if actual == expected {
        Ok(())
    } else {
        Err(ClientError::DigestMismatch {
            expected: expected.to_string(),
            actual,
        })
    }
}

/// How a blob push ended: Docker prints "Layer already exists", "Mounted from ..." or "Pushed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobPush {
    Exists,
    Mounted { from: String },
    Uploaded,
}

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Upload in `PATCH` chunks of this many bytes (progress per chunk); `None` sends the blob in one `PUT`.
    pub chunk_size: Option<usize>,
    /// A repository on the same registry that may already hold the blob.
    pub mount_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledManifest {
    pub media_type: String,
    pub digest: String,
    pub bytes: Vec<u8>,
}

/// A registry client bound to one registry's API base URL (`http://127.0.0.1:8080`, `https://ghcr.io`).
pub struct Client<T: Transport> {
    transport: T,
    base: String,
    credentials: Option<Credentials>,
    /// Authorization header values by scope, learned from challenges.
    authorizations: Mutex<HashMap<String, String>>,
}

fn scope_pull(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

fn scope_push(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

impl<T: Transport> Client<T> {
    pub fn new(transport: T, base: impl Into<String>, credentials: Option<Credentials>) -> Self {
        Client {
            transport,
            base: base.into().trim_end_matches('/').to_string(),
            credentials,
            authorizations: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorization(&self, scope: &str) -> Option<String> {
        self.authorizations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(scope)
            .cloned()
    }

    /// Send with the authorization known for `scope`; on a 401 challenge, authenticate once and retry.
    async fn send(&self, request: HttpRequest, scope: &str) -> Result<HttpResponse, ClientError> {
        let known = self.authorization(scope);
        let first = match &known {
            Some(value) => request.clone().header("Authorization", value.clone()),
            None => request.clone(),
        };
        let response = self.transport.send(first).await?;
        if response.status != 401 {
            return Ok(response);
        }
        let Some(challenge) = response.header("www-authenticate").and_then(Challenge::parse) else {
            return Ok(response);
        };
        let authorization = match challenge {
            Challenge::Basic => match &self.credentials {
                Some(credentials) => credentials.basic_header(),
                None => return Ok(response),
            },
            Challenge::Bearer { realm, service, .. } => {
                format!(
                    "Bearer {}",
                    self.fetch_token(&realm, service.as_deref(), scope).await?
                )
            }
        };
        if known.as_ref() == Some(&authorization) {
            return Ok(response);
        }
        self.authorizations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(scope.to_string(), authorization.clone());
        Ok(self
            .transport
            .send(request.header("Authorization", authorization))
            .await?)
    }

    /// Trade the credentials (or nothing, for anonymous access) for a token at the challenge's realm.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, ClientError> {
        let mut query = Vec::new();
        if let Some(service) = service {
            query.push(format!("service={}", encode_query_value(service)));
        }
        for part in scope.split(' ').filter(|s| !s.is_empty()) {
            query.push(format!("scope={}", encode_query_value(part)));
        }
        let separator = if realm.contains('?') { '&' } else { '?' };
        let url = if query.is_empty() {
            realm.to_string()
        } else {
            format!("{realm}{separator}{}", query.join("&"))
        };
        let mut request = HttpRequest::new(Method::Get, url);
        if let Some(credentials) = &self.credentials {
            request = request.header("Authorization", credentials.basic_header());
        }
        let response = self.transport.send(request.clone()).await?;
        if !response.is_success() {
            return Err(match error_from(&response, &request) {
                // Too many logins is not a wrong password: docker says `toomanyrequests: ...`.
                ClientError::Registry { status, message, .. } if status != 429 => {
                    ClientError::Unauthorized(message)
                }
                other => other,
            });
        }
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| ClientError::Unauthorized("the token endpoint returned no token".into()))
    }

    /// `docker login`: check the credentials against the registry's base endpoint.
    pub async fn login(&self) -> Result<(), ClientError> {
        let request = HttpRequest::new(Method::Get, self.url("/v2/"));
        let response = self.send(request.clone(), "").await?;
        expect(&response, &request, &[200])
    }

    /// The blob's size if the repository has it (`HEAD`), else `None`.
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<Option<u64>, ClientError> {
        let request = HttpRequest::new(Method::Head, self.url(&format!("/v2/{repo}/blobs/{digest}")));
        let response = self.send(request.clone(), &scope_pull(repo)).await?;
        match response.status {
            200 => Ok(Some(
                response
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            404 => Ok(None),
            _ => Err(error_from(&response, &request)),
        }
    }

    fn resolve(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            self.url(location)
        }
    }

    fn location(&self, response: &HttpResponse, request: &HttpRequest) -> Result<String, ClientError> {
        response
            .header("location")
            .map(|l| self.resolve(l))
            .ok_or_else(|| ClientError::Unexpected {
                status: response.status,
                method: request.method.as_str(),
                url: format!("{} (no Location header)", request.url),
            })
    }

    /// Push a blob unless the repository has it: mount it from `mount_from` if possible, else upload it whole or
    /// in chunks. `progress(done, total)` follows the bytes sent.
    pub async fn push_blob(
        &self,
        repo: &str,
        digest: &str,
        data: &[u8],
        options: &PushOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BlobPush, ClientError> {
        verify(digest, data)?;
        let total = data.len() as u64;
        if self.blob_exists(repo, digest).await?.is_some() {
            progress(total, total);
            return Ok(BlobPush::Exists);
        }
        let mut scope = scope_push(repo);
        let mut path = format!("/v2/{repo}/blobs/uploads/");
        if let Some(from) = &options.mount_from {
            scope = format!("{scope} {}", scope_pull(from));
            path = format!(
                "{path}?mount={}&from={}",
                encode_query_value(digest),
                encode_query_value(from)
            );
        }
        let start = HttpRequest::new(Method::Post, self.url(&path));
        let response = self.send(start.clone(), &scope).await?;
        if response.status == 201 {
            progress(total, total);
            let from = options.mount_from.clone().unwrap_or_default();
            return Ok(BlobPush::Mounted { from });
        }
        expect(&response, &start, &[202])?;
        let mut location = self.location(&response, &start)?;
        let scope = scope_push(repo);
        let mut sent = 0usize;
        if let Some(chunk_size) = options.chunk_size.filter(|&c| c > 0 && c < data.len()) {
            // Every chunk but the last goes by PATCH; the last rides on the closing PUT.
            while data.len() - sent > chunk_size {
                let chunk = &data[sent..sent + chunk_size];
                let end = sent + chunk.len() - 1;
                let patch = HttpRequest::new(Method::Patch, location.clone())
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Range", format!("{sent}-{end}"))
                    .body(chunk.to_vec());
                let response = self.send(patch.clone(), &scope).await?;
                expect(&response, &patch, &[202])?;
                location = self.location(&response, &patch)?;
                sent += chunk.len();
                progress(sent as u64, total);
            }
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={}", encode_query_value(digest));
        let put = HttpRequest::new(Method::Put, url)
            .header("Content-Type", "application/octet-stream")
            .body(data[sent..].to_vec());
        let response = self.send(put.clone(), &scope).await?;
        expect(&response, &put, &[201])?;
        progress(total, total);
        Ok(BlobPush::Uploaded)
    }

    /// Ask the registry to mount a blob from another of its repositories (`POST ?mount=&from=`): `true` when
    /// it did (201), `false` when it opened an upload instead (202), which is then cancelled.
    pub async fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> Result<bool, ClientError> {
        let scope = format!("{} {}", scope_push(repo), scope_pull(from));
        let path = format!(
            "/v2/{repo}/blobs/uploads/?mount={}&from={}",
            encode_query_value(digest),
            encode_query_value(from)
        );
        let start = HttpRequest::new(Method::Post, self.url(&path));
        let response = self.send(start.clone(), &scope).await?;
        if response.status == 201 {
            return Ok(true);
        }
        expect(&response, &start, &[202])?;
        if let Ok(location) = self.location(&response, &start) {
            // Best effort: an abandoned upload session is swept by `slipway gc` anyway.
            let _ = self
                .send(HttpRequest::new(Method::Delete, location), &scope_push(repo))
                .await;
        }
        Ok(false)
    }

    /// Link a blob the registry already holds in `from` into `repo` without sending its bytes (HEAD first, then
    /// a cross-repository mount). An error when the registry could not mount it (the caller uploads the bytes).
    pub async fn link_blob(&self, repo: &str, digest: &str, from: &str) -> Result<BlobPush, ClientError> {
        if self.blob_exists(repo, digest).await?.is_some() {
            return Ok(BlobPush::Exists);
        }
        if self.mount_blob(repo, digest, from).await? {
            return Ok(BlobPush::Mounted {
                from: from.to_string(),
            });
        }
        Err(ClientError::Registry {
            status: 404,
            code: "BLOB_UNKNOWN".into(),
            message: format!("{digest} is not in {from}: cannot mount it into {repo}"),
        })
    }

    /// Delete a manifest by tag or digest (`DELETE /v2/<repo>/manifests/<reference>`).
    pub async fn delete_manifest(&self, repo: &str, reference: &str) -> Result<(), ClientError> {
        let request = HttpRequest::new(
            Method::Delete,
            self.url(&format!("/v2/{repo}/manifests/{reference}")),
        );
        let response = self
            .send(request.clone(), &format!("repository:{repo}:delete"))
            .await?;
        expect(&response, &request, &[200, 202])
    }

    /// The repositories `/v2/_catalog` lists.
    pub async fn catalog(&self) -> Result<Vec<String>, ClientError> {
        self.paged(
            self.url("/v2/_catalog?n=1000"),
            "registry:catalog:*",
            "repositories",
        )
        .await
    }

    /// A ready-to-send, authorized `GET` for a blob the repository has, for callers that stream the body
    /// themselves (and must verify the digest as it streams). `None` when the registry lacks the blob.
    pub async fn blob_request(&self, repo: &str, digest: &str) -> Result<Option<HttpRequest>, ClientError> {
        if self.blob_exists(repo, digest).await?.is_none() {
            return Ok(None);
        }
        let mut request = HttpRequest::new(Method::Get, self.url(&format!("/v2/{repo}/blobs/{digest}")));
        if let Some(authorization) = self.authorization(&scope_pull(repo)) {
            request = request.header("Authorization", authorization);
        }
        Ok(Some(request))
    }

    /// Fetch a blob and check it against its digest.
    pub async fn pull_blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>, ClientError> {
        let request = HttpRequest::new(Method::Get, self.url(&format!("/v2/{repo}/blobs/{digest}")));
        let response = self.send(request.clone(), &scope_pull(repo)).await?;
        expect(&response, &request, &[200])?;
        verify(digest, &response.body)?;
        Ok(response.body)
    }

    /// Fetch a blob in `Range` requests of `chunk_size` bytes, `progress(received, total)` after each, and check
    /// the whole against its digest. A registry that ignores `Range` (200) sends it whole in the first answer.
    pub async fn pull_blob_in_ranges(
        &self,
        repo: &str,
        digest: &str,
        chunk_size: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let total = self.blob_exists(repo, digest).await?.unwrap_or(0);
        let mut data = Vec::with_capacity(total as usize);
        let mut whole_answer = false;
        while (data.len() as u64) < total {
            let start = data.len() as u64;
            let end = (start + chunk_size.max(1)).min(total) - 1;
            let request =
                HttpRequest::new(Method::Get, url.clone()).header("Range", format!("bytes={start}-{end}"));
            let response = self.send(request.clone(), &scope_pull(repo)).await?;
            expect(&response, &request, &[200, 206])?;
            if response.status == 200 || response.body.is_empty() {
                data = response.body;
                whole_answer = true;
                break;
            }
            data.extend_from_slice(&response.body);
            progress(data.len() as u64, total);
        }
        if data.is_empty() {
            // No size from HEAD (or an empty blob): one plain GET.
            return self.pull_blob(repo, digest).await;
        }
        verify(digest, &data)?;
        if whole_answer {
            progress(data.len() as u64, data.len() as u64);
        }
        Ok(data)
    }

    /// Push a manifest under a tag or digest; returns its digest (checked against the registry's).
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, ClientError> {
        let digest = digest_like("sha256:", bytes)?;
        let request = HttpRequest::new(
            Method::Put,
            self.url(&format!("/v2/{repo}/manifests/{reference}")),
        )
        .header("Content-Type", media_type)
        .body(bytes.to_vec());
        let response = self.send(request.clone(), &scope_push(repo)).await?;
        expect(&response, &request, &[201])?;
        if let Some(theirs) = response.header("docker-content-digest") {
            if theirs.starts_with("sha256:") && theirs != digest {
                return Err(ClientError::DigestMismatch {
                    expected: digest,
                    actual: theirs.to_string(),
                });
            }
        }
        Ok(digest)
    }

    /// Fetch a manifest by tag or digest, verified against the digest asked for or the one the registry names.
    pub async fn pull_manifest(&self, repo: &str, reference: &str) -> Result<PulledManifest, ClientError> {
        let request = HttpRequest::new(
            Method::Get,
            self.url(&format!("/v2/{repo}/manifests/{reference}")),
        )
        .header("Accept", MANIFEST_TYPES.join(", "));
        let response = self.send(request.clone(), &scope_pull(repo)).await?;
        expect(&response, &request, &[200])?;
        let expected = if reference.contains(':') {
            Some(reference.to_string())
        } else {
            response.header("docker-content-digest").map(str::to_string)
        };
        let digest = match expected {
            Some(expected) => {
                verify(&expected, &response.body)?;
                expected
            }
            None => digest_like("sha256:", &response.body)?,
        };
        let media_type = response
            .header("content-type")
            .map(|t| t.split(';').next().unwrap_or(t).trim().to_string())
            .unwrap_or_default();
        Ok(PulledManifest {
            media_type,
            digest,
            bytes: response.body,
        })
    }

    /// All tags of a repository.
    pub async fn tags(&self, repo: &str) -> Result<Vec<String>, ClientError> {
        self.paged(
            self.url(&format!("/v2/{repo}/tags/list")),
            &scope_pull(repo),
            "tags",
        )
        .await
    }

    /// A list answer's `field` (`tags`, `repositories`), every page, following `Link` pagination.
    async fn paged(&self, first: String, scope: &str, field: &str) -> Result<Vec<String>, ClientError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let request = HttpRequest::new(Method::Get, url);
            let response = self.send(request.clone(), scope).await?;
            expect(&response, &request, &[200])?;
            let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
            if let Some(page) = body[field].as_array() {
                items.extend(page.iter().filter_map(|t| t.as_str()).map(str::to_string));
            }
            next = response
                .header("link")
                .and_then(next_link)
                .map(|l| self.resolve(&l));
        }
        Ok(items)
    }
}

/// `</v2/x/tags/list?n=2&last=b>; rel="next"` → the URL.
fn next_link(value: &str) -> Option<String> {
    let (target, params) = value.split_once(';')?;
    params.contains("rel=\"next\"").then(|| {
        target
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    })
}

fn expect(response: &HttpResponse, request: &HttpRequest, statuses: &[u16]) -> Result<(), ClientError> {
    if statuses.contains(&response.status) {
        Ok(())
    } else {
        Err(error_from(response, request))
    }
}

/// Turn an error answer into the most telling error: the OCI envelope's code and message when there is one.
fn error_from(response: &HttpResponse, request: &HttpRequest) -> ClientError {
    let envelope: Option<(String, String)> = serde_json::from_slice::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|body| {
            let first = body.get("errors")?.get(0)?.clone();
            let code = first.get("code")?.as_str()?.to_string();
            let message = first
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string();
            Some((code, message))
        });
    if let (403, Some(host)) = (response.status, response.header(super::PROXY_REFUSED_HEADER)) {
        return ClientError::ProxyRefused(host.to_owned());
    }
    match (response.status, envelope) {
        (401, Some((_, message))) => ClientError::Unauthorized(message),
        (401, None) => ClientError::Unauthorized(format!("{} {}", request.method.as_str(), request.url)),
        (403, Some((_, message))) => ClientError::Denied(message),
        (403, None) => ClientError::Denied(format!("{} {}", request.method.as_str(), request.url)),
        (status, Some((code, message))) => ClientError::Registry {
            status,
            code,
            message,
        },
        (status, None) => ClientError::Unexpected {
            status,
            method: request.method.as_str(),
            url: request.url.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_and_digests() {
        assert_eq!(
            next_link("</v2/a/tags/list?n=2&last=b>; rel=\"next\"").as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(next_link("</x>; rel=\"prev\""), None);
        assert_eq!(
            digest_like("sha256:", b"").unwrap(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(verify("sha256:00", b"x").is_err());
        assert!(digest_like("md5:", b"").is_err());
    }

    #[test]
    fn a_proxy_refusal_names_the_host_and_the_flag_even_without_a_body() {
        let head = HttpRequest::new(
            Method::Head,
            "/api/registry-proxy/127.0.0.1:5000/v2/learner1/app/blobs/sha256:00",
        );
        let refused = HttpResponse {
            status: 403,
            headers: vec![(super::super::PROXY_REFUSED_HEADER.into(), "127.0.0.1:5000".into())],
            body: Vec::new(),
        };
        assert_eq!(
            error_from(&refused, &head).to_string(),
            "denied: this Slipway server does not forward requests to 127.0.0.1:5000 (an operator allows it: \
             slipway serve --proxy-host 127.0.0.1:5000)"
        );
        // Another 403 without a body stays docker's bare `denied`.
        let other = HttpResponse {
            headers: Vec::new(),
            ..refused
        };
        assert!(matches!(error_from(&other, &head), ClientError::Denied(_)));
    }
}
