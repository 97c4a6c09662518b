//! The credentials `docker login` stores, per registry host, in the shape of Docker's `config.json`
//! (`{"auths": {"HOST": {"auth": base64("user:password")}}}`). Where it is kept is the caller's choice: a file
//! natively, memory and `sessionStorage` in the page.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::registry::Credentials;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct AuthEntry {
    auth: String,
}

/// Logins by registry host (`127.0.0.1:8080`, `quay.io`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialStore {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Debug, thiserror::Error)]
#[error("unreadable credentials store: {0}")]
pub struct CredentialsError(#[from] serde_json::Error);

impl CredentialStore {
    /// Read a stored `config.json`-shaped text; an empty text is an empty store.
    pub fn from_json(text: &str) -> Result<Self, CredentialsError> {
        if text.trim().is_empty() {
            return Ok(CredentialStore::default());
        }
        Ok(serde_json::from_str(text)?)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a map of strings serializes")
    }

    pub fn get(&self, host: &str) -> Option<Credentials> {
        let entry = self.auths.get(host)?;
        let pair = String::from_utf8(STANDARD.decode(&entry.auth).ok()?).ok()?;
        let (username, password) = pair.split_once(':')?;
        Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    pub fn set(&mut self, host: &str, credentials: &Credentials) {
        let pair = format!("{}:{}", credentials.username, credentials.password);
        self.auths.insert(
            host.to_string(),
            AuthEntry {
                auth: STANDARD.encode(pair),
            },
        );
    }

    /// Forget a login; `true` when there was one.
    pub fn remove(&mut self, host: &str) -> bool {
        self.auths.remove(host).is_some()
    }

    /// The hosts with a stored login.
    pub fn hosts(&self) -> impl Iterator<Item = &str> {
        self.auths.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_dockers_shape() {
        let mut store = CredentialStore::default();
        let credentials = Credentials {
            username: "learner1".into(),
            password: "p:w".into(),
        };
        store.set("127.0.0.1:8080", &credentials);
        let json = store.to_json();
        assert!(json.contains("\"auths\""), "{json}");
        assert!(json.contains("\"auth\": \"bGVhcm5lcjE6cDp3\""), "{json}");
        let back = CredentialStore::from_json(&json).unwrap();
        assert_eq!(back.get("127.0.0.1:8080"), Some(credentials));
        assert_eq!(back.hosts().collect::<Vec<_>>(), ["127.0.0.1:8080"]);
        let mut back = back;
        assert!(back.remove("127.0.0.1:8080"));
        assert!(!back.remove("127.0.0.1:8080"));
        assert_eq!(
            CredentialStore::from_json("").unwrap(),
            CredentialStore::default()
        );
    }
}
