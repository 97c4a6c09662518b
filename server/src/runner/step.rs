//! RUN steps for builds: run a command on top of given layers with the step's Env, WorkingDir, User and SHELL,
//! then capture the overlay upper dir as an OCI layer.

use std::path::PathBuf;
use std::sync::Arc;

use oci_spec::image::ImageConfiguration;
use serde::{Deserialize, Serialize};

use super::diff::{self, DiffOptions, LayerDescriptor};
use super::images::LayerBlob;
use super::lifecycle::cleanup_dir;
use super::spec::RunOptions;
use super::{io_ctx, Runner, RunnerError};

/// One RUN instruction with the build state it runs in (JSON body of `POST /api/steps`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunStep {
    /// Layer blob digests, bottom first (resolved through the image source).
    pub layers: Vec<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// `SHELL`; default `["/bin/sh", "-c"]`.
    pub shell: Option<Vec<String>>,
    /// Shell form: the command line given to the shell.
    pub command: Option<String>,
    /// Exec form: the argv as is.
    pub exec: Option<Vec<String>>,
    /// Clamp file mtimes in the layer to this Unix time (reproducible layers).
    pub mtime: Option<u64>,
    pub memory: Option<i64>,
    pub pids_limit: Option<i64>,
    /// The session running the build (from the `X-Slipway-Session` header): steps count against its quota.
    #[serde(skip)]
    pub session: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub exit_code: i32,
    pub oom_killed: bool,
    pub timed_out: bool,
    /// stdout and stderr interleaved as produced.
    pub output: String,
    /// The layer, when the command succeeded.
    pub layer: Option<LayerDescriptor>,
}

/// The image name of the transient containers of RUN steps (not listed by `docker ps`).
pub const BUILD_STEP_IMAGE: &str = "(build step)";

impl Runner {
    /// Run `step` to completion; on success its filesystem changes become a gzip layer under `blobs/sha256/`.
    pub async fn run_step(self: &Arc<Self>, step: RunStep) -> Result<StepResult, RunnerError> {
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
        let this = self.clone();
        let digests = step.layers.clone();
        let lowers = tokio::task::spawn_blocking(move || {
            let blobs = digests
                .iter()
                .map(|d| {
                    Ok(LayerBlob {
                        digest: d.clone(),
                        diff_id: None,
                        path: this.images.blob(d)?,
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
            ..RunOptions::default()
        };
        let c = self
            .create_from(BUILD_STEP_IMAGE, &ImageConfiguration::default(), lowers, opts)
            .await?;
        let started = self.start(&c).await;
        let state = c.wait().await;
        let output = String::from_utf8_lossy(&c.io.logs.all_bytes()).into_owned();
        let exit_code = state.exit_code.unwrap_or(255);
        let mut layer = None;
        if started.is_ok() && exit_code == 0 {
            let upper = c.dir.join("rw/upper");
            let blobs = self.config.data_dir.join("blobs/sha256");
            let tmp = blobs.join(format!(".tmp-{}", c.id));
            let opts = DiffOptions {
                placeholders: diff::effective_placeholders(&upper, &c.placeholders, &c.lowers),
                mtime: step.mtime,
                shift: self.config.userns,
            };
            let captured = tokio::task::spawn_blocking(move || -> std::io::Result<LayerDescriptor> {
                let mut desc = diff::capture(&upper, &tmp, &opts)?;
                let hex = desc.digest.trim_start_matches("sha256:");
                let path: PathBuf = blobs.join(hex);
                std::fs::rename(&tmp, &path)?;
                desc.path = path;
                Ok(desc)
            })
            .await
            .map_err(|e| io_ctx("diff task")(std::io::Error::other(e)))?;
            layer = Some(captured.map_err(io_ctx("capturing the layer"))?);
        }
        self.forget(&c.id);
        let dir = c.dir.clone();
        let _ = tokio::task::spawn_blocking(move || cleanup_dir(&dir)).await;
        started?;
        Ok(StepResult {
            exit_code,
            oom_killed: state.oom_killed,
            timed_out: state.timed_out,
            output,
            layer,
        })
    }
}
