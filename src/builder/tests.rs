//! Builds of small fixtures in memory: history strings, config fields, cache hits and miss reasons.

use std::cell::RefCell;

use super::*;
use crate::layer::{FileTree, Meta};

pub(crate) fn context(files: &[(&str, &str)]) -> FileTree {
    let mut tree = FileTree::new();
    for (path, data) in files {
        tree.insert_file(path, data.as_bytes().to_vec(), Meta::file())
            .unwrap();
    }
    tree
}

/// Builds with no registry and no companion; returns the image and the plain progress.
pub(crate) fn build_with(
    cache: &MemoryCache,
    ctx: &FileTree,
    dockerfile: &str,
    tweak: impl FnOnce(&mut BuildOptions),
) -> (Result<BuiltImage, BuildError>, String) {
    let renderer = RefCell::new(PlainRenderer::new());
    let progress = |e: &Event| renderer.borrow_mut().event(e);
    let clock = || 0;
    let builder = Builder {
        resolver: &NoRegistry,
        executor: &NoCompanion,
        cache,
        packer: &crate::builder::InlinePacker,
        clock: &clock,
        progress: &progress,
    };
    let mut options = BuildOptions {
        dockerfile: dockerfile.to_owned(),
        tags: vec![Reference::parse("learner1/app:v1").unwrap()],
        ..BuildOptions::default()
    };
    tweak(&mut options);
    let sink = MemorySink::default();
    let result = block_on(builder.build(ctx, &options, &sink));
    let text = renderer.borrow().text().to_owned();
    (result, text)
}

fn config_json(image: &BuiltImage) -> serde_json::Value {
    serde_json::from_slice(&image.config.bytes).unwrap()
}

