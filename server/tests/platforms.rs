//! Platforms (issue 17): `docker run`/`create --platform` natively through the real `slipway docker` against a
//! real server with real runc, on an image index pushed to the embedded registry (the host's platform and
//! another, as `build_mounts`'s pull test builds one). The expected texts are docker 28's and moby's: docker/cli
//! `cli/command/container/create.go` (pull when the daemon answers not-found, then create again; `WARNING: `
//! before each of the daemon's warnings), moby `daemon/create.go` (the warning, with `maximumSpec()`'s variant)
//! and `daemon/images/image.go` (the not-found error when the image is of another platform).

use std::path::Path;

use anyhow::{ensure, Result};
use sha2::Digest;

use crate::commands::{server, Cli};
use slipway::builder::Platform;
use slipway::layer::{FileTree, LayerOptions, Meta};
use slipway::registry::{Client, PushOptions, Transport};

/// The smallest ELF header of an executable for machine `machine` (`e_machine`): the kernel refuses to exec one
/// for another machine with ENOEXEC (`exec format error`), as it refuses any binary of a foreign architecture.
fn elf_header(machine: u16) -> Vec<u8> {
    let mut elf = vec![0x7f, b'E', b'L', b'F', 2, 1, 1];
    elf.resize(16, 0);
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&machine.to_le_bytes());
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&0x40_0000u64.to_le_bytes()); // entry
    elf.extend_from_slice(&64u64.to_le_bytes()); // program headers right after this one
    elf.extend_from_slice(&0u64.to_le_bytes());
    elf.extend_from_slice(&0u32.to_le_bytes());
    for half in [64u16, 56, 0, 0, 0, 0] {
        elf.extend_from_slice(&half.to_le_bytes());
    }
    elf
}

/// The other common platform than the host's: `(architecture, its ELF e_machine)`.
fn foreign() -> (&'static str, u16) {
    if Platform::default().architecture == "amd64" {
        ("arm64", 0xb7)
    } else {
        ("amd64", 0x3e)
    }
}

/// Pushes to `repo` an image of `arch`: busybox's layers (this host's binaries) and one more holding `/arch`
/// (the architecture's name) and `/hello` (a `machine` ELF), under a config naming `arch`. Its manifest's
/// descriptor, for an index.
async fn push_image<T: Transport>(
    registry: &Client<T>,
    repo: &str,
    arch: &str,
    machine: u16,
) -> Result<serde_json::Value> {
    let opts = PushOptions::default();
    let busybox = registry.pull_manifest("library/busybox", "latest").await?;
    let mut manifest: serde_json::Value = serde_json::from_slice(&busybox.bytes)?;
    if let Some(entries) = manifest["manifests"].as_array() {
        let digest = entries[0]["digest"].as_str().unwrap_or_default().to_string();
        manifest = serde_json::from_slice(&registry.pull_manifest("library/busybox", &digest).await?.bytes)?;
    }
    let base_config: serde_json::Value = serde_json::from_slice(
        &registry
            .pull_blob(
                "library/busybox",
                manifest["config"]["digest"].as_str().unwrap_or_default(),
            )
            .await?,
    )?;
    let mut layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    for layer in &layers {
        let digest = layer["digest"].as_str().unwrap_or_default();
        let bytes = registry.pull_blob("library/busybox", digest).await?;
        registry
            .push_blob(repo, digest, &bytes, &opts, &mut |_, _| {})
            .await?;
    }
    let mut tree = FileTree::new();
    tree.insert_file("arch", format!("{arch}\n").into_bytes(), Meta::file())?;
    tree.insert_file("hello", elf_header(machine), Meta::root(0o755))?;
    let (layer, info) = tree.to_layer(&LayerOptions { mtime: 0, level: 6 })?;
    registry
        .push_blob(repo, info.digest.as_ref(), &layer, &opts, &mut |_, _| {})
        .await?;
    layers.push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": info.digest.to_string(),
        "size": layer.len(),
    }));
    let mut diff_ids = base_config["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    diff_ids.push(info.diff_id.to_string().into());
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux", "config": base_config["config"],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))?;
    let config_digest = format!("sha256:{:x}", sha2::Sha256::digest(&config));
    registry
        .push_blob(repo, &config_digest, &config, &opts, &mut |_, _| {})
        .await?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))?;
    let digest = format!("sha256:{:x}", sha2::Sha256::digest(&manifest));
    registry
        .push_manifest(
            repo,
            &digest,
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
        )
        .await?;
    Ok(serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": manifest.len(),
        "platform": {"os": "linux", "architecture": arch},
    }))
}

