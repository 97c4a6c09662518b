//! Image references (`[registry/]repo[:tag][@digest]`), validated and normalized as the docker CLI does.
//!
//! Grammar from distribution/reference: a registry is the first path part when it contains `.` or `:`, is
//! `localhost`, or has an uppercase letter; otherwise it is Docker Hub (`docker.io`), and a one-part Hub
//! repository gets `library/`. `index.docker.io` means `docker.io`. Repository parts are lowercase
//! alphanumerics joined by `.`, `_`, `__` or dashes; tags are `[\w][\w.-]{0,127}`; the whole name is at
//! most 255 characters.

use std::fmt;
use std::str::FromStr;

use oci_spec::image::Digest;

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const NAME_MAX: usize = 255;
/// The tag assumed when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

/// Why a reference is invalid; messages follow the docker CLI's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format: empty reference")]
    Empty,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid reference format: repository name must not be more than 255 characters")]
    NameTooLong,
    #[error("invalid reference format: {0:?} is not a valid repository name")]
    BadName(String),
    #[error("invalid reference format: {0:?} is not a valid registry host")]
    BadRegistry(String),
    #[error("invalid tag format: {0:?}")]
    BadTag(String),
    #[error("invalid digest format: {0:?}")]
    BadDigest(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier(String),
}

/// A normalized image reference: registry, repository path, optional tag and digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalizes like `docker pull NAME`: `busybox` is `docker.io/library/busybox`.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(ReferenceError::HexIdentifier(s.to_owned()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest = Digest::from_str(d).map_err(|_| ReferenceError::BadDigest(d.to_owned()))?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(ReferenceError::BadTag(tag.to_owned()));
            }
        }
        let (registry, repository) = split_registry(name);
        if repository.to_lowercase() != repository {
            return Err(ReferenceError::Uppercase(repository));
        }
        if !valid_registry(&registry) {
            return Err(ReferenceError::BadRegistry(registry));
        }
        if !repository.split('/').all(valid_path_component) {
            return Err(ReferenceError::BadName(repository));
        }
        if registry.len() + 1 + repository.len() > NAME_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// `docker.io`, `localhost:5000`, ...
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The path inside the registry: `library/busybox`, `user/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The tag, or `latest` when the reference has neither tag nor digest (docker's `TagNameOnly`).
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        if !valid_tag(tag) {
            return Err(ReferenceError::BadTag(tag.to_owned()));
        }
        Ok(Reference {
            tag: Some(tag.to_owned()),
            digest: None,
            ..self.clone()
        })
    }

    /// What a registry API call names: the tag, else the digest, else `latest`.
    pub fn tag_or_digest(&self) -> String {
        match (&self.tag, &self.digest) {
            (_, Some(d)) => d.to_string(),
            (Some(t), None) => t.clone(),
            (None, None) => DEFAULT_TAG.to_owned(),
        }
    }

    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository as `docker images` shows it: Hub names lose `docker.io/` and `library/`.
    pub fn familiar_name(&self) -> String {
        if self.is_docker_hub() {
            self.repository
                .strip_prefix(OFFICIAL_PREFIX)
                .unwrap_or(&self.repository)
                .to_owned()
        } else {
            self.name()
        }
    }

    /// The familiar form with tag and digest: `busybox:latest`, `localhost:5000/app@sha256:...`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(digest.as_ref());
        }
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

fn split_registry(name: &str) -> (String, String) {
    let (registry, rest) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first =>
        {
            (first, rest)
        }
        _ => (DOCKER_HUB, name),
    };
    let registry = if registry == LEGACY_DOCKER_HUB {
        DOCKER_HUB
    } else {
        registry
    };
    let repository = if registry == DOCKER_HUB && !rest.contains('/') {
        format!("{OFFICIAL_PREFIX}{rest}")
    } else {
        rest.to_owned()
    };
    (registry.to_owned(), repository)
}

/// `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[sep..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok || i == b.len() {
            return false;
        }
    }
}

/// `host[:port]` where host is dot-separated `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` parts or `[ipv6]`.
fn valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("x", Some(port)),
                None => return false,
            },
        }
    } else {
        match r.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (r, None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    host.split('.').all(|part| {
        let b = part.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
    })
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("user/app:v1"), "docker.io/user/app:v1");
        assert_eq!(full("index.docker.io/busybox"), "docker.io/library/busybox");
        assert_eq!(full("docker.io/library/busybox"), "docker.io/library/busybox");
        assert_eq!(full("localhost/app"), "localhost/app");
        assert_eq!(full("localhost:5000/app:v2"), "localhost:5000/app:v2");
        assert_eq!(full("127.0.0.1:5000/a/b/c"), "127.0.0.1:5000/a/b/c");
        assert_eq!(full("[::1]:5000/app"), "[::1]:5000/app");
        assert_eq!(full("Example.com/app"), "Example.com/app");
        assert_eq!(full("localhost:5000"), "docker.io/library/localhost:5000");
        assert_eq!(full("a__b/c-d--e/f.g_h"), "docker.io/a__b/c-d--e/f.g_h");
        let r = Reference::parse(
            "ghcr.io/o/r:t@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        )
        .unwrap();
        assert_eq!(r.registry(), "ghcr.io");
        assert_eq!(r.repository(), "o/r");
        assert_eq!(r.tag(), Some("t"));
        assert!(r.digest().is_some());
        assert!(r.tag_or_digest().starts_with("sha256:"));
    }

    #[test]
    fn familiar_forms() {
        assert_eq!(
            Reference::parse("busybox").unwrap().with_default_tag().familiar(),
            "busybox:latest"
        );
        assert_eq!(
            Reference::parse("docker.io/user/app:v1").unwrap().familiar(),
            "user/app:v1"
        );
        assert_eq!(
            Reference::parse("localhost:5000/app").unwrap().familiar_name(),
            "localhost:5000/app"
        );
    }

    #[test]
    fn rejects_invalid() {
        use ReferenceError::*;
        let err = |s: &str| Reference::parse(s).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(err("Busybox"), Uppercase("library/Busybox".into()));
        assert_eq!(err("user/App"), Uppercase("user/App".into()));
        assert!(matches!(err("busybox:"), BadTag(_)));
        assert!(matches!(err("busybox:-x"), BadTag(_)));
        assert!(matches!(err(&format!("busybox:{}", "a".repeat(129))), BadTag(_)));
        assert!(matches!(err("busybox@sha256:abc"), BadDigest(_)));
        assert!(matches!(err("a//b"), BadName(_)));
        assert!(matches!(err("a/b-"), BadName(_)));
        assert!(matches!(err("a/.b"), BadName(_)));
        assert!(matches!(err("a/b..c"), BadName(_)));
        assert!(matches!(err("-bad.host/app"), BadRegistry(_)));
        assert!(matches!(err("host:port/app"), BadRegistry(_)));
        assert!(matches!(
            err("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            HexIdentifier(_)
        ));
        assert_eq!(err(&format!("x.io/{}", "a".repeat(251))), NameTooLong);
        assert!(matches!(err("x.io/a:b:c"), BadName(_)));
    }
}
