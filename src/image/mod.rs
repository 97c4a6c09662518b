//! OCI images: references, configs with history, manifests and indexes (oci-spec types, Docker types on request).

pub mod archive;
pub mod config;
pub mod explore;
pub mod local_store;
pub mod manifest;
pub mod reference;
pub mod units;

pub use archive::{write_archive, ArchiveImage};
pub use config::{
    check_history, history, new_config, parse_rfc3339, push_empty, push_layer, rfc3339, rfc3339_nanos,
};
pub use manifest::{
    canonical_json, config_blob, index_blob, layer_descriptor, manifest_blob, platform, platform_of,
    ref_name, with_ref_name, Blob, Format,
};
pub use oci_spec::image::{Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifest, MediaType};
pub use reference::{Reference, ReferenceError};

/// Errors from building or reading image metadata.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image: {0}")]
    Invalid(String),
    #[error(transparent)]
    Spec(#[from] oci_spec::OciSpecError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}