/// `learner1/multi:v1`, an index of the host's platform and the foreign one, and `learner1/single:v1`, the
/// foreign image alone (no index), in the embedded registry.
async fn push_images(server: &crate::support::server::Server) -> Result<()> {
    let http = crate::registry::client::Reqwest::new();
    let session = crate::support::server::named_session(&server.url, "platforms-push");
    let transport = slipway::api::SessionTransport::new(&http, session, &server.url);
    let registry = Client::new(&transport, server.url.clone(), None);
    let host = Platform::default().architecture;
    let (other, machine) = foreign();
    let host_machine = if host == "amd64" { 0x3e } else { 0xb7 };
    let entries = vec![
        push_image(&registry, "learner1/multi", &host, host_machine).await?,
        push_image(&registry, "learner1/multi", other, machine).await?,
    ];
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries,
    }))?;
    registry
        .push_manifest(
            "learner1/multi",
            "v1",
            "application/vnd.oci.image.index.v1+json",
            &index,
        )
        .await?;
    let single = push_image(&registry, "learner1/single", other, machine).await?;
    let bytes = registry
        .pull_manifest("learner1/single", single["digest"].as_str().unwrap_or_default())
        .await?
        .bytes;
    registry
        .push_manifest(
            "learner1/single",
            "v1",
            "application/vnd.oci.image.manifest.v1+json",
            &bytes,
        )
        .await?;
    Ok(())
}

/// `docker run --platform`: the index's manifest for the platform asked for is pulled when the local image is
/// of another (docker's `Unable to find image` and the pull, then the run); without `--platform` a foreign image
/// runs with dockerd's warning naming the host's platform (`maximumSpec()`, with its CPU variant) and its
/// foreign binaries fail with `exec format error` (no emulation); a single-platform image of another platform
/// than asked is refused in moby's words; a platform the index lacks, or a malformed one, ends the command.
#[tokio::test(flavor = "multi_thread")]
async fn docker_run_platform_pulls_the_platform_asked_for_and_refuses_another() -> Result<()> {
    let Some(server) = tokio::task::block_in_place(|| server("platforms-run", Path::new("/nonexistent")))?
    else {
        return Ok(());
    };
    push_images(&server).await?;
    let info: slipway::api::ServerInfo = reqwest::get(format!("{}/api/info", server.url))
        .await?
        .json()
        .await?;
    let host_platform = info.platform.expect("the companion names its platform");
    tokio::task::block_in_place(|| runs_per_platform(&server, &host_platform))
}

fn runs_per_platform(
    server: &crate::support::server::Server,
    host_platform: &slipway::api::PlatformInfo,
) -> Result<()> {
    let cli = Cli::new(server)?;
    let host = Platform::default().architecture;
    let (other, _) = foreign();
    let other_platform = format!("linux/{other}");

    let first = cli.docker(&["run", "--rm", "learner1/multi:v1", "cat", "/arch"])?;
    ensure!(first.code == 0 && first.out == format!("{host}\n"), "{first:?}");
    ensure!(
        first
            .err
            .starts_with("Unable to find image 'learner1/multi:v1' locally\n"),
        "{first:?}"
    );
    let same = cli.docker(&[
        "run",
        "--rm",
        "--platform",
        &format!("linux/{host}"),
        "learner1/multi:v1",
        "cat",
        "/arch",
    ])?;
    ensure!(
        same.code == 0 && same.err.is_empty(),
        "the local image is of that platform: {same:?}"
    );

    let other_run = cli.docker(&[
        "run",
        "--rm",
        "--platform",
        &other_platform,
        "learner1/multi:v1",
        "cat",
        "/arch",
    ])?;
    ensure!(
        other_run.code == 0 && other_run.out == format!("{other}\n"),
        "{other_run:?}"
    );
    ensure!(
        other_run
            .err
            .starts_with("Unable to find image 'learner1/multi:v1' locally\n")
            && other_run
                .err
                .contains("Status: Downloaded newer image for learner1/multi:v1"),
        "a local image of another platform is pulled again: {other_run:?}"
    );
    ensure!(host_platform.architecture == host, "{host_platform:?}");
    let warned = cli.docker(&["run", "--rm", "learner1/multi:v1", "cat", "/arch"])?;
    ensure!(
        warned.code == 0
            && warned.out == format!("{other}\n")
            && warned.err
                == format!(
                    "WARNING: The requested image's platform (linux/{other}) does not match the detected host platform ({host_platform}) and no specific platform was requested\n"
                ),
        "{warned:?}"
    );
    let foreign_binary = cli.docker(&[
        "run",
        "--rm",
        "--platform",
        &other_platform,
        "learner1/multi:v1",
        "/hello",
    ])?;
    // runc's words for the kernel's ENOEXEC, from inside the container, which exits 1.
    ensure!(
        foreign_binary.code == 1 && foreign_binary.err == "exec /hello: exec format error\n",
        "{foreign_binary:?}"
    );

    let created = cli.docker(&[
        "create",
        "--platform",
        &format!("linux/{host}"),
        "learner1/single:v1",
        "true",
    ])?;
    ensure!(
        created.code == 125
            && created.out.is_empty()
            && created.err.starts_with("Unable to find image 'learner1/single:v1' locally\n")
            && created.err.ends_with(&format!(
                "docker: Error response from daemon: image with reference learner1/single:v1 was found but does not match the specified platform: wanted linux/{host}, actual: linux/{other}\n\nRun 'docker create --help' for more information\n"
            )),
        "{created:?}"
    );
    cli.fails(
        &["create", "--platform", "linux/arm/v7", "learner1/multi:v1"],
        125,
        "Unable to find image 'learner1/multi:v1' locally\nv1: Pulling from learner1/multi\ndocker: Error response from daemon: no matching manifest for linux/arm/v7 in the manifest list entries\n\nRun 'docker create --help' for more information\n",
    )?;
    cli.fails(
        &["run", "--platform", "nope", "busybox"],
        125,
        "docker: error parsing specified platform: \"nope\": unknown operating system or architecture: invalid argument\n\nRun 'docker run --help' for more information\n",
    )?;
    Ok(())
}

