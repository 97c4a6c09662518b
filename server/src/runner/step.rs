//! RUN steps for builds: run a command on top of given layers with the step's Env, WorkingDir, User and SHELL,
//! then capture the overlay upper dir as an OCI layer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec::image::ImageConfiguration;

use super::admission::Waiting;
use super::cgroups::owner_key;
use super::diff::{self, DiffOptions, LayerDescriptor};
use super::images::LayerBlob;
use super::lifecycle::{cleanup_dir, BUILD_STEP_IMAGE};
use super::spec::RunOptions;
use super::{io_ctx, Runner, RunnerError};
use crate::registry::local;
use crate::registry::names::RepoName;
use crate::registry::{RegistryError, Store};

/// SIGTERM → SIGKILL grace of a RUN step stopped by [`Runner::stop_steps`].
const STEP_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// One RUN instruction with the build state it runs in: the protocol's body of `POST /api/steps`.
pub use slipway::api::StepRequest as RunStep;

/// How a step ended; [`slipway::api::StepResult`] is what the client is told of it.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub exit_code: i32,
    pub oom_killed: bool,
    pub timed_out: bool,
    /// stdout and stderr interleaved as produced.
    pub output: String,
    /// The layer, when the command succeeded.
    pub layer: Option<LayerDescriptor>,
}

impl From<StepResult> for slipway::api::StepResult {
    fn from(result: StepResult) -> Self {
        slipway::api::StepResult {
            exit_code: result.exit_code,
            oom_killed: result.oom_killed,
            timed_out: result.timed_out,
            output: result.output,
            layer: result.layer.map(|l| slipway::api::StepLayer {
                media_type: l.media_type,
                digest: l.digest,
                size: l.size,
                diff_id: l.diff_id,
            }),
        }
    }
}

/// A RUN step whose container is created but not started yet: [`Runner::finish_step`] runs it once it has a
/// builder, and its output can be followed meanwhile through [`PreparedStep::logs`], its place in the queue
/// through [`PreparedStep::ahead`].
pub struct PreparedStep {
    container: Arc<super::Container>,
    target: Option<(Arc<Store>, RepoName)>,
    mtime: Option<u64>,
    /// Its place in the builders' queue, taken when the step was asked for.
    turn: Waiting,
    /// Paths runc creates as mount points for the step's `--mount`s: left out of its layer.
    mount_points: Vec<String>,
}

impl PreparedStep {
    /// The step's output as it is produced.
    pub fn logs(&self) -> &Arc<super::logs::Logs> {
        &self.container.io.logs
    }

    /// How many steps get a builder before this one, as the queue moves: marked changed while the step waits,
    /// closed once it has its builder (at once when one was free).
    pub fn ahead(&self) -> tokio::sync::watch::Receiver<usize> {
        self.turn.ahead()
    }
}

impl Runner {
    /// Run `step` to completion; on success its filesystem changes become a gzip layer: a blob of the registry
    /// linked to `step.repository` when it names one, else a file under the runner's `blobs/sha256/`.
    pub async fn run_step(self: &Arc<Self>, step: RunStep) -> Result<StepResult, RunnerError> {
        let prepared = self.prepare_step(step).await?;
        self.finish_step(prepared).await
    }

    /// Everything that can refuse a step before it runs: the target repository, the command, the layers, the
    /// container (quota). Nothing runs yet.
    pub async fn prepare_step(self: &Arc<Self>, step: RunStep) -> Result<PreparedStep, RunnerError> {
        let target = self.step_repository(&step)?;
        self.check_step_mounts(&step)?;
        let argv = match (&step.exec, &step.command) {
            (Some(argv), _) if !argv.is_empty() => argv.clone(),
            (_, Some(cmd)) => {
                let mut argv = step
                    .shell
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                argv.push(cmd.clone());
                argv
            }
            _ => return Err(RunnerError::Spec(super::spec::SpecError::NoCommand)),
        };
        // The session's container slot first: a step past the container limits unpacks nothing.
        let slot = self.reserve_slot(&step.session)?;
        // In the builders' queue from now (in the order steps are asked for), unpacking meanwhile.
        let turn = self.builders.enqueue(owner_key(&step.session));
        let creating = self.creating.clone().read_owned().await;
        let this = self.clone();
        let digests = step.layers.clone();
        let session = step.session.clone();
        let lowers = tokio::task::spawn_blocking(move || {
            let own_blobs = this.step_blobs_dir();
            let blobs = digests
                .iter()
                .map(|d| {
                    let path = this.images.blob_for(&session, d)?;
                    // Stacked again: the collector keeps it another grace (layer_gc.rs).
                    super::layer_gc::touch_step_blob(&own_blobs, &path);
                    Ok(LayerBlob {
                        digest: d.clone(),
                        diff_id: None,
                        path,
                    })
                })
                .collect::<Result<Vec<_>, RunnerError>>()?;
            this.unpack_layers(&blobs)
        })
        .await
        .map_err(|e| io_ctx("unpack task")(std::io::Error::other(e)))??;
        let opts = RunOptions {
            entrypoint: Some(argv),
            env: step.env.clone(),
            workdir: step.workdir.clone(),
            user: step.user.clone(),
            memory: step.memory,
            pids_limit: step.pids_limit,
            session: step.session.clone(),
            network: step.network.clone(),
            ..RunOptions::default()
        };
        let container = self
            .create_from(
                BUILD_STEP_IMAGE,
                &ImageConfiguration::default(),
                lowers,
                opts,
                (creating, slot),
            )
            .await?;
        let mount_points = match super::step_mounts::mount_blocking(self, &container, step.mounts).await {
            Ok(points) => points,
            Err(e) => {
                self.forget(&container.id);
                let dir = container.dir.clone();
                let _ = tokio::task::spawn_blocking(move || cleanup_dir(&dir)).await;
                return Err(e);
            }
        };
        Ok(PreparedStep {
            container,
            target,
            mtime: step.mtime,
            turn,
            mount_points,
        })
    }

