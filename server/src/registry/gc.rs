//! Garbage collection (`slipway gc`): mark every blob a manifest of any repository references, sweep the rest.
//!
//! Blobs younger than the grace period are kept, so a push in flight (layers first, manifest last) is not robbed
//! of its layers; stale upload sessions are removed too (also by `slipway serve`'s collector, `crate::collector`).
//!
//! While the server runs, its collector uses the same mark and sweep more carefully ([`collect_unlinked`]): it
//! also keeps every blob a repository merely links (a layer pushed or made by a RUN step for a manifest not
//! pushed yet), and it never deletes a blob in the pass that finds it unmarked: the blob is moved out of the
//! store into `gc/` and deleted by the next pass only if still nobody links it, else moved back. A request
//! that linked an existing blob (a second upload of the same layer) at the very moment it was moved out thus
//! gets it back within one collector interval instead of a dangling link. Expired sessions' local stores go
//! first ([`remove_local_stores`]), so the blobs only they linked follow.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::image::Digest;

use super::error::RegistryError;
use super::local;
use super::manifest;
use super::names::RepoName;
use super::storage::Store;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    pub blobs_kept: u64,
    pub blobs_removed: u64,
    pub bytes_freed: u64,
    pub uploads_removed: u64,
}

#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Unreferenced blobs younger than this many seconds are kept.
    pub grace_secs: u64,
    /// Upload sessions untouched for this many seconds are removed.
    pub upload_max_age_secs: u64,
    pub dry_run: bool,
}

/// Every digest that a manifest in some repository references, manifests included.
fn mark(store: &Store) -> Result<HashSet<String>, RegistryError> {
    let mut marked = HashSet::new();
    for name in store.catalog()? {
        let Ok(repo) = RepoName::parse(&name) else {
            continue;
        };
        let (manifests, _) = store.repo_digests(&repo)?;
        for digest in manifests {
            let Some(entry) = store.manifest(&repo, &digest) else {
                continue;
            };
            marked.insert(digest.to_string());
            let bytes = std::fs::read(store.blob_path(&digest))?;
            if let Ok(checked) = manifest::check(Some(&entry.media_type), &bytes) {
                for referenced in checked.blobs.iter().chain(&checked.manifests) {
                    marked.insert(referenced.to_string());
                }
            }
        }
    }
    Ok(marked)
}

/// Every digest some repository links (layers and manifests) or a linked manifest references: what the
/// server's collector keeps. Tolerates repositories and blobs vanishing while it walks.
fn mark_linked(store: &Store) -> Result<HashSet<String>, RegistryError> {
    let mut marked = HashSet::new();
    for name in store.catalog()? {
        let Ok(repo) = RepoName::parse(&name) else {
            continue;
        };
        let (manifests, layers) = match store.repo_digests(&repo) {
            Ok(found) => found,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        marked.extend(layers.iter().map(ToString::to_string));
        for digest in manifests {
            marked.insert(digest.to_string());
            let Some(entry) = store.manifest(&repo, &digest) else {
                continue;
            };
            let Ok(bytes) = std::fs::read(store.blob_path(&digest)) else {
                continue;
            };
            if let Ok(checked) = manifest::check(Some(&entry.media_type), &bytes) {
                for referenced in checked.blobs.iter().chain(&checked.manifests) {
                    marked.insert(referenced.to_string());
                }
            }
        }
    }
    Ok(marked)
}

/// `blobs/<alg>/<xx>/<hex>` files with their digests, sizes and ages.
fn all_blobs(root: &Path) -> std::io::Result<Vec<(Digest, u64, u64)>> {
    let mut blobs = Vec::new();
    for algorithm in std::fs::read_dir(root.join("blobs"))? {
        let algorithm = algorithm?;
        for prefix in std::fs::read_dir(algorithm.path())? {
            for file in std::fs::read_dir(prefix?.path())? {
                let file = file?;
                let name = format!(
                    "{}:{}",
                    algorithm.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                );
                let Ok(digest) = name.parse::<Digest>() else {
                    continue;
                };
                let meta = file.metadata()?;
                let age = meta.modified()?.elapsed().map(|d| d.as_secs()).unwrap_or(0);
                blobs.push((digest, meta.len(), age));
            }
        }
    }
    Ok(blobs)
}

pub fn collect(store: &Store, options: &GcOptions) -> Result<GcReport, RegistryError> {
    let marked = mark(store)?;
    let mut report = GcReport::default();
    let mut removed = HashSet::new();
    for (digest, size, age) in all_blobs(store.root())? {
        if marked.contains(&digest.to_string()) || age < options.grace_secs {
            report.blobs_kept += 1;
            continue;
        }
        if !options.dry_run {
            std::fs::remove_file(store.blob_path(&digest))?;
        }
        removed.insert(digest.to_string());
        report.blobs_removed += 1;
        report.bytes_freed += size;
    }
    if !options.dry_run {
        for name in store.catalog()? {
            let Ok(repo) = RepoName::parse(&name) else {
                continue;
            };
            let (_, layers) = store.repo_digests(&repo)?;
            for digest in layers {
                if removed.contains(&digest.to_string()) {
                    store.unlink_blob(&repo, &digest)?;
                }
            }
        }
    }
    report.uploads_removed = if options.dry_run {
        store
            .upload_sessions()?
            .iter()
            .filter(|(_, age)| *age >= options.upload_max_age_secs)
            .count() as u64
    } else {
        collect_stale_uploads(store, options.upload_max_age_secs)?.sessions
    };
    Ok(report)
}

/// What [`collect_unlinked`] did in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobsFreed {
    /// Blobs nobody links, older than the grace, taken out of the store this pass.
    pub blobs: u64,
    pub bytes: u64,
    /// Blobs taken out by the previous pass that a repository linked meanwhile, put back.
    pub restored: u64,
}

