//! Garbage collection (`slipway gc`): mark every blob a manifest of any repository references, sweep the rest.
//!
//! Blobs younger than the grace period are kept, so a push in flight (layers first, manifest last) is not robbed
//! of its layers; stale upload sessions are removed too (also by `slipway serve`'s collector, `crate::collector`).

use std::collections::HashSet;
use std::path::Path;

use oci_spec::image::Digest;

use super::error::RegistryError;
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
