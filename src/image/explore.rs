//! An image taken apart for the layer explorer: each layer with the history entry that made it, its digest,
//! diff_id and sizes, and (once its blob is read) what it changes; the config and manifest as readable JSON.

use serde_json::Value;

use super::ImageError;
use crate::layer::changes::{LayerChanges, LayerStack};
use crate::layer::ExtractError;

/// One layer as the manifest and config describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLayer {
    /// The history entry that made it (`COPY a.txt /app/ # buildkit`); empty when the history is short.
    pub created_by: String,
    /// The metadata-only steps (`empty_layer` entries: `ENV`, `CMD`…) between the layer below and this one.
    pub metadata_before: Vec<String>,
    /// The compressed blob's digest and size (manifest).
    pub digest: String,
    pub size: u64,
    /// sha256 of the uncompressed tar (config `rootfs.diff_ids`).
    pub diff_id: String,
}

/// The image's layers, base first, and its JSON documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub layers: Vec<ImageLayer>,
    /// Metadata-only steps after the last layer (often `CMD`).
    pub metadata_after: Vec<String>,
    pub config_json: String,
    pub manifest_json: String,
}

/// Errors reading an image for the explorer.
#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("layer {index} ({digest}): {source}")]
    Layer {
        index: usize,
        digest: String,
        source: ExtractError,
    },
    #[error("layer {index}: its tar hashes to {actual}, the config says {expected}")]
    DiffIdMismatch {
        index: usize,
        expected: String,
        actual: String,
    },
    #[error("layer {index}: the blob hashes to {actual}, the manifest says {expected}")]
    DigestMismatch {
        index: usize,
        expected: String,
        actual: String,
    },
}

fn invalid(what: &str) -> ImageError {
    ImageError::Invalid(what.to_owned())
}

