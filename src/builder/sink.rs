//! Where a finished image goes, behind a trait: the session's local repository in the companion's registry
//! (blobs HEAD first, RUN and base layers mounted from where they already are, then the manifest by tag), or
//! memory (tests). The OCI-layout directory sink lives with the native command (`slipway build --oci-layout`).

use std::sync::Mutex;

use super::rootfs::LayerRef;
use super::BuildError;
use crate::image::local_store::local_repository;
use crate::image::{Blob, Format, Reference};
use crate::registry::{Client, PushOptions, Transport};

/// A built image: config and manifest blobs, and its layers (with their bytes where this build has them).
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub config: Blob,
    pub manifest: Blob,
    pub layers: Vec<LayerRef>,
    pub format: Format,
}

impl BuiltImage {
    /// The image ID docker prints: the config digest.
    pub fn id(&self) -> String {
        self.config.descriptor.digest().to_string()
    }
}

/// Receives a finished image under its tags.
#[allow(async_fn_in_trait)]
pub trait ImageSink {
    async fn write(&self, image: &BuiltImage, tags: &[Reference]) -> Result<(), BuildError>;
}

/// Keeps images in memory.
#[derive(Debug, Default)]
pub struct MemorySink {
    pub images: Mutex<Vec<(BuiltImage, Vec<Reference>)>>,
}

impl ImageSink for MemorySink {
    async fn write(&self, image: &BuiltImage, tags: &[Reference]) -> Result<(), BuildError> {
        if let Ok(mut images) = self.images.lock() {
            images.push((image.clone(), tags.to_vec()));
        }
        Ok(())
    }
}

/// Writes into the session's local repositories (`slipway-local/KEY/NAME`, tag as given).
pub struct RegistrySink<'a, T: Transport> {
    pub client: &'a Client<T>,
    pub session_key: String,
}

impl<T: Transport> ImageSink for RegistrySink<'_, T> {
    async fn write(&self, image: &BuiltImage, tags: &[Reference]) -> Result<(), BuildError> {
        let err = BuildError::Registry;
        for tag in tags {
            let repo = local_repository(&self.session_key, tag);
            for layer in &image.layers {
                let digest = layer.descriptor.digest().to_string();
                match (&layer.blob, &layer.repository) {
                    (Some(blob), _) => {
                        self.client
                            .push_blob(&repo, &digest, blob, &PushOptions::default(), &mut |_, _| {})
                            .await
                            .map_err(err)?;
                    }
                    (None, Some(from)) => {
                        self.client.link_blob(&repo, &digest, from).await.map_err(err)?;
                    }
                    (None, None) => return Err(BuildError::LayerNowhere { digest }),
                }
            }
            let config = &image.config;
            self.client
                .push_blob(
                    &repo,
                    config.descriptor.digest().as_ref(),
                    &config.bytes,
                    &PushOptions::default(),
                    &mut |_, _| {},
                )
                .await
                .map_err(err)?;
            let reference = tag.tag().unwrap_or("latest");
            self.client
                .push_manifest(
                    &repo,
                    reference,
                    image.manifest.descriptor.media_type().as_ref(),
                    &image.manifest.bytes,
                )
                .await
                .map_err(err)?;
        }
        Ok(())
    }
}
