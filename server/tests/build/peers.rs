//! Real peers: a real `slipway serve` (registry with the busybox base image, runner under runc), skopeo, and
//! the interpreter's `docker build` over HTTP.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

use slipway::builder::MemoryCache;
use slipway::cli::build::{build, BuildEnv};
use slipway::cli::parse::{parse, Parsed};
use slipway::layer::{FileTree, Meta};

use super::layout::{manifest_digest, slipway_build};
use crate::registry::client::Reqwest;
use crate::support::server::{with_busybox, Server};
use crate::support::TempDir;

/// What these tests need (root, runc, busybox-static and the peer tools): `scripts/setup.sh --test` installs it,
/// so a missing piece fails the test loudly rather than skipping it (there is no opt-out for the peers).
pub(crate) fn require_prerequisites(tools: &[&str]) {
    use crate::support::prerequisite::{on_path, runner_missing, RUNNER_FIX};
    if let Some(why) = runner_missing() {
        panic!("this test cannot run here: {why}. {RUNNER_FIX}");
    }
    for tool in tools {
        assert!(
            on_path(tool),
            "this test needs {tool}: install it with `scripts/setup.sh --test`"
        );
    }
}

/// The busybox base image in a fresh data dir, imported into its registry as `busybox:latest` (what `slipway
/// serve` does with base images at start, per docs/local-images.md; done here so the test does not depend on
/// when that lands).
pub(crate) fn busybox_data(label: &str) -> anyhow::Result<TempDir> {
    let data = TempDir::new(label);
    with_busybox(&data)?;
    let layout = std::fs::read_dir(data.path().join("base-images"))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("busybox"))
        })
        .ok_or_else(|| anyhow::anyhow!("no busybox layout under base-images"))?;
    let out = Command::new(crate::support::server::slipway_bin())
        .args(["import", "--as", "busybox:latest", "--data"])
        .arg(data.path())
        .arg(&layout)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "slipway import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(data)
}

fn write_context(dir: &Path, files: &[(&str, &str)]) {
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo").args(args).output().expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A busybox-based COPY-only image, built by `slipway build --host --oci-layout`, copied by skopeo into the
/// server's registry and back with the same digest, then run by the server's runner from the layout.
#[tokio::test]
async fn layout_image_round_trips_through_skopeo_and_runs() -> anyhow::Result<()> {
    require_prerequisites(&["skopeo", "runc"]);
    let data = busybox_data("build-peers")?;
    let work = TempDir::new("build-work");
    let layout = work.path().join("layout");
    let layout_arg = format!("--oci-layout={}", layout.display());
    let server = Server::start_in(data, Path::new("/nonexistent"), &[&layout_arg])?;
    let ctx = work.path().join("ctx");
    write_context(
        &ctx,
        &[
            ("hello.txt", "hi from the layer\n"),
            (
                "Dockerfile",
                "FROM busybox\nENV GREETING=hello\nWORKDIR /app\nCOPY hello.txt .\nUSER 1000:1000\nCMD [\"sh\", \"-c\", \"echo $GREETING; pwd; id -u; cat hello.txt\"]\n",
            ),
        ],
    );
    let cache = work.path().join("cache").display().to_string();
    // An issued session on the command line: the test leaves no `sessions.json` in the user's home.
    let session = server.session()?;
    let out = slipway_build(
        &ctx,
        &[
            "-t",
            "learner1/app:v1",
            "--host",
            &server.url,
            "--session",
            &session,
            &layout_arg,
            "--cache-dir",
            &cache,
            ".",
        ],
    );
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{progress}");
    assert!(
        progress.contains("[1/3] FROM docker.io/library/busybox:latest@sha256:"),
        "{progress}"
    );
    let built = manifest_digest(&layout, "v1");

    let host = server.url.trim_start_matches("http://");
    let remote = format!("docker://{host}/learner1/app:v1");
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", layout.display()),
        &remote,
    ]);
    let back = work.path().join("back");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &remote,
        &format!("oci:{}:v1", back.display()),
    ]);
    assert_eq!(manifest_digest(&back, "v1"), built);
    let inspected: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &remote]))?;
    assert_eq!(inspected["Digest"], built.as_str());

    let (code, logs) = crate::runner::docker_run(&server, "learner1/app:v1", &[]).await?;
    assert_eq!(code, 0, "{logs}");
    assert_eq!(logs, "hello\n/app\n1000\nhi from the layer\n");
    server.stop()?;
    Ok(())
}

