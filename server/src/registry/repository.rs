//! Per-repository state on disk: which blobs a repository may serve, its manifests (stored as blobs, linked with
//! their media type), tags, referrers, the catalog of repositories and namespace usage.
//!
//! Layout under `repos/<name>/_repo/` (`_` cannot start a name component, so it never clashes with a name):
//! `layers/<alg>/<hex>` (empty link), `manifests/<alg>/<hex>` (the media type), `tags/<tag>` (a digest),
//! `referrers/<alg>/<hex>/<alg>-<hex>` (a descriptor of a manifest whose subject is `<alg>:<hex>`).
//! Every file is written with `write_atomic`, so a crash leaves each link either old or new, never torn.

use std::collections::BTreeSet;
use std::path::PathBuf;

use oci_spec::image::Digest;

use super::error::RegistryError;
use super::names::RepoName;
use super::storage::Store;
use super::usage::{self, collect_repos, list_names};

/// A manifest as a repository knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

impl Store {
    pub(super) fn repo_dir(&self, repo: &RepoName) -> PathBuf {
        usage::repo_dir_in(self.root(), repo.as_str())
    }

    fn digest_path(base: PathBuf, digest: &Digest) -> PathBuf {
        base.join(digest.algorithm().as_ref()).join(digest.digest())
    }

    pub fn repo_exists(&self, repo: &RepoName) -> bool {
        self.repo_dir(repo).is_dir()
    }

    /// Let `repo` serve a committed blob.
    pub fn link_blob(&self, repo: &RepoName, digest: &Digest) -> std::io::Result<()> {
        let link = Self::digest_path(self.repo_dir(repo).join("layers"), digest);
        self.note_link(digest);
        if link.exists() {
            return Ok(());
        }
        self.write_atomic(&link, b"")
    }

    /// The size of a blob `repo` may serve, or `None`.
    pub fn repo_blob_size(&self, repo: &RepoName, digest: &Digest) -> Option<u64> {
        let link = Self::digest_path(self.repo_dir(repo).join("layers"), digest);
        let manifest = Self::digest_path(self.repo_dir(repo).join("manifests"), digest);
        if link.exists() || manifest.exists() {
            self.blob_size(digest)
        } else {
            None
        }
    }

