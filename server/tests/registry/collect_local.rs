//! `slipway serve`'s collector and sessions' local image stores: once a session has been expired for
//! `--local-store-grace`, its `slipway-local/KEY/` repositories go, then the blobs only it used; a live
//! session's images (and a blob it shares with the expired one) stay and still pull.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use slipway::api::SESSION_HEADER;
use slipway::image::local_store::session_key;

use super::*;

/// An image pushed to a local store: its repository, tag, and every digest it stored (config, layers, manifest).
pub(crate) struct Pushed {
    pub repo: String,
    pub manifest: String,
    pub blobs: Vec<(String, Vec<u8>)>,
}

/// Push config, `layers` and a manifest to `slipway-local/KEY/learner1/app:1` of session `token`.
pub(crate) async fn push_local(base: &str, token: &str, seed: u64, layers: &[&[u8]]) -> Result<Pushed> {
    let repo = format!("slipway-local/{}/learner1/app", session_key(Some(token)));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"seed":{seed}}}"#
    )
    .into_bytes();
    let c = client();
    let mut blobs = Vec::new();
    for bytes in std::iter::once(config.as_slice()).chain(layers.iter().copied()) {
        let digest = sha256(bytes);
        let response = c
            .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={digest}"))
            .header(SESSION_HEADER, token)
            .body(bytes.to_vec())
            .send()
            .await?;
        ensure!(response.status() == 201, "blob push: {}", response.status());
        blobs.push((digest, bytes.to_vec()));
    }
    let manifest = image_manifest(&config, layers, serde_json::json!({}));
    let response = c
        .put(format!("{base}/v2/{repo}/manifests/1"))
        .header(SESSION_HEADER, token)
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await?;
    ensure!(response.status() == 201, "manifest push: {}", response.status());
    let digest = sha256(&manifest);
    blobs.push((digest.clone(), manifest));
    Ok(Pushed {
        repo,
        manifest: digest,
        blobs,
    })
}

/// Where a blob is on disk: in the store, or waiting in `gc/` for the pass that deletes it.
fn on_disk(data: &Path, digest: &str) -> Vec<PathBuf> {
    let hex = digest.trim_start_matches("sha256:");
    let registry = data.join("registry");
    [
        registry.join("blobs/sha256").join(&hex[..2]).join(hex),
        registry.join("gc").join(format!("sha256-{hex}")),
    ]
    .into_iter()
    .filter(|p| p.exists())
    .collect()
}

/// Pull `image` as session `token`: its manifest by tag, then every blob, byte for byte.
async fn pull(base: &str, token: &str, image: &Pushed) -> Result<()> {
    let c = client();
    let manifest = c
        .get(format!("{base}/v2/{}/manifests/1", image.repo))
        .header(SESSION_HEADER, token)
        .header("accept", OCI_MANIFEST)
        .send()
        .await?;
    ensure!(manifest.status() == 200, "manifest: {}", manifest.status());
    for (digest, bytes) in &image.blobs {
        let blob = c
            .get(format!("{base}/v2/{}/blobs/{digest}", image.repo))
            .header(SESSION_HEADER, token)
            .send()
            .await?;
        ensure!(blob.status() == 200, "blob {digest}: {}", blob.status());
        ensure!(
            blob.bytes().await?.as_ref() == bytes.as_slice(),
            "blob {digest} changed"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_expired_sessions_local_images_are_collected_and_a_live_ones_are_kept() -> Result<()> {
    let data = TempDir::new("collect-local-stores");
    let server = Server::start_with(data.path(), &["--session-idle", "3", "--local-store-grace", "2"])?;
    let (leaving, staying) = (server.session()?, server.session()?);
    let shared = noise(20_000, 31);
    let gone = push_local(&server.base, &leaving, 1, &[&noise(30_000, 32), &shared]).await?;
    let kept = push_local(&server.base, &staying, 2, &[&noise(30_000, 33), &shared]).await?;
    let only_gone: Vec<&String> = gone
        .blobs
        .iter()
        .map(|(d, _)| d)
        .filter(|d| **d != sha256(&shared))
        .collect();
    ensure!(only_gone.len() == 3, "config, own layer and manifest");
    let store_dir = data.path().join("registry/repos").join(&gone.repo);
    ensure!(store_dir.is_dir(), "{} was not written", store_dir.display());

    // The staying session keeps working (every 300 ms, well within its 3 s idle expiry); the other one is left.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        pull(&server.base, &staying, &kept).await?;
        let left: Vec<_> = only_gone.iter().flat_map(|d| on_disk(data.path(), d)).collect();
        if !store_dir.exists() && left.is_empty() {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "40 s on, the expired session's store ({}) or blobs {left:?} are still there",
            store_dir.exists()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Its whole namespace went; the live session's images, and the blob both used, are all there and pull.
    ensure!(!data
        .path()
        .join("registry/repos")
        .join(format!("slipway-local/{}", session_key(Some(&leaving))))
        .exists());
    pull(&server.base, &staying, &kept).await?;
    ensure!(
        !on_disk(data.path(), &sha256(&shared)).is_empty(),
        "the shared blob went"
    );
    ensure!(!on_disk(data.path(), &kept.manifest).is_empty());
    let refused = client()
        .get(server.url(&format!("/v2/{}/manifests/1", gone.repo)))
        .header(SESSION_HEADER, &leaving)
        .send()
        .await?;
    ensure!(
        refused.status() == 401,
        "the expired session got {}",
        refused.status()
    );
    Ok(())
}
