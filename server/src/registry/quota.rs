//! Byte budgets checked before anything is written (docs/security.md, "Disk").
//!
//! - [`DiskBudget`]: the server-wide budget for everything strangers can make the server write under its data
//!   directories (registry blobs, manifests, uploads, unpacked layers): `--disk-quota` bytes counted by an
//!   in-memory counter, and `--min-free-disk` bytes the filesystem must keep free (`statvfs`, on by default).
//!   The counter is set by one walk of the directories, raised by every reservation and lowered by
//!   [`DiskBudget::release`]; whatever removes files without telling it (the collectors, `slipway gc`) only
//!   makes it count high, so before refusing it walks again (at most once a second) and it walks anyway when
//!   its count is a minute old. A refusal therefore always rests on a fresh count.
//! - The per-namespace quotas (`--session-quota` for each session's `slipway-local/KEY/` store,
//!   `--namespace-quota` for `learner1/...`) live in `repository.rs` / `storage.rs`: they are checked chunk by
//!   chunk as upload bytes arrive, with [`NamespaceLocks`] making a namespace's uploads take turns so that
//!   parallel chunks cannot all pass on the same count.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why bytes were refused by the server-wide budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskFull {
    #[error("the server's disk quota is spent: {used} of {quota} bytes in use, {wanted} more refused")]
    Quota { used: u64, quota: u64, wanted: u64 },
    #[error("the server's disk is nearly full: {free} bytes free, {min_free} must stay free, {wanted} more refused")]
    MinFree { free: u64, min_free: u64, wanted: u64 },
}

/// A count older than this is redone before the next reservation.
const STALE_AFTER: Duration = Duration::from_secs(60);
/// Before a refusal the directories are walked again, at most this often.
const RECOUNT_AT_MOST_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Count {
    used: u64,
    at: Option<Instant>,
}

/// The server-wide disk budget; see the module documentation.
#[derive(Debug)]
pub struct DiskBudget {
    quota: Option<u64>,
    min_free: u64,
    roots: Mutex<Vec<PathBuf>>,
    count: Mutex<Count>,
}

impl DiskBudget {
    /// A budget of `quota` bytes (none: only the free-space floor) over the files below `root`, keeping
    /// `min_free` bytes free on its filesystem (0: no floor).
    pub fn new(quota: Option<u64>, min_free: u64, root: &Path) -> Self {
        DiskBudget {
            quota,
            min_free,
            roots: Mutex::new(vec![root.to_path_buf()]),
            count: Mutex::new(Count::default()),
        }
    }

    /// Count the files below `dir` too (the runner's unpacked layers); a new root makes the next reservation
    /// walk again.
    pub fn add_root(&self, dir: &Path) {
        let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
        if !roots.iter().any(|r| r == dir) {
            roots.push(dir.to_path_buf());
            self.count.lock().unwrap_or_else(|e| e.into_inner()).at = None;
        }
    }

    /// Bytes counted in use (after the last walk and the reservations since).
    pub fn used(&self) -> u64 {
        self.count.lock().unwrap_or_else(|e| e.into_inner()).used
    }

    /// `bytes` were removed (a refused upload truncated, a failed unpack, a collected blob or layer).
    pub fn release(&self, bytes: u64) {
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        count.used = count.used.saturating_sub(bytes);
    }

    /// Take `bytes` out of the budget before writing them, or refuse. Blocking: may walk the directories
    /// (see [`DiskBudget::reserve_async`] on the async workers).
    pub fn reserve(&self, bytes: u64) -> Result<(), DiskFull> {
        self.check_free(bytes)?;
        let Some(quota) = self.quota else {
            return Ok(());
        };
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        let stale = count.at.is_none_or(|at| at.elapsed() >= STALE_AFTER);
        let over = count.used.saturating_add(bytes) > quota;
        let may_recount = count.at.is_none_or(|at| at.elapsed() >= RECOUNT_AT_MOST_EVERY);
        if stale || (over && may_recount) {
            *count = Count {
                used: self.walk(),
                at: Some(Instant::now()),
            };
        }
        if count.used.saturating_add(bytes) > quota {
            return Err(DiskFull::Quota {
                used: count.used,
                quota,
                wanted: bytes,
            });
        }
        count.used += bytes;
        Ok(())
    }

