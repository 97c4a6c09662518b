//! Repository names, tags and the `/v2/<name>/...` paths that carry them, as the distribution spec defines them.

use oci_spec::image::Digest;

use super::error::RegistryError;

/// A repository name that matches the spec's `<name>` grammar: slash-separated lowercase components.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(name: &str) -> Result<Self, RegistryError> {
        let valid = !name.is_empty() && name.len() <= 255 && name.split('/').all(component_is_valid);
        if valid {
            Ok(RepoName(name.to_string()))
        } else {
            Err(RegistryError::NameInvalid(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first path component: `learner1` in `learner1/app`. Quotas and push rules apply per namespace.
    /// A session's local store `slipway-local/KEY/...` is a namespace of its own: `slipway-local/KEY`.
    pub fn namespace(&self) -> &str {
        let first = self.0.split('/').next().unwrap_or(&self.0);
        match super::local::owner(&self.0) {
            Some(key) => &self.0[..first.len() + 1 + key.len()],
            None => first,
        }
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
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
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        let first = bytes[i];
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let run = &bytes[start..i];
        let ok = match first {
            b'.' => run == b".",
            b'_' => run == b"_" || run == b"__",
            b'-' => run.iter().all(|&b| b == b'-'),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn tag_is_valid(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let first_ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    !bytes.is_empty()
        && bytes.len() <= 128
        && first_ok(bytes[0])
        && bytes[1..].iter().all(|&b| first_ok(b) || b == b'.' || b == b'-')
}

/// A manifest is addressed by tag or by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    pub fn parse(reference: &str) -> Result<Self, RegistryError> {
        if reference.contains(':') {
            parse_digest(reference).map(Reference::Digest)
        } else if tag_is_valid(reference) {
            Ok(Reference::Tag(reference.to_string()))
        } else {
            Err(RegistryError::TagInvalid(reference.to_string()))
        }
    }
}

/// A digest the registry can compute: sha256 or sha512, lowercase hex of the right length.
pub fn parse_digest(text: &str) -> Result<Digest, RegistryError> {
    let digest: Digest = text
        .parse()
        .map_err(|_| RegistryError::DigestInvalid(format!("{text:?} is not a valid digest")))?;
    super::digest::Algorithm::of(&digest)?;
    Ok(digest)
}

/// What a path under `/v2/` asks for, once the repository name (which may contain `/`) is split off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Catalog,
    Blob { name: String, digest: String },
    UploadStart { name: String },
    Upload { name: String, id: String },
    Manifest { name: String, reference: String },
    TagsList { name: String },
    Referrers { name: String, digest: String },
}

impl Route {
    /// The repository the route names; `None` for the catalog.
    pub fn repository(&self) -> Option<&str> {
        match self {
            Route::Catalog => None,
            Route::Blob { name, .. }
            | Route::UploadStart { name }
            | Route::Upload { name, .. }
            | Route::Manifest { name, .. }
            | Route::TagsList { name }
            | Route::Referrers { name, .. } => Some(name),
        }
    }

    /// Parse the part of the path after `/v2/`; `None` for paths the spec does not define.
    pub fn parse(rest: &str) -> Option<Route> {
        if rest == "_catalog" {
            return Some(Route::Catalog);
        }
        let segments: Vec<&str> = rest.split('/').collect();
        let n = segments.len();
        let name_before =
            |count: usize| -> Option<String> { (n > count).then(|| segments[..n - count].join("/")) };
        let tail = |k: usize| segments.get(n.wrapping_sub(k)).copied();
        if n >= 3 && tail(3) == Some("blobs") && tail(2) == Some("uploads") {
            let name = name_before(3)?;
            let id = tail(1)?;
            return Some(if id.is_empty() {
                Route::UploadStart { name }
            } else {
                Route::Upload {
                    name,
                    id: id.to_string(),
                }
            });
        }
        if n >= 2 && tail(2) == Some("blobs") && tail(1) == Some("uploads") {
            return Some(Route::UploadStart {
                name: name_before(2)?,
            });
        }
        if n >= 2 && tail(2) == Some("tags") && tail(1) == Some("list") {
            return Some(Route::TagsList {
                name: name_before(2)?,
            });
        }
        let last = tail(1)?.to_string();
        match tail(2)? {
            "blobs" => Some(Route::Blob {
                name: name_before(2)?,
                digest: last,
            }),
            "manifests" => Some(Route::Manifest {
                name: name_before(2)?,
                reference: last,
            }),
            "referrers" => Some(Route::Referrers {
                name: name_before(2)?,
                digest: last,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_the_spec_grammar() {
        for good in [
            "a",
            "library/ubuntu",
            "a.b/c_d/e__f",
            "x--y/z-9",
            "keerthanav123/python-sample-app",
        ] {
            assert!(RepoName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "", "A", "a/", "/a", "a//b", "a..b", "a___b", "-a", "a-", "a/_b", "a:b",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RepoName::parse("learner1/app/web").unwrap().namespace(),
            "learner1"
        );
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        assert!(tag_is_valid("v1"));
        assert!(tag_is_valid("_x.Y-1"));
        assert!(!tag_is_valid(".x"));
        assert!(!tag_is_valid(&"a".repeat(129)));
        assert!(tag_is_valid(&"a".repeat(128)));
    }

    #[test]
    fn paths_split_names_with_slashes() {
        assert_eq!(Route::parse("_catalog"), Some(Route::Catalog));
        assert_eq!(
            Route::parse("a/b/blobs/uploads/"),
            Some(Route::UploadStart { name: "a/b".into() })
        );
        assert_eq!(
            Route::parse("a/blobs/uploads"),
            Some(Route::UploadStart { name: "a".into() })
        );
        assert_eq!(
            Route::parse("a/b/blobs/uploads/123"),
            Some(Route::Upload {
                name: "a/b".into(),
                id: "123".into()
            })
        );
        assert_eq!(
            Route::parse("blobs/blobs/sha256:x"),
            Some(Route::Blob {
                name: "blobs".into(),
                digest: "sha256:x".into()
            })
        );
        assert_eq!(
            Route::parse("x/manifests/manifests/v1"),
            Some(Route::Manifest {
                name: "x/manifests".into(),
                reference: "v1".into()
            })
        );
        assert_eq!(
            Route::parse("x/tags/list"),
            Some(Route::TagsList { name: "x".into() })
        );
        assert_eq!(
            Route::parse("x/referrers/sha256:y"),
            Some(Route::Referrers {
                name: "x".into(),
                digest: "sha256:y".into()
            })
        );
        assert_eq!(Route::parse("manifests/v1"), None);
        assert_eq!(Route::parse("x/other/v1"), None);
    }
}
