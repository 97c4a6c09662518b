//! RUN steps of builds: `POST /api/steps` and the events its streamed answer is made of.

use serde::{Deserialize, Serialize};

use super::LogStream;

/// The media type of a streamed answer (ask for it with `Accept`): one JSON value per line.
pub const NDJSON: &str = "application/x-ndjson";

/// One RUN instruction with the build state it runs in: the body of `POST /api/steps`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepRequest {
    /// Layer blob digests, bottom first.
    pub layers: Vec<String>,
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `SHELL`; default `["/bin/sh", "-c"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Shell form: the command line given to the shell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Exec form: the argv as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// Clamp file mtimes in the layer to this Unix time (reproducible layers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// A local repository of the caller's session (`slipway-local/KEY/NAME`): the new layer is committed to the
    /// registry's blob store and linked there, so the build can push its manifest without uploading the layer
    /// (docs/local-images.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `RUN --mount`: what the step sees besides its layers; nothing of it goes into the step's layer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<StepMount>,
    /// `RUN --network=none`: the step has no network (`None`: the server's default for steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The session running the build: the server takes it from the session header ([`super::SESSION_HEADER`]),
    /// never from the body; steps count against its quota.
    #[serde(skip)]
    pub session: String,
}

/// One `RUN --mount` as the server mounts it (the builder has resolved ids, targets and sources).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum StepMount {
    /// `type=cache`: a directory of the session's kept between builds (by `id`), counted in its disk quota.
    Cache {
        target: String,
        id: String,
        /// `shared`, `private` or `locked`.
        sharing: String,
        /// Of the directory when it is made (BuildKit's defaults: 0755, 0:0).
        mode: u32,
        uid: u32,
        gid: u32,
        read_only: bool,
        /// `from=`: the layer blob (uploaded with the step's layers, as a bind mount's) a new cache starts with;
        /// the cache is then a different one for each seed (BuildKit keys it by id and source). `mode`/`uid`/`gid`
        /// are then the seed's top directory's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<String>,
    },
    /// `type=secret`: `data` as a read-only file at `target`, and/or as the variable `env` of the step.
    Secret {
        target: Option<String>,
        env: Option<String>,
        data: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// `type=bind`: `path` inside the layer blob `layer` (a tar the builder made of the source and uploaded to
    /// the step's repository); `read_only: false` lets the step write, and its writes are dropped.
    Bind {
        target: String,
        layer: String,
        path: String,
        read_only: bool,
    },
    /// `type=tmpfs`: an empty tmpfs, `size` bytes at most.
    Tmpfs { target: String, size: Option<u64> },
}

impl StepMount {
    /// Where the mount appears in the step (`None`: an env-only secret).
    pub fn target(&self) -> Option<&str> {
        match self {
            StepMount::Cache { target, .. }
            | StepMount::Bind { target, .. }
            | StepMount::Tmpfs { target, .. } => Some(target),
            StepMount::Secret { target, .. } => target.as_deref(),
        }
    }
}

/// The layer a successful step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLayer {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub diff_id: String,
}

/// How a step ended: the whole answer of `POST /api/steps`, or the last event of its streamed answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    pub exit_code: i32,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub timed_out: bool,
    /// stdout and stderr interleaved as produced; left out of the streamed result (it came as output events).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// The layer, when the command succeeded.
    #[serde(default)]
    pub layer: Option<StepLayer>,
}

/// One line of the streamed answer of `POST /api/steps` (`Accept: application/x-ndjson`): `{"queued": {...}}`,
/// `{"output": {...}}`, `{"result": {...}}` or `{"error": {...}}`. Externally tagged (serde's default): cheaper to read in the page's
/// wasm than an internally tagged enum (docs/performance.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepEvent {
    /// The step waits for a builder (the server runs a bounded number of steps at once, one per owner):
    /// `ahead` steps get one before it. Sent when it starts waiting and whenever the count changes.
    Queued { ahead: usize },
    /// Output as produced.
    Output { stream: LogStream, data: String },
    /// The end: how the command exited and the layer it made.
    Result(StepResult),
    /// The step failed after it started (the layer could not be stored: quota, disk).
    Error { status: u16, message: String },
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn step_request_round_trips_and_refuses_unknown_fields() {
        let step = StepRequest {
            layers: vec!["sha256:00".into()],
            env: vec!["PATH=/bin".into()],
            exec: Some(vec!["true".into()]),
            mtime: Some(0),
            repository: Some("slipway-local/k/app".into()),
            ..StepRequest::default()
        };
        let json = round_trip(&step);
        assert!(json.get("command").is_none(), "absent fields stay out: {json}");
        let error = serde_json::from_str::<StepRequest>(r#"{"layers":[],"comand":"ls"}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `comand`"), "{error}");
    }

    #[test]
    fn step_events_round_trip_tagged_by_their_variant() {
        let output = round_trip(&StepEvent::Output {
            stream: LogStream::Stdout,
            data: "hi\n".into(),
        });
        assert_eq!(output["output"]["data"], "hi\n", "{output}");
        let result = round_trip(&StepEvent::Result(StepResult {
            exit_code: 0,
            layer: Some(StepLayer {
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                digest: "sha256:00".into(),
                size: 3,
                diff_id: "sha256:01".into(),
            }),
            ..StepResult::default()
        }));
        assert_eq!(
            result["result"]["layer"]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        let error = round_trip(&StepEvent::Error {
            status: 507,
            message: "quota".into(),
        });
        assert_eq!(error["error"]["status"], 507);
        let queued = round_trip(&StepEvent::Queued { ahead: 3 });
        assert_eq!(queued, serde_json::json!({"queued": {"ahead": 3}}));
        round_trip(&StepResult {
            exit_code: 1,
            output: "no\n".into(),
            ..StepResult::default()
        });
    }
}
