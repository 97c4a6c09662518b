//! The browser's own store (IndexedDB): the workspace, build cache and images survive a reload; without a
//! companion the page still builds COPY-only images, lists them and downloads them as `docker load` tars.
//! Natively: `slipway build --output type=docker` read back by skopeo with the same digests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::project::{Project, ProjectFile};
use anyhow::{bail, ensure, Context, Result};

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, slipway_bin, Server, StaticServer};
use crate::support::TempDir;

fn copy_only_project() -> Project {
    Project::from_files([
        (
            "Dockerfile",
            ProjectFile::new("FROM scratch\nCOPY a.txt /app/\nCOPY b.txt /app/\nCMD [\"/app/a.txt\"]\n"),
        ),
        ("a.txt", ProjectFile::new("alpha\n")),
        ("b.txt", ProjectFile::new("beta\n")),
    ])
    .expect("a valid project")
}

/// The `docker images` row of `learner1/app`, split in columns (the CREATED column has spaces: kept whole).
async fn images_row(page: &Page) -> Result<String> {
    let out = page.terminal_command("docker images", "REPOSITORY").await?;
    let row = out
        .lines()
        .find(|l| l.starts_with("learner1/app"))
        .with_context(|| format!("learner1/app is not listed:\n{out}"))?;
    let columns: Vec<&str> = row.split_whitespace().collect();
    ensure!(columns.get(1) == Some(&"v1"), "{out}");
    // Built just now: not the epoch-0 default ("56 years ago").
    ensure!(!row.contains("years ago"), "CREATED is not the build time: {out}");
    Ok(row.to_owned())
}

/// Waits for a finished download named `name` in `dir` (Chromium writes `.crdownload` until it is done).
pub(crate) async fn downloaded(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let partial = dir.join(format!("{name}.crdownload"));
        if path.is_file() && !partial.exists() {
            return Ok(path);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "{name} was not downloaded into {}: {:?}",
        dir.display(),
        std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.file_name())
            .collect::<Vec<_>>()
    )
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("spawning {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// A downloaded tar is a `docker load` archive: skopeo reads it as one, with the image's tag and one layer
/// per COPY.
fn check_docker_archive(path: &Path) -> Result<()> {
    let listing = run(Command::new("tar").arg("-tf").arg(path))?;
    for entry in ["manifest.json", "index.json", "oci-layout"] {
        ensure!(listing.lines().any(|l| l == entry), "{entry} missing: {listing}");
    }
    let inspected: serde_json::Value = serde_json::from_str(&run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("docker-archive:{}", path.display())))?)?;
    ensure!(
        inspected["Layers"].as_array().map(Vec::len) == Some(2),
        "{inspected}"
    );
    let legacy: serde_json::Value = serde_json::from_str(&run(Command::new("tar")
        .arg("-xOf")
        .arg(path)
        .arg("manifest.json"))?)?;
    ensure!(
        legacy[0]["RepoTags"] == serde_json::json!(["learner1/app:v1"]),
        "{legacy}"
    );
    Ok(())
}

/// Whether the build log says `#N CACHED` for the step `#N [i/n] STEP`.
fn step_cached(log: &str, step: &str) -> Result<bool> {
    let line = log
        .lines()
        .find(|l| l.ends_with(step) && l.contains('['))
        .with_context(|| format!("{step} missing:\n{log}"))?;
    let id = line.split_whitespace().next().unwrap_or_default();
    Ok(log.lines().any(|l| l == format!("{id} CACHED")))
}

