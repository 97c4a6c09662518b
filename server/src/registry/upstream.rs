//! Pull-through cache: a manifest or blob the registry lacks is fetched from the upstream registry its name
//! maps to (`library/ubuntu` → Docker Hub, `ghcr.io/a/b` → ghcr.io), verified, stored, then served. Tags are
//! cached as first fetched; offline, only what was cached or imported is served.

use std::sync::Arc;
use std::time::Duration;

use oci_spec::image::Digest;
use slipway::registry::{Client, ClientError, HttpRequest, HttpResponse, Transport, TransportError};

use super::digest::{digest_of, Algorithm};
use super::manifest;
use super::names::{Reference, RepoName};
use super::repository::ManifestEntry;
use super::storage::Store;
use super::RegistryError;

/// The well-known registries `--pull-through` turns on.
pub const DEFAULT_UPSTREAMS: [(&str, &str); 3] = [
    ("docker.io", "https://registry-1.docker.io"),
    ("ghcr.io", "https://ghcr.io"),
    ("quay.io", "https://quay.io"),
];

#[derive(Debug, thiserror::Error)]
#[error("invalid upstream {0:?}: expected HOST=URL, e.g. docker.io=https://registry-1.docker.io")]
pub struct UpstreamSpecError(String);

/// The server's transport to upstream registries.
#[derive(Clone)]
pub struct ReqwestTransport(reqwest::Client);

impl ReqwestTransport {
    /// A transport over a configured client (timeouts, TLS) for other native callers (`slipway build`).
    pub fn new(client: reqwest::Client) -> Self {
        ReqwestTransport(client)
    }
}

impl ReqwestTransport {
    /// Sends the request; the answer's status and headers, with the body still to be read.
    async fn start(&self, request: HttpRequest) -> Result<(HttpResponse, reqwest::Response), TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes())
            .map_err(|e| TransportError(e.to_string()))?;
        let mut builder = self.0.request(method, &request.url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.map_err(|e| TransportError(e.to_string()))?;
        let head = HttpResponse {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: Vec::new(),
        };
        Ok((head, response))
    }
}

impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (mut head, response) = self.start(request).await?;
        head.body = response
            .bytes()
            .await
            .map_err(|e| TransportError(e.to_string()))?
            .to_vec();
        Ok(head)
    }

    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, TransportError> {
        let (mut head, mut response) = self.start(request).await?;
        if !head.is_success() {
            head.body = response
                .bytes()
                .await
                .map_err(|e| TransportError(e.to_string()))?
                .to_vec();
            return Ok(head);
        }
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| TransportError(e.to_string()))?
        {
            on_chunk(&chunk);
        }
        Ok(head)
    }
}

/// Upstream registries by host, each with its own client (tokens are per registry).
pub struct Upstreams {
    by_host: Vec<(String, Arc<Client<ReqwestTransport>>)>,
    /// For streaming blobs, which the client's whole-body transport would hold in memory.
    http: reqwest::Client,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts: Vec<&str> = self.by_host.iter().map(|(h, _)| h.as_str()).collect();
        f.debug_struct("Upstreams").field("hosts", &hosts).finish()
    }
}

