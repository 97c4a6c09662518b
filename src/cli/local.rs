//! The session's local image store (`docs/local-images.md`): a reserved namespace of the companion's
//! registry, `slipway-local/KEY/NAME`, where KEY names the browser session.

use sha2::{Digest as _, Sha256};

use crate::image::Reference;

/// The namespace of local repositories in the companion's registry.
pub const LOCAL_PREFIX: &str = "slipway-local";

/// The key of a session: the first 16 hex characters of `sha256(TOKEN)`, or `anonymous` without a token.
pub fn session_key(token: Option<&str>) -> String {
    match token {
        Some(token) => format!("{:x}", Sha256::digest(token.as_bytes()))[..16].to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// The local repository of an image: `slipway-local/KEY/learner1/app`, `slipway-local/KEY/library/python`,
/// or with the registry host first for other registries (`slipway-local/KEY/127.0.0.1-5000/x/y`).
pub fn local_repository(key: &str, reference: &Reference) -> String {
    if reference.is_docker_hub() {
        format!("{LOCAL_PREFIX}/{key}/{}", reference.repository())
    } else {
        format!(
            "{LOCAL_PREFIX}/{key}/{}/{}",
            reference.registry().replace(':', "-"),
            reference.repository()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_contract() {
        assert_eq!(session_key(None), "anonymous");
        let key = session_key(Some("token"));
        assert_eq!(key.len(), 16);
        assert_eq!(key, "3c469e9d6c5875d3");
        let r = |s: &str| Reference::parse(s).unwrap();
        assert_eq!(
            local_repository("k", &r("learner1/app:v1")),
            "slipway-local/k/learner1/app"
        );
        assert_eq!(
            local_repository("k", &r("python:3.11-slim")),
            "slipway-local/k/library/python"
        );
        assert_eq!(
            local_repository("k", &r("127.0.0.1:5000/x/y")),
            "slipway-local/k/127.0.0.1-5000/x/y"
        );
    }
}
