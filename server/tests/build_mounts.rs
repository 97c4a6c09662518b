//! `RUN --mount`, `--network` and `--security` end to end: the interpreter's `docker build` against a real
//! `slipway serve` whose runner runs the steps under runc; the built image is read back from the session's local
//! store (manifest, config, every layer's tar entries) to show what the mounts left in it: nothing.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use sha2::Digest;
use slipway::builder::MemoryCache;

use crate::build::peers::{busybox_data, context, docker_build, require_prerequisites};
use crate::support::server::{named_session, Server};

/// The image `learner1/NAME:v1` of the `docker-build` session: its config's JSON, and each layer's tar
/// entries (path → content), bottom first.
struct Image {
    config: String,
    layers: Vec<BTreeMap<String, Vec<u8>>>,
    /// Every layer's decompressed tar, whole.
    raw: Vec<Vec<u8>>,
}

impl Image {
    /// A file of the image (the top layer that has it).
    fn file(&self, path: &str) -> Option<String> {
        self.layers
            .iter()
            .rev()
            .find_map(|l| l.get(path))
            .map(|data| String::from_utf8_lossy(data).into_owned())
    }

    /// Whether any layer has an entry at `path` or below it.
    fn has(&self, path: &str) -> bool {
        let dir = format!("{path}/");
        self.layers
            .iter()
            .any(|l| l.keys().any(|k| k == path || k.starts_with(&dir)))
    }

    /// The layers above the base image's.
    fn built(&self) -> &[BTreeMap<String, Vec<u8>>] {
        &self.layers[1..]
    }
}

async fn read_image(server: &Server, name: &str) -> anyhow::Result<Image> {
    let session = named_session(&server.url, "docker-build");
    let key = slipway::image::local_store::session_key(Some(session));
    let repo = format!("{}/v2/slipway-local/{key}/learner1/{name}", server.url);
    let http = reqwest::Client::new();
    let get = |url: String| {
        http.get(url)
            .header(slipway::api::SESSION_HEADER, session)
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
    };
    let manifest: serde_json::Value = get(format!("{repo}/manifests/v1"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let blob = |digest: &serde_json::Value| format!("{repo}/blobs/{}", digest.as_str().unwrap_or_default());
    let config = get(blob(&manifest["config"]["digest"]))
        .await?
        .error_for_status()?
        .text()
        .await?;
    let mut image = Image {
        config,
        layers: Vec::new(),
        raw: Vec::new(),
    };
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let bytes = get(blob(&layer["digest"]))
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut tar)?;
        let mut entries = BTreeMap::new();
        let mut archive = tar::Archive::new(&tar[..]);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let path = entry.path()?.to_string_lossy().trim_end_matches('/').to_string();
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            entries.insert(path, data);
        }
        image.layers.push(entries);
        image.raw.push(tar);
    }
    Ok(image)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `docker build` by `line` in the `docker-build` session, which must succeed, and the image `learner1/NAME:v1`
/// it made.
async fn build_ok(
    server: &Server,
    cache: &MemoryCache,
    line: &str,
    tree: &slipway::layer::FileTree,
    name: &str,
) -> anyhow::Result<Image> {
    let out = docker_build(server, cache, line, tree).await;
    anyhow::ensure!(out.exit_code == 0, "{line}: {}", out.stderr);
    read_image(server, name).await
}

async fn start(label: &str) -> anyhow::Result<Server> {
    require_prerequisites(&["runc"]);
    let data = busybox_data(label)?;
    Server::start_in(data, Path::new("/nonexistent"), &[])
}

/// A cache mount is kept between builds (the second, uncached, run of the step sees what the first appended)
/// and is in no layer; a tmpfs mount is writable and leaves nothing either.
#[tokio::test]
async fn a_cache_mount_is_kept_between_builds_and_left_out_of_the_layer() -> anyhow::Result<()> {
    let server = start("mount-cache").await?;
    let cache = MemoryCache::new();
    let tree = context(&[(
        "Dockerfile",
        "FROM busybox\nWORKDIR /app\n\
         RUN --mount=type=cache,target=/root/.cache/pip --mount=type=tmpfs,target=scratch,size=1m \\\n\
         echo run >> /root/.cache/pip/log && echo t > scratch/f && wc -l < /root/.cache/pip/log > /app/count\n",
    )]);
    let image = build_ok(
        &server,
        &cache,
        "docker build -t learner1/cache:v1 .",
        &tree,
        "cache",
    )
    .await?;
    assert_eq!(image.file("app/count").as_deref().map(str::trim), Some("1"));
    let line = "docker build --no-cache -t learner1/cache:v1 .";
    let image = build_ok(&server, &cache, line, &tree, "cache").await?;
    assert_eq!(image.file("app/count").as_deref().map(str::trim), Some("2"));
    for layer in image.built() {
        assert!(
            !layer
                .keys()
                .any(|k| k.starts_with("root") || k.contains("scratch")),
            "a mount left a trace: {:?}",
            layer.keys().collect::<Vec<_>>()
        );
    }
    server.stop()?;
    Ok(())
}

