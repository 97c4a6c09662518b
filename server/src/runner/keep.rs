//! A stopped container keeps its writable layer, as docker's does. At exit the changes in its upper dir (a tmpfs
//! whose pages hold memory) are written to the container's directory as a layer (`kept.tar.gz`, the same
//! deterministic format as a RUN step's, taken from the server's disk budget) and the tmpfs and rootfs mounts
//! go. `docker start` and `docker restart` of the stopped container mount a new writable layer with those
//! changes unpacked into it (by the layer unpacker, with its rules: a path or symlink that would leave the
//! layer is refused) and run the same spec again; its logs go on after the last run's. `docker diff` lists the
//! changes of a running container's upper dir or of a stopped one's kept layer.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slipway::api::{Change, ChangeKind, StepLayer};

use super::diff::{self, DiffOptions};
use super::lifecycle::{Container, Status, BUILD_STEP_IMAGE};
use super::{io_ctx, overlay, Runner, RunnerError};

/// The file a stopped container's changes are kept in, in its directory.
const KEPT: &str = "kept.tar.gz";
/// Its descriptor (digest, size, diff_id), for `docker commit` of the stopped container.
const KEPT_DESCRIPTOR: &str = "kept.json";

impl Runner {
    /// How the container's upper dir is captured: without the mount points the runtime made, ids as the
    /// container sees them.
    fn diff_options(&self, c: &Container, upper: &Path) -> DiffOptions {
        DiffOptions {
            placeholders: diff::effective_placeholders(upper, &c.placeholders, &c.lowers),
            mtime: None,
            shift: self.config.userns,
        }
    }