    /// [`DiskBudget::reserve`] from async code: the cheap answer inline, a walk on a blocking thread.
    pub async fn reserve_async(self: &Arc<Self>, bytes: u64) -> Result<(), DiskFull> {
        if self.needs_walk(bytes) {
            let this = self.clone();
            let refused = DiskFull::Quota {
                used: 0,
                quota: 0,
                wanted: bytes,
            };
            return tokio::task::spawn_blocking(move || this.reserve(bytes))
                .await
                .unwrap_or(Err(refused));
        }
        self.reserve(bytes)
    }

    /// Whether [`DiskBudget::reserve`] of `bytes` would walk the directories now.
    fn needs_walk(&self, bytes: u64) -> bool {
        let Some(quota) = self.quota else {
            return false;
        };
        let count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        match count.at {
            None => true,
            Some(at) => {
                at.elapsed() >= STALE_AFTER
                    || (count.used.saturating_add(bytes) > quota && at.elapsed() >= RECOUNT_AT_MOST_EVERY)
            }
        }
    }

    /// The free-space floor: every root's filesystem keeps `min_free` bytes after this write.
    fn check_free(&self, bytes: u64) -> Result<(), DiskFull> {
        if self.min_free == 0 {
            return Ok(());
        }
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for root in roots {
            let Some(free) = free_bytes(&root) else { continue };
            if free < self.min_free.saturating_add(bytes) {
                return Err(DiskFull::MinFree {
                    free,
                    min_free: self.min_free,
                    wanted: bytes,
                });
            }
        }
        Ok(())
    }

    /// Bytes of the files below the roots (apparent sizes, each inode once, never crossing into another
    /// filesystem: a container's rootfs mount or writable-layer tmpfs is not the data directory's disk).
    fn walk(&self) -> u64 {
        let roots = self.roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut seen = std::collections::HashSet::new();
        roots.iter().map(|root| disk_usage(root, &mut seen)).sum()
    }
}

/// `statvfs` free bytes for unprivileged writers, or None when the path cannot be asked.
fn free_bytes(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Apparent bytes of the regular files below `root` on its own filesystem, hard links once.
pub fn disk_usage(root: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(root) else {
        return 0;
    };
    let device = meta.dev();
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.dev() != device {
                continue;
            }
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() && seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

/// One async lock per namespace with a quota: its uploads stream one at a time, each against a fresh count.
#[derive(Debug, Default)]
pub struct NamespaceLocks(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

impl NamespaceLocks {
    pub async fn lock(&self, namespace: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            // Forget the locks nobody holds or waits for, so the map stays as small as the uploads in flight.
            map.retain(|_, l| Arc::strong_count(l) > 1);
            map.entry(namespace.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_counts_existing_files_and_reservations_and_refuses_past_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/one"), vec![0u8; 600]).unwrap();
        std::fs::hard_link(dir.path().join("a/one"), dir.path().join("two")).unwrap();
        let budget = DiskBudget::new(Some(1000), 0, dir.path());
        budget.reserve(300).unwrap();
        assert_eq!(budget.used(), 900, "the hard link counts once");
        assert_eq!(
            budget.reserve(101),
            Err(DiskFull::Quota {
                used: 900,
                quota: 1000,
                wanted: 101
            })
        );
        budget.reserve(100).unwrap();
        budget.release(400);
        assert_eq!(budget.used(), 600);
    }

    #[test]
    fn a_refusal_walks_again_so_files_removed_behind_its_back_come_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![0u8; 900]).unwrap();
        let budget = DiskBudget::new(Some(1000), 0, dir.path());
        budget.reserve(50).unwrap();
        // A collector removes the file without telling the budget.
        std::fs::remove_file(dir.path().join("big")).unwrap();
        std::thread::sleep(RECOUNT_AT_MOST_EVERY);
        budget.reserve(500).unwrap();
        assert_eq!(budget.used(), 500);
    }

    #[test]
    fn new_roots_are_counted_and_the_free_space_floor_refuses() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(b.path().join("layer"), vec![0u8; 700]).unwrap();
        let budget = DiskBudget::new(Some(1000), 0, a.path());
        budget.reserve(1).unwrap();
        budget.add_root(b.path());
        assert!(budget.reserve(400).is_err());
        assert_eq!(budget.used(), 700);
        let floor = DiskBudget::new(None, u64::MAX / 2, a.path());
        assert!(matches!(floor.reserve(1), Err(DiskFull::MinFree { .. })));
        assert!(DiskBudget::new(None, 1, a.path()).reserve(1).is_ok());
    }
}
