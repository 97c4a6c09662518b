//! The session's local image store (`docs/local-images.md`): the registry repository where the image a learner
//! built or pulled lives before it is pushed, one private namespace per browser session, and what a stored tag
//! looks like. The builder, the interpreter and the server's registry all read it, so it sits below them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::image::{parse_rfc3339, Reference};

/// The registry namespace reserved for local images: `slipway-local/KEY/...`.
pub const LOCAL_PREFIX: &str = "slipway-local";

/// The key of a session: the first 16 hex characters of `sha256(TOKEN)` for the `X-Slipway-Session: TOKEN`
/// header, or `anonymous` when the request has none. Hashing keeps the token itself out of repository names
/// (they appear in URLs and logs) while staying stable for the session.
pub fn session_key(token: Option<&str>) -> String {
    match token {
        Some(token) => {
            let hash = Sha256::digest(token.as_bytes());
            hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
        }
        None => "anonymous".to_string(),
    }
}

/// The local repository of `reference` for the session `key`: `slipway-local/KEY/NAME`, where `NAME` is the
/// repository path without the default registry (`learner1/app`, `library/python`) and, for other registries,
/// the host first with `:` replaced by `-` (`127.0.0.1-5000/learner1/app`). Tag and digest are not part of it.
pub fn local_repository(key: &str, reference: &Reference) -> String {
    format!("{LOCAL_PREFIX}/{key}/{}", registry_path(reference))
}

/// Where `reference` is stored in the embedded registry: its path for Docker Hub names (`library/busybox`),
/// `<host>/<path>` for other registries with a port's `:` as `-` (`localhost-5000/app`), lowercase.
pub fn registry_path(reference: &Reference) -> String {
    if reference.is_docker_hub() {
        reference.repository().to_string()
    } else {
        let host = reference.registry().to_ascii_lowercase().replace(':', "-");
        format!("{host}/{}", reference.repository())
    }
}

/// One row of `GET /api/images`: a tag in the session's local store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalImage {
    /// Docker's familiar form: `learner1/app`, `python`, `127.0.0.1:5000/x/y`.
    pub repository: String,
    pub tag: String,
    /// The manifest's digest.
    pub digest: String,
    /// The config's digest: the image ID.
    pub id: String,
    pub created: String,
    /// Config plus layer sizes, as stored.
    pub size: u64,
}

impl LocalImage {
    pub fn short_id(&self) -> &str {
        let hex = self.id.strip_prefix("sha256:").unwrap_or(&self.id);
        &hex[..hex.len().min(12)]
    }

    pub fn created_unix(&self) -> i64 {
        parse_rfc3339(&self.created).unwrap_or(0)
    }

    /// `busybox:latest`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// An image manifest's parts the commands need, from its JSON (OCI or Docker v2).
pub struct ManifestParts {
    pub config_digest: String,
    pub config_size: u64,
    /// `(digest, size)` of each layer, base first.
    pub layers: Vec<(String, u64)>,
}

impl ManifestParts {
    pub fn parse(bytes: &[u8]) -> Option<ManifestParts> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        let descriptor = |d: &Value| Some((d["digest"].as_str()?.to_string(), d["size"].as_u64()?));
        let (config_digest, config_size) = descriptor(&value["config"])?;
        let layers = value["layers"]
            .as_array()?
            .iter()
            .map(descriptor)
            .collect::<Option<Vec<_>>>()?;
        Some(ManifestParts {
            config_digest,
            config_size,
            layers,
        })
    }

    pub fn size(&self) -> u64 {
        self.config_size + self.layers.iter().map(|(_, s)| s).sum::<u64>()
    }
}

/// The docker-familiar name of a local repository (`slipway-local/KEY/library/busybox` → `busybox`,
/// `.../127.0.0.1-5000/x` → `127.0.0.1:5000/x`).
pub fn familiar_of_local(path: &str) -> String {
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    if first.contains('.') || first.starts_with("localhost") {
        let host = match first.rsplit_once('-') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{name}:{port}")
            }
            _ => first.to_string(),
        };
        return format!("{host}/{rest}");
    }
    path.strip_prefix("library/").unwrap_or(path).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_hash_the_token_or_say_anonymous() {
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(session_key(Some("abc")), "ba7816bf8f01cfea");
        assert_eq!(session_key(None), "anonymous");
        assert_eq!(session_key(Some("abc")).len(), 16);
    }

    #[test]
    fn local_repositories_follow_the_contract() {
        let local = |r: &str| local_repository("k1", &Reference::parse(r).unwrap());
        assert_eq!(local("learner1/app:v1"), "slipway-local/k1/learner1/app");
        assert_eq!(local("python:3.11-slim"), "slipway-local/k1/library/python");
        assert_eq!(
            local("127.0.0.1:5000/learner1/app"),
            "slipway-local/k1/127.0.0.1-5000/learner1/app"
        );
    }

    #[test]
    fn local_paths_read_back_as_familiar_names() {
        assert_eq!(familiar_of_local("library/busybox"), "busybox");
        assert_eq!(familiar_of_local("learner1/app"), "learner1/app");
        assert_eq!(familiar_of_local("127.0.0.1-5000/x/y"), "127.0.0.1:5000/x/y");
        assert_eq!(familiar_of_local("localhost-5000/app"), "localhost:5000/app");
    }
}