/// `--platform` of one part, as containerd's `platforms.Parse` reads it: an OS alone (`linux`) takes the
/// companion's architecture, an architecture alone (`arm64`, `x86_64`) the OS linux; for `docker pull`, `run`
/// and `build` (and `FROM --platform=linux` in the Dockerfile) alike. A part that is neither is refused in the
/// daemon's words (`platforms.Parse`'s, behind `Error response from daemon:` for a pull).
#[tokio::test(flavor = "multi_thread")]
async fn a_platform_of_one_part_is_completed_as_containerd_parses_it() -> Result<()> {
    let Some(server) = tokio::task::block_in_place(|| server("platforms-one", Path::new("/nonexistent")))?
    else {
        return Ok(());
    };
    push_images(&server).await?;
    tokio::task::block_in_place(|| one_part_platforms(&server))
}

fn one_part_platforms(server: &crate::support::server::Server) -> Result<()> {
    let cli = Cli::new(server)?;
    let host = Platform::default().architecture;
    let (other, _) = foreign();
    let alias = if other == "amd64" { "x86_64" } else { "aarch64" };
    let pulled = cli.docker(&["pull", "--platform", alias, "learner1/multi:v1"])?;
    ensure!(pulled.code == 0, "{pulled:?}");
    let run = |platform: &str| {
        cli.docker(&[
            "run",
            "--rm",
            "--platform",
            platform,
            "learner1/multi:v1",
            "cat",
            "/arch",
        ])
    };
    let foreign_run = run(other)?;
    ensure!(
        foreign_run.code == 0 && foreign_run.out == format!("{other}\n") && foreign_run.err.is_empty(),
        "the image pulled for `{alias}` is linux/{other}: {foreign_run:?}"
    );
    let linux = run("linux")?;
    ensure!(
        linux.code == 0
            && linux.out == format!("{host}\n")
            && linux
                .err
                .starts_with("Unable to find image 'learner1/multi:v1' locally\n"),
        "`linux` is the companion's linux/{host}: {linux:?}"
    );

    let dir = crate::support::TempDir::new("platforms-one-build");
    std::fs::write(
        dir.path().join("Dockerfile"),
        // The test's images carry no history: the stage is copied from into busybox.
        "FROM --platform=linux learner1/multi:v1 AS picked\nFROM busybox\nCOPY --from=picked /arch /seen\n",
    )?;
    let built = cli.docker_in(
        dir.path(),
        &["build", "--platform", "linux", "-t", "learner1/seen:v1", "."],
    )?;
    ensure!(built.code == 0, "{built:?}");
    ensure!(
        cli.ok(&["run", "--rm", "learner1/seen:v1", "cat", "/seen"])? == format!("{host}\n"),
        "FROM --platform=linux is the companion's platform"
    );

    cli.fails(
        &["pull", "--platform", "nope", "learner1/multi:v1"],
        1,
        "Error response from daemon: \"nope\": unknown operating system or architecture: invalid argument\n",
    )?;
    let refused = cli.docker_in(dir.path(), &["build", "--platform", "nope", "."])?;
    ensure!(
        refused.code == 1
            && refused.err == "ERROR: \"nope\": unknown operating system or architecture: invalid argument\n",
        "{refused:?}"
    );
    Ok(())
}