pub(crate) fn context(files: &[(&str, &str)]) -> FileTree {
    let mut tree = FileTree::new();
    for (path, data) in files {
        tree.insert_file(path, data.as_bytes().to_vec(), Meta::file())
            .expect("insert");
    }
    tree
}

pub(crate) async fn docker_build(
    server: &Server,
    cache: &MemoryCache,
    line: &str,
    tree: &FileTree,
) -> slipway::cli::outcome::Outcome {
    docker_build_with_events(server, cache, line, tree, &|_| {}).await
}

/// [`docker_build`], telling `events` every progress event (as the page's Build panel is told).
async fn docker_build_with_events(
    server: &Server,
    cache: &MemoryCache,
    line: &str,
    tree: &FileTree,
    events: &dyn Fn(&slipway::builder::Event),
) -> slipway::cli::outcome::Outcome {
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    let Ok(Parsed::Run(inv)) = parse(&words) else {
        panic!("{line} does not parse");
    };
    let http = Reqwest::new();
    let session = crate::support::server::named_session(&server.url, "docker-build");
    let transport = slipway::api::SessionTransport::new(&http, session, &server.url);
    let clock = || 0;
    let stream = |_: &str| {};
    let env = BuildEnv {
        transport: &transport,
        base: &server.url,
        session: Some(session),
        cache,
        packer: &slipway::builder::InlinePacker,
        clock: &clock,
        stream: &stream,
        now: 0,
        // Reproducible, as BuildKit's builds with SOURCE_DATE_EPOCH are.
        source_date_epoch: Some(0),
        events,
        platform: None,
    };
    build(&env, &inv, tree).await
}

/// `docker build` in the interpreter: FROM through the registry, the image into the session's local
/// repository (base layers mounted, not copied), a rebuild all CACHED, one changed file named as the reason.
#[tokio::test]
async fn interpreter_builds_into_the_local_store_with_a_cache_that_explains() -> anyhow::Result<()> {
    require_prerequisites(&[]);
    let data = busybox_data("build-local")?;
    let server = Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let cache = MemoryCache::new();
    let dockerfile =
        "FROM busybox\nWORKDIR /app\nCOPY requirements.txt /app/\nCOPY app.py /app/\nCMD [\"sh\"]\n";
    let tree = context(&[
        ("Dockerfile", dockerfile),
        ("requirements.txt", "flask\n"),
        ("app.py", "print(1)\n"),
    ]);
    let line = "docker build -t learner1/app:v1 .";
    let first = docker_build(&server, &cache, line, &tree).await;
    assert_eq!(first.exit_code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("naming to docker.io/learner1/app:v1 done"),
        "{}",
        first.stderr
    );
    let http = reqwest::Client::new();
    let session = crate::support::server::named_session(&server.url, "docker-build");
    let key = slipway::image::local_store::session_key(Some(session));
    let manifest = http
        .get(format!(
            "{}/v2/slipway-local/{key}/learner1/app/manifests/v1",
            server.url
        ))
        .header(slipway::api::SESSION_HEADER, session)
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await?;
    assert_eq!(manifest.status(), 200);

    let again = docker_build(&server, &cache, line, &tree).await;
    assert_eq!(again.stderr.matches(" CACHED").count(), 4, "{}", again.stderr);
    let changed = context(&[
        ("Dockerfile", dockerfile),
        ("requirements.txt", "flask\n"),
        ("app.py", "print(2)\n"),
    ]);
    let third = docker_build(&server, &cache, line, &changed).await;
    assert!(
        third
            .stderr
            .contains("#7 [3/4] COPY requirements.txt /app/\n#7 CACHED\n\n#8 [4/4] COPY app.py /app/\n"),
        "{}",
        third.stderr
    );
    assert!(
        third.stderr.contains("#8 cache miss: app.py changed"),
        "{}",
        third.stderr
    );
    let quiet = docker_build(&server, &cache, "docker build -q -t learner1/app:v2 .", &changed).await;
    assert!(
        quiet.stdout.starts_with("sha256:") && quiet.stderr.is_empty(),
        "{quiet:?}"
    );
    server.stop()?;
    Ok(())
}