    /// At exit (blocking; the rootfs is unmounted already): keep the writable layer's changes on disk, then
    /// let go of the writable layer and its memory. Changes the disk budget has no room for are not kept (the
    /// container cannot start again, and says so).
    pub(crate) fn park(&self, c: &Container) {
        let (upper, kept) = (c.dir.join("rw/upper"), c.dir.join(KEPT));
        let _ = std::fs::remove_file(c.dir.join(KEPT_DESCRIPTOR));
        if let Ok(old) = std::fs::metadata(&kept) {
            if std::fs::remove_file(&kept).is_ok() {
                if let Some(budget) = self.disk_budget() {
                    budget.release(old.len());
                }
            }
        }
        if upper.is_dir() {
            let partial = c.dir.join("kept.partial");
            let captured = diff::capture(&upper, &partial, &self.diff_options(c, &upper));
            let reserved = captured.map_err(|e| e.to_string()).and_then(|layer| {
                if let Some(budget) = self.disk_budget() {
                    budget.reserve(layer.size).map_err(|e| e.to_string())?;
                }
                let descriptor = serde_json::to_vec(&layer).map_err(|e| e.to_string())?;
                std::fs::write(c.dir.join(KEPT_DESCRIPTOR), descriptor).map_err(|e| e.to_string())
            });
            match reserved.and_then(|()| std::fs::rename(&partial, &kept).map_err(|e| e.to_string())) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(id = %c.id, error = %e, "the writable layer of a stopped container is not kept");
                    let _ = std::fs::remove_file(&partial);
                }
            }
        }
        release_writable(&c.dir);
    }

    /// `docker start` of a stopped container: a new writable layer holding its kept changes, the same spec,
    /// its output appended to the last run's.
    pub async fn start_again(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), RunnerError> {
        c.restarts.manual_start();
        self.start_again_by_policy(c).await
    }

    /// [`Runner::start_again`] without starting the restart count again: a restart by policy (`restart.rs`).
    pub(crate) async fn start_again_by_policy(
        self: &Arc<Self>,
        c: &Arc<Container>,
    ) -> Result<(), RunnerError> {
        // In a task of its own: a dropped request must not leave a remounted container that never runs.
        let (this, c) = (self.clone(), c.clone());
        tokio::spawn(async move { this.start_again_now(&c).await })
            .await
            .map_err(|e| io_ctx("start task")(std::io::Error::other(e)))?
    }

    async fn start_again_now(self: &Arc<Self>, c: &Arc<Container>) -> Result<(), RunnerError> {
        if c.image == BUILD_STEP_IMAGE || c.opts.auto_remove {
            return Err(RunnerError::NotFound(c.id.clone()));
        }
        // A stopped container does not count against the session's limits; started again, it does.
        let slot = self.reserve_slot(&c.session)?;
        let _turn = self.start_turn(c).await?;
        if !c.claim_start_again() {
            // Another start got there first: running (or about to), which is what was asked.
            return Ok(());
        }
        let (this, c2) = (self.clone(), c.clone());
        let mounted = tokio::task::spawn_blocking(move || this.remount(&c2))
            .await
            .map_err(|e| io_ctx("remount task")(std::io::Error::other(e)))
            .and_then(|r| r);
        if let Err(e) = mounted {
            c.exit_unstarted(e.to_string());
            return Err(e);
        }
        c.rearm();
        drop(slot);
        self.run_process(c).await
    }

    /// Mount a stopped container's rootfs again over its image's layers and its kept changes. Blocking.
    pub(crate) fn remount(&self, c: &Container) -> Result<(), RunnerError> {
        let kept = c.dir.join(KEPT);
        if !kept.is_file() {
            return Err(RunnerError::Refused(format!(
                "container {} cannot start again: its writable layer was not kept when it stopped (the server's \
                 disk was full); remove it and run a new one",
                c.id
            )));
        }
        std::fs::create_dir_all(c.dir.join("rw")).map_err(io_ctx("creating rw"))?;
        std::fs::create_dir_all(c.dir.join("rootfs")).map_err(io_ctx("creating rootfs"))?;
        super::mount_writable(self, &c.dir, &c.lowers, Some(&kept)).inspect_err(|_| {
            let _ = overlay::unmount(&c.dir.join("rootfs"));
            release_writable(&c.dir);
        })
    }

    /// `docker restart [-t]`: stop a running container (SIGTERM, SIGKILL after `grace`), then start it again;
    /// one that does not run is only started.
    pub async fn restart(
        self: &Arc<Self>,
        c: &Arc<Container>,
        grace: Option<Duration>,
    ) -> Result<(), RunnerError> {
        if c.opts.auto_remove {
            return Err(RunnerError::Refused(format!(
                "container {} was run with --rm: it is removed when it stops, so it cannot restart here",
                c.id
            )));
        }
        self.thaw(c).await;
        if c.state().status == Status::Running {
            self.stop(c, grace).await?;
        }
        match c.state().status {
            Status::Created => self.start(c).await?,
            Status::Running => {}
            Status::Exited => self.start_again(c).await?,
        }
        // dockerd's `containerRestart`: after the stop's and the start's own events.
        self.container_event(c, "restart", &[]);
        Ok(())
    }

    /// `docker diff`: the changes in the container's writable layer (running, or kept when it stopped), in
    /// docker's order (a walk of the layer, names sorted in each directory).
    pub async fn changes(self: &Arc<Self>, c: &Arc<Container>) -> Result<Vec<Change>, RunnerError> {
        let (this, c) = (self.clone(), c.clone());
        tokio::task::spawn_blocking(move || this.changes_now(&c))
            .await
            .map_err(|e| io_ctx("diff task")(std::io::Error::other(e)))?
    }

    fn changes_now(&self, c: &Container) -> Result<Vec<Change>, RunnerError> {
        let upper = c.dir.join("rw/upper");
        if c.state().status != Status::Exited && upper.is_dir() {
            let scratch = c.dir.join(format!("diff-{}.partial", &super::random_id()[..16]));
            let captured = diff::capture(&upper, &scratch, &self.diff_options(c, &upper));
            let listed = captured.is_ok().then(|| list_changes(&scratch, &c.lowers));
            let _ = std::fs::remove_file(&scratch);
            // The container may have exited meanwhile: its changes are kept then.
            if let Some(listed) = listed {
                return listed;
            }
        }
        let kept = c.dir.join(KEPT);
        if kept.is_file() {
            return list_changes(&kept, &c.lowers);
        }
        Ok(Vec::new())
    }
}

impl Runner {
    /// `docker commit`: the container's changes (its running upper dir captured now, or the layer kept when it
    /// stopped) as a blob of `repository`, which must be a local repository of the container's session; the
    /// client makes the image around it.
    pub async fn commit(
        self: &Arc<Self>,
        c: &Arc<Container>,
        repository: &str,
    ) -> Result<StepLayer, RunnerError> {
        let (store, repo) = self.local_repository_of(&c.session, repository)?;
        let (this, c) = (self.clone(), c.clone());
        tokio::task::spawn_blocking(move || {
            let layer = this.layer_now(&c)?;
            super::step::commit_to_registry(&store, &repo, &layer.path, &layer.digest)?;
            Ok(StepLayer {
                media_type: layer.media_type,
                digest: layer.digest,
                size: layer.size,
                diff_id: layer.diff_id,
            })
        })
        .await
        .map_err(|e| io_ctx("commit task")(std::io::Error::other(e)))?
    }

