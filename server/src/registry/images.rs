//! Images as the registry stores them, read back whole: a tag or digest → (index → the server's platform's) manifest →
//! config and layers. Used by `GET /api/images` (the session's `docker images`) and by the runner's image source.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use oci_spec::image::Digest;

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
/// have it. An index resolves to the manifest of the server's platform (else its only one).
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
        let host = crate::platform::host();
        let platform = |d: &serde_json::Value| {
            d["platform"]["os"] == host.os.as_str()
                && d["platform"]["architecture"] == host.architecture.as_str()
        };
        let chosen = children
            .iter()
            .find(|d| platform(d))
            .or(if children.len() == 1 {
                children.first()
            } else {
                None
            })
            .ok_or_else(|| {
                malformed(
                    &digest,
                    format!("the index has no {}/{} image", host.os, host.architecture),
                )
            })?;
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

/// One row of `docker images` (`GET /api/images`): the protocol's.
pub use slipway::api::ImageRow;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::digest::{digest_of, Algorithm};
    use crate::registry::manifest::OCI_MANIFEST;
    use crate::registry::repository::ManifestEntry;

    fn put_blob(store: &Store, repo: &RepoName, bytes: &[u8]) -> serde_json::Value {
        let digest = digest_of(Algorithm::Sha256, bytes);
        store.put_small_blob(&digest, bytes).unwrap();
        store.link_blob(repo, &digest).unwrap();
        serde_json::json!({"mediaType": "application/octet-stream", "digest": digest.to_string(), "size": bytes.len()})
    }

    fn put_manifest(
        store: &Store,
        repo: &RepoName,
        media_type: &str,
        value: serde_json::Value,
        tag: Option<&str>,
    ) -> serde_json::Value {
        let bytes = serde_json::to_vec(&value).unwrap();
        let digest = digest_of(Algorithm::Sha256, &bytes);
        let entry = ManifestEntry {
            digest: digest.clone(),
            media_type: media_type.to_string(),
            size: bytes.len() as u64,
        };
        store.put_manifest(repo, &entry, &bytes, tag, None).unwrap();
        serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": bytes.len()})
    }

    #[test]
    fn an_index_resolves_to_its_linux_amd64_image_and_sizes_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Default::default()).unwrap();
        let repo = RepoName::parse("slipway-local/k1/learner1/app").unwrap();
        let mut images = Vec::new();
        for arch in ["arm64", "amd64"] {
            let config = put_blob(
                &store,
                &repo,
                format!(r#"{{"created":"2026-11-28T07:00:00Z","architecture":"{arch}"}}"#).as_bytes(),
            );
            let layer = put_blob(&store, &repo, arch.repeat(100).as_bytes());
            let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]});
            let mut descriptor = put_manifest(&store, &repo, OCI_MANIFEST, manifest, None);
            descriptor["platform"] = serde_json::json!({"os": "linux", "architecture": arch});
            images.push((
                descriptor,
                config["size"].as_u64().unwrap() + layer["size"].as_u64().unwrap(),
            ));
        }
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [images[0].0, images[1].0]});
        let index = put_manifest(&store, &repo, OCI_INDEX, index, Some("v1"));

        let image = read_image(&store, &repo, "v1").unwrap().unwrap();
        assert_eq!(image.digest.to_string(), index["digest"]);
        assert_eq!(image.manifest_digest.to_string(), images[1].0["digest"]);
        assert_eq!(image.size(), images[1].1);
        assert_eq!(image.created().as_deref(), Some("2026-11-28T07:00:00Z"));
        assert!(read_image(&store, &repo, "v2").unwrap().is_none());

        let rows = session_images(&store, "k1").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].repository.as_str(), rows[0].tag.as_str()),
            ("learner1/app", "v1")
        );
        assert!(session_images(&store, "k2").unwrap().is_empty());
    }
}
