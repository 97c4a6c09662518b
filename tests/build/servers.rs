//! One build cache, several servers: `slipway docker build` keeps its cache in the user's cache directory, so it
//! meets servers that never ran its steps (another server) or lost them (the same address, its data wiped).
//! Each build succeeds and says why a cached RUN step ran again, as BuildKit takes a missing cached result as a
//! miss. Also: the base image the builds start from carries its Debian package's date, not 1970.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::support::server::{busybox_package_time, slipway_bin, with_busybox_in_registry, Server};
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
        .env("SLIPWAY_SESSION", "cache-servers")
        .env("XDG_CACHE_HOME", cache)
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

/// The lines the progress printed for the RUN step (`#5 [2/2] RUN ...` and the lines after it with its id).
fn run_step(progress: &str) -> Result<Vec<&str>> {
    let start = progress
        .lines()
        .find(|l| l.contains("] RUN echo built here"))
        .with_context(|| format!("no RUN step in:\n{progress}"))?;
    let id = start.split_whitespace().next().unwrap_or_default();
    let prefix = format!("{id} ");
    Ok(progress.lines().filter(|l| l.starts_with(&prefix)).collect())
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
    if let Some(why) = crate::runner::missing_prerequisite() {
        bail!("RUN steps need real containers: {why}");
    }
    let context = TempDir::new("cache-servers-context");
    std::fs::write(context.path().join("Dockerfile"), DOCKERFILE)?;
    let cache = TempDir::new("cache-servers-cache");
    let (context, cache) = (context.path(), cache.path());

    let first = server("cache-servers-a", "127.0.0.1:0")?;
    build(&first, context, cache)?;
    let again = build(&first, context, cache)?;
    ensure!(
        run_step(&again)?.iter().any(|l| l.ends_with(" CACHED")),
        "{again}"
    );

    // Another server, the same cache directory: the step is that server's to run.
    let second = server("cache-servers-b", "127.0.0.1:0")?;
    let progress = build(&second, context, cache)?;
    let step = run_step(&progress)?;
    ensure!(
        step.iter()
            .any(|l| l.ends_with(" cache miss: the cached layer was made on another server")),
        "{progress}"
    );
    ensure!(step.iter().any(|l| l.contains(" DONE ")), "{progress}");
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
    let step = run_step(&progress)?;
    ensure!(
        step.iter()
            .any(|l| l.ends_with(" cache miss: the cached layer is gone from this server")),
        "{progress}"
    );
    ensure!(!progress.contains("BLOB_UNKNOWN"), "{progress}");
    runs_on(&wiped, context, cache)?;
    let again = build(&wiped, context, cache)?;
    ensure!(
        run_step(&again)?.iter().any(|l| l.ends_with(" CACHED")),
        "{again}"
    );

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
