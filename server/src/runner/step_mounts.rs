//! `RUN --mount` and `RUN --network=none` of build steps (`docs/dockerfile.md`): the builder sends each mount
//! resolved ([`StepMount`]); here its source is made and it joins the step's runtime spec. Nothing of a mount
//! goes into the step's layer: the mount points runc had to create are placeholders the capture leaves out.
//!
//! - `cache`: a directory of the session's under `DATA/cache-mounts/OWNER/` (OWNER a hash of the session, as for
//!   volumes), named by a hash of the cache id (and of its seed: `from=` makes a new cache start with the files
//!   of a layer blob the builder made of that stage's `source`, as BuildKit's cache on top of a ref), kept between builds, counted with the session's volumes against
//!   its disk quota (checked before the step). Steps of one session run one at a time (one builder per owner),
//!   so `sharing=shared|private|locked` all see the one directory.
//! - `secret`: a read-only file in the step's container directory (removed with it), and/or a variable of the
//!   step's process only (not of the image's config).
//! - `bind`: the layer blob the builder made of the source, unpacked into the step's container directory
//!   (removed with it): read-only unless `rw`, whose writes go nowhere.
//! - `tmpfs`: a tmpfs (its pages are charged to the step's memory cgroup).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec::runtime::{Mount, MountBuilder, Spec};
use sha2::Digest;
use slipway::api::StepMount;

use super::unpack::IdShift;
use super::volumes::{check_target, VolumeError, Volumes, MAX_MOUNTS};
use super::{io_ctx, Container, Runner, RunnerError};
use slipway::api::StepRequest as RunStep;

/// The cache mounts of every session (a volume store of its own: `docker volume ls` never lists them).
fn caches(runner: &Runner) -> Volumes {
    let shift = runner.config.userns.unwrap_or(IdShift::NONE);
    Volumes::new(runner.config.data_dir.join("cache-mounts"), shift)
}

/// A cache id as a directory name: a hash, so any id (BuildKit's default is the target path) is one name.
fn cache_name(id: &str) -> String {
    let digest = sha2::Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("c{hex}")
}

fn invalid(message: impl Into<String>) -> RunnerError {
    VolumeError::Invalid(message.into()).into()
}

