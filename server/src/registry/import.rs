//! `slipway import SOURCE --as REF`: load an OCI image layout (directory or tarball) or a `docker save` archive
//! into the registry's storage, without a running server. This is how base images are seeded offline.
//!
//! Docker Hub images are stored under their path (`busybox` → `library/busybox`), images of other registries
//! under `<host>/<path>` (a port becomes `-port`), so `FROM ghcr.io/a/b` finds `ghcr.io/a/b`.
//!
//! An imported repository is the operator's: it becomes read-only over HTTP (`read_only.rs`), and only another
//! import changes it.

use std::io::Read;
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;
use slipway::image::{Reference, ReferenceError};

use super::digest::{digest_of, Algorithm};
use super::manifest::{self, OCI_MANIFEST};
use super::names::RepoName;
use super::repository::ManifestEntry;
use super::storage::Store;
use super::RegistryError;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0}")]
    Format(String),
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    pub blobs: usize,
}

/// Where a reference lives in the embedded registry.
pub fn local_repository(reference: &Reference) -> String {
    slipway::image::local_store::registry_path(reference)
}

fn read(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn json(path: &Path) -> Result<serde_json::Value, ImportError> {
    serde_json::from_slice(&read(path)?)
        .map_err(|e| ImportError::Format(format!("{} is not JSON: {e}", path.display())))
}

/// A temporary directory that is removed on drop.
struct Unpacked(PathBuf);

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unpack a (possibly gzipped) tarball into a fresh directory under the store's `tmp/`.
fn unpack(store: &Store, tarball: &Path) -> Result<Unpacked, ImportError> {
    let target = Unpacked(
        store
            .root()
            .join("tmp")
            .join(format!("import-{}", uuid::Uuid::new_v4())),
    );
    std::fs::create_dir_all(&target.0).map_err(RegistryError::from)?;
    let mut file = std::fs::File::open(tarball).map_err(|source| ImportError::Read {
        path: tarball.display().to_string(),
        source,
    })?;
    let mut magic = [0u8; 2];
    let gzipped = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file = std::fs::File::open(tarball).map_err(RegistryError::from)?;
    let reader: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    tar::Archive::new(reader)
        .unpack(&target.0)
        .map_err(|e| ImportError::Format(format!("{} is not a readable tarball: {e}", tarball.display())))?;
    Ok(target)
}

/// Import `source` (a directory or tarball) as `reference` (`busybox:1.36`, `ghcr.io/a/b:v1`).
pub fn import(store: &Store, source: &Path, reference: &str) -> Result<Imported, ImportError> {
    let reference = Reference::parse(reference)?.with_default_tag();
    let repo = RepoName::parse(&local_repository(&reference))?;
    let tag = reference.tag().unwrap_or("latest").to_string();
    let _unpacked;
    let dir = if source.is_file() {
        _unpacked = unpack(store, source)?;
        _unpacked.0.clone()
    } else {
        source.to_path_buf()
    };
    let oci_layout = dir.join("oci-layout").is_file() && dir.join("index.json").is_file();
    if !oci_layout && !dir.join("manifest.json").is_file() {
        return Err(ImportError::Format(format!(
            "{} is neither an OCI image layout (oci-layout, index.json) nor a `docker save` archive (manifest.json)",
            source.display()
        )));
    }
    // Before the first write, so no push over HTTP can land in the repository while it is being imported.
    store.mark_read_only(&repo).map_err(RegistryError::from)?;
    let (digest, blobs) = if oci_layout {
        import_oci_layout(store, &dir, &repo, &tag)?
    } else {
        import_docker_archive(store, &dir, &repo, &tag, &reference)?
    };
    Ok(Imported {
        repository: repo.to_string(),
        tag,
        digest: digest.to_string(),
        blobs,
    })
}

fn layout_blob(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm().as_ref())
        .join(digest.digest())
}

fn parse_digest(value: &serde_json::Value) -> Result<Digest, ImportError> {
    let text = value.as_str().unwrap_or("");
    super::names::parse_digest(text)
        .map_err(|_| ImportError::Format(format!("{text:?} is not a digest the registry accepts")))
}

fn import_oci_layout(
    store: &Store,
    dir: &Path,
    repo: &RepoName,
    tag: &str,
) -> Result<(Digest, usize), ImportError> {
    let index = json(&dir.join("index.json"))?;
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    let named = |d: &serde_json::Value| d["annotations"][REF_NAME].as_str().map(str::to_string);
    let chosen = manifests
        .iter()
        .find(|d| named(d).is_some_and(|name| name == tag || name.ends_with(&format!(":{tag}"))))
        .or(if manifests.len() == 1 {
            manifests.first()
        } else {
            None
        })
        .ok_or_else(|| {
            let names: Vec<String> = manifests.iter().filter_map(named).collect();
            ImportError::Format(format!(
                "the layout has no image named {tag:?} (it has: {})",
                names.join(", ")
            ))
        })?;
    let digest = parse_digest(&chosen["digest"])?;
    let media_type = chosen["mediaType"].as_str().unwrap_or(OCI_MANIFEST).to_string();
    let mut blobs = 0;
    import_manifest(store, dir, repo, &digest, &media_type, Some(tag), &mut blobs)?;
    Ok((digest, blobs))
}