/// Where blobs wait between the pass that takes them out of the store and the next one.
fn quarantine(store: &Store) -> PathBuf {
    store.root().join("gc")
}

/// The server's blob sweep: first settle what the previous pass took out (deleted, or put back if a repository
/// links it now), then take out the blobs no repository links that are older than `grace_secs`. Blocking.
pub fn collect_unlinked(store: &Store, grace_secs: u64) -> Result<BlobsFreed, RegistryError> {
    let mut freed = BlobsFreed::default();
    let held = quarantine(store);
    std::fs::create_dir_all(&held)?;
    // A link made while the mark walks the repositories is noted; the moves wait for links in progress (a push
    // that saw a blob links it before they start) and spare whatever was noted.
    store.note_links_from_now();
    let marked = mark_linked(store);
    let _sweeping = store.sweeping();
    // Noting stops whether or not the mark worked.
    let noted = store.links_noted();
    let mut marked = marked?;
    marked.extend(noted);
    for entry in std::fs::read_dir(&held)? {
        let path = entry?.path();
        let digest = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.replacen('-', ":", 1).parse::<Digest>().ok());
        match digest {
            Some(digest) if marked.contains(&digest.to_string()) && store.blob_size(&digest).is_none() => {
                let home = store.blob_path(&digest);
                if let Some(parent) = home.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::rename(&path, home)?;
                freed.restored += 1;
            }
            _ if path.is_dir() => std::fs::remove_dir_all(&path)?,
            _ => std::fs::remove_file(&path)?,
        }
    }
    for (digest, size, age) in all_blobs(store.root())? {
        if marked.contains(&digest.to_string()) || age < grace_secs {
            continue;
        }
        let name = format!("{}-{}", digest.algorithm(), digest.digest());
        match std::fs::rename(store.blob_path(&digest), held.join(name)) {
            Ok(()) => {
                freed.blobs += 1;
                freed.bytes += size;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(freed)
}

/// The keys of the local stores on disk (`repos/slipway-local/KEY/...` holding a repository).
pub fn local_store_keys(store: &Store) -> std::io::Result<Vec<String>> {
    let names = store.catalog_under(slipway::image::local_store::LOCAL_PREFIX)?;
    let mut keys: Vec<String> = names
        .iter()
        .filter_map(|name| local::owner(name))
        .map(str::to_string)
        .collect();
    keys.dedup();
    Ok(keys)
}

/// Remove the local stores of `keys` (every repository under `slipway-local/KEY/`: links, manifests, tags),
/// each moved out of `repos/` in one rename first so nobody sees half a store. Their blobs stay for
/// [`collect_unlinked`]. Returns how many repositories went. Blocking.
pub fn remove_local_stores(store: &Store, keys: &[String]) -> Result<u64, RegistryError> {
    let held = quarantine(store);
    std::fs::create_dir_all(&held)?;
    let mut repositories = 0;
    for key in keys {
        if key.is_empty() || key.contains(['/', '.']) {
            continue;
        }
        let prefix = local::prefix(key);
        repositories += store.catalog_under(&prefix)?.len() as u64;
        let dir = store.root().join("repos").join(prefix.trim_end_matches('/'));
        let moved = held.join(format!("store-{key}-{}", uuid::Uuid::new_v4().simple()));
        match std::fs::rename(&dir, &moved) {
            Ok(()) => std::fs::remove_dir_all(&moved)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(repositories)
}

/// What [`collect_stale_uploads`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadsFreed {
    pub sessions: u64,
    pub bytes: u64,
}

/// Remove upload sessions untouched for at least `max_age_secs` (both `slipway gc` and the collector of
/// `slipway serve`, see `crate::collector`). Sessions a request is writing to are kept.
pub fn collect_stale_uploads(store: &Store, max_age_secs: u64) -> Result<UploadsFreed, RegistryError> {
    let mut freed = UploadsFreed::default();
    for (id, age) in store.upload_sessions()? {
        if age < max_age_secs {
            continue;
        }
        match store.remove_stale_upload(&id, max_age_secs) {
            Ok(Some(bytes)) => {
                freed.sessions += 1;
                freed.bytes += bytes;
            }
            Ok(None) => {}
            // A stray name under `uploads/` (not a session id) is not ours to remove.
            Err(RegistryError::UploadUnknown(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::digest::{digest_of, Algorithm};
    use crate::registry::storage::Limits;

    fn blob(store: &Store, repo: Option<&RepoName>, bytes: &[u8], age_secs: u64) -> Digest {
        let digest = digest_of(Algorithm::Sha256, bytes);
        store.put_small_blob(&digest, bytes).unwrap();
        if let Some(repo) = repo {
            store.link_blob(repo, &digest).unwrap();
        }
        let file = std::fs::File::options()
            .write(true)
            .open(store.blob_path(&digest))
            .unwrap();
        file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(age_secs))
            .unwrap();
        digest
    }

    #[test]
    fn the_sweep_waits_for_a_link_in_progress_and_keeps_what_it_linked() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path(), Limits::default()).unwrap());
        let repo = RepoName::parse("learner1/app").unwrap();
        let old = blob(&store, None, b"unlinked and past its grace", 100);
        // A push has seen the blob and is about to link it.
        let linking = store.linking();
        assert!(store.blob_size(&old).is_some());
        let sweep = {
            let store = store.clone();
            std::thread::spawn(move || collect_unlinked(&store, 10).unwrap())
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!sweep.is_finished(), "the sweep ran while a link was being made");
        store.link_blob(&repo, &old).unwrap();
        drop(linking);
        let freed = sweep.join().unwrap();
        assert_eq!(freed.blobs, 0);
        assert!(
            store.blob_size(&old).is_some(),
            "the blob just linked was moved out"
        );
    }

    #[test]
    fn a_link_made_while_the_sweep_marks_is_spared() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Limits::default()).unwrap();
        let repo = RepoName::parse("learner1/app").unwrap();
        let old = blob(&store, None, b"linked after the mark began", 100);
        let other = blob(&store, None, b"nobody links this one", 100);
        // What happens when a link lands between the mark's walk and the moves.
        store.note_links_from_now();
        store.link_blob(&repo, &old).unwrap();
        let noted = store.links_noted();
        assert!(noted.contains(&old.to_string()) && !noted.contains(&other.to_string()));
        assert!(store.links_noted().is_empty(), "noting stopped");
        let freed = collect_unlinked(&store, 10).unwrap();
        assert_eq!(freed.blobs, 1);
        assert!(store.blob_size(&old).is_some() && store.blob_size(&other).is_none());
    }

    #[test]
    fn the_servers_sweep_keeps_linked_and_young_blobs_and_puts_back_one_linked_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Limits::default()).unwrap();
        let gone = RepoName::parse("slipway-local/0123456789abcdef/learner1/app").unwrap();
        let kept = RepoName::parse("slipway-local/fedcba9876543210/learner1/app").unwrap();
        let shared = blob(&store, Some(&gone), b"shared", 100);
        store.link_blob(&kept, &shared).unwrap();
        let only_gone = blob(&store, Some(&gone), b"only the expired session", 100);
        let relinked = blob(&store, Some(&gone), b"linked again meanwhile", 100);
        let young = blob(&store, None, b"uploaded a moment ago", 0);

        assert_eq!(
            remove_local_stores(&store, &["0123456789abcdef".into()]).unwrap(),
            1
        );
        assert!(!store.repo_exists(&gone) && store.repo_exists(&kept));
        assert_eq!(local_store_keys(&store).unwrap(), ["fedcba9876543210"]);

        let first = collect_unlinked(&store, 60).unwrap();
        assert_eq!((first.blobs, first.restored), (2, 0));
        assert_eq!(
            first.bytes,
            (b"only the expired session".len() + b"linked again meanwhile".len()) as u64
        );
        for (digest, present) in [
            (&shared, true),
            (&only_gone, false),
            (&relinked, false),
            (&young, true),
        ] {
            assert_eq!(store.blob_size(digest).is_some(), present, "{digest}");
        }
        // A request links one of them before the next pass: that pass puts it back and deletes the other.
        store.link_blob(&kept, &relinked).unwrap();
        let second = collect_unlinked(&store, 60).unwrap();
        assert_eq!((second.blobs, second.restored), (0, 1));
        assert!(store.blob_size(&relinked).is_some());
        assert!(store.blob_size(&only_gone).is_none());
        assert_eq!(std::fs::read_dir(quarantine(&store)).unwrap().count(), 0);
    }

    #[test]
    fn a_key_that_is_not_one_path_component_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Limits::default()).unwrap();
        let repo = RepoName::parse("slipway-local/k/app").unwrap();
        blob(&store, Some(&repo), b"x", 0);
        for key in ["", "..", "k/../k", "."] {
            assert_eq!(remove_local_stores(&store, &[key.to_string()]).unwrap(), 0);
        }
        assert!(store.repo_exists(&repo));
    }
}