    /// Run a prepared step, capture its layer and remove its container (whatever happens).
    pub async fn finish_step(self: &Arc<Self>, step: PreparedStep) -> Result<StepResult, RunnerError> {
        let PreparedStep {
            container: c,
            target,
            mtime,
            turn,
            mount_points,
        } = step;
        // The builder is held until the step's container is gone, its layer captured.
        let _builder = turn.admitted().await;
        if let Some(reason) = self.stop_asked(&c.id, false) {
            // Stopped while it waited for a builder (the class ended, the learner went idle): never runs.
            let _ = self.remove(&c, true).await;
            self.stop_asked(&c.id, true);
            return Err(RunnerError::Refused(reason));
        }
        let started = self.start(&c).await;
        if started.is_ok() && self.stop_asked(&c.id, false).is_some() {
            // Asked while it was starting, before a stop could reach its process.
            let _ = self.stop(&c, Some(STEP_STOP_GRACE)).await;
        }
        let state = c.wait().await;
        let stopped = self.stop_asked(&c.id, true);
        let output = String::from_utf8_lossy(&c.io.logs.all_bytes()).into_owned();
        let exit_code = state.exit_code.unwrap_or(255);
        // Captured before the container goes, returned after: a failed capture (quota, disk) must not leak it.
        let mut layer = Ok(None);
        if started.is_ok() && exit_code == 0 && stopped.is_none() {
            let upper = c.dir.join("rw/upper");
            let blobs = self.step_blobs_dir();
            let tmp = blobs.join(format!(".tmp-{}", c.id));
            let created: Vec<String> = c.placeholders.iter().cloned().chain(mount_points).collect();
            let opts = DiffOptions {
                placeholders: diff::effective_placeholders(&upper, &created, &c.lowers),
                mtime,
                shift: self.config.userns,
            };
            let this = self.clone();
            let captured = tokio::task::spawn_blocking(move || -> Result<LayerDescriptor, RunnerError> {
                // Taken from the server's disk budget before the capture writes anything: at most what the
                // upper dir holds (the writable layer's tmpfs bounds it) plus the archive's own overhead.
                let bound = capture_bound(&upper);
                let budget = this.disk_budget();
                if let Some(budget) = budget {
                    budget.reserve(bound).map_err(RegistryError::from)?;
                }
                let release = |bytes: u64| {
                    if let Some(budget) = budget {
                        budget.release(bytes);
                    }
                };
                let captured = diff::capture(&upper, &tmp, &opts).map_err(io_ctx("capturing the layer"));
                let mut desc = match captured {
                    Ok(desc) => desc,
                    Err(e) => {
                        let _ = std::fs::remove_file(&tmp);
                        release(bound);
                        return Err(e);
                    }
                };
                desc.path = match target {
                    // The registry takes the blob's bytes from the budget itself.
                    Some((store, repo)) => {
                        release(bound);
                        commit_to_registry(&store, &repo, &tmp, &desc.digest)?
                    }
                    None => {
                        release(bound.saturating_sub(desc.size));
                        let path: PathBuf = blobs.join(desc.digest.trim_start_matches("sha256:"));
                        std::fs::rename(&tmp, &path).map_err(io_ctx("storing the layer"))?;
                        path
                    }
                };
                Ok(desc)
            })
            .await
            .map_err(|e| io_ctx("diff task")(std::io::Error::other(e)));
            layer = captured.and_then(|c| c).map(Some);
        }
        crate::observed::step_ended(&c.session, &c.args, exit_code, &output);
        self.forget(&c.id);
        let dir = c.dir.clone();
        let _ = tokio::task::spawn_blocking(move || cleanup_dir(&dir)).await;
        started?;
        if let Some(reason) = stopped {
            return Err(RunnerError::Refused(reason));
        }
        Ok(StepResult {
            exit_code,
            oom_killed: state.oom_killed,
            timed_out: state.timed_out,
            output,
            layer: layer?,
        })
    }

