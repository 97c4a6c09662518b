//! One tar that is both an OCI image layout archive and a `docker load` archive, as `docker save` (25+) writes:
//! `oci-layout`, `index.json` (with `io.containerd.image.name` and `org.opencontainers.image.ref.name`),
//! `blobs/sha256/...` and the legacy `manifest.json` (`Config`, `RepoTags`, `Layers`). Works in the browser
//! (a download) and natively (`--output type=docker|oci`).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use oci_spec::image::{Descriptor, ANNOTATION_REF_NAME};

use super::manifest::{index_blob, Blob, Format};
use super::reference::Reference;
use super::ImageError;
use crate::layer::{LayerError, Meta, TarWriter};

/// An image to put in an archive: its manifest and config blobs, each layer's blob, and its tags.
pub struct ArchiveImage<'a> {
    /// Tags as the user typed them (`user/app:v1`); normalized for `index.json`, familiar in `manifest.json`.
    pub tags: Vec<Reference>,
    pub manifest: &'a Blob,
    pub config: &'a Blob,
    /// Layer descriptors (as in the manifest) with their blob bytes.
    pub layers: Vec<(&'a Descriptor, &'a [u8])>,
}

fn blob_path(d: &Descriptor) -> String {
    format!(
        "blobs/{}/{}",
        d.digest().algorithm().as_ref(),
        d.digest().digest()
    )
}

/// Writes the archive to `out`; entries have time `mtime` (so the same images give the same bytes).
pub fn write_archive<W: Write>(out: W, images: &[ArchiveImage<'_>], mtime: u64) -> Result<W, ImageError> {
    let layer = |e: LayerError| ImageError::Invalid(format!("writing the archive: {e}"));
    let mut tar = TarWriter::new(out, mtime);
    let meta = Meta::file();
    tar.append_dir("blobs", &Meta::dir()).map_err(layer)?;
    tar.append_dir("blobs/sha256", &Meta::dir()).map_err(layer)?;
    // Blobs in digest order, each once.
    let mut blobs: BTreeMap<String, &[u8]> = BTreeMap::new();
    for image in images {
        blobs.insert(blob_path(&image.manifest.descriptor), &image.manifest.bytes);
        blobs.insert(blob_path(&image.config.descriptor), &image.config.bytes);
        for (d, bytes) in &image.layers {
            if bytes.len() as u64 != d.size() || crate::layer::sha256(bytes) != *d.digest() {
                return Err(ImageError::Invalid(format!(
                    "layer bytes do not match {}",
                    d.digest()
                )));
            }
            blobs.insert(blob_path(d), bytes);
        }
    }
    for (path, bytes) in &blobs {
        tar.append_bytes(path, &meta, bytes).map_err(layer)?;
    }

    let mut index_entries = Vec::new();
    let mut legacy = Vec::new();
    for image in images {
        for tag in &image.tags {
            let tag = tag.clone().with_default_tag();
            let mut d = image.manifest.descriptor.clone();
            let mut annotations = HashMap::new();
            annotations.insert("io.containerd.image.name".to_owned(), tag.to_string());
            if let Some(t) = tag.tag() {
                annotations.insert(ANNOTATION_REF_NAME.to_owned(), t.to_owned());
            }
            d.set_annotations(Some(annotations));
            index_entries.push(d);
        }
        if image.tags.is_empty() {
            index_entries.push(image.manifest.descriptor.clone());
        }
        legacy.push(serde_json::json!({
            "Config": blob_path(&image.config.descriptor),
            "RepoTags": image.tags.iter().map(|t| t.clone().with_default_tag().familiar()).collect::<Vec<_>>(),
            "Layers": image.layers.iter().map(|(d, _)| blob_path(d)).collect::<Vec<_>>(),
        }));
    }
    let index = index_blob(index_entries, Format::Oci)?;
    tar.append_bytes("index.json", &meta, &index.bytes)
        .map_err(layer)?;
    tar.append_bytes("manifest.json", &meta, &serde_json::to_vec(&legacy)?)
        .map_err(layer)?;
    tar.append_bytes("oci-layout", &meta, b"{\"imageLayoutVersion\":\"1.0.0\"}")
        .map_err(layer)?;
    tar.finish().map_err(layer)
}