impl Runner {
    /// Everything that can refuse a step's mounts and network before anything is made: targets, their count,
    /// the network asked for, and the session's disk quota when the step mounts a cache.
    pub(super) fn check_step_mounts(&self, step: &RunStep) -> Result<(), RunnerError> {
        match step.network.as_deref() {
            None | Some("none") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "unsupported network mode \"{other}\" for a step"
                )))
            }
        }
        if step.mounts.len() > MAX_MOUNTS {
            return Err(invalid(format!("too many mounts: at most {MAX_MOUNTS} here")));
        }
        for mount in &step.mounts {
            if let Some(target) = mount.target() {
                check_target(target)?;
            }
            if let StepMount::Bind { path, .. } = mount {
                if path.contains('/') || path == ".." || path == "." {
                    return Err(invalid(format!("invalid bind source path {path:?}")));
                }
            }
        }
        let has_cache = step.mounts.iter().any(|m| matches!(m, StepMount::Cache { .. }));
        let quota = self.registry.as_ref().and_then(|r| r.limits.session_quota);
        if let (true, Some(quota)) = (has_cache, quota) {
            let used = caches(self).usage(&step.session) + self.volumes.usage(&step.session);
            if used >= quota {
                return Err(VolumeError::Quota { used, quota }.into());
            }
        }
        Ok(())
    }

    /// Make the step's mount sources and add them (and its secret variables) to the container's saved spec.
    /// Returns the paths (relative to the rootfs) that did not exist before: runc creates them as mount points,
    /// and the capture leaves them out. Blocking.
    pub(super) fn mount_step(&self, c: &Container, mounts: &[StepMount]) -> Result<Vec<String>, RunnerError> {
        if mounts.is_empty() {
            return Ok(Vec::new());
        }
        let config = c.dir.join("config.json");
        let mut spec = Spec::load(&config).map_err(|e| RunnerError::Spec(e.into()))?;
        let own = c.dir.join("mounts");
        std::fs::create_dir_all(&own).map_err(io_ctx("making the step's mounts"))?;
        let rootfs = c.dir.join("rootfs");
        let mut placeholders = Vec::new();
        let mut added = Vec::new();
        let mut env = Vec::new();
        for (i, mount) in mounts.iter().enumerate() {
            if let Some(target) = mount.target() {
                missing_ancestors(&rootfs, target, &mut placeholders);
            }
            if let StepMount::Secret {
                env: Some(var), data, ..
            } = mount
            {
                env.push(format!("{var}={}", String::from_utf8_lossy(data)));
            }
            if let Some(m) = self.mount_source(c, mount, &own.join(i.to_string()))? {
                added.push(m);
            }
        }
        let mut all = spec.mounts().clone().unwrap_or_default();
        all.extend(added);
        spec.set_mounts(Some(all));
        if !env.is_empty() {
            let mut process = spec.process().clone().unwrap_or_default();
            let mut vars = process.env().clone().unwrap_or_default();
            vars.extend(env);
            process.set_env(Some(vars));
            spec.set_process(Some(process));
        }
        spec.save(&config).map_err(|e| RunnerError::Spec(e.into()))?;
        Ok(placeholders)
    }

    /// The source of one mount, made now (`own` is this mount's own place in the container directory).
    fn mount_source(
        &self,
        c: &Container,
        mount: &StepMount,
        own: &Path,
    ) -> Result<Option<Mount>, RunnerError> {
        let shift = self.config.userns.unwrap_or(IdShift::NONE);
        let chown = |path: &Path, uid: u32, gid: u32| {
            std::os::unix::fs::lchown(
                path,
                Some(shift.to_host(uid.into())),
                Some(shift.to_host(gid.into())),
            )
            .map_err(io_ctx("chown a mount"))
        };
        let chmod = |path: &Path, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
                .map_err(io_ctx("chmod a mount"))
        };
        Ok(Some(match mount {
            StepMount::Cache {
                target,
                id,
                mode,
                uid,
                gid,
                read_only,
                seed,
                ..
            } => {
                let store = caches(self);
                let name = match seed {
                    None => cache_name(id),
                    Some(seed) => cache_name(&format!("{id}\n{seed}")),
                };
                let data = store.data(&c.session, &name);
                if !store.exists(&c.session, &name) {
                    store.create(&c.session, &name, false)?;
                    if let Some(seed) = seed {
                        let blob = self.images.blob_for(&c.session, seed)?;
                        let file = std::fs::File::open(&blob).map_err(io_ctx("opening a cache's seed"))?;
                        super::unpack::unpack_layer(
                            file,
                            &data,
                            self.config.unpack_limits,
                            shift,
                            Some(seed),
                        )?;
                    }
                    chown(&data, *uid, *gid)?;
                    chmod(&data, *mode)?;
                }
                bind(target, &data, *read_only)?
            }
            StepMount::Secret { target: None, .. } => return Ok(None),
            StepMount::Secret {
                target: Some(target),
                data,
                mode,
                uid,
                gid,
                ..
            } => {
                std::fs::write(own, data).map_err(io_ctx("writing a secret"))?;
                chown(own, *uid, *gid)?;
                chmod(own, *mode)?;
                bind(target, own, true)?
            }
            StepMount::Bind {
                target,
                layer,
                path,
                read_only,
            } => {
                let blob = self.images.blob_for(&c.session, layer)?;
                std::fs::create_dir(own).map_err(io_ctx("making a bind mount"))?;
                let file = std::fs::File::open(&blob).map_err(io_ctx("opening a bind mount's source"))?;
                super::unpack::unpack_layer(file, own, self.config.unpack_limits, shift, Some(layer))?;
                chown(own, 0, 0)?;
                let source: PathBuf = if path.is_empty() {
                    own.to_path_buf()
                } else {
                    own.join(path)
                };
                bind(target, &source, *read_only)?
            }
            StepMount::Tmpfs { target, size } => {
                let mut options = vec!["nosuid".to_string(), "nodev".to_string()];
                if let Some(size) = size {
                    options.push(format!("size={size}"));
                }
                MountBuilder::default()
                    .destination(target)
                    .typ("tmpfs")
                    .source("tmpfs")
                    .options(options)
                    .build()
                    .map_err(|e| RunnerError::Spec(e.into()))?
            }
        }))
    }
}

fn bind(target: &str, source: &Path, read_only: bool) -> Result<Mount, RunnerError> {
    let mode = if read_only { "ro" } else { "rw" };
    MountBuilder::default()
        .destination(target)
        .typ("bind")
        .source(source)
        .options(
            ["rbind", "rprivate", "nosuid", "nodev", mode]
                .map(String::from)
                .to_vec(),
        )
        .build()
        .map_err(|e| RunnerError::Spec(e.into()))
}

/// The paths from `target` up that `rootfs` does not have (relative, deepest last): runc makes them.
fn missing_ancestors(rootfs: &Path, target: &str, out: &mut Vec<String>) {
    let mut rel = String::new();
    for part in target.split('/').filter(|p| !p.is_empty()) {
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(part);
        if std::fs::symlink_metadata(rootfs.join(&rel)).is_err() && !out.contains(&rel) {
            out.push(rel.clone());
        }
    }
}

/// The step's runner, for the blocking part of mounting.
pub(super) async fn mount_blocking(
    runner: &Arc<Runner>,
    c: &Arc<Container>,
    mounts: Vec<StepMount>,
) -> Result<Vec<String>, RunnerError> {
    let (this, c) = (runner.clone(), c.clone());
    tokio::task::spawn_blocking(move || this.mount_step(&c, &mounts))
        .await
        .map_err(|e| io_ctx("mount task")(std::io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ancestors_are_the_mount_points_runc_makes() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("root")).unwrap();
        let mut out = Vec::new();
        missing_ancestors(root.path(), "/root/.cache/pip", &mut out);
        missing_ancestors(root.path(), "/run/secrets/token", &mut out);
        assert_eq!(
            out,
            [
                "root/.cache",
                "root/.cache/pip",
                "run",
                "run/secrets",
                "run/secrets/token"
            ]
        );
        assert_ne!(cache_name("/root/.cache"), cache_name("/root/.cache/pip"));
        assert_eq!(cache_name("x").len(), 33);
    }
}
