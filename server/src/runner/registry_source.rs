//! The runner's images from the embedded registry (`docs/local-images.md`): `docker run IMAGE` for a session looks
//! in that session's local store (`slipway-local/KEY/NAME`), then in the registry as pushed (`NAME:TAG`), then in
//! the OCI layouts the server was given. RUN-step layer digests come from the registry's blob store, then the
//! layouts. Everything is read from the registry's files on disk: no HTTP round trip.

use std::path::PathBuf;
use std::sync::Arc;

use oci_spec::image::ImageConfiguration;
use slipway::image::local_store::{local_repository, registry_path};
use slipway::image::Reference;

use super::images::{check_digest, ImageError, ImageSource, LayerBlob, OciLayoutSource, ResolvedImage};
use crate::registry::images::{read_image, StoredImage};
use crate::registry::local;
use crate::registry::names::RepoName;
use crate::registry::Store;

#[derive(Debug)]
pub struct RegistryImageSource {
    store: Arc<Store>,
    layouts: OciLayoutSource,
}

impl RegistryImageSource {
    pub fn new(store: Arc<Store>, layouts: OciLayoutSource) -> Self {
        RegistryImageSource { store, layouts }
    }

    /// `reference` in repository `name` of the registry, when it is there.
    fn find_in_repository(
        &self,
        name: &str,
        reference: &Reference,
    ) -> Result<Option<ResolvedImage>, ImageError> {
        let shown = reference.familiar();
        let malformed = |why: String| ImageError::Malformed {
            reference: shown.clone(),
            why,
        };
        let Ok(repo) = RepoName::parse(name) else {
            return Ok(None);
        };
        let wanted = reference.tag_or_digest();
        let Some(image) = read_image(&self.store, &repo, &wanted).map_err(|e| malformed(e.to_string()))?
        else {
            return Ok(None);
        };
        self.resolved(&shown, image).map(Some)
    }

    fn resolved(&self, shown: &str, image: StoredImage) -> Result<ResolvedImage, ImageError> {
        let malformed = |why: String| ImageError::Malformed {
            reference: shown.to_string(),
            why,
        };
        let config =
            ImageConfiguration::from_reader(image.config.as_slice()).map_err(|e| malformed(e.to_string()))?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != image.layers.len() {
            return Err(malformed(format!(
                "{} layers but {} diff_ids",
                image.layers.len(),
                diff_ids.len()
            )));
        }
        let layers = image
            .layers
            .iter()
            .zip(diff_ids)
            .map(|(layer, diff_id)| {
                if self.store.blob_size(&layer.digest).is_none() {
                    return Err(ImageError::BlobNotFound(layer.digest.to_string()));
                }
                Ok(LayerBlob {
                    digest: layer.digest.to_string(),
                    diff_id: Some(diff_id.clone()),
                    path: self.store.blob_path(&layer.digest),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ResolvedImage {
            reference: shown.to_string(),
            manifest_digest: image.manifest_digest.to_string(),
            config,
            layers,
        })
    }
}

impl RegistryImageSource {
    /// The registry as pushed, then the layouts. A name inside `slipway-local/` is only looked up for the session
    /// that owns it (`key`), as the registry's HTTP side would answer.
    fn resolve_as(&self, key: Option<&str>, reference: &str) -> Result<ResolvedImage, ImageError> {
        if let Ok(parsed) = Reference::parse(reference) {
            let name = registry_path(&parsed);
            let visible =
                !local::is_reserved(&name) || key.is_some_and(|key| local::check(&name, key).is_ok());
            if visible {
                if let Some(image) = self.find_in_repository(&name, &parsed)? {
                    return Ok(image);
                }
            }
        }
        self.layouts.resolve(reference)
    }
}

impl RegistryImageSource {
    /// A blob of the registry's store that some repository visible to session `key` links (any repository
    /// when `key` is None: the caller is the server itself), else one of the layouts. A blob only another
    /// session's local store holds is not handed out, digest known or not.
    fn blob_as(&self, key: Option<&str>, digest: &str) -> Result<PathBuf, ImageError> {
        check_digest(digest)?;
        let parsed: oci_spec::image::Digest = digest
            .parse()
            .map_err(|_| ImageError::BadDigest(digest.to_string()))?;
        if self.store.blob_size(&parsed).is_some() && self.visible(key, &parsed) {
            return Ok(self.store.blob_path(&parsed));
        }
        self.layouts.blob(digest)
    }

    fn visible(&self, key: Option<&str>, digest: &oci_spec::image::Digest) -> bool {
        let Some(key) = key else {
            return true;
        };
        let names = self.store.catalog().unwrap_or_default();
        names
            .iter()
            .filter(|name| local::check(name, key).is_ok())
            .filter_map(|name| RepoName::parse(name).ok())
            .any(|repo| self.store.repo_blob_size(&repo, digest).is_some())
    }
}

impl ImageSource for RegistryImageSource {
    /// Without a session: the registry as pushed (no local store), then the layouts.
    fn resolve(&self, reference: &str) -> Result<ResolvedImage, ImageError> {
        self.resolve_as(None, reference)
    }

    fn resolve_for(&self, session: &str, reference: &str) -> Result<ResolvedImage, ImageError> {
        let key = local::runner_session_key(session);
        if let Ok(parsed) = Reference::parse(reference) {
            let mine = local_repository(&key, &parsed);
            if let Some(image) = self.find_in_repository(&mine, &parsed)? {
                return Ok(image);
            }
        }
        self.resolve_as(Some(&key), reference)
    }

    fn blob(&self, digest: &str) -> Result<PathBuf, ImageError> {
        self.blob_as(None, digest)
    }

    fn blob_for(&self, session: &str, digest: &str) -> Result<PathBuf, ImageError> {
        self.blob_as(Some(&local::runner_session_key(session)), digest)
    }
}
