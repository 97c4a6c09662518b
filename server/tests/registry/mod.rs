//! The embedded registry over real sockets: the `slipway serve` binary driven by reqwest, skopeo and a second
//! registry (Debian's `docker-registry`).

mod api;
mod auth;
mod cli_images;
mod cli_login_tty;
mod cli_progress;
pub(crate) mod client;
mod collect_local;
mod collector;
mod crash;
mod import;
mod limits;
mod lists;
mod local;
mod login_limits;
mod page;
pub(crate) mod peers;
mod proxy;
mod read_only;
mod restart;
mod tag_query;
mod upstream;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};
use sha2::{Digest as _, Sha256, Sha512};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

pub use crate::support::server::slipway_bin as slipway_binary;
pub use crate::support::TempDir;

/// A tool a test needs from Debian: missing means a loud failure naming the package, never a silent pass.
pub fn require_tool(binary: &str, apt_package: &str) -> PathBuf {
    let found = ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(binary))
        .find(|path| path.is_file());
    found.unwrap_or_else(|| {
        panic!("this test needs `{binary}`: install it with `apt-get install -y {apt_package}`")
    })
}

/// A running `slipway serve`, killed (SIGKILL) on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub addr: String,
}

impl Server {
    pub fn start(data: &Path) -> Result<Server> {
        Server::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Result<Server> {
        let mut child = Command::new(slipway_binary())
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(["--dist", "/nonexistent", "--runtime", "auto"])
            .args(extra)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawn slipway serve")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("slipway listening on http://") else {
            let _ = child.kill();
            bail!("slipway serve printed {line:?} instead of its address");
        };
        let addr = addr.to_string();
        Ok(Server {
            child,
            base: format!("http://{addr}"),
            addr,
        })
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A session this server issued (`POST /api/sessions`).
    pub fn session(&self) -> Result<String> {
        crate::support::server::issue_session(&self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

pub fn sha512(bytes: &[u8]) -> String {
    format!("sha512:{}", hex(&Sha512::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic pseudo-random bytes (so blobs differ between tests without a rand dependency).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The first error code in an OCI error envelope.
pub async fn error_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("error envelope is JSON");
    body["errors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
        .to_string()
}

pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", response.headers()))
        .to_str()
        .unwrap()
        .to_string()
}

/// Monolithic push of one blob; returns its digest.
pub async fn push_blob(server: &Server, repo: &str, bytes: &[u8]) -> Result<String> {
    let digest = sha256(bytes);
    let response = client()
        .post(server.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
        .body(bytes.to_vec())
        .send()
        .await?;
    if response.status() != 201 {
        bail!(
            "blob push answered {}: {}",
            response.status(),
            response.text().await?
        );
    }
    Ok(digest)
}

/// An image manifest for a config and layers already pushed as blobs.
pub fn image_manifest(config: &[u8], layers: &[&[u8]], extra: serde_json::Value) -> Vec<u8> {
    let descriptor = |media_type: &str, bytes: &[u8]| serde_json::json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()});
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": layers.iter().map(|l| descriptor(OCI_LAYER, l)).collect::<Vec<_>>(),
    });
    if let (Some(target), Some(extra)) = (manifest.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
    }
    serde_json::to_vec(&manifest).unwrap()
}

/// Push a config, layers and the manifest tying them under `reference`; returns the manifest's bytes.
pub async fn push_image(server: &Server, repo: &str, reference: &str, seed: u64) -> Result<Vec<u8>> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":{seed}}}"#).into_bytes();
    let layer = noise(3000, seed);
    push_blob(server, repo, &config).await?;
    push_blob(server, repo, &layer).await?;
    let manifest = image_manifest(&config, &[&layer], serde_json::json!({}));
    let response = client()
        .put(server.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await?;
    if response.status() != 201 {
        bail!(
            "manifest push answered {}: {}",
            response.status(),
            response.text().await?
        );
    }
    Ok(manifest)
}

/// Every committed blob file hashes to its own name: nothing torn is visible. Every caller stored blobs first,
/// so finding none (a moved store, a wrong data dir) fails rather than passing on nothing.
pub fn assert_blobs_intact(data: &Path) {
    let blobs = data.join("registry/blobs/sha256");
    let prefixes: Vec<_> = std::fs::read_dir(&blobs)
        .unwrap_or_else(|e| panic!("no blob store at {}: {e}", blobs.display()))
        .collect();
    assert!(!prefixes.is_empty(), "no blob in {}", blobs.display());
    for prefix in prefixes {
        for file in std::fs::read_dir(prefix.unwrap().path()).unwrap() {
            let file = file.unwrap();
            let bytes = std::fs::read(file.path()).unwrap();
            let name = file.file_name().to_string_lossy().into_owned();
            assert_eq!(
                sha256(&bytes),
                format!("sha256:{name}"),
                "torn blob {}",
                file.path().display()
            );
        }
    }
}
