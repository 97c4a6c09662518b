//! Names in the session's local image store (`docs/local-images.md`): the registry namespace
//! `slipway-local/KEY/...` that plays the Docker daemon's image store for one browser session.

use sha2::{Digest as _, Sha256};

use crate::image::Reference;

/// The namespace every session's local repositories live under.
pub const LOCAL_PREFIX: &str = "slipway-local";

/// The key of a session: the first 16 hex characters of `sha256(token)`, `anonymous` without a token.
pub fn session_key(token: Option<&str>) -> String {
    match token {
        None => "anonymous".to_string(),
        Some(token) => Sha256::digest(token.as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect(),
    }
}

/// The local repository of an image: `slipway-local/KEY/NAME`, `NAME` being the repository path without
/// Docker Hub's name (`library/python`, `learner1/app`), or with the registry host first and `:` as `-`
/// (`127.0.0.1-5000/learner1/app`).
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
    fn keys_and_repositories_follow_the_contract() {
        assert_eq!(session_key(None), "anonymous");
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(session_key(Some("abc")), "ba7816bf8f01cfea");
        let r = |s: &str| Reference::parse(s).unwrap();
        assert_eq!(
            local_repository("k", &r("python:3.11-slim")),
            "slipway-local/k/library/python"
        );
        assert_eq!(
            local_repository("k", &r("learner1/app:v1")),
            "slipway-local/k/learner1/app"
        );
        assert_eq!(
            local_repository("k", &r("127.0.0.1:5000/learner1/app")),
            "slipway-local/k/127.0.0.1-5000/learner1/app"
        );
    }
}