/// `--mount=type=cache,from=STAGE|IMAGE,source=PATH`: a new cache starts with the files of that stage's (or
/// image's) PATH, as BuildKit's cache made on top of its source; what the step adds stays in that cache for the
/// next build; a cache of the same target without `from` is another one (BuildKit keys it by id and source);
/// nothing of it is in a layer.
#[tokio::test]
async fn a_cache_seeded_from_a_stage_starts_with_its_files() -> anyhow::Result<()> {
    let server = start("mount-cache-from").await?;
    let cache = MemoryCache::new();
    let tree = context(&[
        (
            "Dockerfile",
            "FROM busybox AS deps\nRUN mkdir -p /deps && echo wheel > /deps/a.whl\n\
             FROM busybox\nARG N=1\n\
             RUN --mount=type=cache,target=/seeded,from=deps,source=/deps \\\n\
             echo $N >> /seeded/log && ls /seeded > /seen && cat /seeded/log > /runs\n\
             RUN --mount=type=cache,target=/etc-copy,from=busybox,source=/etc ls /etc-copy/passwd > /from-image\n",
        ),
        (
            "plain/Dockerfile",
            "FROM busybox\nRUN --mount=type=cache,target=/seeded ls -A /seeded > /seen\n",
        ),
    ]);
    let image = build_ok(
        &server,
        &cache,
        "docker build -t learner1/seeded:v1 .",
        &tree,
        "seeded",
    )
    .await?;
    assert_eq!(
        image.file("seen").as_deref(),
        Some("a.whl\nlog\n"),
        "the first run sees the stage's files"
    );
    assert_eq!(image.file("runs").as_deref(), Some("1\n"));
    assert_eq!(image.file("from-image").as_deref(), Some("/etc-copy/passwd\n"));
    for path in ["seeded", "etc-copy", "deps"] {
        assert!(
            !image
                .built()
                .iter()
                .any(|l| l.keys().any(|k| k.starts_with(path))),
            "{path} is in a layer"
        );
    }
    let line = "docker build --build-arg N=2 -t learner1/seeded:v1 .";
    let image = build_ok(&server, &cache, line, &tree, "seeded").await?;
    assert_eq!(
        image.file("runs").as_deref(),
        Some("1\n2\n"),
        "the seeded cache is kept"
    );
    let line = "docker build -t learner1/plain:v1 plain";
    let image = build_ok(&server, &cache, line, &tree, "plain").await?;
    assert_eq!(
        image.file("seen").as_deref(),
        Some(""),
        "a cache without from is another one"
    );
    server.stop()?;
    Ok(())
}

/// `--secret id=...,src=FILE` is readable in the step as a file and as a variable, and absent from every layer,
/// the config and its history; a required secret the build was not given fails as BuildKit says.
#[tokio::test]
async fn a_secret_is_readable_in_the_step_and_absent_from_the_image() -> anyhow::Result<()> {
    let server = start("mount-secret").await?;
    let cache = MemoryCache::new();
    let value = "s3cr3t-value-42";
    let tree = context(&[
        (
            "Dockerfile",
            "FROM busybox\n\
             RUN --mount=type=secret,id=token --mount=type=secret,id=token,env=TOKEN \\\n\
             sha256sum < /run/secrets/token > /sums && printf %s \"$TOKEN\" | sha256sum >> /sums\n",
        ),
        ("token.txt", value),
        (
            "required/Dockerfile",
            "FROM busybox\nRUN --mount=type=secret,id=nope,required true\n",
        ),
    ]);
    let line = "docker build --secret id=token,src=token.txt -t learner1/secret:v1 .";
    let built = docker_build(&server, &cache, line, &tree).await;
    assert_eq!(built.exit_code, 0, "{}", built.stderr);
    let image = read_image(&server, "secret").await?;
    // Read in the step, as a file and as a variable: their checksums are the secret's.
    let sum: String = sha2::Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(image.file("sums"), Some(format!("{sum}  -\n{sum}  -\n")));
    assert!(
        !image.has("run/secrets"),
        "the secret's mount point is in a layer"
    );
    for tar in &image.raw {
        assert!(!contains(tar, value), "the secret is in a layer");
    }
    assert!(
        !image.config.contains(value) && !image.config.contains("TOKEN="),
        "{}",
        image.config
    );
    assert!(
        image.config.contains("sha256sum >> /sums"),
        "the step is in the history: {}",
        image.config
    );

    let missing = docker_build(
        &server,
        &cache,
        "docker build -t learner1/nope:v1 required",
        &tree,
    )
    .await;
    assert_eq!(missing.exit_code, 1);
    assert!(
        missing
            .stderr
            .contains("ERROR: failed to solve: secret nope not found: not found"),
        "{}",
        missing.stderr
    );
    server.stop()?;
    Ok(())
}

