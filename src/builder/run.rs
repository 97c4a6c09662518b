//! RUN steps through a trait: the companion's `POST /api/steps` (docs/runner-api.md), or an executor that
//! says RUN needs the companion.

use super::rootfs::LayerRef;
use super::{BuildError, StepError};
use crate::api::{Companion, CompanionError, StepEvent, StepLayer, StepResult};
use crate::image::{Descriptor, Digest, MediaType};
use crate::registry::{Client, PushOptions, Transport};

/// One RUN step as the companion takes it (the body of `POST /api/steps`): the protocol's.
pub use crate::api::StepRequest;

/// What a RUN step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub exit_code: i32,
    pub output: String,
    /// The new layer when the command succeeded.
    pub layer: Option<LayerRef>,
}

/// Runs RUN steps. `layers` are the stage's layers so far, bottom first. `output` gets the step's output as it
/// is produced (the outcome has all of it again, for the error of a failed step).
#[allow(async_fn_in_trait)]
pub trait RunExecutor {
    async fn run(
        &self,
        step: StepRequest,
        layers: &[LayerRef],
        output: &dyn Fn(&str),
    ) -> Result<StepOutcome, BuildError>;

    /// The server RUN layers are kept on (the companion's base URL): part of a RUN step's cache key, so a cache
    /// made against one server claims no hits against another.
    fn server(&self) -> &str;

    /// Whether the server still has a layer a cached RUN step made (its data may have been wiped since).
    async fn has_layer(&self, layer: &LayerRef) -> Result<bool, BuildError>;

    /// `ADD <url>`: the file, fetched by the companion through its allowlist (`POST /api/fetch`); the error is
    /// the reason, for the build's output. With `if_none_match` (the `ETag` of the copy the build cache has), a
    /// host's `304` comes back as [`crate::api::Fetched::not_modified`]. Without a companion there is nothing
    /// to fetch through.
    async fn fetch(&self, url: &str, if_none_match: Option<&str>) -> Result<crate::api::Fetched, String> {
        let _ = (url, if_none_match);
        Err("fetching a URL needs the Slipway companion server, which is not connected".into())
    }
}

/// No companion: RUN fails and says what it needs; builds without RUN still work.
pub struct NoCompanion;

impl RunExecutor for NoCompanion {
    async fn run(
        &self,
        step: StepRequest,
        _: &[LayerRef],
        _: &dyn Fn(&str),
    ) -> Result<StepOutcome, BuildError> {
        let what = step
            .command
            .or(step.exec.map(|e| e.join(" ")))
            .unwrap_or_default();
        Err(BuildError::NeedsCompanion(what))
    }

    fn server(&self) -> &str {
        ""
    }

    /// A cached RUN layer is on the companion, and there is none: the step cannot be used, and says why.
    async fn has_layer(&self, layer: &LayerRef) -> Result<bool, BuildError> {
        Err(BuildError::NeedsCompanion(format!(
            "(cached layer {})",
            layer.descriptor.digest()
        )))
    }
}

/// RUN through the companion at `base`: layers this build made are uploaded to `repository` first (HEAD
/// before upload), so the runner finds every layer in the registry's blob store.
pub struct CompanionExecutor<'a, T: Transport> {
    pub transport: &'a T,
    /// The companion's base URL ("" in the page: its own origin).
    pub base: String,
    pub registry: &'a Client<T>,
    pub repository: String,
}

impl<T: Transport> CompanionExecutor<'_, T> {
    /// The layer a step made, as the build refers to it: in this build's repository on the companion.
    fn layer_ref(&self, layer: StepLayer) -> Result<LayerRef, BuildError> {
        let digest: Digest = layer.digest.parse().map_err(StepError::LayerDigest)?;
        Ok(LayerRef {
            descriptor: Descriptor::new(MediaType::from(layer.media_type.as_str()), layer.size, digest),
            diff_id: layer.diff_id.parse().map_err(StepError::LayerDigest)?,
            blob: None,
            repository: Some(self.repository.clone()),
        })
    }
}

impl<T: Transport> RunExecutor for CompanionExecutor<'_, T> {
    async fn run(
        &self,
        mut step: StepRequest,
        layers: &[LayerRef],
        output: &dyn Fn(&str),
    ) -> Result<StepOutcome, BuildError> {
        for layer in layers {
            if let Some(blob) = &layer.blob {
                self.registry
                    .push_blob(
                        &self.repository,
                        layer.descriptor.digest().as_ref(),
                        blob,
                        &PushOptions::default(),
                        &mut |_, _| {},
                    )
                    .await
                    .map_err(BuildError::Registry)?;
            }
        }
        step.repository = Some(self.repository.clone());
        let mut answer = None;
        let mut failure = None;
        let mut streamed = String::new();
        let mut on_event = |event| match event {
            // Shown in the build's output, not part of the step's own.
            StepEvent::Queued { ahead } => output(&format!("waiting for a builder: {ahead} ahead\n")),
            StepEvent::Output { data, .. } => {
                output(&data);
                streamed.push_str(&data);
            }
            StepEvent::Result(result) => answer = Some(result),
            StepEvent::Error { status, message } => failure = Some(StepError::Refused { status, message }),
        };
        let companion = Companion::new(self.transport, &self.base);
        match companion.run_step(&step, &mut on_event).await {
            Ok(()) => {}
            Err(CompanionError::Refused { status, message }) => {
                return Err(StepError::Refused { status, message }.into())
            }
            Err(CompanionError::Unreachable { source, .. }) => {
                return Err(StepError::Unreachable(source).into())
            }
            Err(CompanionError::Unreadable(e)) => failure = failure.or(Some(StepError::Unreadable(e))),
        }
        if let Some(failure) = failure {
            return Err(failure.into());
        }
        let answer: StepResult = answer.ok_or(StepError::NoResult)?;
        // The streamed result leaves the output out: it came as output events.
        let mut output = if answer.output.is_empty() {
            streamed
        } else {
            answer.output
        };
        if answer.oom_killed {
            output.push_str("\n(the step ran out of memory)\n");
        }
        if answer.timed_out {
            output.push_str("\n(the step ran past the companion's time limit)\n");
        }
        let layer = match answer.layer {
            Some(layer) if answer.exit_code == 0 => Some(self.layer_ref(layer)?),
            _ => None,
        };
        Ok(StepOutcome {
            exit_code: answer.exit_code,
            output,
            layer,
        })
    }

    fn server(&self) -> &str {
        &self.base
    }

    async fn fetch(&self, url: &str, if_none_match: Option<&str>) -> Result<crate::api::Fetched, String> {
        let companion = Companion::new(self.transport, &self.base);
        companion.fetch(url, if_none_match).await.map_err(|e| match e {
            CompanionError::Refused { message, .. } => message,
            other => other.to_string(),
        })
    }

    async fn has_layer(&self, layer: &LayerRef) -> Result<bool, BuildError> {
        let repository = layer.repository.as_deref().unwrap_or(&self.repository);
        self.registry
            .blob_exists(repository, layer.descriptor.digest().as_ref())
            .await
            .map(|size| size.is_some())
            .map_err(BuildError::Registry)
    }
}
