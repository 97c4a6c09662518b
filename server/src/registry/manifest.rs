//! Checking a pushed manifest: its media type (OCI or Docker schema 2, image or index), its shape (via `oci-spec`),
//! what it references, and its subject for the referrers API.

use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageManifest};

use super::error::RegistryError;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// What the registry needs to know about a manifest it accepts.
#[derive(Debug, Clone)]
pub struct CheckedManifest {
    pub media_type: String,
    /// Config and layers (without foreign `urls`): each must be a blob of the repository.
    pub blobs: Vec<Digest>,
    /// Manifests an index lists: each must be a manifest of the repository.
    pub manifests: Vec<Digest>,
    pub subject: Option<Digest>,
    /// What the referrers API lists for this manifest: `artifactType`, else the config's media type.
    pub artifact_type: Option<String>,
    pub annotations: Option<serde_json::Value>,
}

fn strip_parameters(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn is_manifest_type(media_type: &str) -> bool {
    matches!(
        media_type,
        OCI_MANIFEST | OCI_INDEX | DOCKER_MANIFEST | DOCKER_LIST
    )
}

/// Check a manifest's bytes against the `Content-Type` it was pushed with.
pub fn check(content_type: Option<&str>, bytes: &[u8]) -> Result<CheckedManifest, RegistryError> {
    let invalid = |why: String| RegistryError::ManifestInvalid(why);
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let declared = json.get("mediaType").and_then(|v| v.as_str());
    let header = content_type.map(strip_parameters).filter(|t| is_manifest_type(t));
    let media_type = match (header, declared) {
        (Some(h), Some(d)) if h != d => {
            return Err(invalid(format!(
                "Content-Type {h} differs from the manifest's mediaType {d}"
            )))
        }
        (Some(h), _) => h.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) if json.get("manifests").is_some() => OCI_INDEX.to_string(),
        (None, None) if json.get("config").is_some() => OCI_MANIFEST.to_string(),
        (None, None) => return Err(invalid("no media type: set Content-Type".into())),
    };
    if json.get("schemaVersion").and_then(|v| v.as_u64()) != Some(2) {
        return Err(invalid(
            "schemaVersion must be 2 (schema 1 is not supported)".into(),
        ));
    }
    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let manifest: ImageManifest = serde_json::from_value(json.clone())
                .map_err(|e| invalid(format!("not an image manifest: {e}")))?;
            let mut blobs = vec![manifest.config().digest().clone()];
            blobs.extend(
                manifest
                    .layers()
                    .iter()
                    .filter(|layer| layer.urls().as_ref().is_none_or(|urls| urls.is_empty()))
                    .map(|layer| layer.digest().clone()),
            );
            let artifact_type = manifest
                .artifact_type()
                .as_ref()
                .map(|t| t.to_string())
                .or_else(|| Some(manifest.config().media_type().to_string()));
            Ok(CheckedManifest {
                media_type,
                blobs,
                manifests: Vec::new(),
                subject: manifest.subject().as_ref().map(|s| s.digest().clone()),
                artifact_type,
                annotations: json.get("annotations").cloned(),
            })
        }
        OCI_INDEX | DOCKER_LIST => {
            let index: ImageIndex = serde_json::from_value(json.clone())
                .map_err(|e| invalid(format!("not an image index: {e}")))?;
            Ok(CheckedManifest {
                media_type,
                blobs: Vec::new(),
                manifests: index.manifests().iter().map(|m| m.digest().clone()).collect(),
                subject: index.subject().as_ref().map(Descriptor::digest).cloned(),
                artifact_type: index.artifact_type().as_ref().map(|t| t.to_string()),
                annotations: json.get("annotations").cloned(),
            })
        }
        other => Err(invalid(format!("unsupported manifest media type {other}"))),
    }
}

impl CheckedManifest {
    /// The descriptor the referrers API lists for this manifest.
    pub fn referrer_descriptor(&self, digest: &Digest, size: u64) -> serde_json::Value {
        let mut descriptor = serde_json::json!({
            "mediaType": self.media_type,
            "digest": digest.to_string(),
            "size": size,
        });
        if let Some(artifact_type) = &self.artifact_type {
            descriptor["artifactType"] = artifact_type.clone().into();
        }
        if let Some(annotations) = &self.annotations {
            descriptor["annotations"] = annotations.clone();
        }
        descriptor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn image(media_type: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}",
            "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{D1}","size":2}},
            "layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{D2}","size":3}}]}}"#
        )
    }

    #[test]
    fn image_manifests_list_config_and_layers() {
        for media_type in [OCI_MANIFEST, DOCKER_MANIFEST] {
            let checked = check(Some(media_type), image(media_type).as_bytes()).unwrap();
            assert_eq!(checked.media_type, media_type);
            let blobs: Vec<String> = checked.blobs.iter().map(|d| d.to_string()).collect();
            assert_eq!(blobs, [D1, D2]);
        }
    }

    #[test]
    fn mismatched_or_missing_types_are_invalid() {
        let err = check(Some(DOCKER_MANIFEST), image(OCI_MANIFEST).as_bytes()).unwrap_err();
        assert!(matches!(err, RegistryError::ManifestInvalid(_)), "{err}");
        assert!(check(Some(OCI_MANIFEST), b"{not json").is_err());
        assert!(check(Some(OCI_MANIFEST), br#"{"schemaVersion":1}"#).is_err());
        assert!(check(
            Some(OCI_INDEX),
            br#"{"schemaVersion":2,"manifests":[{"digest":"x"}]}"#
        )
        .is_err());
    }

    #[test]
    fn indexes_list_manifests_and_subject() {
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","artifactType":"application/x",
            "manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":9}}],
            "subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":9}}}}"#
        );
        let checked = check(None, index.as_bytes()).unwrap();
        assert_eq!(checked.media_type, OCI_INDEX);
        assert_eq!(checked.manifests[0].to_string(), D1);
        assert_eq!(checked.subject.unwrap().to_string(), D2);
        assert_eq!(checked.artifact_type.as_deref(), Some("application/x"));
    }
}
