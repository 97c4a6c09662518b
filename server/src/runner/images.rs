//! Where the runner gets images: a small trait, and its implementation for an OCI image layout directory.
//!
//! The registry plugs in by implementing [`ImageSource`] (`registry_source.rs`); the runner only needs the image
//! config and the ordered layer blobs (bottom first) with their digests.

use std::path::{Path, PathBuf};

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest, MediaType};

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image {0:?} not found")]
    NotFound(String),
    #[error("blob {0} not found")]
    BlobNotFound(String),
    #[error("invalid digest {0:?}")]
    BadDigest(String),
    #[error("image {reference:?} is malformed: {why}")]
    Malformed { reference: String, why: String },
}

/// One layer of a resolved image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlob {
    /// Digest of the blob as stored (usually gzip-compressed).
    pub digest: String,
    /// Digest of the uncompressed tar, from the config's `rootfs.diff_ids`.
    pub diff_id: Option<String>,
    pub path: PathBuf,
}

/// An image ready to run: its config and its layers, bottom first.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    pub reference: String,
    pub manifest_digest: String,
    pub config: ImageConfiguration,
    pub layers: Vec<LayerBlob>,
}

pub trait ImageSource: Send + Sync + std::fmt::Debug {
    /// Resolve a reference (`name`, `name:tag`, `name@sha256:...`) to config + layers.
    fn resolve(&self, reference: &str) -> Result<ResolvedImage, ImageError>;
    /// The local path of a blob by digest (for RUN steps, whose layers come as digests).
    fn blob(&self, digest: &str) -> Result<PathBuf, ImageError>;
    /// Resolve for the runner session `session` (`""` is the anonymous one): a source with per-session images
    /// (the registry's local stores) looks there first; others ignore the session.
    fn resolve_for(&self, session: &str, reference: &str) -> Result<ResolvedImage, ImageError> {
        let _ = session;
        self.resolve(reference)
    }
    /// [`ImageSource::blob`] for a RUN step of `session`: a source with private stores only hands out blobs the
    /// session could read anyway.
    fn blob_for(&self, session: &str, digest: &str) -> Result<PathBuf, ImageError> {
        let _ = session;
        self.blob(digest)
    }
}

/// `sha256:<64 hex>` and nothing else: digests become file names.
pub fn check_digest(digest: &str) -> Result<&str, ImageError> {
    match digest.split_once(':') {
        Some(("sha256", hex))
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(hex)
        }
        _ => Err(ImageError::BadDigest(digest.to_string())),
    }
}

/// An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`); tags are the
/// `org.opencontainers.image.ref.name` annotations of the index. Several layouts can be searched in turn.
#[derive(Debug, Clone)]
pub struct OciLayoutSource {
    roots: Vec<PathBuf>,
}

impl OciLayoutSource {
    pub fn new(roots: Vec<PathBuf>) -> Self {
        OciLayoutSource { roots }
    }

    fn blob_in(root: &Path, digest: &str) -> Result<PathBuf, ImageError> {
        let hex = check_digest(digest)?;
        let path = root.join("blobs/sha256").join(hex);
        if path.is_file() {
            Ok(path)
        } else {
            Err(ImageError::BlobNotFound(digest.to_string()))
        }
    }

    fn resolve_in(root: &Path, reference: &str) -> Result<Option<ResolvedImage>, ImageError> {
        let malformed = |why: String| ImageError::Malformed {
            reference: reference.to_string(),
            why,
        };
        let index_path = root.join("index.json");
        if !index_path.is_file() {
            return Ok(None);
        }
        let index = ImageIndex::from_file(&index_path).map_err(|e| malformed(e.to_string()))?;
        let (name, tag) = split_reference(reference);
        let wanted = |d: &oci_spec::image::Descriptor| {
            if let Some(digest) = reference.split_once('@').map(|(_, d)| d) {
                return d.digest().to_string() == digest;
            }
            let ref_name = d
                .annotations()
                .as_ref()
                .and_then(|a| a.get("org.opencontainers.image.ref.name"))
                .map(String::as_str);
            match ref_name {
                Some(r) => r == reference || r == tag || r == format!("{name}:{tag}"),
                None => false,
            }
        };
        let Some(desc) = index.manifests().iter().find(|d| wanted(d)) else {
            return Ok(None);
        };
        if *desc.media_type() != MediaType::ImageManifest
            && *desc.media_type() != MediaType::Other(DOCKER_MANIFEST.into())
        {
            return Err(malformed(format!(
                "unsupported manifest type {}",
                desc.media_type()
            )));
        }
        let manifest_digest = desc.digest().to_string();
        let manifest = ImageManifest::from_file(Self::blob_in(root, &manifest_digest)?)
            .map_err(|e| malformed(e.to_string()))?;
        let config_path = Self::blob_in(root, manifest.config().digest().as_ref())?;
        let config = ImageConfiguration::from_file(config_path).map_err(|e| malformed(e.to_string()))?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != manifest.layers().len() {
            return Err(malformed(format!(
                "{} layers but {} diff_ids",
                manifest.layers().len(),
                diff_ids.len()
            )));
        }
        let layers = manifest
            .layers()
            .iter()
            .zip(diff_ids)
            .map(|(l, diff_id)| {
                let digest = l.digest().to_string();
                Ok(LayerBlob {
                    path: Self::blob_in(root, &digest)?,
                    digest,
                    diff_id: Some(diff_id.clone()),
                })
            })
            .collect::<Result<Vec<_>, ImageError>>()?;
        Ok(Some(ResolvedImage {
            reference: reference.to_string(),
            manifest_digest,
            config,
            layers,
        }))
    }
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// `busybox` → (`busybox`, `latest`); `user/app:v1` → (`user/app`, `v1`); `host:5000/a` → (`host:5000/a`, `latest`).
pub fn split_reference(reference: &str) -> (&str, &str) {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (without_digest, "latest"),
    }
}

impl ImageSource for OciLayoutSource {
    fn resolve(&self, reference: &str) -> Result<ResolvedImage, ImageError> {
        for root in &self.roots {
            if let Some(image) = Self::resolve_in(root, reference)? {
                return Ok(image);
            }
        }
        Err(ImageError::NotFound(reference.to_string()))
    }

    fn blob(&self, digest: &str) -> Result<PathBuf, ImageError> {
        check_digest(digest)?;
        self.roots
            .iter()
            .find_map(|root| Self::blob_in(root, digest).ok())
            .ok_or_else(|| ImageError::BlobNotFound(digest.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(split_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_reference("user/app:v1"), ("user/app", "v1"));
        assert_eq!(
            split_reference("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/app:2"),
            ("localhost:5000/app", "2")
        );
    }

    #[test]
    fn digests_are_checked_before_becoming_paths() {
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_digest("sha256:../../etc/passwd").is_err());
        assert!(check_digest(&format!("sha512:{}", "a".repeat(64))).is_err());
        assert!(check_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
    }
}
