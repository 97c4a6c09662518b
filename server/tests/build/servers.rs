//! One build cache, several servers: `slipway docker build` keeps its cache in the user's cache directory, so it
//! meets servers that never ran its steps (another server) or lost them (the same address, its data wiped); the
//! page keeps its cache in IndexedDB, which outlives a wiped server at the same address. Each build succeeds and
//! says why a cached RUN step ran again, as BuildKit takes a missing cached result as a miss. Also: the base
//! image the builds start from carries its Debian package's date, not 1970.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::support::project::{Project, ProjectFile};

use crate::support::browser::Browser;
use crate::support::server::{
    busybox_package_time, dist_dir, slipway_bin, with_busybox, with_busybox_in_registry, Server,
};
use crate::support::TempDir;

/// What a learner would run to make the build's one RUN step; the image prints what it wrote.
const DOCKERFILE: &str = "FROM busybox\nRUN echo built here > /stamp\nCMD [\"cat\", \"/stamp\"]\n";

/// A real `slipway serve` with busybox in its registry, on `addr` (`127.0.0.1:0`: any free port).
fn server(label: &str, addr: &str) -> Result<Server> {
    let data = TempDir::new(label);
    with_busybox_in_registry(&data)?;
    Server::start_on(addr, data, Path::new("/nonexistent"), &[])
}

/// `slipway docker --host URL ARGS...` in `context`, with the user's cache directory at `cache`.
fn docker(server: &Server, context: &Path, cache: &Path, args: &[&str]) -> Result<(i32, String, String)> {
    let out = Command::new(slipway_bin())
        .args(["docker", "--host", &server.url])
        .args(args)
        .current_dir(context)
        .env_remove("SLIPWAY_SESSION")
        .env("XDG_CACHE_HOME", cache)
        // The session file (`slipway docker` keeps the companion's session there) beside the cache.
        .env("XDG_CONFIG_HOME", cache)
        .output()
        .context("running slipway docker")?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout)?,
        String::from_utf8(out.stderr)?,
    ))
}

/// `docker build -t learner1/app:v1 .`, which must succeed; its progress.
fn build(server: &Server, context: &Path, cache: &Path) -> Result<String> {
    let (code, _, progress) = docker(server, context, cache, &["build", "-t", "learner1/app:v1", "."])?;
    ensure!(code == 0, "the build failed ({code}):\n{progress}");
    Ok(progress)
}

/// That the progress shows the RUN step (`#5 [2/2] RUN ...`) with a line (same `#5`) ending in `status`.
fn run_step_says(progress: &str, status: &str) -> Result<()> {
    let start = progress
        .lines()
        .find(|l| l.contains("] RUN echo built here"))
        .with_context(|| format!("no RUN step in:\n{progress}"))?;
    let id = start.split_whitespace().next().unwrap_or_default();
    let said = progress
        .lines()
        .any(|l| l.starts_with(&format!("{id} ")) && l.ends_with(status));
    ensure!(
        said,
        "the RUN step does not end a line with {status:?}:\n{progress}"
    );
    Ok(())
}

/// The image runs, and prints what its RUN step wrote: the layer is really on `server`.
fn runs_on(server: &Server, context: &Path, cache: &Path) -> Result<()> {
    let (code, out, err) = docker(server, context, cache, &["run", "--rm", "learner1/app:v1"])?;
    ensure!(
        code == 0 && out == "built here\n",
        "docker run ({code}): {out}{err}"
    );
    Ok(())
}

#[test]
fn a_build_cache_from_other_servers_rebuilds_and_says_why() -> Result<()> {
    if let Some(why) = crate::support::prerequisite::runner_missing() {
        bail!("RUN steps need real containers: {why}");
    }
    let context = TempDir::new("cache-servers-context");
    std::fs::write(context.path().join("Dockerfile"), DOCKERFILE)?;
    let cache = TempDir::new("cache-servers-cache");
    let (context, cache) = (context.path(), cache.path());

    let first = server("cache-servers-a", "127.0.0.1:0")?;
    build(&first, context, cache)?;
    run_step_says(&build(&first, context, cache)?, " CACHED")?;

    // Another server, the same cache directory: the step is that server's to run.
    let second = server("cache-servers-b", "127.0.0.1:0")?;
    let progress = build(&second, context, cache)?;
    run_step_says(
        &progress,
        " cache miss: the cached layer was made on another server",
    )?;
    runs_on(&second, context, cache)?;

    // The first server's address again, its data wiped: the cache names a layer this server lacks.
    let addr = first
        .url
        .strip_prefix("http://")
        .context("an http URL")?
        .to_owned();
    first.stop()?;
    let wiped = server("cache-servers-a-wiped", &addr)?;
    let progress = build(&wiped, context, cache)?;
    run_step_says(
        &progress,
        " cache miss: the cached layer is gone from this server",
    )?;
    ensure!(!progress.contains("BLOB_UNKNOWN"), "{progress}");
    runs_on(&wiped, context, cache)?;
    run_step_says(&build(&wiped, context, cache)?, " CACHED")?;

    // `docker images` dates busybox by its Debian package, as the package's own files are dated.
    let (code, _, err) = docker(&wiped, context, cache, &["pull", "busybox"])?;
    ensure!(code == 0, "docker pull busybox: {err}");
    let (code, out, err) = docker(
        &wiped,
        context,
        cache,
        &[
            "images",
            "--format",
            "{{.Repository}} {{.CreatedAt}} {{.CreatedSince}}",
        ],
    )?;
    ensure!(code == 0, "docker images: {err}");
    let go_time = slipway::cli::format::go_time(busybox_package_time()? as i64);
    let row = out
        .lines()
        .find(|l| l.starts_with("busybox "))
        .with_context(|| format!("no busybox in:\n{out}"))?;
    ensure!(row.starts_with(&format!("busybox {go_time} ")), "{out}");
    ensure!(!out.contains("1970") && !out.contains("56 years ago"), "{out}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_cache_survives_a_wiped_server_and_says_why_it_rebuilds() {
    if let Some(why) = crate::support::prerequisite::runner_missing() {
        panic!("RUN steps need real containers: {why}");
    }
    let start = |label: &str, addr: &str| {
        let data = TempDir::new(label);
        with_busybox(&data).unwrap();
        Server::start_on(addr, data, &dist_dir(), &[]).unwrap()
    };
    let first = start("page-cache-a", "127.0.0.1:0");
    let addr = first.url.trim_start_matches("http://").to_owned();
    let project = Project::from_files([("Dockerfile", ProjectFile::new(DOCKERFILE))]).unwrap();
    let url = project.share_link(&format!("{}/", first.url));
    let build = "docker build -t learner1/app:v1 .";
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "the_pages_cache_survives_a_wiped_server_and_says_why_it_rebuilds",
            |page| async move {
                page.goto(&url).await?;
                page.terminal_command(build, "naming to").await?;
                let again = page.terminal_command(build, "naming to").await?;
                run_step_says(&again, " CACHED")?;
                // The operator wipes the server's data and starts it again at the same address; the learner
                // reloads the page, whose cache (IndexedDB, per origin) still names the old RUN layer.
                first.stop()?;
                let _wiped = start("page-cache-a-wiped", &addr);
                page.goto(&url).await?;
                let rebuilt = page.terminal_command(build, "naming to").await?;
                run_step_says(&rebuilt, " cache miss: the cached layer is gone from this server")?;
                page.terminal_command("docker run --rm learner1/app:v1", "built here")
                    .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}