/// Bind mounts read the context (a directory or a file of it) and another stage; an `rw` bind takes writes
/// that go nowhere; none leaves a trace in the layer.
#[tokio::test]
async fn bind_mounts_read_the_context_and_stages_and_leave_no_trace() -> anyhow::Result<()> {
    let server = start("mount-bind").await?;
    let cache = MemoryCache::new();
    let tree = context(&[
        (
            "Dockerfile",
            "FROM busybox AS build\nRUN echo built > /out.txt\n\
             FROM busybox\n\
             RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/a.txt > /copied\n\
             RUN --mount=type=bind,from=build,source=/out.txt,target=/in/out.txt cat /in/out.txt > /from-stage\n\
             RUN --mount=type=bind,target=/ctx,rw touch /ctx/new && ls /ctx > /listing\n\
             RUN --mount=type=bind,target=/ctx sh -c 'touch /ctx/again || echo read-only > /ro'\n",
        ),
        ("src/a.txt", "from the context\n"),
    ]);
    let built = docker_build(&server, &cache, "docker build -t learner1/bind:v1 .", &tree).await;
    assert_eq!(built.exit_code, 0, "{}", built.stderr);
    let image = read_image(&server, "bind").await?;
    assert_eq!(image.file("copied").as_deref(), Some("from the context\n"));
    assert_eq!(image.file("from-stage").as_deref(), Some("built\n"));
    assert_eq!(image.file("listing").as_deref(), Some("Dockerfile\nnew\nsrc\n"));
    assert_eq!(image.file("ro").as_deref(), Some("read-only\n"));
    for path in ["mnt", "in", "ctx"] {
        assert!(!image.has(path), "{path} is in a layer");
    }
    server.stop()?;
    Ok(())
}

/// What BuildKit refuses without an entitlement, and `type=ssh`, fail before any step runs, in its words.
#[tokio::test]
async fn host_network_insecure_and_ssh_are_refused() -> anyhow::Result<()> {
    let server = start("mount-refused").await?;
    let cache = MemoryCache::new();
    let cases = [
        (
            "RUN --network=host true",
            "ERROR: failed to solve: network.host is not allowed",
        ),
        (
            "RUN --security=insecure true",
            "ERROR: failed to solve: security.insecure is not allowed",
        ),
        (
            "RUN --mount=type=ssh true",
            "RUN --mount=type=ssh is not supported here",
        ),
        (
            "RUN --mount=type=cache,target=/ true",
            "invalid mount target \"/\"",
        ),
    ];
    for (run, error) in cases {
        let tree = context(&[("Dockerfile", &format!("FROM busybox\n{run}\n"))]);
        let out = docker_build(&server, &cache, "docker build -t learner1/refused:v1 .", &tree).await;
        assert_eq!(out.exit_code, 1, "{run}: {}", out.stderr);
        assert!(out.stderr.contains(error), "{run}: {}", out.stderr);
    }
    let tree = context(&[(
        "Dockerfile",
        "FROM busybox\nRUN --network=none cat /proc/net/dev > /dev-list\n",
    )]);
    let out = docker_build(&server, &cache, "docker build -t learner1/none:v1 .", &tree).await;
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    let image = read_image(&server, "none").await?;
    let devices = image.file("dev-list").unwrap_or_default();
    assert!(
        devices.lines().skip(2).all(|l| l.trim_start().starts_with("lo:")),
        "{devices}"
    );
    server.stop()?;
    Ok(())
}

