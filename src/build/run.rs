//! RUN steps through a trait: the companion's `POST /api/steps` (docs/runner-api.md), or an executor that
//! says RUN needs the companion.

use serde::{Deserialize, Serialize};

use super::rootfs::LayerRef;
use super::BuildError;
use crate::image::{Descriptor, Digest, MediaType};
use crate::registry::transport::LineSplitter;
use crate::registry::{Client, HttpRequest, Method, PushOptions, Transport};

/// One RUN step as the companion takes it (the JSON body of `POST /api/steps`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepRequest {
    pub layers: Vec<String>,
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    pub mtime: u64,
    /// The local repository the new layer is linked to (docs/local-images.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

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

/// One line of the streamed answer of `POST /api/steps` (`Accept: application/x-ndjson`).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum StepEvent {
    /// Output as produced.
    Output { data: String },
    /// The end: how the command exited and the layer it made.
    Result(StepAnswer),
    /// The step failed after it started (the layer could not be stored: quota, disk).
    Error { status: u16, message: String },
}

#[derive(Debug, Deserialize)]
struct StepAnswer {
    exit_code: i32,
    #[serde(default)]
    oom_killed: bool,
    #[serde(default)]
    timed_out: bool,
    #[serde(default)]
    output: String,
    #[serde(default)]
    layer: Option<LayerAnswer>,
}

#[derive(Debug, Deserialize)]
struct LayerAnswer {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    size: u64,
    diff_id: String,
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
        let body = serde_json::to_vec(&step).map_err(|e| BuildError::Companion(e.to_string()))?;
        let request = HttpRequest::new(Method::Post, format!("{}/api/steps", self.base))
            .header("Content-Type", "application/json")
            .header("Accept", "application/x-ndjson")
            .body(body);
        let mut lines = LineSplitter::default();
        let mut answer = None;
        let mut failure = None;
        let mut streamed = String::new();
        let mut on_event = |line: &str| match serde_json::from_str::<StepEvent>(line) {
            Ok(StepEvent::Output { data }) => {
                output(&data);
                streamed.push_str(&data);
            }
            Ok(StepEvent::Result(result)) => answer = Some(result),
            Ok(StepEvent::Error { status, message }) => failure = Some(format!("{message} ({status})")),
            Err(_) if line.trim().is_empty() => {}
            Err(e) => failure = Some(format!("unreadable step event {line:?}: {e}")),
        };
        let response = self
            .transport
            .send_streaming(request, &mut |chunk| {
                lines.feed(chunk).iter().for_each(|l| on_event(l))
            })
            .await
            .map_err(|e| BuildError::Companion(e.to_string()))?;
        if let Some(rest) = lines.finish() {
            on_event(&rest);
        }
        if !response.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v["message"].as_str().map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&response.body).into_owned());
            return Err(BuildError::Companion(format!(
                "{} ({})",
                message, response.status
            )));
        }
        if let Some(failure) = failure {
            return Err(BuildError::Companion(failure));
        }
        let answer = answer.ok_or_else(|| {
            BuildError::Companion("the companion's answer ended before the step's result".into())
        })?;
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
            Some(l) if answer.exit_code == 0 => {
                let digest: Digest = l
                    .digest
                    .parse()
                    .map_err(|e| BuildError::Companion(format!("{e}")))?;
                Some(LayerRef {
                    descriptor: Descriptor::new(MediaType::from(l.media_type.as_str()), l.size, digest),
                    diff_id: l
                        .diff_id
                        .parse()
                        .map_err(|e| BuildError::Companion(format!("{e}")))?,
                    blob: None,
                    repository: Some(self.repository.clone()),
                })
            }
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

    async fn has_layer(&self, layer: &LayerRef) -> Result<bool, BuildError> {
        let repository = layer.repository.as_deref().unwrap_or(&self.repository);
        self.registry
            .blob_exists(repository, layer.descriptor.digest().as_ref())
            .await
            .map(|size| size.is_some())
            .map_err(BuildError::Registry)
    }
}