/// RUN through the companion's `POST /api/steps`; a failing RUN fails the build with BuildKit's message.
#[tokio::test]
async fn run_steps_go_through_the_companion() -> anyhow::Result<()> {
    require_prerequisites(&["runc"]);
    let data = busybox_data("build-run")?;
    let server = Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let cache = MemoryCache::new();
    let tree = context(&[
        (
            "Dockerfile",
            "FROM busybox\nARG NAME=world\nRUN echo hello $NAME > /greeting\nCMD [\"cat\", \"/greeting\"]\n",
        ),
        ("fail/Dockerfile", "FROM busybox\nRUN echo going down; exit 3\n"),
    ]);
    let out = docker_build(&server, &cache, "docker build -t learner1/run:v1 .", &tree).await;
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("[2/2] RUN echo hello world > /greeting"),
        "{}",
        out.stderr
    );
    let failed = docker_build(&server, &cache, "docker build -t learner1/fail:v1 fail", &tree).await;
    assert_eq!(failed.exit_code, 1);
    assert!(failed.stderr.contains("going down"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains(
            "ERROR: failed to solve: process \"/bin/sh -c echo going down; exit 3\" did not complete successfully: exit code: 3"
        ),
        "{}",
        failed.stderr
    );
    server.stop()?;
    Ok(())
}

/// What the Build panel and the layer explorer read, natively against a real server (their reducers are the web
/// app's unit tests): the events of a FROM busybox + WORKDIR + COPY build end with every step done or cached, and
/// the image read back from the local store has the base layer's files added, WORKDIR's directory, and COPY's file
/// added under it.
#[tokio::test]
async fn a_built_image_is_explored_layer_by_layer_and_its_steps_are_shown() -> anyhow::Result<()> {
    use slipway::builder::{Event, MissReason};
    use slipway::layer::changes::Change;

    require_prerequisites(&[]);
    let data = busybox_data("build-explore")?;
    let server = Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let cache = MemoryCache::new();
    let dockerfile = "FROM busybox\nWORKDIR /app\nCOPY app.py /app/\nENV MODE=test\nCMD [\"sh\"]\n";
    let tree = context(&[("Dockerfile", dockerfile), ("app.py", "print(1)\n")]);
    let events = std::cell::RefCell::new(Vec::new());
    let record = |e: &Event| events.borrow_mut().push(e.clone());
    let built = docker_build_with_events(
        &server,
        &cache,
        "docker build -t learner1/app:v1 .",
        &tree,
        &record,
    )
    .await;
    assert_eq!(built.exit_code, 0, "{}", built.stderr);
    let events = events.into_inner();
    let step = |prefix: &str| {
        events
            .iter()
            .find_map(|e| match e {
                Event::Start { id, name } if name.starts_with(prefix) => Some(*id),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no step {prefix} in {events:#?}"))
    };
    let cached = |id: usize| {
        events
            .iter()
            .any(|e| matches!(e, Event::Cached { id: i } if *i == id))
    };
    let done = |id: usize| {
        events
            .iter()
            .any(|e| matches!(e, Event::Done { id: i, .. } if *i == id))
    };
    assert!(cached(step("[1/3] FROM docker.io/library/busybox")));
    let workdir = step("[2/3] WORKDIR /app");
    assert!(done(workdir) && !cached(workdir), "{events:#?}");
    let copy = step("[3/3] COPY app.py /app/");
    assert!(done(copy) && !cached(copy), "{events:#?}");
    let copied_bytes: u64 = events
        .iter()
        .map(|e| match e {
            Event::Bytes { id, bytes } if *id == copy => *bytes,
            _ => 0,
        })
        .sum();
    assert!(copied_bytes > 0, "{events:#?}");
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Miss { id, reason: MissReason::PreviousStepChanged, .. } if *id == copy
    )));
    for event in &events {
        assert!(!matches!(event, Event::Error { .. }), "{event:?}");
        if let Event::Start { id, name } = event {
            assert!(done(*id) || cached(*id), "{name} never ended");
        }
    }

    let http = Reqwest::new();
    let session = crate::support::server::named_session(&server.url, "docker-build");
    let transport = slipway::api::SessionTransport::new(&http, session, &server.url);
    let credentials = std::cell::RefCell::new(slipway::cli::credentials::CredentialStore::default());
    let ctx = slipway::cli::context::CommandContext {
        session: Some(session),
        ..slipway::cli::context::CommandContext::new(&transport, &server.url, "", &credentials)
    };
    let app = slipway::image::Reference::parse("learner1/app:v1")?;
    let image = read_image(&ctx, &ctx.local_repository(&app), "v1").await?;
    let n = image.layers.len();
    assert!(n >= 3, "{n} layers");
    let base = &image.layers[0].1;
    assert!(base.entries.iter().all(|e| e.change == Change::Added));
    assert!(
        base.entries
            .iter()
            .any(|e| e.path == "bin/busybox" && e.size > 100_000),
        "{:?}",
        base.entries.first()
    );
    let (workdir, workdir_changes) = &image.layers[n - 2];
    assert_eq!(
        slipway::image::explore::instruction(&workdir.created_by),
        "WORKDIR /app"
    );
    let marks = |changes: &slipway::layer::changes::LayerChanges| {
        changes
            .entries
            .iter()
            .map(|e| (e.path.clone(), e.change, e.size))
            .collect::<Vec<_>>()
    };
    assert_eq!(marks(workdir_changes), [("app".to_owned(), Change::Added, 0)]);
    let (copied, copied_changes) = &image.layers[n - 1];
    assert_eq!(copied.created_by, "COPY app.py /app/ # buildkit");
    assert_eq!(
        marks(copied_changes),
        [
            ("app".to_owned(), Change::Modified, 0),
            ("app/app.py".to_owned(), Change::Added, 9)
        ]
    );
    assert_eq!(copied_changes.blob_size, copied.size);
    assert!(
        image.plan.metadata_after.iter().any(|m| m.contains("MODE=test")),
        "{:?}",
        image.plan.metadata_after
    );
    assert!(image.plan.config_json.contains("\"MODE=test\""));
    let missing = slipway::image::Reference::parse("learner1/nothing:v1")?;
    assert!(read_image(&ctx, &ctx.local_repository(&missing), "v1")
        .await
        .is_err());
    // What the Registry panel lists reads the same way, by repository and tag.
    let pushed = read_image(&ctx, "library/busybox", "latest").await?;
    assert_eq!(pushed.layers[0].1, image.layers[0].1);
    server.stop()?;
    Ok(())
}

