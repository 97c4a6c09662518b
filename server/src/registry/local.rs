//! The reserved `slipway-local/KEY/...` namespace: each browser session's private image store
//! (`docs/local-images.md`). Only a request whose session header (`slipway::api::SESSION_HEADER`) hashes to `KEY` may read or write
//! there, with or without `docker login`; everyone else is told the repository does not exist.

use axum::http::HeaderMap;
use slipway::image::local_store::{session_key, LOCAL_PREFIX};

use super::RegistryError;

/// The header carrying the page's session token (the runner API reads the same one): the protocol's.
pub use slipway::api::SESSION_HEADER;

/// The runner keeps at most this many characters of a token; the key is derived from the same characters, so
/// both halves of the server agree on who owns what.
const TOKEN_MAX_CHARS: usize = 128;

/// The session token as the server understands it: at most 128 characters; an empty header is no header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(token_from)
}

/// A raw header value as the server understands it: at most 128 characters; empty is no token. Whether the
/// server issued it and it is still alive is `crate::sessions::gate`'s check.
pub fn token_from(raw: &str) -> Option<String> {
    Some(raw.chars().take(TOKEN_MAX_CHARS).collect::<String>()).filter(|s| !s.is_empty())
}

/// The key of the session that sent `headers` (`anonymous` without the header, which the session gate refuses
/// wherever a local store is reached).
pub fn request_key(headers: &HeaderMap) -> String {
    session_key(session_token(headers).as_deref())
}

/// The key of a runner session string (`""` is the anonymous session there).
pub fn runner_session_key(session: &str) -> String {
    session_key(Some(session).filter(|s| !s.is_empty()))
}

/// Whether `name` is in the reserved namespace (`slipway-local` itself included).
pub fn is_reserved(name: &str) -> bool {
    name == LOCAL_PREFIX || name.starts_with(&format!("{LOCAL_PREFIX}/"))
}

/// `Some(KEY)` for `slipway-local/KEY/NAME...`, `None` for names outside the namespace or without a NAME.
pub fn owner(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(LOCAL_PREFIX)?.strip_prefix('/')?;
    let (key, repository) = rest.split_once('/')?;
    (!key.is_empty() && !repository.is_empty()).then_some(key)
}

/// Let a request of session `key` at repository `name` through, or answer as if the repository did not exist.
pub fn check(name: &str, key: &str) -> Result<(), RegistryError> {
    if !is_reserved(name) || owner(name) == Some(key) {
        Ok(())
    } else {
        Err(RegistryError::NameUnknown(name.to_string()))
    }
}

/// The prefix of session `key`'s repositories: `slipway-local/KEY/`.
pub fn prefix(key: &str) -> String {
    format!("{LOCAL_PREFIX}/{key}/")
}

/// A stored path back in docker's familiar form: `library/python` → `python`, `learner1/app` stays,
/// `127.0.0.1-5000/x/y` → `127.0.0.1:5000/x/y` (the inverse of `slipway::image::local_store::registry_path`).
pub fn familiar(path: &str) -> String {
    if let Some(official) = path.strip_prefix("library/").filter(|p| !p.contains('/')) {
        return official.to_string();
    }
    let Some((first, rest)) = path.split_once('/') else {
        return path.to_string();
    };
    let is_host = first.contains('.') || first == "localhost" || first.starts_with("localhost-");
    if !is_host {
        return path.to_string();
    }
    let host = match first.rsplit_once('-') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{name}:{port}")
        }
        _ => first.to_string(),
    };
    format!("{host}/{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owning_session_reaches_its_repositories() {
        assert!(check("slipway-local/k1/learner1/app", "k1").is_ok());
        assert!(matches!(
            check("slipway-local/k1/learner1/app", "k2"),
            Err(RegistryError::NameUnknown(_))
        ));
        assert!(check("slipway-local/k1", "k1").is_err());
        assert!(check("slipway-local", "k1").is_err());
        assert!(check("learner1/app", "k2").is_ok());
        assert!(check("slipway-localx/app", "k2").is_ok());
    }

    #[test]
    fn stored_paths_read_back_in_familiar_form() {
        assert_eq!(familiar("library/python"), "python");
        assert_eq!(familiar("learner1/app"), "learner1/app");
        assert_eq!(
            familiar("127.0.0.1-5000/learner1/app"),
            "127.0.0.1:5000/learner1/app"
        );
        assert_eq!(familiar("localhost-5000/app"), "localhost:5000/app");
        assert_eq!(familiar("ghcr.io/a/b"), "ghcr.io/a/b");
        assert_eq!(familiar("my-registry.example/a"), "my-registry.example/a");
    }

    #[test]
    fn empty_or_missing_headers_are_anonymous() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_key(&headers), "anonymous");
        headers.insert(SESSION_HEADER, "".parse().unwrap());
        assert_eq!(request_key(&headers), "anonymous");
        headers.insert(SESSION_HEADER, "abc".parse().unwrap());
        assert_eq!(request_key(&headers), runner_session_key("abc"));
        assert_eq!(runner_session_key(""), "anonymous");
    }
}