impl Upstreams {
    /// From `HOST=URL` specs.
    pub fn new(specs: &[(String, String)]) -> Upstreams {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(60))
            .build()
            .expect("a reqwest client with rustls builds");
        let by_host = specs
            .iter()
            .map(|(host, url)| {
                let client = Client::new(ReqwestTransport(http.clone()), url.clone(), None);
                (host.clone(), Arc::new(client))
            })
            .collect();
        Upstreams { by_host, http }
    }

    pub fn parse_spec(spec: &str) -> Result<(String, String), UpstreamSpecError> {
        match spec.split_once('=') {
            Some((host, url))
                if !host.is_empty() && (url.starts_with("http://") || url.starts_with("https://")) =>
            {
                Ok((host.to_string(), url.trim_end_matches('/').to_string()))
            }
            _ => Err(UpstreamSpecError(spec.to_string())),
        }
    }

    /// The upstream client and repository path for a local repository name, if any upstream serves it.
    fn route(&self, repo: &RepoName) -> Option<(Arc<Client<ReqwestTransport>>, String)> {
        let name = repo.as_str();
        if let Some((first, rest)) = name.split_once('/') {
            if let Some((_, client)) = self
                .by_host
                .iter()
                .find(|(host, _)| host == first && host != "docker.io")
            {
                return Some((client.clone(), rest.to_string()));
            }
        }
        self.by_host
            .iter()
            .find(|(host, _)| host == "docker.io")
            .map(|(_, client)| (client.clone(), name.to_string()))
    }

    /// Fetch a manifest the store lacks, store it (tagged when asked by tag) and return it.
    pub async fn fetch_manifest(
        &self,
        store: &Store,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Option<ManifestEntry>, RegistryError> {
        let Some((client, path)) = self.route(repo) else {
            return Ok(None);
        };
        let wanted = match reference {
            Reference::Tag(tag) => tag.clone(),
            Reference::Digest(digest) => digest.to_string(),
        };
        let pulled = match client.pull_manifest(&path, &wanted).await {
            Ok(pulled) => pulled,
            Err(e) => return upstream_miss(repo, &wanted, e),
        };
        let checked = manifest::check(Some(&pulled.media_type), &pulled.bytes)?;
        let digest = digest_of(Algorithm::Sha256, &pulled.bytes);
        let digest = match pulled.digest.parse::<Digest>() {
            Ok(theirs) if Algorithm::of(&theirs).is_ok() => theirs,
            _ => digest,
        };
        let entry = ManifestEntry {
            digest: digest.clone(),
            media_type: checked.media_type.clone(),
            size: pulled.bytes.len() as u64,
        };
        let tag = match reference {
            Reference::Tag(tag) => Some(tag.as_str()),
            Reference::Digest(_) => None,
        };
        let descriptor = checked.referrer_descriptor(&digest, entry.size);
        let referrer = checked.subject.as_ref().map(|s| (s, &descriptor));
        store.put_manifest(repo, &entry, &pulled.bytes, tag, referrer)?;
        tracing::info!(%repo, reference = %wanted, %digest, "pull-through: cached manifest");
        Ok(Some(entry))
    }

    /// Stream a blob the store lacks from upstream into the store, verifying its digest as it arrives;
    /// `false` when no upstream has it.
    pub async fn fetch_blob(
        &self,
        store: &Store,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let Some((client, path)) = self.route(repo) else {
            return Ok(false);
        };
        let request = match client.blob_request(&path, digest.as_ref()).await {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(false),
            Err(e) => return upstream_miss(repo, digest.as_ref(), e).map(|_: Option<()>| false),
        };
        let mut get = self.http.get(&request.url);
        for (name, value) in &request.headers {
            get = get.header(name, value);
        }
        let response = match get.send().await {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                tracing::info!(%repo, %digest, status = %response.status(), "pull-through: upstream refused the blob");
                return Ok(false);
            }
            Err(e) => {
                tracing::info!(%repo, %digest, error = %e, "pull-through: upstream unreachable");
                return Ok(false);
            }
        };
        let stream = Box::pin(response.bytes_stream());
        store.put_blob(repo, digest, stream).await?;
        tracing::info!(%repo, %digest, "pull-through: cached blob");
        Ok(true)
    }
}

/// An upstream that does not have it, or cannot be reached, is a miss, not an error: the local answer stands.
fn upstream_miss<T>(repo: &RepoName, wanted: &str, error: ClientError) -> Result<Option<T>, RegistryError> {
    match error {
        ClientError::DigestMismatch { .. } => Err(RegistryError::DigestInvalid(format!(
            "upstream sent bad content: {error}"
        ))),
        other => {
            tracing::info!(%repo, %wanted, error = %other, "pull-through: upstream miss");
            Ok(None)
        }
    }
}
