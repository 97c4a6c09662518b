//! What the registry's files weigh, read straight from the layout under a storage root (see `storage.rs` and
//! `repository.rs`): plain functions of the root, so the quota checks can run them on a blocking thread.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;

use super::names::RepoName;

/// Where the store at `root` keeps blob `digest`.
pub fn blob_path_in(root: &Path, digest: &Digest) -> PathBuf {
    let hex = digest.digest();
    root.join("blobs")
        .join(digest.algorithm().as_ref())
        .join(&hex[..2])
        .join(hex)
}

/// The size of blob `digest` in the store at `root`, or `None` when it does not hold it.
pub fn blob_size_in(root: &Path, digest: &Digest) -> Option<u64> {
    std::fs::metadata(blob_path_in(root, digest))
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

pub(super) fn repo_dir_in(root: &Path, name: &str) -> PathBuf {
    root.join("repos").join(name).join("_repo")
}

pub(super) fn catalog_under_in(root: &Path, prefix: &str) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    let prefix = prefix.trim_end_matches('/');
    collect_repos(&root.join("repos").join(prefix), prefix, &mut names)?;
    names.sort();
    Ok(names)
}

pub(super) fn repo_digests_in(root: &Path, name: &str) -> std::io::Result<(Vec<Digest>, Vec<Digest>)> {
    let dir = repo_dir_in(root, name);
    Ok((
        list_digests(&dir.join("manifests"))?,
        list_digests(&dir.join("layers"))?,
    ))
}

/// `Store::namespace_usage` of the store at `root`: a namespace is a path prefix (`learner1`,
/// `slipway-local/KEY`), so only its own directory is walked.
pub(super) fn namespace_usage_in(root: &Path, namespace: &str) -> std::io::Result<(u64, BTreeSet<String>)> {
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for name in catalog_under_in(root, namespace)? {
        let Ok(repo) = RepoName::parse(&name) else {
            continue;
        };
        if repo.namespace() != namespace {
            continue;
        }
        let (manifests, layers) = repo_digests_in(root, &name)?;
        for digest in manifests.into_iter().chain(layers) {
            if seen.insert(digest.to_string()) {
                total += blob_size_in(root, &digest).unwrap_or(0);
            }
        }
    }
    Ok((total, seen))
}

/// What `namespace` holds on disk in the store at `root`: its blobs and manifests
/// (`Store::namespace_usage`) and the bytes its upload sessions in progress have received. Blocking.
/// Also returns the digests of its blobs and manifests.
pub fn bytes_in_use(root: &Path, namespace: &str) -> std::io::Result<(u64, BTreeSet<String>)> {
    let (mut total, held) = namespace_usage_in(root, namespace)?;
    let uploads = root.join("uploads");
    for id in list_names(&uploads)? {
        let Ok(owner) = std::fs::read_to_string(uploads.join(&id).join("repo")) else {
            continue;
        };
        if RepoName::parse(&owner).is_ok_and(|repo| repo.namespace() == namespace) {
            total += std::fs::metadata(uploads.join(&id).join("data")).map_or(0, |m| m.len());
        }
    }
    Ok((total, held))
}

pub(super) fn list_names(dir: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// `<dir>/<alg>/<hex>` files as digests.
pub(super) fn list_digests(dir: &Path) -> std::io::Result<Vec<Digest>> {
    let mut digests = Vec::new();
    for algorithm in list_names(dir)? {
        for hex in list_names(&dir.join(&algorithm))? {
            if let Ok(digest) = format!("{algorithm}:{hex}").parse() {
                digests.push(digest);
            }
        }
    }
    Ok(digests)
}

pub(super) fn collect_repos(dir: &Path, prefix: &str, names: &mut Vec<String>) -> std::io::Result<()> {
    for child in list_names(dir)? {
        if child == "_repo" {
            if !prefix.is_empty() {
                names.push(prefix.to_string());
            }
            continue;
        }
        let path = dir.join(&child);
        if path.is_dir() {
            let name = if prefix.is_empty() {
                child
            } else {
                format!("{prefix}/{child}")
            };
            collect_repos(&path, &name, names)?;
        }
    }
    Ok(())
}

/// Who a quota refusal names: the namespace, or "this session's image store" for `slipway-local/KEY` (the
/// learner never typed that key).
pub fn quota_owner(namespace: &str) -> String {
    match super::local::is_reserved(namespace) {
        true => "this session's image store".to_string(),
        false => format!("namespace {namespace:?}"),
    }
}
