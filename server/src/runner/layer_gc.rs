//! Collecting unpacked layers that no container uses (run by `slipway serve`'s collector, `crate::collector`).
//!
//! A layer is in use while any container in the table (created, running or exited, which `docker start` may
//! run again) stacks it, and while a container that will stack it is being created. Otherwise it is collected
//! once unused for the grace period; the next container that needs it unpacks it again.
//!
//! RUN steps' blobs under the runner's `blobs/sha256/` (steps that named no repository, `step.rs`) are read
//! only by later steps that stack them by digest (`ImageSource::blob_for`, before unpacking); no route serves
//! them. Each such use touches the file, so a blob is collected once neither written nor stacked for the grace
//! (`--step-blob-grace`); a later step naming it is then a 404, as for any unknown layer. Steps hold the
//! creation gate from resolving their layers until their container exists, and the pass takes it exclusively
//! (or skips its turn), so a blob being resolved and unpacked is never taken.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{io_ctx, Runner, RunnerError};

/// What one collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayersFreed {
    /// The removed layers' digests (hex).
    pub digests: Vec<String>,
}

/// What one pass over the RUN steps' blobs removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepBlobsFreed {
    pub blobs: u64,
    pub bytes: u64,
}

/// Remove the files of `dir` untouched for `grace` (blobs, and temp files a crashed capture left). Blocking.
fn remove_untouched(dir: &Path, grace: Duration) -> std::io::Result<StepBlobsFreed> {
    let mut freed = StepBlobsFreed::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(freed),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        let age = meta.modified()?.elapsed().unwrap_or(Duration::ZERO);
        if !meta.is_file() || age < grace {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => {
                freed.blobs += 1;
                freed.bytes += meta.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(freed)
}

/// Mark a step blob of the runner's own store as used now (a step stacks it). Best effort: a blob that cannot
/// be touched is only collected sooner, and the step then fails as for an unknown layer.
pub(super) fn touch_step_blob(runner_blobs: &Path, blob: &Path) {
    if blob.starts_with(runner_blobs) {
        let touched = std::fs::File::options()
            .write(true)
            .open(blob)
            .and_then(|f| f.set_modified(SystemTime::now()));
        if let Err(e) = touched {
            tracing::debug!(blob = %blob.display(), error = %e, "cannot touch a step blob");
        }
    }
}

impl Runner {
    /// The runner's own blob store: RUN steps' layers that named no repository.
    pub(super) fn step_blobs_dir(&self) -> PathBuf {
        self.config.data_dir.join("blobs/sha256")
    }

    /// Remove RUN steps' blobs neither written nor stacked by a step for `grace`. Blocking. Skips the pass
    /// (returns nothing) while a container or step is being created rather than wait for it.
    pub fn collect_step_blobs(&self, grace: Duration) -> Result<StepBlobsFreed, RunnerError> {
        let Ok(_no_creation) = self.creating.clone().try_write_owned() else {
            return Ok(StepBlobsFreed::default());
        };
        remove_untouched(&self.step_blobs_dir(), grace).map_err(io_ctx("collecting step blobs"))
    }

    /// Remove unpacked layers no container uses and none used for `grace`. Blocking. Skips the pass (returns
    /// nothing) while a container is being created rather than wait for it.
    pub fn collect_unused_layers(&self, grace: Duration) -> Result<LayersFreed, RunnerError> {
        let taken = {
            let Ok(_no_creation) = self.creating.clone().try_write_owned() else {
                return Ok(LayersFreed::default());
            };
            let in_use: HashSet<PathBuf> = self
                .table()
                .values()
                .flat_map(|c| c.lowers.iter().cloned().chain(self.bind_dirs(c)))
                .collect();
            self.layers
                .take_unused(&in_use, grace)
                .map_err(io_ctx("collecting layers"))?
        };
        // Renamed out of the store above; the slow part runs without holding up creations.
        let mut freed = LayersFreed::default();
        for (name, dir) in taken {
            std::fs::remove_dir_all(&dir).map_err(io_ctx(format!("removing {}", dir.display())))?;
            freed.digests.push(name.trim_start_matches(".gc-").to_string());
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(path: &Path, secs: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn step_blobs_go_once_untouched_for_the_grace_and_a_stacked_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        for name in ["old", "stacked", "fresh", ".tmp-crashed"] {
            std::fs::write(blobs.join(name), b"12345").unwrap();
        }
        aged(&blobs.join("old"), 100);
        aged(&blobs.join("stacked"), 100);
        aged(&blobs.join(".tmp-crashed"), 100);
        touch_step_blob(&blobs, &blobs.join("stacked"));
        // A blob of another layout (a base image) is never touched.
        let other = dir.path().join("base.blob");
        std::fs::write(&other, b"x").unwrap();
        aged(&other, 100);
        touch_step_blob(&blobs, &other);
        assert!(other.metadata().unwrap().modified().unwrap().elapsed().unwrap() > Duration::from_secs(50));

        let freed = remove_untouched(&blobs, Duration::from_secs(60)).unwrap();
        assert_eq!(freed, StepBlobsFreed { blobs: 2, bytes: 10 });
        let mut left: Vec<_> = std::fs::read_dir(&blobs)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["fresh", "stacked"]);
        assert_eq!(
            remove_untouched(&dir.path().join("missing"), Duration::ZERO).unwrap(),
            StepBlobsFreed::default()
        );
    }
}