#[test]
fn metadata_instructions_write_buildkit_history() {
    let ctx = context(&[("app.py", "print('hi')\n")]);
    let df = "FROM scratch\nENV A=b C=\"d e\"\nLABEL org.example=x\nWORKDIR /app\nCOPY app.py /app/\nUSER 1000\nEXPOSE 8000 53/udp\nVOLUME /data\nSTOPSIGNAL SIGINT\nENTRYPOINT [\"python3\"]\nCMD [\"app.py\"]\n";
    let (image, log) = build_with(&MemoryCache::new(), &ctx, df, |_| {});
    let image = image.unwrap();
    let json = config_json(&image);
    let by: Vec<&str> = json["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(
        by,
        [
            "ENV A=b C=d e",
            "LABEL org.example=x",
            "WORKDIR /app",
            "COPY app.py /app/ # buildkit",
            "USER 1000",
            "EXPOSE map[53/udp:{} 8000/tcp:{}]",
            "VOLUME [/data]",
            "STOPSIGNAL SIGINT",
            "ENTRYPOINT [\"python3\"]",
            "CMD [\"app.py\"]",
        ]
    );
    let config = &json["config"];
    assert_eq!(config["WorkingDir"], "/app");
    assert_eq!(config["User"], "1000");
    assert_eq!(config["Cmd"], serde_json::json!(["app.py"]));
    assert_eq!(
        config["Env"][0],
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(json["created"], "1970-01-01T00:00:00Z");
    assert_eq!(json["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    assert!(log.contains("#4 [1/2] WORKDIR /app\n"), "{log}");
    assert!(log.contains("#5 [2/2] COPY app.py /app/\n"), "{log}");
    assert!(log.contains("naming to docker.io/learner1/app:v1 done"), "{log}");
}

#[test]
fn rebuild_is_cached_and_a_change_says_why() {
    let cache = MemoryCache::new();
    let df = "FROM scratch\nCOPY requirements.txt /app/\nCOPY app.py /app/\n";
    let ctx = context(&[("requirements.txt", "flask\n"), ("app.py", "1\n")]);
    let (first, _) = build_with(&cache, &ctx, df, |_| {});
    let (second, log) = build_with(&cache, &ctx, df, |_| {});
    assert_eq!(first.unwrap().manifest, second.unwrap().manifest);
    assert_eq!(log.matches("CACHED").count(), 2, "{log}");
    let changed = context(&[("requirements.txt", "flask\n"), ("app.py", "2\n")]);
    let (_, log) = build_with(&cache, &changed, df, |_| {});
    assert!(
        log.contains("#4 [1/2] COPY requirements.txt /app/\n#4 CACHED"),
        "{log}"
    );
    assert!(log.contains("cache miss: app.py changed"), "{log}");
    let changed = context(&[("requirements.txt", "flask==3\n"), ("app.py", "2\n")]);
    let (_, log) = build_with(&cache, &changed, df, |_| {});
    assert!(log.contains("cache miss: requirements.txt changed"), "{log}");
    assert!(log.contains("cache miss: a previous step changed"), "{log}");
    let (_, log) = build_with(&cache, &changed, df, |o| o.no_cache = true);
    assert_eq!(log.matches("cache miss: --no-cache").count(), 2, "{log}");
}

#[test]
fn run_without_companion_says_so() {
    let (result, _) = build_with(
        &MemoryCache::new(),
        &FileTree::new(),
        "FROM scratch\nRUN echo hi\n",
        |_| {},
    );
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("needs the Slipway companion") || err.contains("companion server"),
        "{err}"
    );
    let (result, _) = build_with(&MemoryCache::new(), &FileTree::new(), "FROM busybox\n", |_| {});
    assert!(result.unwrap_err().to_string().contains("needs a registry"));
}

#[test]
fn docker_media_types_on_request_and_reproducible_digests() {
    let ctx = context(&[("a.txt", "a\n")]);
    let df = "FROM scratch\nCOPY a.txt /\n";
    let (oci, _) = build_with(&MemoryCache::new(), &ctx, df, |_| {});
    let (again, _) = build_with(&MemoryCache::new(), &ctx, df, |_| {});
    assert_eq!(oci.as_ref().unwrap().manifest, again.unwrap().manifest);
    let (docker, _) = build_with(&MemoryCache::new(), &ctx, df, |o| {
        o.format = crate::image::Format::Docker
    });
    let manifest: serde_json::Value = serde_json::from_slice(&docker.unwrap().manifest.bytes).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.docker.container.image.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    let (epoch, _) = build_with(&MemoryCache::new(), &ctx, df, |o| {
        o.epoch = 1_700_000_000;
        o.created = 1_700_000_000;
    });
    let config: serde_json::Value = serde_json::from_slice(&epoch.unwrap().config.bytes).unwrap();
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    assert_eq!(config["history"][0]["created"], "2023-11-14T22:13:20Z");
}

#[test]
fn created_is_the_build_time_unless_source_date_epoch_is_given() {
    let ctx = context(&[("app.py", "print('hi')\n")]);
    let df = "FROM scratch\nCOPY app.py /\n";
    let (pinned, _) = build_with(&MemoryCache::new(), &ctx, df, |_| {});
    let now = BuildOptions::created_at(None, 1_764_324_000);
    let sde = BuildOptions::created_at(Some(0), 1_764_324_000);
    assert_eq!((now, sde), (1_764_324_000, 0));
    let (today, _) = build_with(&MemoryCache::new(), &ctx, df, |o| o.created = now);
    let (pinned, today) = (pinned.unwrap(), today.unwrap());
    let config: serde_json::Value = serde_json::from_slice(&today.config.bytes).unwrap();
    assert_eq!(config["created"], "2025-11-28T10:00:00Z");
    assert_eq!(config["history"][0]["created"], "2025-11-28T10:00:00Z");
    // The build time is metadata only: the layer's files keep their fixed times, so its digest is unchanged.
    assert_eq!(pinned.layers[0].descriptor, today.layers[0].descriptor);
    assert_ne!(pinned.id(), today.id());
}

/// The fixture the browser test builds too (`wasm_digest_matches_native` below): the same digests natively and
/// in wasm.
pub(crate) const FIXTURE_DOCKERFILE: &str =
    "FROM scratch\nWORKDIR /app\nCOPY requirements.txt /app/\nCOPY app.py /app/\nENV PORT=8000\nCMD [\"python3\", \"app.py\"]\n";

pub(crate) fn fixture_context() -> FileTree {
    context(&[
        ("requirements.txt", "flask==3.0\n"),
        ("app.py", "from flask import Flask\napp = Flask(__name__)\n"),
    ])
}

/// The manifest digest of the fixture, pinned: a change here changes every image's bytes.
/// (Re-pinned when the gzip encoder started taking fixed 64 KiB input pieces: see `layer::hash`; and when gzip
/// moved from miniz_oxide to zlib-rs, whose deflate output differs: docs/performance.md.)
pub(crate) const FIXTURE_MANIFEST: &str =
    "sha256:84d00f8fd442c68bae32438db0b785d41ab37ad53f21f796879fa8338239f80d";

#[test]
fn fixture_digest_is_pinned() {
    let (image, _) = build_with(
        &MemoryCache::new(),
        &fixture_context(),
        FIXTURE_DOCKERFILE,
        |_| {},
    );
    assert_eq!(
        image.unwrap().manifest.descriptor.digest().to_string(),
        FIXTURE_MANIFEST
    );
}

/// The same fixture built in the browser: byte-identical digests to the native build above.
#[cfg(target_arch = "wasm32")]
mod wasm {
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn wasm_digest_matches_native() {
        let (image, _) = build_with(
            &MemoryCache::new(),
            &fixture_context(),
            FIXTURE_DOCKERFILE,
            |_| {},
        );
        assert_eq!(
            image.unwrap().manifest.descriptor.digest().to_string(),
            FIXTURE_MANIFEST
        );
    }
}

/// A companion stand-in that records the steps it is asked to run.
struct RecordingCompanion {
    steps: RefCell<Vec<StepRequest>>,
    exit_code: i32,
    /// The server it stands for (its base URL).
    server: String,
    /// Whether the layers it made are still there (false: the server's data was wiped).
    keeps_layers: std::cell::Cell<bool>,
}

impl RunExecutor for RecordingCompanion {
    async fn run(
        &self,
        step: StepRequest,
        _: &[LayerRef],
        output: &dyn Fn(&str),
    ) -> Result<StepOutcome, BuildError> {
        self.steps.borrow_mut().push(step);
        output("step output\n");
        let diff_id = crate::layer::sha256(b"tar");
        let layer = LayerRef {
            descriptor: crate::image::Descriptor::new(
                crate::image::MediaType::ImageLayerGzip,
                3,
                crate::layer::sha256(b"gz"),
            ),
            diff_id,
            blob: None,
            repository: Some("slipway-local/k/learner1/app".into()),
        };
        Ok(StepOutcome {
            exit_code: self.exit_code,
            output: "step output\n".into(),
            layer: (self.exit_code == 0).then_some(layer),
        })
    }

    fn server(&self) -> &str {
        &self.server
    }

    async fn has_layer(&self, _: &LayerRef) -> Result<bool, BuildError> {
        Ok(self.keeps_layers.get())
    }
}

impl RecordingCompanion {
    fn new(exit_code: i32) -> Self {
        Self::on("http://127.0.0.1:8080", exit_code)
    }

    fn on(server: &str, exit_code: i32) -> Self {
        RecordingCompanion {
            steps: RefCell::new(Vec::new()),
            exit_code,
            server: server.into(),
            keeps_layers: std::cell::Cell::new(true),
        }
    }

    /// Builds `dockerfile` (empty context, no registry) with this companion running RUN.
    fn build(&self, cache: &MemoryCache, dockerfile: &str) -> Result<BuiltImage, BuildError> {
        self.build_logged(cache, dockerfile).0
    }

    /// The same, with the plain progress.
    fn build_logged(
        &self,
        cache: &MemoryCache,
        dockerfile: &str,
    ) -> (Result<BuiltImage, BuildError>, String) {
        let clock = || 0;
        let renderer = RefCell::new(PlainRenderer::new());
        let progress = |e: &Event| renderer.borrow_mut().event(e);
        let builder = Builder {
            resolver: &NoRegistry,
            executor: self,
            cache,
            packer: &crate::builder::InlinePacker,
            clock: &clock,
            progress: &progress,
        };
        let options = BuildOptions {
            dockerfile: dockerfile.into(),
            ..BuildOptions::default()
        };
        let result = block_on(builder.build(&FileTree::new(), &options, &MemorySink::default()));
        let text = renderer.borrow().text().to_owned();
        (result, text)
    }
}

#[test]
fn run_steps_carry_env_args_and_buildkit_history() {
    let companion = RecordingCompanion::new(0);
    let cache = MemoryCache::new();
    let dockerfile = "FROM scratch\nARG NAME=world\nARG EMPTY\nENV MODE=prod\nWORKDIR /srv\nUSER 1000\nSHELL [\"/bin/bash\", \"-c\"]\nRUN echo hi $NAME\nRUN [\"/bin/true\"]\n";
    let image = companion.build(&cache, dockerfile).unwrap();
    let json = config_json(&image);
    let by: Vec<&str> = json["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["created_by"].as_str().unwrap())
        .collect();
    assert_eq!(
        by[6],
        "RUN |2 NAME=world EMPTY= /bin/bash -c echo hi $NAME # buildkit"
    );
    assert_eq!(by[7], "RUN |2 NAME=world EMPTY= /bin/true # buildkit");
    let steps = companion.steps.borrow();
    assert_eq!(
        steps[0].exec.as_deref().unwrap(),
        ["/bin/bash", "-c", "echo hi $NAME"]
    );
    assert!(
        steps[0].env.contains(&"MODE=prod".to_owned()) && steps[0].env.contains(&"NAME=world".to_owned())
    );
    assert!(
        !steps[0].env.iter().any(|e| e.starts_with("EMPTY")),
        "{:?}",
        steps[0].env
    );
    assert_eq!(steps[0].workdir.as_deref(), Some("/srv"));
    assert_eq!(steps[0].user.as_deref(), Some("1000"));
    // The second RUN stacks on the first one's layer.
    assert_eq!(steps[1].layers.len(), 2);
    // A rebuild reuses both RUN layers without asking the companion again.
    companion.build(&cache, dockerfile).unwrap();
    assert_eq!(companion.steps.borrow().len(), 2);
}

#[test]
fn failed_run_reports_like_buildkit() {
    let err = RecordingCompanion::new(3)
        .build(&MemoryCache::new(), "FROM scratch\nRUN exit 3\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3"
    );
    assert!(crate::cli::build::failure_text(&err).contains(" > step output\n"));
}

#[test]
fn label_flag_labels_the_final_image_without_history() {
    let (image, _) = build_with(
        &MemoryCache::new(),
        &FileTree::new(),
        "FROM scratch\nLABEL a=1\n",
        |o| {
            o.labels.insert("b".into(), "2".into());
        },
    );
    let json = config_json(&image.unwrap());
    assert_eq!(json["config"]["Labels"], serde_json::json!({"a": "1", "b": "2"}));
    assert_eq!(json["history"].as_array().unwrap().len(), 1);
}

#[test]
fn heredoc_runs_like_buildkit() {
    let companion = RecordingCompanion::new(0);
    companion
        .build(
            &MemoryCache::new(),
            "FROM scratch\nRUN <<EOT\necho one\necho two\nEOT\nRUN cat <<EOT > /greeting\nhello\nEOT\n",
        )
        .unwrap();
    let steps = companion.steps.borrow();
    assert_eq!(
        steps[0].exec.as_deref().unwrap(),
        ["/bin/sh", "-c", "echo one\necho two\n"]
    );
    assert_eq!(
        steps[1].exec.as_deref().unwrap(),
        ["/bin/sh", "-c", "cat <<EOT > /greeting\nhello\nEOT"]
    );
}

#[test]
fn a_cached_run_layer_the_server_lost_is_rebuilt_and_says_why() {
    let cache = MemoryCache::new();
    let dockerfile = "FROM scratch\nRUN make\nRUN make install\n";
    let companion = RecordingCompanion::new(0);
    companion.build(&cache, dockerfile).unwrap();
    let (_, log) = companion.build_logged(&cache, dockerfile);
    assert_eq!(log.matches("CACHED").count(), 2, "{log}");
    // The server's data was wiped: the cache names layers it no longer has.
    companion.keeps_layers.set(false);
    let (image, log) = companion.build_logged(&cache, dockerfile);
    image.unwrap();
    // Both steps' keys hit, and both layers are gone: each step runs again and says so.
    assert!(
        log.contains("#4 [1/2] RUN make\n#4 cache miss: the cached layer is gone from this server\n"),
        "{log}"
    );
    assert!(
        log.contains("#5 [2/2] RUN make install\n#5 cache miss: the cached layer is gone from this server\n"),
        "{log}"
    );
    assert_eq!(companion.steps.borrow().len(), 4);
}

#[test]
fn a_cache_made_against_one_server_claims_no_hits_against_another() {
    let cache = MemoryCache::new();
    let dockerfile = "FROM scratch\nRUN make\n";
    let first = RecordingCompanion::on("http://127.0.0.1:8080", 0);
    let second = RecordingCompanion::on("http://127.0.0.1:9090", 0);
    first.build(&cache, dockerfile).unwrap();
    let (image, log) = second.build_logged(&cache, dockerfile);
    image.unwrap();
    assert_eq!(second.steps.borrow().len(), 1, "the second server ran the step");
    assert!(
        log.contains("cache miss: the cached layer was made on another server"),
        "{log}"
    );
    // Each server's results stay cached side by side.
    let (_, log) = first.build_logged(&cache, dockerfile);
    assert!(log.contains("#4 CACHED"), "{log}");
    let (_, log) = second.build_logged(&cache, dockerfile);
    assert!(log.contains("#4 CACHED"), "{log}");
    assert_eq!((first.steps.borrow().len(), second.steps.borrow().len()), (1, 1));
}

#[test]
fn layers_made_here_hit_on_any_server() {
    // A WORKDIR or COPY layer's blob is in the cache itself and is uploaded to whichever server builds.
    let cache = MemoryCache::new();
    let dockerfile = "FROM scratch\nWORKDIR /app\n";
    RecordingCompanion::on("http://127.0.0.1:8080", 0)
        .build(&cache, dockerfile)
        .unwrap();
    let (_, log) = RecordingCompanion::on("http://127.0.0.1:9090", 0).build_logged(&cache, dockerfile);
    assert!(log.contains("#4 [1/1] WORKDIR /app\n#4 CACHED"), "{log}");
}

#[test]
fn offline_a_cached_run_layer_says_it_needs_the_companion() {
    // The page's companion is its own origin (""), as is the page offline: the cached RUN step's key matches,
    // but its layer is on the unreachable companion.
    let cache = MemoryCache::new();
    let dockerfile = "FROM scratch\nRUN make\n";
    RecordingCompanion::on("", 0).build(&cache, dockerfile).unwrap();
    let (image, log) = build_with(&cache, &FileTree::new(), dockerfile, |_| {});
    let error = image.unwrap_err().to_string();
    assert!(
        error.starts_with("RUN (cached layer sha256:") && error.contains("need the Slipway companion server"),
        "{error}\n{log}"
    );
}

#[test]
fn typed_errors_keep_their_text_and_their_source() {
    let missing = BuildError::Base {
        image: "python:3.12".into(),
        source: BaseError::NotFound("docker.io/library/python:3.12".into()),
    };
    assert_eq!(
        missing.to_string(),
        "python:3.12: failed to resolve source metadata for docker.io/library/python:3.12: not found"
    );
    assert!(std::error::Error::source(&missing).is_some());
    let refused = BuildError::KeepInBrowser(StoreError::Refused("QuotaExceededError".into()));
    assert_eq!(
        refused.to_string(),
        "registry: keeping the image in this browser: the browser's storage refused: QuotaExceededError"
    );
    let target = crate::dockerfile::stages::TargetError::NotFound {
        name: "tset".into(),
        suggestion: Some("test".into()),
    };
    assert_eq!(
        BuildError::from(target).to_string(),
        "target stage \"tset\" could not be found (did you mean test?)"
    );
    // The companion's refusal of a RUN step keeps its status and message; a lost connection keeps its cause.
    let quota = BuildError::from(super::StepError::Refused {
        status: 507,
        message: "the session's disk quota is full".into(),
    });
    assert_eq!(
        quota.to_string(),
        "the companion could not run the step: the session's disk quota is full (507)"
    );
    let gone = BuildError::from(super::StepError::Unreachable(crate::registry::TransportError(
        "connection refused".into(),
    )));
    assert_eq!(
        gone.to_string(),
        "the companion could not run the step: connection refused"
    );
    let cause = std::error::Error::source(&gone).and_then(std::error::Error::source);
    assert_eq!(
        cause.map(ToString::to_string).as_deref(),
        Some("connection refused")
    );
}

#[test]
fn onbuild_triggers_of_a_base_stage_run_in_the_stage_built_on_it() {
    let ctx = context(&[("app.py", "print('hi')\n")]);
    let df =
        "FROM scratch AS base\nONBUILD ENV FROM_BASE=yes\nONBUILD COPY app.py /\nFROM base\nCMD [\"x\"]\n";
    let (image, log) = build_with(&MemoryCache::new(), &ctx, df, |_| {});
    let image = image.unwrap();
    let json = config_json(&image);
    let env: Vec<&str> = json["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    // A config-only trigger changes the config; a layer trigger is a numbered step of its own.
    assert!(env.contains(&"FROM_BASE=yes"), "{env:?}");
    assert!(log.contains("[stage-1 1/2] ONBUILD COPY app.py /"), "{log}");
    assert_eq!(image.layers.len(), 1);
}

/// `COPY --link` makes its layer as if onto an empty directory: the same bytes on two bases that differ
/// where it copies (a plain COPY inherits the base's `/app` owner there), and a rebase reuses it from the cache.
#[test]
fn a_linked_copy_is_the_same_layer_whatever_the_base() {
    let ctx = context(&[("one.txt", "1\n"), ("two.txt", "2\n"), ("app.py", "print(1)\n")]);
    let df = |link: &str| {
        format!(
            "FROM scratch AS one\nCOPY --chown=1000:1000 one.txt /app/\n\
             FROM scratch AS two\nCOPY two.txt /etc/\n\
             FROM one AS a\nCOPY {link}app.py /app/\n\
             FROM two AS b\nCOPY {link}app.py /app/\n"
        )
    };
    let top = |dockerfile: &str, target: &str, cache: &MemoryCache| {
        let (image, log) = build_with(cache, &ctx, dockerfile, |o| o.target = Some(target.into()));
        let image = image.unwrap_or_else(|e| panic!("{e}\n{log}"));
        let layer = image.layers.last().unwrap().clone();
        (
            layer.descriptor.digest().to_string(),
            layer.diff_id.to_string(),
            log,
        )
    };
    let linked = df("--link ");
    let cache = MemoryCache::new();
    let (on_one, diff_one, _) = top(&linked, "a", &cache);
    let (on_two, diff_two, log) = top(&linked, "b", &cache);
    assert_eq!((&on_one, &diff_one), (&on_two, &diff_two));
    let lines: Vec<&str> = log.lines().collect();
    let copy = lines
        .iter()
        .position(|l| l.ends_with("COPY --link app.py /app/"))
        .unwrap();
    assert!(
        lines[copy + 1].ends_with(" CACHED"),
        "a rebase reuses the linked layer: {log}"
    );
    let plain = df("");
    let (plain_one, _, _) = top(&plain, "a", &MemoryCache::new());
    let (plain_two, _, _) = top(&plain, "b", &MemoryCache::new());
    assert_ne!(plain_one, plain_two, "without --link the base shows in the layer");
    let history = |target: &str| {
        let (image, _) = build_with(&MemoryCache::new(), &ctx, &linked, |o| {
            o.target = Some(target.into())
        });
        config_json(&image.unwrap())["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["created_by"]
            .clone()
    };
    assert_eq!(history("a"), "COPY app.py /app/ # buildkit");
}

/// A build lists its BuildKit warnings at its end as buildx does (not the learner rules), also when it fails
/// after its checks; a `# check=` directive BuildKit cannot parse fails it before anything runs.
#[test]
fn a_build_ends_with_its_warnings_and_stops_on_a_bad_check_directive() {
    let ctx = context(&[("app.py", "print('hi')\n")]);
    let df = "FROM scratch\nMAINTAINER jane\nCOPY app.py /app/\nCMD python3 /app/app.py\n";
    let (image, log) = build_with(&MemoryCache::new(), &ctx, df, |_| {});
    assert!(image.is_ok(), "{log}");
    assert!(
        log.ends_with(
            "\n 2 warnings found (use docker --debug to expand):\n \
             - MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)\n \
             - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to \
             OS signals (line 4)\n"
        ),
        "{log}"
    );
    let (failed, log) = build_with(
        &MemoryCache::new(),
        &ctx,
        &format!("# check=error=true\n{df}"),
        |_| {},
    );
    assert!(matches!(failed, Err(BuildError::LintViolation(_))), "{failed:?}");
    assert!(log.contains(" 2 warnings found"), "{log}");
    let (clean, log) = build_with(
        &MemoryCache::new(),
        &ctx,
        "FROM scratch\nCOPY app.py /app/\n",
        |_| {},
    );
    assert!(clean.is_ok() && !log.contains("warning"), "{log}");
    let (bad, _) = build_with(&MemoryCache::new(), &ctx, &format!("# check=skip\n{df}"), |_| {});
    assert_eq!(
        bad.err().map(|e| e.to_string()).as_deref(),
        Some(
            "dockerfile parse error on line 1: failed to parse check options: invalid check option \"skip\""
        )
    );
}
