//! Manifests, indexes and their media types (OCI, or Docker schema 2 on request), as canonical JSON blobs.

use std::collections::HashMap;

use oci_spec::image::{
    Arch, Descriptor, ImageConfiguration, ImageIndex, ImageIndexBuilder, ImageManifest, ImageManifestBuilder,
    MediaType, Os, Platform, PlatformBuilder, ANNOTATION_REF_NAME,
};
use serde::Serialize;

use super::ImageError;
use crate::layer::{sha256, LayerInfo};

/// Which family of media types an image is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `application/vnd.oci.*`: the default.
    #[default]
    Oci,
    /// `application/vnd.docker.*` schema 2: for registries and tools that need it.
    Docker,
}

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

impl Format {
    pub fn manifest(self) -> MediaType {
        match self {
            Format::Oci => MediaType::ImageManifest,
            Format::Docker => MediaType::Other(DOCKER_MANIFEST.into()),
        }
    }

    pub fn index(self) -> MediaType {
        match self {
            Format::Oci => MediaType::ImageIndex,
            Format::Docker => MediaType::Other(DOCKER_MANIFEST_LIST.into()),
        }
    }

    pub fn config(self) -> MediaType {
        match self {
            Format::Oci => MediaType::ImageConfig,
            Format::Docker => MediaType::Other(DOCKER_CONFIG.into()),
        }
    }

    pub fn layer_gzip(self) -> MediaType {
        match self {
            Format::Oci => MediaType::ImageLayerGzip,
            Format::Docker => MediaType::Other(DOCKER_LAYER_GZIP.into()),
        }
    }

    /// The format a manifest media type belongs to, if it is a manifest or index type we know.
    pub fn of_media_type(media_type: &str) -> Option<Format> {
        match media_type {
            "application/vnd.oci.image.manifest.v1+json" | "application/vnd.oci.image.index.v1+json" => {
                Some(Format::Oci)
            }
            DOCKER_MANIFEST | DOCKER_MANIFEST_LIST => Some(Format::Docker),
            _ => None,
        }
    }
}

/// Serialized content with the descriptor that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub descriptor: Descriptor,
    pub bytes: Vec<u8>,
}

impl Blob {
    fn json<T: Serialize>(value: &T, media_type: MediaType) -> Result<Self, ImageError> {
        let bytes = canonical_json(value)?;
        let descriptor = Descriptor::new(media_type, bytes.len() as u64, sha256(&bytes));
        Ok(Blob { descriptor, bytes })
    }
}

/// JSON with every object's keys sorted and no whitespace: the same value always gives the same bytes.
///
/// oci-spec keeps labels, annotations, exposed ports and volumes in `HashMap`s, whose order changes from run
/// to run; sorting all keys makes config and manifest digests reproducible.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ImageError> {
    fn sort(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sort(v))).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    Ok(serde_json::to_vec(&sort(serde_json::to_value(value)?))?)
}

/// The config as a blob, after checking that history and diff_ids agree.
pub fn config_blob(config: &ImageConfiguration, format: Format) -> Result<Blob, ImageError> {
    super::config::check_history(config)?;
    Blob::json(config, format.config())
}

/// The descriptor of a gzipped layer.
pub fn layer_descriptor(info: &LayerInfo, format: Format) -> Descriptor {
    Descriptor::new(format.layer_gzip(), info.size, info.digest.clone())
}

/// A schema-2 manifest over a config and its layers, as a blob.
pub fn manifest_blob(
    config: Descriptor,
    layers: Vec<Descriptor>,
    format: Format,
) -> Result<Blob, ImageError> {
    let manifest: ImageManifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(format.manifest())
        .config(config)
        .layers(layers)
        .build()?;
    Blob::json(&manifest, format.manifest())
}

