//! The page's own image store (IndexedDB in the browser, any key-value store in tests): blobs by digest
//! (`blob/sha256:...`) and one record of tags (`tags`), so images built in the page survive a reload, list as
//! `docker images` does, download as a `docker load` tar, and serve as `FROM` bases without the companion.

use std::sync::Arc;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageManifest};

use super::resolve::{base_error, BaseResolver, Platform, ResolvedImage};
use super::rootfs::LayerRef;
use super::sink::{BuiltImage, ImageSink};
use super::{BaseError, BuildError};
use crate::image::local_store::{LocalImage, ManifestParts};
use crate::image::{write_archive, ArchiveImage, Blob, Reference};

/// Why the store could not do something. Quota and private-mode refusals come through as `Refused`, with the
/// browser's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the browser's storage refused: {0}")]
    Refused(String),
    #[error("the page's image store is damaged ({0})")]
    Damaged(String),
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("blob {0} is not in this browser's image store (base and RUN layers stay in the companion's registry)")]
    MissingBlob(String),
}

/// A key-value store whose writes can fail and say why (IndexedDB: quota exceeded, private mode).
#[allow(async_fn_in_trait)]
pub trait KeyValueStore {
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    async fn save(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Whether `key` is present, without reading its value (layer blobs can be large).
    async fn contains(&self, key: &str) -> Result<bool, StoreError>;
}

impl KeyValueStore for super::MemoryCache {
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(super::CacheStore::get(self, key).await)
    }

    async fn save(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        super::CacheStore::put(self, key, value).await;
        Ok(())
    }

    async fn contains(&self, key: &str) -> Result<bool, StoreError> {
        Ok(super::CacheStore::get(self, key).await.is_some())
    }
}

const TAGS_KEY: &str = "tags";

fn blob_key(digest: &str) -> String {
    format!("blob/{digest}")
}

/// The image store over a key-value store.
pub struct LocalStore<'a, S: KeyValueStore> {
    pub kv: &'a S,
}

impl<S: KeyValueStore> LocalStore<'_, S> {
    /// Every tag, newest first (ties by repository, tag), as `docker images` lists them.
    pub async fn list(&self) -> Result<Vec<LocalImage>, StoreError> {
        let mut images: Vec<LocalImage> = match self.kv.load(TAGS_KEY).await? {
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Damaged(format!("tags: {e}")))?
            }
            None => Vec::new(),
        };
        images.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| a.repository.cmp(&b.repository))
                .then_with(|| a.tag.cmp(&b.tag))
        });
        Ok(images)
    }

    /// The tag `name` names (`learner1/app:v1`, `app` = `app:latest`), or an image ID prefix.
    pub async fn find(&self, name: &str) -> Result<LocalImage, StoreError> {
        let images = self.list().await?;
        find_in(&images, name)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchImage(shown_name(name)))
    }

    pub async fn blob(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        self.kv
            .load(&blob_key(digest))
            .await?
            .ok_or_else(|| StoreError::MissingBlob(digest.to_owned()))
    }

    async fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        if self.kv.contains(&blob_key(digest)).await? {
            return Ok(());
        }
        self.kv.save(&blob_key(digest), bytes).await
    }

    /// Stores `image` under `tags`: config, manifest and the layers this build holds (made from the context, or
    /// read from this store). Layers that live in the companion's registry (a pulled base, RUN results) stay
    /// there: copying a 60 MB base into the browser on every build would cost more than it gives.
    pub async fn add(&self, image: &BuiltImage, tags: &[Reference], created: &str) -> Result<(), BuildError> {
        let err = BuildError::KeepInBrowser;
        for layer in &image.layers {
            if let Some(bytes) = &layer.blob {
                self.put_blob(layer.descriptor.digest().as_ref(), bytes)
                    .await
                    .map_err(err)?;
            }
        }
        for blob in [&image.config, &image.manifest] {
            self.put_blob(blob.descriptor.digest().as_ref(), &blob.bytes)
                .await
                .map_err(err)?;
        }
        let size =
            image.config.descriptor.size() + image.layers.iter().map(|l| l.descriptor.size()).sum::<u64>();
        let mut images = self.list().await.map_err(err)?;
        for tag in tags {
            let tag = tag.clone().with_default_tag();
            let record = LocalImage {
                repository: tag.familiar_name(),
                tag: tag.tag().unwrap_or("latest").to_owned(),
                digest: image.manifest.descriptor.digest().to_string(),
                id: image.id(),
                created: created.to_owned(),
                size,
            };
            images.retain(|i| !(i.repository == record.repository && i.tag == record.tag));
            images.push(record);
        }
        let json = serde_json::to_vec(&images).expect("image records serialize");
        self.kv.save(TAGS_KEY, &json).await.map_err(err)
    }

    /// The manifest and config of a stored tag.
    async fn parts(&self, image: &LocalImage) -> Result<(Vec<u8>, ManifestParts), StoreError> {
        let manifest = self.blob(&image.digest).await?;
        let parts = ManifestParts::parse(&manifest)
            .ok_or_else(|| StoreError::Damaged(format!("manifest {} is unreadable", image.digest)))?;
        Ok((manifest, parts))
    }

    /// `docker save`: a `docker load` tar of the image `name` names.
    pub async fn save(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let image = self.find(name).await?;
        let (manifest, _) = self.parts(&image).await?;
        let reference = Reference::parse(&image.name()).map_err(|e| StoreError::Damaged(e.to_string()))?;
        archive(&reference, manifest, async |digest: &str| self.blob(digest).await).await
    }
}