/// An image read as the layer explorer reads it: its plan, and each layer with what it changes.
struct ExploredImage {
    plan: slipway::image::explore::ImagePlan,
    layers: Vec<(
        slipway::image::explore::ImageLayer,
        slipway::layer::changes::LayerChanges,
    )>,
}

/// `repository:tag` from the server's registry: the manifest (the linux/amd64 one of an index), the config, then
/// each layer's blob in turn.
async fn read_image(
    ctx: &slipway::cli::context::CommandContext<'_, slipway::api::SessionTransport<'_, Reqwest>>,
    repository: &str,
    tag: &str,
) -> anyhow::Result<ExploredImage> {
    let client = ctx.local_client();
    let mut manifest = client.pull_manifest(repository, tag).await?;
    let index: serde_json::Value = serde_json::from_slice(&manifest.bytes)?;
    if let Some(digest) = slipway::cli::transfer::pick_platform(&index) {
        manifest = client.pull_manifest(repository, &digest).await?;
    }
    let described: serde_json::Value = serde_json::from_slice(&manifest.bytes)?;
    let config_digest = described["config"]["digest"]
        .as_str()
        .context("the manifest names no config")?;
    let config = client.pull_blob(repository, config_digest).await?;
    let plan = slipway::image::explore::ImagePlan::new(&manifest.bytes, &config)?;
    let mut stack = slipway::layer::changes::LayerStack::default();
    let mut layers = Vec::new();
    for (index, layer) in plan.layers.iter().enumerate() {
        let blob = client.pull_blob(repository, &layer.digest).await?;
        let changes = plan.read_layer(&mut stack, index, &blob)?;
        layers.push((layer.clone(), changes));
    }
    Ok(ExploredImage { plan, layers })
}