/// An image index with linux/amd64 and linux/arm64 pushed to the embedded registry: `docker pull` takes the
/// server's platform, `--platform` the other, a platform the index lacks fails in docker's words; a build's
/// `FROM --platform` picks the same way.
#[tokio::test]
async fn a_pull_of_an_index_takes_the_servers_platform_or_the_one_asked_for() -> anyhow::Result<()> {
    use slipway::builder::Platform;
    use slipway::cli::parse::{parse, Parsed};
    use slipway::layer::{FileTree, LayerOptions, Meta};

    let server = start("platforms").await?;
    let http = crate::registry::client::Reqwest::new();
    let session = named_session(&server.url, "docker-build");
    let transport = slipway::api::SessionTransport::new(&http, session, &server.url);
    let credentials = std::cell::RefCell::new(slipway::cli::credentials::CredentialStore::default());
    let ctx = slipway::cli::context::CommandContext {
        session: Some(session),
        ..slipway::cli::context::CommandContext::new(&transport, &server.url, "", &credentials)
    };
    let registry = ctx.local_client();
    let opts = slipway::registry::PushOptions::default();
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let mut tree = FileTree::new();
        tree.insert_file("arch", arch.as_bytes().to_vec(), Meta::file())?;
        let (layer, info) = tree.to_layer(&LayerOptions { mtime: 0, level: 6 })?;
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": arch, "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [info.diff_id.to_string()]},
        }))?;
        let config_digest = format!("sha256:{:x}", sha2::Sha256::digest(&config));
        registry
            .push_blob(
                "learner1/multi",
                info.digest.as_ref(),
                &layer,
                &opts,
                &mut |_, _| {},
            )
            .await?;
        registry
            .push_blob("learner1/multi", &config_digest, &config, &opts, &mut |_, _| {})
            .await?;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": info.digest.to_string(), "size": layer.len()}],
        }))?;
        let digest = format!("sha256:{:x}", sha2::Sha256::digest(&manifest));
        registry
            .push_manifest(
                "learner1/multi",
                &digest,
                "application/vnd.oci.image.manifest.v1+json",
                &manifest,
            )
            .await?;
        entries.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": manifest.len(),
            "platform": {"os": "linux", "architecture": arch},
        }));
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries,
    }))?;
    // v2 for the build: a tag not pulled into the session's local store, so FROM reads the index.
    for tag in ["v1", "v2"] {
        registry
            .push_manifest(
                "learner1/multi",
                tag,
                "application/vnd.oci.image.index.v1+json",
                &index,
            )
            .await?;
    }

    let pull = |line: &'static str| {
        let ctx = &ctx;
        async move {
            let words: Vec<String> = line.split_whitespace().map(String::from).collect();
            let Ok(Parsed::Run(inv)) = parse(&words) else {
                panic!("{line} does not parse");
            };
            slipway::cli::transfer::pull(ctx, &inv).await
        }
    };
    let arch_of = |reference: &str| {
        let local = ctx.local_repository(&slipway::image::Reference::parse(reference).unwrap());
        let registry = &registry;
        async move {
            let manifest = registry.pull_manifest(&local, "v1").await.unwrap();
            let manifest: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap();
            let config = registry
                .pull_blob(&local, manifest["config"]["digest"].as_str().unwrap())
                .await
                .unwrap();
            let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
            config["architecture"].as_str().unwrap().to_string()
        }
    };
    let host = Platform::default().architecture;
    let other = if host == "amd64" { "arm64" } else { "amd64" };
    let out = pull("docker pull learner1/multi:v1").await;
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert_eq!(arch_of("learner1/multi:v1").await, host);
    let line = if other == "arm64" {
        "docker pull --platform linux/arm64 learner1/multi:v1"
    } else {
        "docker pull --platform linux/amd64 learner1/multi:v1"
    };
    let out = pull(line).await;
    assert_eq!(out.exit_code, 0, "{}", out.stderr);
    assert_eq!(arch_of("learner1/multi:v1").await, other);
    let out = pull("docker pull --platform linux/arm/v7 learner1/multi:v1").await;
    assert_ne!(out.exit_code, 0);
    assert!(
        out.stderr
            .contains("no matching manifest for linux/arm/v7 in the manifest list entries"),
        "{}",
        out.stderr
    );

    let cache = MemoryCache::new();
    let tree = context(&[(
        "Dockerfile",
        "FROM --platform=linux/arm/v7 learner1/multi:v2\nCOPY Dockerfile /\n",
    )]);
    let built = docker_build(&server, &cache, "docker build -t learner1/on-arm:v1 .", &tree).await;
    assert_eq!(built.exit_code, 1);
    assert!(
        built.stderr.contains(
            "failed to resolve source metadata for docker.io/learner1/multi:v2: no match for platform in manifest sha256:"
        ),
        "{}",
        built.stderr
    );
    server.stop()?;
    Ok(())
}