/// The tag `name` names among `images`, or the image whose ID starts with it.
pub fn find_in<'i>(images: &'i [LocalImage], name: &str) -> Option<&'i LocalImage> {
    if let Ok(reference) = Reference::parse(name).map(Reference::with_default_tag) {
        let (repository, tag) = (
            reference.familiar_name(),
            reference.tag().unwrap_or("latest").to_owned(),
        );
        if let Some(hit) = images.iter().find(|i| i.repository == repository && i.tag == tag) {
            return Some(hit);
        }
    }
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if hex.len() < 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    images
        .iter()
        .find(|i| i.id.strip_prefix("sha256:").is_some_and(|h| h.starts_with(hex)))
}

/// `name` as docker's "No such image" shows it (`app` → `app:latest`).
fn shown_name(name: &str) -> String {
    match Reference::parse(name) {
        Ok(r) if r.tag().is_some() || !name.bytes().all(|b| b.is_ascii_hexdigit()) => {
            r.with_default_tag().familiar()
        }
        _ => name.to_owned(),
    }
}

/// A `docker load` tar of one image from its manifest bytes, its blobs read through `blob`.
pub async fn archive(
    reference: &Reference,
    manifest: Vec<u8>,
    blob: impl AsyncFn(&str) -> Result<Vec<u8>, StoreError>,
) -> Result<Vec<u8>, StoreError> {
    let damaged = |e: &dyn std::fmt::Display| StoreError::Damaged(e.to_string());
    let parsed: ImageManifest = serde_json::from_slice(&manifest).map_err(|e| damaged(&e))?;
    let manifest_blob = Blob {
        descriptor: Descriptor::new(
            parsed
                .media_type()
                .clone()
                .unwrap_or(oci_spec::image::MediaType::ImageManifest),
            manifest.len() as u64,
            crate::layer::sha256(&manifest),
        ),
        bytes: manifest,
    };
    let config = Blob {
        descriptor: parsed.config().clone(),
        bytes: blob(parsed.config().digest().as_ref()).await?,
    };
    let mut layer_bytes = Vec::new();
    for layer in parsed.layers() {
        layer_bytes.push(blob(layer.digest().as_ref()).await?);
    }
    let image = ArchiveImage {
        tags: vec![reference.clone()],
        manifest: &manifest_blob,
        config: &config,
        layers: parsed
            .layers()
            .iter()
            .zip(layer_bytes.iter().map(Vec::as_slice))
            .collect(),
    };
    write_archive(Vec::new(), &[image], 0).map_err(|e| damaged(&e))
}

/// Writes each finished image into the page's store (and nothing else).
pub struct StoreSink<'a, S: KeyValueStore> {
    pub store: LocalStore<'a, S>,
    /// `created` as the image list shows it (the config's).
    pub created: String,
}

impl<S: KeyValueStore> ImageSink for StoreSink<'_, S> {
    async fn write(&self, image: &BuiltImage, tags: &[Reference]) -> Result<(), BuildError> {
        self.store.add(image, tags, &self.created).await
    }
}

/// Two sinks, one after the other: the companion's registry, then the page's store.
pub struct BothSinks<'a, A: ImageSink, B: ImageSink>(pub &'a A, pub &'a B);

impl<A: ImageSink, B: ImageSink> ImageSink for BothSinks<'_, A, B> {
    async fn write(&self, image: &BuiltImage, tags: &[Reference]) -> Result<(), BuildError> {
        self.0.write(image, tags).await?;
        self.1.write(image, tags).await
    }
}

/// `FROM` an image of the page's store (offline builds). Its layers come with their bytes.
impl<S: KeyValueStore> BaseResolver for LocalStore<'_, S> {
    async fn resolve(&self, reference: &Reference, platform: &Platform) -> Result<ResolvedImage, BuildError> {
        let needs = || base_error(reference, BaseError::Offline);
        let base = |e: StoreError| base_error(reference, e.into());
        let name = reference.clone().with_default_tag().familiar();
        let image = match self.find(&name).await {
            Ok(image) => image,
            Err(StoreError::NoSuchImage(_)) => return Err(needs()),
            Err(e) => return Err(base(e)),
        };
        let (_, parts) = self.parts(&image).await.map_err(base)?;
        let config_bytes = self.blob(&parts.config_digest).await.map_err(base)?;
        let config: ImageConfiguration =
            serde_json::from_slice(&config_bytes).map_err(|e| base(StoreError::Damaged(e.to_string())))?;
        let arch = config.architecture().to_string();
        if config.os().to_string() != platform.os || arch != platform.architecture {
            return Err(base(StoreError::NoSuchImage(format!("{name} for {platform}"))));
        }
        let manifest: ImageManifest = serde_json::from_slice(&self.blob(&image.digest).await.map_err(base)?)
            .map_err(|e| base(StoreError::Damaged(e.to_string())))?;
        let mut layers = Vec::new();
        for (descriptor, diff_id) in manifest.layers().iter().zip(config.rootfs().diff_ids()) {
            let bytes = self.blob(descriptor.digest().as_ref()).await.map_err(base)?;
            layers.push(LayerRef {
                descriptor: descriptor.clone(),
                diff_id: diff_id
                    .parse()
                    .map_err(|e| base(StoreError::Damaged(format!("{e}"))))?,
                blob: Some(Arc::from(bytes)),
                repository: None,
            });
        }
        Ok(ResolvedImage {
            pinned: format!("{}@{}", reference.clone().with_default_tag(), image.digest),
            manifest_digest: image.digest,
            config_json: serde_json::from_slice(&config_bytes).unwrap_or_default(),
            config,
            layers,
        })
    }

    async fn blob(&self, _repository: &str, digest: &str) -> Result<Vec<u8>, BuildError> {
        LocalStore::blob(self, digest).await.map_err(BuildError::Store)
    }
}

#[cfg(test)]
mod tests;