    /// The container's changes as a layer file of its own (the caller moves or removes it). Blocking.
    fn layer_now(&self, c: &Container) -> Result<diff::LayerDescriptor, RunnerError> {
        let scratch = c
            .dir
            .join(format!("commit-{}.partial", &super::random_id()[..16]));
        let upper = c.dir.join("rw/upper");
        if c.state().status != Status::Exited && upper.is_dir() {
            if let Ok(layer) = diff::capture(&upper, &scratch, &self.diff_options(c, &upper)) {
                return Ok(layer);
            }
            let _ = std::fs::remove_file(&scratch);
        }
        let descriptor = std::fs::read(c.dir.join(KEPT_DESCRIPTOR)).map_err(|_| {
            RunnerError::Refused(format!(
                "container {} has no changes to commit: its writable layer was not kept when it stopped",
                c.id
            ))
        })?;
        let mut layer: diff::LayerDescriptor =
            serde_json::from_slice(&descriptor).map_err(|e| io_ctx("reading kept.json")(e.into()))?;
        std::fs::copy(c.dir.join(KEPT), &scratch).map_err(io_ctx("copying the kept layer"))?;
        layer.path = scratch;
        Ok(layer)
    }
}

/// Unmount and remove the writable layer (its tmpfs, or its dirs on the disk).
pub(crate) fn release_writable(dir: &Path) {
    let rw = dir.join("rw");
    if let Err(e) = overlay::unmount(&rw) {
        tracing::warn!(dir = %rw.display(), error = %e, "unmounting the writable layer");
    }
    if let Err(e) = std::fs::remove_dir_all(&rw) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %rw.display(), error = %e, "removing the writable layer");
        }
    }
}

/// The changes a layer (gzip tar, as [`diff::capture`] writes it) makes over `lowers` (bottom first): a
/// whiteout is a deletion, a path one of the lowers has is a modification, any other an addition.
fn list_changes(layer: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, RunnerError> {
    let file = std::fs::File::open(layer).map_err(io_ctx("opening the writable layer"))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let mut changes = Vec::new();
    let entries = archive.entries().map_err(io_ctx("reading the writable layer"))?;
    for entry in entries {
        let mut entry = entry.map_err(io_ctx("reading the writable layer"))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let rel = raw.trim_start_matches("./").trim_end_matches('/').to_string();
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", &rel));
        if name == ".wh..wh..opq" || rel.is_empty() {
            continue;
        }
        let change = match name.strip_prefix(".wh.") {
            Some(hidden) => Change {
                kind: ChangeKind::Deleted,
                path: absolute(&join(parent, hidden)),
            },
            None if in_lowers(&rel, lowers) => Change {
                kind: ChangeKind::Modified,
                path: absolute(&rel),
            },
            None => Change {
                kind: ChangeKind::Added,
                path: absolute(&rel),
            },
        };
        changes.push(change);
        // Only the headers are read: skip the content.
        std::io::copy(&mut (&mut entry).take(u64::MAX), &mut std::io::sink())
            .map_err(io_ctx("reading the writable layer"))?;
    }
    Ok(changes)
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

fn absolute(rel: &str) -> String {
    format!("/{rel}")
}

/// Whether the image's layers have `rel`: the topmost lower holding an entry there decides (a whiteout there
/// is no file).
fn in_lowers(rel: &str, lowers: &[PathBuf]) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    lowers
        .iter()
        .rev()
        .find_map(|l| std::fs::symlink_metadata(l.join(rel)).ok())
        .is_some_and(|m| !(m.file_type().is_char_device() && m.rdev() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_lists_as_dockers_changes_over_the_lowers() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = tmp.path().join("lower");
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::write(lower.join("etc/passwd"), "root").unwrap();
        std::fs::write(lower.join("gone"), "x").unwrap();
        let layer = tmp.path().join("layer.tar.gz");
        let mut writer = slipway::layer::LayerWriter::new(
            std::fs::File::create(&layer).unwrap(),
            &slipway::layer::LayerOptions::default(),
        );
        let meta = slipway::layer::Meta::file();
        writer.append_dir("etc", &slipway::layer::Meta::dir()).unwrap();
        writer.append_bytes("etc/new", &meta, b"1").unwrap();
        writer.append_bytes("etc/passwd", &meta, b"root2").unwrap();
        writer.append_bytes(".wh.gone", &meta, b"").unwrap();
        writer.append_dir("tmp", &slipway::layer::Meta::dir()).unwrap();
        writer.append_bytes("tmp/.wh..wh..opq", &meta, b"").unwrap();
        writer.finish().unwrap();
        let lines: Vec<String> = list_changes(&layer, &[lower])
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect();
        assert_eq!(
            lines,
            ["C /etc", "A /etc/new", "C /etc/passwd", "D /gone", "A /tmp"]
        );
    }
}