/// Import a manifest with everything it references (children of an index first), then link and tag it.
fn import_manifest(
    store: &Store,
    dir: &Path,
    repo: &RepoName,
    digest: &Digest,
    media_type: &str,
    tag: Option<&str>,
    blobs: &mut usize,
) -> Result<(), ImportError> {
    let bytes = read(&layout_blob(dir, digest))?;
    let actual = digest_of(Algorithm::of(digest)?, &bytes);
    if &actual != digest {
        return Err(ImportError::Format(format!(
            "manifest {digest} in the layout hashes to {actual}"
        )));
    }
    let checked = manifest::check(Some(media_type), &bytes)?;
    let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    for child in parsed["manifests"].as_array().into_iter().flatten() {
        let child_digest = parse_digest(&child["digest"])?;
        let child_type = child["mediaType"].as_str().unwrap_or(OCI_MANIFEST);
        if layout_blob(dir, &child_digest).is_file() {
            import_manifest(store, dir, repo, &child_digest, child_type, None, blobs)?;
        }
    }
    if !checked
        .manifests
        .iter()
        .any(|child| store.manifest(repo, child).is_some())
        && !checked.manifests.is_empty()
    {
        return Err(ImportError::Format(format!(
            "index {digest}: none of its manifests are in the layout"
        )));
    }
    for blob in &checked.blobs {
        store.put_blob_file(repo, &layout_blob(dir, blob), Some(blob))?;
        *blobs += 1;
    }
    let entry = ManifestEntry {
        digest: digest.clone(),
        media_type: checked.media_type.clone(),
        size: bytes.len() as u64,
    };
    let descriptor = checked.referrer_descriptor(digest, entry.size);
    let referrer = checked.subject.as_ref().map(|s| (s, &descriptor));
    store.put_manifest(repo, &entry, &bytes, tag, referrer)?;
    *blobs += 1;
    Ok(())
}

fn import_docker_archive(
    store: &Store,
    dir: &Path,
    repo: &RepoName,
    tag: &str,
    reference: &Reference,
) -> Result<(Digest, usize), ImportError> {
    let entries = json(&dir.join("manifest.json"))?;
    let entries = entries.as_array().cloned().unwrap_or_default();
    let wanted = [reference.to_string(), reference.familiar()];
    let chosen = entries
        .iter()
        .find(|e| {
            e["RepoTags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .any(|t| {
                    Reference::parse(t)
                        .map(Reference::with_default_tag)
                        .is_ok_and(|r| wanted.contains(&r.to_string()) || r.tag() == Some(tag))
                })
        })
        .or(if entries.len() == 1 { entries.first() } else { None })
        .ok_or_else(|| {
            ImportError::Format(format!(
                "the archive has no image tagged {}",
                reference.familiar()
            ))
        })?;
    let inside = |key: &serde_json::Value| -> Result<PathBuf, ImportError> {
        let relative = key
            .as_str()
            .ok_or_else(|| ImportError::Format("manifest.json lacks a path".into()))?;
        if relative.split('/').any(|part| part == "..") {
            return Err(ImportError::Format(format!("{relative:?} leaves the archive")));
        }
        Ok(dir.join(relative))
    };
    let (config_digest, config_size) = store.put_blob_file(repo, &inside(&chosen["Config"])?, None)?;
    let mut layers = Vec::new();
    for layer in chosen["Layers"].as_array().into_iter().flatten() {
        let path = inside(layer)?;
        let mut magic = [0u8; 2];
        let gzipped = std::fs::File::open(&path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
            && magic == [0x1f, 0x8b];
        let (digest, size) = store.put_blob_file(repo, &path, None)?;
        let media_type = if gzipped {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        layers.push(serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": size}));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config_size},
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    let digest = digest_of(Algorithm::Sha256, &bytes);
    let entry = ManifestEntry {
        digest: digest.clone(),
        media_type: OCI_MANIFEST.to_string(),
        size: bytes.len() as u64,
    };
    store.put_manifest(repo, &entry, &bytes, Some(tag), None)?;
    Ok((digest, layers.len() + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_map_to_local_repositories() {
        let local = |r: &str| local_repository(&Reference::parse(r).unwrap());
        assert_eq!(local("busybox"), "library/busybox");
        assert_eq!(
            local("keerthanav123/python-sample-app:v1"),
            "keerthanav123/python-sample-app"
        );
        assert_eq!(local("ghcr.io/a/b:v1"), "ghcr.io/a/b");
        assert_eq!(local("localhost:5000/app"), "localhost-5000/app");
    }
}
