//! Names of the session's local image store (`docs/local-images.md`): the registry repository where the image a
//! learner built or pulled lives before it is pushed, one private namespace per browser session.

use sha2::{Digest as _, Sha256};

use crate::image::Reference;

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
}