/// An index (or Docker manifest list) over manifests, as a blob.
pub fn index_blob(manifests: Vec<Descriptor>, format: Format) -> Result<Blob, ImageError> {
    let index: ImageIndex = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(format.index())
        .manifests(manifests)
        .build()?;
    Blob::json(&index, format.index())
}

/// `linux/amd64`-style platform of a config, for index entries.
pub fn platform_of(config: &ImageConfiguration) -> Platform {
    PlatformBuilder::default()
        .architecture(config.architecture().clone())
        .os(config.os().clone())
        .build()
        .unwrap_or_else(|_| Platform::default())
}

/// `os`/`arch` as a platform (e.g. `linux`, `amd64`).
pub fn platform(os: &str, arch: &str) -> Platform {
    let mut p = Platform::default();
    p.set_os(Os::from(os));
    p.set_architecture(Arch::from(arch));
    p
}

/// The descriptor with an `org.opencontainers.image.ref.name` annotation (the tag in an OCI layout).
pub fn with_ref_name(mut descriptor: Descriptor, ref_name: &str) -> Descriptor {
    let mut annotations = descriptor.annotations().clone().unwrap_or_default();
    annotations.insert(ANNOTATION_REF_NAME.to_owned(), ref_name.to_owned());
    descriptor.set_annotations(Some(annotations));
    descriptor
}

/// The ref name annotation of a descriptor, if any.
pub fn ref_name(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations()
        .as_ref()
        .and_then(|a: &HashMap<String, String>| a.get(ANNOTATION_REF_NAME))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::config::{history, new_config, push_layer};
    use crate::layer::{FileTree, LayerOptions, Meta};

    #[test]
    fn canonical_json_sorts_maps() {
        let mut cfg = new_config("linux", "amd64", None);
        let mut inner = cfg.config().clone().unwrap();
        let labels: HashMap<String, String> =
            (0..20).map(|i| (format!("k{i:02}"), "v".to_string())).collect();
        inner.set_labels(Some(labels));
        inner.set_exposed_ports(Some(vec!["8000/tcp".into(), "443/tcp".into(), "80/tcp".into()]));
        cfg.set_config(Some(inner));
        let a = config_blob(&cfg, Format::Oci).unwrap();
        for _ in 0..5 {
            let again = config_blob(&cfg.clone(), Format::Oci).unwrap();
            assert_eq!(a, again);
        }
        let text = String::from_utf8(a.bytes).unwrap();
        assert!(text.find("\"443/tcp\"").unwrap() < text.find("\"8000/tcp\"").unwrap());
    }

    #[test]
    fn manifest_round_trip_in_both_formats() {
        let mut tree = FileTree::new();
        tree.insert_file("hello.txt", b"hi\n".to_vec(), Meta::file())
            .unwrap();
        let (_, info) = tree.to_layer(&LayerOptions::default()).unwrap();
        for format in [Format::Oci, Format::Docker] {
            let mut cfg = new_config("linux", "amd64", None);
            push_layer(
                &mut cfg,
                &info.diff_id,
                history(None, "COPY hello.txt /", None, false),
            )
            .unwrap();
            let config = config_blob(&cfg, format).unwrap();
            let m = manifest_blob(
                config.descriptor.clone(),
                vec![layer_descriptor(&info, format)],
                format,
            )
            .unwrap();
            let parsed = ImageManifest::from_reader(&m.bytes[..]).unwrap();
            assert_eq!(parsed.layers()[0].digest(), &info.digest);
            assert_eq!(parsed.config().media_type(), &format.config());
            assert_eq!(parsed.media_type().as_ref(), Some(&format.manifest()));
            assert_eq!(
                Format::of_media_type(m.descriptor.media_type().as_ref()),
                Some(format)
            );
            let idx = index_blob(vec![with_ref_name(m.descriptor.clone(), "v1")], format).unwrap();
            let parsed = ImageIndex::from_reader(&idx.bytes[..]).unwrap();
            assert_eq!(ref_name(&parsed.manifests()[0]), Some("v1"));
        }
    }
}
