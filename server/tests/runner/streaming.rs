//! Output that streams while the process runs: a RUN step's lines in `slipway docker build`'s progress, and
//! `docker logs -f`, both natively through the real binary. Each test checks what the server holds at the
//! moment a line arrives (the step's container still exists, the container still runs), not how long it took.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{ensure, Context, Result};

use crate::support::server::{slipway_bin, with_busybox_in_registry, Server};
use crate::support::TempDir;

/// `slipway serve` with busybox in its registry, or None when the developer opted out of container tests.
fn server(label: &str) -> Result<Option<Server>> {
    if !super::can_run_containers() {
        return Ok(None);
    }
    let data = TempDir::new(label);
    with_busybox_in_registry(&data)?;
    Ok(Some(Server::start_in(data, Path::new("/nonexistent"), &[])?))
}

/// `slipway docker --host URL ARGS...` for `session`, with the chosen stream piped; killed on drop.
struct Docker(Child);

impl Docker {
    fn spawn(server: &Server, session: &str, dir: &Path, args: &[&str], stderr: bool) -> Result<Docker> {
        let (out, err) = if stderr {
            (Stdio::null(), Stdio::piped())
        } else {
            (Stdio::piped(), Stdio::inherit())
        };
        let child = Command::new(slipway_bin())
            .args(["docker", "--host", &server.url])
            .args(args)
            .current_dir(dir)
            .env("SLIPWAY_SESSION", session)
            .stdout(out)
            .stderr(err)
            .spawn()
            .context("spawn slipway docker")?;
        Ok(Docker(child))
    }

    /// The piped stream's lines as they are written.
    fn lines(&mut self) -> Box<dyn Iterator<Item = String>> {
        match (self.0.stdout.take(), self.0.stderr.take()) {
            (Some(out), _) => Box::new(BufReader::new(out).lines().map_while(Result::ok)),
            (None, Some(err)) => Box::new(BufReader::new(err).lines().map_while(Result::ok)),
            (None, None) => Box::new(std::iter::empty()),
        }
    }

    fn wait(mut self) -> Result<i32> {
        let status = self.0.wait()?;
        Ok(status.code().unwrap_or(-1))
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The containers (RUN steps included) whose directories exist in the server's runner dir.
fn container_dirs(server: &Server) -> Result<usize> {
    let dir = server.data.path().join("runner/c");
    if !dir.exists() {
        return Ok(0);
    }
    Ok(std::fs::read_dir(dir)?.count())
}

#[test]
fn a_run_steps_output_shows_while_the_step_runs() -> Result<()> {
    let Some(server) = server("runner-stream-build")? else {
        return Ok(());
    };
    let context = TempDir::new("stream-build-context");
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM busybox\nRUN echo start; sleep 2; echo end\n",
    )?;
    let mut build = Docker::spawn(
        &server,
        &server.session()?,
        context.path(),
        &[
            "build",
            "--no-cache",
            "--progress",
            "plain",
            "-t",
            "learner1/stream",
            ".",
        ],
        true,
    )?;
    let mut seen = Vec::new();
    let mut step_alive_at_start = None;
    for line in build.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() == 2 && words[0].starts_with('#') && words[1] == "start" {
            // The step's container exists until the step has finished and its layer is stored.
            step_alive_at_start = Some(container_dirs(&server)?);
        }
        seen.push(line);
    }
    let code = build.wait()?;
    let log = seen.join("\n");
    ensure!(code == 0, "the build failed ({code}):\n{log}");
    ensure!(
        step_alive_at_start == Some(1),
        "\"start\" was shown when {step_alive_at_start:?} step containers existed (1 expected: the step still running):\n{log}"
    );
    let position = |word: &str| {
        seen.iter().position(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.len() == 2 && words[0].starts_with('#') && words[1] == word
        })
    };
    let (start, end) = (position("start"), position("end"));
    let done = seen
        .iter()
        .enumerate()
        .position(|(i, l)| Some(i) > end && l.contains(" DONE "));
    ensure!(
        start.is_some() && start < end && end < done,
        "start, end, DONE out of order:\n{log}"
    );
    ensure!(
        container_dirs(&server)? == 0,
        "the step's container outlived the build"
    );
    Ok(())
}

#[test]
fn docker_logs_follow_streams_until_the_container_exits() -> Result<()> {
    let Some(server) = server("runner-stream-logs")? else {
        return Ok(());
    };
    let session = server.session()?;
    let session = session.as_str();
    let cwd = TempDir::new("stream-logs-cwd");
    let run = Command::new(slipway_bin())
        .args([
            "docker",
            "--host",
            &server.url,
            "run",
            "-d",
            "--name",
            "ticker",
            "busybox",
        ])
        .args(["sh", "-c", "echo one; sleep 2; echo two >&2; sleep 1; echo three"])
        .env("SLIPWAY_SESSION", session)
        .output()?;
    ensure!(
        run.status.success(),
        "docker run -d: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let status = || -> Result<String> {
        runtime.block_on(async {
            let inspect: serde_json::Value = reqwest::Client::new()
                .get(format!("{}/api/containers/ticker", server.url))
                .header("X-Slipway-Session", session)
                .send()
                .await?
                .json()
                .await?;
            Ok(inspect["status"].as_str().unwrap_or_default().to_string())
        })
    };
    let mut logs = Docker::spawn(&server, session, cwd.path(), &["logs", "-f", "ticker"], false)?;
    let mut seen = Vec::new();
    let mut status_at_one = None;
    for line in logs.lines() {
        if line == "one" {
            status_at_one = Some(status()?);
        }
        seen.push(line);
    }
    let code = logs.wait()?;
    ensure!(code == 0, "docker logs -f exited {code}: {seen:?}");
    ensure!(
        status_at_one.as_deref() == Some("running"),
        "\"one\" was shown when the container was {status_at_one:?}, not while it ran"
    );
    // stderr goes to stderr (inherited here): stdout has the other two lines, in order, and the command ended
    // because the container did.
    ensure!(seen == ["one", "three"], "{seen:?}");
    ensure!(status()? == "exited", "docker logs -f returned before the exit");
    Ok(())
}