    pub fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> Result<(), RegistryError> {
        let link = Self::digest_path(self.repo_dir(repo).join("layers"), digest);
        match std::fs::remove_file(&link) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RegistryError::BlobUnknown(digest.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Store a verified manifest: its bytes as a blob, then the link with its media type, then the referrer
    /// entry, then the tag. Each step is atomic; the order means a tag never names a missing manifest.
    pub fn put_manifest(
        &self,
        repo: &RepoName,
        entry: &ManifestEntry,
        bytes: &[u8],
        tag: Option<&str>,
        referrer: Option<(&Digest, &serde_json::Value)>,
    ) -> Result<(), RegistryError> {
        self.check_quota(repo, &entry.digest, entry.size)?;
        let _linking = self.linking();
        self.note_link(&entry.digest);
        self.put_small_blob(&entry.digest, bytes)?;
        let dir = self.repo_dir(repo);
        let link = Self::digest_path(dir.join("manifests"), &entry.digest);
        self.write_atomic(&link, entry.media_type.as_bytes())?;
        if let Some((subject, descriptor)) = referrer {
            let path = self.referrer_path(repo, subject, &entry.digest);
            self.write_atomic(&path, descriptor.to_string().as_bytes())?;
        }
        if let Some(tag) = tag {
            self.write_atomic(&dir.join("tags").join(tag), entry.digest.to_string().as_bytes())?;
        }
        Ok(())
    }

    fn referrer_path(&self, repo: &RepoName, subject: &Digest, referrer: &Digest) -> PathBuf {
        let name = format!("{}-{}", referrer.algorithm(), referrer.digest());
        Self::digest_path(self.repo_dir(repo).join("referrers"), subject).join(name)
    }

    pub fn manifest(&self, repo: &RepoName, digest: &Digest) -> Option<ManifestEntry> {
        let link = Self::digest_path(self.repo_dir(repo).join("manifests"), digest);
        let media_type = std::fs::read_to_string(link).ok()?;
        let size = self.blob_size(digest)?;
        Some(ManifestEntry {
            digest: digest.clone(),
            media_type,
            size,
        })
    }

    pub fn resolve_tag(&self, repo: &RepoName, tag: &str) -> Option<Digest> {
        let text = std::fs::read_to_string(self.repo_dir(repo).join("tags").join(tag)).ok()?;
        text.trim().parse().ok()
    }

    pub fn delete_tag(&self, repo: &RepoName, tag: &str) -> Result<(), RegistryError> {
        match std::fs::remove_file(self.repo_dir(repo).join("tags").join(tag)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RegistryError::ManifestUnknown(format!("tag {tag}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Delete a manifest by digest, with the tags that point at it and its referrer entry.
    pub fn delete_manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
        subject: Option<&Digest>,
    ) -> Result<(), RegistryError> {
        for tag in self.tags(repo).unwrap_or_default() {
            if self.resolve_tag(repo, &tag).as_ref() == Some(digest) {
                self.delete_tag(repo, &tag)?;
            }
        }
        if let Some(subject) = subject {
            let _ = std::fs::remove_file(self.referrer_path(repo, subject, digest));
        }
        let link = Self::digest_path(self.repo_dir(repo).join("manifests"), digest);
        match std::fs::remove_file(link) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RegistryError::ManifestUnknown(digest.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The repository's tags, sorted.
    pub fn tags(&self, repo: &RepoName) -> Result<Vec<String>, RegistryError> {
        if !self.repo_exists(repo) {
            return Err(RegistryError::NameUnknown(repo.to_string()));
        }
        let mut tags = list_names(&self.repo_dir(repo).join("tags"))?;
        tags.sort();
        Ok(tags)
    }

    /// Descriptors of the manifests whose subject is `subject`.
    pub fn referrers(&self, repo: &RepoName, subject: &Digest) -> std::io::Result<Vec<serde_json::Value>> {
        let dir = Self::digest_path(self.repo_dir(repo).join("referrers"), subject);
        let mut descriptors = Vec::new();
        for name in list_names(&dir)? {
            let text = std::fs::read_to_string(dir.join(name))?;
            if let Ok(value) = serde_json::from_str(&text) {
                descriptors.push(value);
            }
        }
        Ok(descriptors)
    }

    /// Every repository name, sorted.
    pub fn catalog(&self) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        collect_repos(&self.root().join("repos"), "", &mut names)?;
        names.sort();
        Ok(names)
    }

    /// Every repository outside the reserved `slipway-local/` namespace, sorted. Sessions' stores are not
    /// walked at all: there may be many, and none of them is anyone else's business.
    pub fn shared_catalog(&self) -> std::io::Result<Vec<String>> {
        let root = self.root().join("repos");
        let mut names = Vec::new();
        for child in list_names(&root)? {
            let path = root.join(&child);
            if !super::local::is_reserved(&child) && path.is_dir() {
                collect_repos(&path, &child, &mut names)?;
            }
        }
        names.sort();
        Ok(names)
    }

    /// The repositories whose names start with `prefix/` (one directory walk, not the whole catalog), sorted.
    pub fn catalog_under(&self, prefix: &str) -> std::io::Result<Vec<String>> {
        usage::catalog_under_in(self.root(), prefix)
    }

    /// Every manifest digest and every linked blob digest of a repository (for usage and garbage collection).
    pub fn repo_digests(&self, repo: &RepoName) -> std::io::Result<(Vec<Digest>, Vec<Digest>)> {
        usage::repo_digests_in(self.root(), repo.as_str())
    }

    /// Bytes used by the namespace: each distinct blob and manifest linked in its repositories, once (a blob
    /// stored for another namespace too still counts here: a quota is what the namespace's images weigh).
    pub fn namespace_usage(&self, namespace: &str) -> std::io::Result<(u64, BTreeSet<String>)> {
        usage::namespace_usage_in(self.root(), namespace)
    }

    /// Refuse to add `size` bytes under `digest` to `repo`'s namespace past its quota.
    pub fn check_quota(&self, repo: &RepoName, digest: &Digest, size: u64) -> Result<(), RegistryError> {
        let Some(quota) = self.quota_for(repo) else {
            return Ok(());
        };
        let (used, seen) = self.namespace_usage(repo.namespace())?;
        if seen.contains(&digest.to_string()) {
            return Ok(());
        }
        if used + size > quota {
            return Err(RegistryError::QuotaExceeded {
                namespace: usage::quota_owner(repo.namespace()),
                needed: used + size,
                quota,
            });
        }
        Ok(())
    }
}