impl ImagePlan {
    /// Reads an image manifest (OCI or Docker schema 2) and its config.
    pub fn new(manifest: &[u8], config: &[u8]) -> Result<ImagePlan, ImageError> {
        let manifest: Value = serde_json::from_slice(manifest)?;
        let config: Value = serde_json::from_slice(config)?;
        let descriptors = manifest["layers"]
            .as_array()
            .ok_or_else(|| invalid("the manifest has no layers list (is it an index?)"))?;
        let diff_ids = config["rootfs"]["diff_ids"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if diff_ids.len() != descriptors.len() {
            return Err(invalid(&format!(
                "the manifest lists {} layers, the config {} diff_ids",
                descriptors.len(),
                diff_ids.len()
            )));
        }
        // Non-empty history entries name the layers in order; empty ones are metadata steps between them.
        let mut made_by: Vec<(String, Vec<String>)> = Vec::new();
        let mut pending = Vec::new();
        for entry in config["history"].as_array().into_iter().flatten() {
            let created_by = entry["created_by"].as_str().unwrap_or_default().to_owned();
            if entry["empty_layer"].as_bool() == Some(true) {
                pending.push(created_by);
            } else {
                made_by.push((created_by, std::mem::take(&mut pending)));
            }
        }
        let mut layers = Vec::new();
        for (i, (descriptor, diff_id)) in descriptors.iter().zip(&diff_ids).enumerate() {
            let (created_by, metadata_before) = made_by.get(i).cloned().unwrap_or_default();
            layers.push(ImageLayer {
                created_by,
                metadata_before,
                digest: descriptor["digest"]
                    .as_str()
                    .ok_or_else(|| invalid("a layer descriptor has no digest"))?
                    .to_owned(),
                size: descriptor["size"]
                    .as_u64()
                    .ok_or_else(|| invalid("a layer descriptor has no size"))?,
                diff_id: diff_id
                    .as_str()
                    .ok_or_else(|| invalid("a diff_id is not a string"))?
                    .to_owned(),
            });
        }
        Ok(ImagePlan {
            layers,
            metadata_after: pending,
            config_json: serde_json::to_string_pretty(&config)?,
            manifest_json: serde_json::to_string_pretty(&manifest)?,
        })
    }

    /// Reads layer `index`'s blob on top of `stack` (the layers before it, applied in order) and checks it
    /// against the manifest's digest and the config's diff_id.
    pub fn read_layer(
        &self,
        stack: &mut LayerStack,
        index: usize,
        blob: &[u8],
    ) -> Result<LayerChanges, ExploreError> {
        let layer = self
            .layers
            .get(index)
            .ok_or_else(|| ImageError::Invalid(format!("the image has no layer {index}")))?;
        let changes = stack.apply(blob).map_err(|source| ExploreError::Layer {
            index,
            digest: layer.digest.clone(),
            source,
        })?;
        if changes.digest.to_string() != layer.digest {
            return Err(ExploreError::DigestMismatch {
                index,
                expected: layer.digest.clone(),
                actual: changes.digest.to_string(),
            });
        }
        if changes.diff_id.to_string() != layer.diff_id {
            return Err(ExploreError::DiffIdMismatch {
                index,
                expected: layer.diff_id.clone(),
                actual: changes.diff_id.to_string(),
            });
        }
        Ok(changes)
    }
}

/// The part of a `created_by` the explorer shows: BuildKit's ` # buildkit` suffix and the legacy builder's
/// `/bin/sh -c #(nop) ` prefix dropped.
pub fn instruction(created_by: &str) -> &str {
    let text = created_by.trim_end_matches(" # buildkit");
    text.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(text).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::changes::Change;
    use crate::layer::{FileTree, LayerOptions, Meta};

    fn layer_of(files: &[(&str, &str)]) -> (Vec<u8>, crate::layer::LayerInfo) {
        let mut tree = FileTree::new();
        for (path, data) in files {
            tree.insert_file(path, data.as_bytes().to_vec(), Meta::root(0o644))
                .unwrap();
        }
        tree.to_layer(&LayerOptions::default()).unwrap()
    }

    #[test]
    fn layers_meet_their_history_and_are_checked() {
        let (one, one_info) = layer_of(&[("app/a.txt", "alpha")]);
        let (two, two_info) = layer_of(&[("app/b.txt", "beta")]);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:00", "size": 1},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": one_info.digest.to_string(), "size": one_info.size},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": two_info.digest.to_string(), "size": two_info.size},
            ],
        });
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["cat", "/app/a.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [one_info.diff_id.to_string(), two_info.diff_id.to_string()]},
            "history": [
                {"created_by": "COPY a.txt /app/ # buildkit"},
                {"created_by": "ENV X=1", "empty_layer": true},
                {"created_by": "COPY b.txt /app/ # buildkit"},
                {"created_by": "CMD [\"cat\" \"/app/a.txt\"]", "empty_layer": true},
            ],
        });
        let plan = ImagePlan::new(manifest.to_string().as_bytes(), config.to_string().as_bytes()).unwrap();
        assert_eq!(plan.layers.len(), 2);
        assert_eq!(instruction(&plan.layers[0].created_by), "COPY a.txt /app/");
        assert_eq!(plan.layers[1].metadata_before, ["ENV X=1"]);
        assert_eq!(plan.metadata_after, ["CMD [\"cat\" \"/app/a.txt\"]"]);
        assert_eq!(plan.layers[1].size, two_info.size);
        assert!(
            plan.config_json.contains("\n  \"config\": {\n"),
            "{}",
            plan.config_json
        );
        assert!(plan.config_json.contains("\"Cmd\""));

        let mut stack = LayerStack::default();
        let first = plan.read_layer(&mut stack, 0, &one).unwrap();
        assert_eq!(first.tar_size, one_info.tar_size);
        let second = plan.read_layer(&mut stack, 1, &two).unwrap();
        let b = second.entries.iter().find(|e| e.path == "app/b.txt").unwrap();
        assert_eq!((b.change, b.size), (Change::Added, 4));
        // The layer below's directory is touched again (the tar names parents): modified, not added.
        let app = second.entries.iter().find(|e| e.path == "app").unwrap();
        assert_eq!(app.change, Change::Modified);

        // A blob that is not the one the manifest names is refused.
        let wrong = plan.read_layer(&mut LayerStack::default(), 0, &two).unwrap_err();
        assert!(
            matches!(wrong, ExploreError::DigestMismatch { index: 0, .. }),
            "{wrong}"
        );
        let index = serde_json::json!({"schemaVersion": 2, "manifests": []});
        let err = ImagePlan::new(index.to_string().as_bytes(), config.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("index"), "{err}");
    }
}
