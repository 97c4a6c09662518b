//! Images as the registry stores them, read back whole: a tag or digest → (index → linux/amd64) manifest →
//! config and layers. Used by `GET /api/images` (the session's `docker images`) and by the runner's image source.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use oci_spec::image::Digest;
use serde::Serialize;

use super::manifest::{DOCKER_LIST, OCI_INDEX};
use super::names::{parse_digest, RepoName};
use super::{blocking, local, RegistryError, Store};

/// One layer of a stored image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLayer {
    pub digest: Digest,
    pub size: u64,
}

/// A runnable image found in the registry: the platform manifest, its config bytes and its layers.
#[derive(Debug, Clone)]
pub struct StoredImage {
    /// The digest the tag names (an index's digest when the tag names an index): what `docker images` shows.
    pub digest: Digest,
    /// The platform manifest's digest (the same as `digest` for a plain image manifest).
    pub manifest_digest: Digest,
    pub config_digest: Digest,
    pub config_size: u64,
    pub config: Vec<u8>,
    pub layers: Vec<StoredLayer>,
}

impl StoredImage {
    /// Config plus layers as the manifest declares them: docker's `SIZE` of a pulled image.
    pub fn size(&self) -> u64 {
        self.config_size + self.layers.iter().map(|l| l.size).sum::<u64>()
    }

    /// The config's `created` (RFC 3339), when it has one.
    pub fn created(&self) -> Option<String> {
        let config: serde_json::Value = serde_json::from_slice(&self.config).ok()?;
        config["created"].as_str().map(str::to_string)
    }
}

fn malformed(digest: &Digest, why: impl std::fmt::Display) -> RegistryError {
    RegistryError::ManifestInvalid(format!("{digest}: {why}"))
}

fn descriptor_digest(value: &serde_json::Value, of: &Digest) -> Result<(Digest, u64), RegistryError> {
    let digest = parse_digest(value["digest"].as_str().unwrap_or(""))
        .map_err(|_| malformed(of, "a descriptor lacks a valid digest"))?;
    Ok((digest, value["size"].as_u64().unwrap_or(0)))
}

/// The image `reference` (a tag, or a `sha256:` digest) names in `repo`, or `None` when the repository does not
/// have it. An index resolves to its linux/amd64 manifest (else its only one).
pub fn read_image(
    store: &Store,
    repo: &RepoName,
    reference: &str,
) -> Result<Option<StoredImage>, RegistryError> {
    let digest = if reference.contains(':') {
        parse_digest(reference)?
    } else {
        match store.resolve_tag(repo, reference) {
            Some(digest) => digest,
            None => return Ok(None),
        }
    };
    let Some(entry) = store.manifest(repo, &digest) else {
        return Ok(None);
    };
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(store.blob_path(&digest))?)
        .map_err(|e| malformed(&digest, e))?;
    let mut manifest_digest = digest.clone();
    if entry.media_type == OCI_INDEX || entry.media_type == DOCKER_LIST {
        let children = manifest["manifests"].as_array().cloned().unwrap_or_default();
        let platform = |d: &serde_json::Value| {
            d["platform"]["os"] == "linux" && d["platform"]["architecture"] == "amd64"
        };
        let chosen = children
            .iter()
            .find(|d| platform(d))
            .or(if children.len() == 1 {
                children.first()
            } else {
                None
            })
            .ok_or_else(|| malformed(&digest, "the index has no linux/amd64 image"))?;
        manifest_digest = descriptor_digest(chosen, &digest)?.0;
        if store.manifest(repo, &manifest_digest).is_none() {
            return Ok(None);
        }
        manifest = serde_json::from_slice(&std::fs::read(store.blob_path(&manifest_digest))?)
            .map_err(|e| malformed(&manifest_digest, e))?;
    }
    let (config_digest, config_size) = descriptor_digest(&manifest["config"], &manifest_digest)?;
    let config = std::fs::read(store.blob_path(&config_digest))?;
    let layers = manifest["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|layer| {
            descriptor_digest(layer, &manifest_digest).map(|(digest, size)| StoredLayer { digest, size })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(StoredImage {
        digest,
        manifest_digest,
        config_digest,
        config_size,
        config,
        layers,
    }))
}

/// One row of `docker images` (`GET /api/images`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRow {
    /// docker's familiar form: `learner1/app`, `python`, `127.0.0.1:5000/x/y`.
    pub repository: String,
    pub tag: String,
    /// The manifest digest the tag names.
    pub digest: String,
    /// The config digest (docker's image ID).
    pub id: String,
    pub created: Option<String>,
    pub size: u64,
}

/// Every tagged image in session `key`'s local store, newest first.
pub fn session_images(store: &Store, key: &str) -> Result<Vec<ImageRow>, RegistryError> {
    let prefix = local::prefix(key);
    let mut rows = Vec::new();
    for name in store.catalog_under(&prefix)? {
        let Some(path) = name.strip_prefix(&prefix) else {
            continue;
        };
        let repo = RepoName::parse(&name)?;
        for tag in store.tags(&repo)? {
            // A tag whose manifest cannot be read is skipped, not fatal: the listing must still answer.
            let Ok(Some(image)) = read_image(store, &repo, &tag) else {
                continue;
            };
            rows.push(ImageRow {
                repository: local::familiar(path),
                tag,
                digest: image.digest.to_string(),
                id: image.config_digest.to_string(),
                created: image.created(),
                size: image.size(),
            });
        }
    }
    rows.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then_with(|| a.repository.cmp(&b.repository))
            .then_with(|| a.tag.cmp(&b.tag))
    });
    Ok(rows)
}

/// `GET /api/images`: the calling session's local images.
pub async fn list(
    State(store): State<Arc<Store>>,
    headers: HeaderMap,
) -> Result<Json<Vec<ImageRow>>, RegistryError> {
    let key = local::request_key(&headers);
    Ok(Json(
        blocking(&store, move |store| session_images(store, &key)).await?,
    ))
}