    /// Stop `session`'s RUN steps in progress, running or waiting for a builder (the class ended, the learner
    /// went idle): each build ends with `reason` as its error, and the step leaves no process, cgroup or mount.
    /// How many were stopped (steps already asked to stop are left to that stop).
    pub async fn stop_steps(&self, session: &str, reason: &str) -> usize {
        let mut steps = self.steps_of(session);
        {
            let mut asked = self.stopped_steps.lock().unwrap_or_else(|e| e.into_inner());
            steps.retain(|c| !asked.contains_key(&c.id));
            for c in &steps {
                asked.insert(c.id.clone(), reason.to_string());
            }
        }
        for c in &steps {
            let _ = self.stop(c, Some(STEP_STOP_GRACE)).await;
        }
        steps.len()
    }

    /// `session`'s RUN steps in progress (their containers, created or running).
    pub fn steps_of(&self, session: &str) -> Vec<Arc<super::Container>> {
        self.table()
            .values()
            .filter(|c| c.session == session && c.image == BUILD_STEP_IMAGE)
            .filter(|c| c.state().status != super::Status::Exited)
            .cloned()
            .collect()
    }

    /// Why step container `id` was asked to stop, if it was ([`Runner::stop_steps`]); `take` forgets it.
    fn stop_asked(&self, id: &str, take: bool) -> Option<String> {
        let mut asked = self.stopped_steps.lock().unwrap_or_else(|e| e.into_inner());
        match take {
            true => asked.remove(id),
            false => asked.get(id).cloned(),
        }
    }

    /// Where the step's layer goes: the registry repository it names, checked before anything runs. Only the
    /// caller's own local store may be named; anything else is answered as an unknown repository.
    fn step_repository(&self, step: &RunStep) -> Result<Option<(Arc<Store>, RepoName)>, RunnerError> {
        match &step.repository {
            Some(name) => self.local_repository_of(&step.session, name).map(Some),
            None => Ok(None),
        }
    }

    /// `name` as a registry repository of `session`'s own local store; anything else is answered as an unknown
    /// repository.
    pub(super) fn local_repository_of(
        &self,
        session: &str,
        name: &str,
    ) -> Result<(Arc<Store>, RepoName), RunnerError> {
        let unknown =
            || RegistryError::NameUnknown(format!("{name} is not a local repository of this session"));
        let store = self.registry.clone().ok_or_else(unknown)?;
        let repo = RepoName::parse(name)?;
        let key = local::runner_session_key(session);
        if local::owner(name) != Some(key.as_str()) {
            return Err(unknown().into());
        }
        Ok((store, repo))
    }
}

/// The most bytes the capture of `upper` can write: its files' bytes, a tar header (512 bytes, and as many
/// again for a long name or a link target) per entry, the archive's end, and gzip's overhead on incompressible
/// data (well under 1/1000 plus its header). Entries are not followed through symlinks.
fn capture_bound(upper: &Path) -> u64 {
    fn walk(dir: &Path, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            *total += 1024
                + if meta.is_file() {
                    meta.len().div_ceil(512) * 512
                } else {
                    0
                };
            if meta.is_dir() {
                walk(&entry.path(), total);
            }
        }
    }
    let mut total = 1024;
    walk(upper, &mut total);
    total + total / 1000 + 4096
}

/// Commit a captured layer into the registry's blob store (verified, fsynced, renamed into place) and link it to
/// `repo`; the temp file goes either way. Returns the blob's path in the store.
pub(super) fn commit_to_registry(
    store: &Store,
    repo: &RepoName,
    temp: &Path,
    digest: &str,
) -> Result<PathBuf, RunnerError> {
    let expected = crate::registry::names::parse_digest(digest);
    let committed = expected.and_then(|expected| store.put_blob_file(repo, temp, Some(&expected)));
    let _ = std::fs::remove_file(temp);
    let (digest, _) = committed?;
    Ok(store.blob_path(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Bytes no compressor shrinks: a sha256 chain.
    fn noise(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut block = Sha256::digest(b"seed");
        while out.len() < len {
            out.extend_from_slice(&block);
            block = Sha256::digest(block);
        }
        out.truncate(len);
        out
    }

    #[test]
    fn the_capture_never_writes_more_than_its_bound() {
        let upper = tempfile::tempdir().unwrap();
        let root = upper.path();
        std::fs::write(root.join("random.bin"), noise(3 * 1024 * 1024 + 7)).unwrap();
        let deep = root
            .join("a".repeat(90))
            .join("b".repeat(90))
            .join("c".repeat(90));
        std::fs::create_dir_all(&deep).unwrap();
        for i in 0..500 {
            std::fs::write(deep.join(format!("{i}-{}", "n".repeat(120))), noise(i % 7)).unwrap();
        }
        std::os::unix::fs::symlink("z".repeat(300), root.join("link")).unwrap();
        std::fs::create_dir(root.join("empty")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let opts = DiffOptions {
            placeholders: Default::default(),
            mtime: Some(0),
            shift: None,
        };
        let desc = diff::capture(root, &out.path().join("layer"), &opts).unwrap();
        let bound = capture_bound(root);
        assert!(
            desc.size <= bound,
            "captured {} bytes over the bound {bound}",
            desc.size
        );
        assert!(
            bound < desc.size * 2,
            "the bound {bound} is not wildly above {}",
            desc.size
        );
    }
}