/// With the companion: build, reload, the workspace comes back from IndexedDB (not localStorage), the image
/// is still listed, and a rebuild takes every step from the IndexedDB build cache.
#[tokio::test(flavor = "multi_thread")]
async fn workspace_images_and_cache_survive_a_reload() {
    let server = Server::start().unwrap();
    let url = copy_only_project().share_link(&format!("{}/", server.url));
    let home = format!("{}/", server.url);
    let browser = Browser::start().await.unwrap();
    browser
        .run("workspace_images_and_cache_survive_a_reload", |page| async move {
            page.goto(&url).await?;
            let first = page
                .terminal_command(
                    "docker build -t learner1/app:v1 .",
                    "naming to docker.io/learner1/app:v1",
                )
                .await?;
            images_row(&page).await?;

            page.goto(&home).await?;
            page.by_name("Open b.txt").await?;
            let saved = page
                .client
                .execute("return localStorage.getItem('slipway.workspace');", vec![])
                .await?;
            ensure!(saved.is_null(), "the workspace is still in localStorage: {saved}");
            images_row(&page).await?;
            let again = page
                .terminal_command(
                    "docker build -t learner1/app:v1 .",
                    "naming to docker.io/learner1/app:v1",
                )
                .await?;
            for step in ["COPY a.txt /app/", "COPY b.txt /app/"] {
                ensure!(
                    !step_cached(&first, step)?,
                    "a fresh browser has no cache, yet {step} was CACHED:\n{first}"
                );
                ensure!(
                    step_cached(&again, step)?,
                    "{step} was not CACHED after the reload:\n{again}"
                );
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// Only a static file server, no companion: the page says it is offline, builds a COPY-only image into the
/// browser, lists it, downloads it from the Images panel, saves it into the project with `docker save`, keeps it
/// across a reload, and names the companion for `docker run`.
#[tokio::test(flavor = "multi_thread")]
async fn offline_page_builds_lists_and_downloads_images() {
    let static_server = StaticServer::start(&dist_dir()).await.unwrap();
    let url = copy_only_project().share_link(&format!("{}/", static_server.url));
    let home = format!("{}/", static_server.url);
    let downloads = TempDir::new("downloads");
    let dir = downloads.path().to_path_buf();
    let browser = Browser::start_with_downloads(&dir).await.unwrap();
    browser
        .run(
            "offline_page_builds_lists_and_downloads_images",
            |page| async move {
                page.goto(&url).await?;
                page.wait_for_text("Companion status", "the offline state", |t| {
                    t.starts_with("offline: companion unreachable")
                })
                .await?;
                page.terminal_command(
                    "docker build -t learner1/app:v1 .",
                    "naming to docker.io/learner1/app:v1",
                )
                .await?;
                images_row(&page).await?;

                page.click("Download learner1/app:v1").await?;
                check_docker_archive(&downloaded(&dir, "learner1_app_v1.tar").await?)?;
                // `docker save -o` writes the project's file (`docker load -i` reads it back: `cli_page`).
                page.terminal_command("docker save -o app.tar learner1/app:v1", "docker save")
                    .await?;
                page.by_name("Open app.tar").await?;
                let missing = page
                    .terminal_command("docker save nope:v9 > x.tar", "No such image: nope:v9")
                    .await?;
                ensure!(!dir.join("x.tar").exists(), "{missing}");

                let refused = page
                    .terminal_command(
                        "docker run --rm learner1/app:v1",
                        "needs the Slipway companion server",
                    )
                    .await?;
                ensure!(refused.contains("unreachable"), "{refused}");

                // The image is in IndexedDB: a reload lists it, and a build FROM it works offline.
                page.goto(&home).await?;
                images_row(&page).await?;
                page.click("Open Dockerfile").await?;
                page.type_into("Dockerfile editor", "FROM learner1/app:v1\nCOPY b.txt /again/\n")
                    .await?;
                let child = page
                    .terminal_command(
                        "docker build -t learner1/app:v2 .",
                        "naming to docker.io/learner1/app:v2",
                    )
                    .await?;
                ensure!(child.contains("FROM docker.io/learner1/app:v1"), "{child}");
                Ok(())
            },
        )
        .await
        .unwrap();
    drop(static_server);
}

/// `slipway build --output type=docker,dest=FILE` writes a `docker load` tar that skopeo copies into an OCI
/// layout with the same config digest (image ID) and, read as an OCI archive, the same manifest digest as the
/// layout `type=oci,dest=DIR,tar=false` writes.
#[test]
fn docker_archive_output_reads_back_with_skopeo() -> Result<()> {
    let dir = TempDir::new("docker-archive");
    let context = dir.path().join("ctx");
    std::fs::create_dir_all(&context)?;
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nCOPY a.txt /app/\nCMD [\"/app/a.txt\"]\n",
    )?;
    std::fs::write(context.join("a.txt"), "alpha\n")?;
    let tar = dir.path().join("app.tar");
    let layout = dir.path().join("layout");
    let build = |output: String| {
        Command::new(slipway_bin())
            .args(["build", "-t", "learner1/app:v1", "--cache-dir"])
            .arg(dir.path().join("cache"))
            .args(["--output", &output])
            .arg(&context)
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
    };
    let out = build(format!("type=docker,dest={}", tar.display()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image_id = String::from_utf8(out.stdout)?.trim().to_owned();
    let out = build(format!("type=oci,dest={},tar=false", layout.display()))?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = crate::build::layout::manifest_digest(&layout, "v1");

    // A docker archive carries no manifest (only manifest.json's config and layer paths) and skopeo 1.9 reads its
    // layers uncompressed: the manifest it makes differs, but with --preserve-digests the config (the image ID,
    // as after `docker load`) is byte-identical and each layer is the build's diff_id.
    let copied = dir.path().join("copied");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--insecure-policy", "--preserve-digests"])
        .arg(format!("docker-archive:{}", tar.display()))
        .arg(format!("oci:{}:v1", copied.display())))?;
    let from_docker: serde_json::Value = serde_json::from_slice(&crate::build::layout::blob(
        &copied,
        &crate::build::layout::manifest_digest(&copied, "v1"),
    ))?;
    ensure!(from_docker["config"]["digest"] == image_id, "{from_docker}");
    let config: serde_json::Value = serde_json::from_slice(&crate::build::layout::blob(&layout, &image_id))?;
    ensure!(
        from_docker["layers"][0]["digest"] == config["rootfs"]["diff_ids"][0],
        "{from_docker} vs {config}"
    );
    // The same file as an OCI archive keeps the manifest itself: the build's manifest digest.
    let from_oci = dir.path().join("from-oci");
    run(Command::new("skopeo")
        .args(["copy", "-q", "--insecure-policy", "--preserve-digests"])
        .arg(format!("oci-archive:{}:v1", tar.display()))
        .arg(format!("oci:{}:v1", from_oci.display())))?;
    ensure!(
        crate::build::layout::manifest_digest(&from_oci, "v1") == manifest,
        "skopeo's copy of the OCI archive has another manifest than the build's"
    );
    Ok(())
}
