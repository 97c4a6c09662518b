//! Image references parsed and normalized exactly as Docker does: `ubuntu` is `docker.io/library/ubuntu:latest`,
//! a first component with a `.` or `:` (or `localhost`) is a registry host, and a digest may follow `@`.

use std::fmt;

/// Docker Hub's name in references, and the host its API answers on.
pub const DOCKER_HUB: &str = "docker.io";
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: {0:?} is empty")]
    Empty(String),
    #[error("invalid reference format: repository name {0:?} must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: {0:?} is not a valid repository name")]
    Name(String),
    #[error("invalid reference format: {0:?} is not a valid tag")]
    Tag(String),
    #[error("invalid reference format: {0:?} is not a valid digest (algorithm:hex)")]
    Digest(String),
}

/// A fully qualified reference: registry host, repository path, and a tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

fn component_is_valid(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let run = &component[start..i];
        if !(run == "." || run == "_" || run == "__" || run.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

fn tag_is_valid(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..].iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

fn digest_is_valid(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let hex_ok = |len: usize| {
        hex.len() == len
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match algorithm {
        "sha256" => hex_ok(64),
        "sha512" => hex_ok(128),
        _ => false,
    }
}

impl Reference {
    /// Parse like `docker pull NAME[:TAG][@DIGEST]`; a reference with neither tag nor digest gets `latest`.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        if text.is_empty() {
            return Err(ReferenceError::Empty(text.to_string()));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                if !digest_is_valid(digest) {
                    return Err(ReferenceError::Digest(digest.to_string()));
                }
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to a host:port.
        let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match rest[last_slash..].find(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !tag_is_valid(tag) {
                    return Err(ReferenceError::Tag(tag.to_string()));
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        let (registry, repository) = split_registry(name);
        if repository.is_empty() {
            return Err(ReferenceError::Empty(text.to_string()));
        }
        if repository.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(repository));
        }
        if !repository.split('/').all(component_is_valid) {
            return Err(ReferenceError::Name(repository));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What goes after `/manifests/`: the digest when there is one, else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// The base URL of the registry's API: Docker Hub's API host, plain HTTP for loopback hosts (as Docker
    /// treats them as insecure registries), HTTPS otherwise.
    pub fn api_base(&self) -> String {
        if self.registry == DOCKER_HUB {
            return format!("https://{DOCKER_HUB_API}");
        }
        let host = self
            .registry
            .rsplit_once(':')
            .map_or(self.registry.as_str(), |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    self.registry.as_str()
                }
            });
        let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
        let scheme = if loopback { "http" } else { "https" };
        format!("{scheme}://{}", self.registry)
    }

    /// The short form Docker prints: `ubuntu:latest`, `user/app:v1`, `localhost:5000/app:v1`.
    pub fn familiar(&self) -> String {
        let name = if self.registry == DOCKER_HUB {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        self.with_suffix(name)
    }

    fn with_suffix(&self, mut name: String) -> String {
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.with_suffix(format!("{}/{}", self.registry, self.repository)))
    }
}

/// Docker's `splitDockerDomain`.
fn split_registry(name: &str) -> (String, String) {
    let (registry, remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    let registry = if registry == "index.docker.io" {
        DOCKER_HUB.to_string()
    } else {
        registry
    };
    let remainder = if registry == DOCKER_HUB && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder
    };
    (registry, remainder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> String {
        Reference::parse(text).unwrap().to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(full("ubuntu"), "docker.io/library/ubuntu:latest");
        assert_eq!(full("python:3.12"), "docker.io/library/python:3.12");
        assert_eq!(
            full("keerthanav123/python-sample-app:v1"),
            "docker.io/keerthanav123/python-sample-app:v1"
        );
        assert_eq!(
            full("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/a/b:v2"), "localhost:5000/a/b:v2");
        assert_eq!(full("ghcr.io/owner/tool:1.0"), "ghcr.io/owner/tool:1.0");
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = Reference::parse(&format!("quay.io/x/y@{digest}")).unwrap();
        assert_eq!(pinned.tag, None);
        assert_eq!(pinned.manifest_reference(), digest);
        let both = Reference::parse(&format!("ubuntu:22.04@{digest}")).unwrap();
        assert_eq!(both.tag.as_deref(), Some("22.04"));
        assert_eq!(both.manifest_reference(), digest);
    }

    #[test]
    fn familiar_names_and_api_hosts() {
        let hub = Reference::parse("ubuntu").unwrap();
        assert_eq!(hub.familiar(), "ubuntu:latest");
        assert_eq!(hub.api_base(), "https://registry-1.docker.io");
        let user = Reference::parse("user/app:v1").unwrap();
        assert_eq!(user.familiar(), "user/app:v1");
        let local = Reference::parse("127.0.0.1:8080/user/app:v1").unwrap();
        assert_eq!(local.familiar(), "127.0.0.1:8080/user/app:v1");
        assert_eq!(local.api_base(), "http://127.0.0.1:8080");
        assert_eq!(
            Reference::parse("localhost:5000/a").unwrap().api_base(),
            "http://localhost:5000"
        );
        assert_eq!(
            Reference::parse("ghcr.io/a/b").unwrap().api_base(),
            "https://ghcr.io"
        );
    }

    #[test]
    fn rejects_what_docker_rejects() {
        assert!(matches!(
            Reference::parse("Ubuntu"),
            Err(ReferenceError::Uppercase(_))
        ));
        assert!(matches!(
            Reference::parse("user/App"),
            Err(ReferenceError::Uppercase(_))
        ));
        assert!(Reference::parse("").is_err());
        assert!(Reference::parse("a:b:c").is_err());
        assert!(Reference::parse("ubuntu:").is_err());
        assert!(Reference::parse("ubuntu@sha256:abc").is_err());
        assert!(Reference::parse("a//b").is_err());
        assert!(Reference::parse("-a").is_err());
        assert!(Reference::parse("ghcr.io/").is_err());
    }
}
