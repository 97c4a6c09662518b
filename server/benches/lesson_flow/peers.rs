//! The peers of the lesson-flow benchmark: Debian's `docker-registry` as the second registry, and the same lesson
//! done with podman (build, images, run + exec, rebuild, push) in a throw-away storage under /var/tmp.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};

use super::{StepTimes, STEPS};

pub use super::support::distribution::Distribution as SecondRegistry;

/// Podman with its own storage (overlay), state and settings that work on this host (DESIGN.md: runc, cgroupfs,
/// file events logger, no network namespace set up by podman, ulimits below the host's). Nothing is ever
/// published: podman's netavark would change the host's nftables. Drop removes every container, mount and file.
struct Podman {
    dir: PathBuf,
}

impl Podman {
    fn new() -> anyhow::Result<Podman> {
        let dir = PathBuf::from(format!("/var/tmp/slipway-bench-podman-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("containers.conf"),
            "[containers]\nnetns = \"none\"\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n\
             [engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n",
        )?;
        Ok(Podman { dir })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args([
                "--storage-driver",
                "overlay",
                "--events-backend",
                "file",
                "--cgroup-manager",
                "cgroupfs",
            ])
            .args(args);
        cmd
    }

    /// Run `podman ARGS`; a failure quotes its stderr.
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).stdin(Stdio::null()).output()?;
        ensure!(
            out.status.success(),
            "podman {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "--force", "--all", "--time", "0"]);
        let _ = self.run(&["rmi", "--force", "--all"]);
        // Whatever the storage driver left mounted under our dir, deepest first.
        super::support::unmount_below(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const IMAGE: &str = "localhost/learner1/python-sample-app";
/// The app answers inside the container (no published port): fetched with the container's own python.
const FETCH_APP: &str = "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:8000/').read().decode())";

/// One pass through the lesson with podman, tagging `first` and `second`; seconds per step.
fn podman_pass(
    podman: &Podman,
    context: &Path,
    remote: &str,
    first: &str,
    second: &str,
) -> anyhow::Result<StepTimes> {
    let mut times: StepTimes = [None; STEPS.len()];
    let ctx = context.to_str().context("utf-8 path")?;
    let build = |tag: &str| {
        podman.run(&[
            "build",
            "--pull=never",
            "--network",
            "none",
            "--layers",
            "-q",
            "-t",
            tag,
            ctx,
        ])
    };
    let mut since = Instant::now();
    let mut lap = |step: usize| {
        times[step] = Some(since.elapsed().as_secs_f64());
        since = Instant::now();
    };
    build(&format!("{IMAGE}:{first}"))?;
    lap(1);
    ensure!(
        podman.run(&["images"])?.contains(IMAGE),
        "podman images lists no {IMAGE}"
    );
    lap(2);
    let id = podman.run(&["run", "-d", "--network", "none", &format!("{IMAGE}:{first}")])?;
    let started = Instant::now();
    while !podman
        .run(&["exec", id.trim(), "python3", "-c", FETCH_APP])
        .is_ok_and(|page| page.contains("Hello from a container"))
    {
        ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the app never answered in {}",
            id.trim()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    lap(3);
    let app = context.join("app.py");
    let text = std::fs::read_to_string(&app)?;
    std::fs::write(&app, format!("{text}\n# changed for {second}\n"))?;
    build(&format!("{IMAGE}:{second}"))?;
    lap(4);
    podman.run(&[
        "push",
        "--tls-verify=false",
        "-q",
        &format!("{IMAGE}:{first}"),
        &format!("docker://{remote}/learner1/python-sample-app:{first}"),
    ])?;
    lap(6);
    Ok(times)
}

/// The lesson with podman, cold (fresh storage holding only the python base image) then warm (same storage, new
/// tags), with the lesson's own Dockerfile and app and the same python base image as the slipway side.
pub async fn podman_side(work: &Path) -> anyhow::Result<(StepTimes, StepTimes)> {
    let context = work.join("podman-context");
    let example = super::support::repo_root().join("static/examples/python-web-app");
    std::fs::create_dir_all(&context)?;
    for file in std::fs::read_dir(&example)? {
        let file = file?;
        std::fs::copy(file.path(), context.join(file.file_name()))?;
    }
    let remote = SecondRegistry::start(&work.join("podman-remote")).await?;
    let podman = Podman::new()?;
    // The base image the slipway side imports: the OCI layout `slipway base-images python` caches, loaded (and
    // unpacked into podman's storage) before the clock starts.
    let layout = super::support::TempDir::new("bench-lesson-base");
    super::support::server::with_python(&layout)?;
    let pulled = podman.run(&[
        "pull",
        "-q",
        &format!("oci:{}", layout.path().join("base-images/python").display()),
    ])?;
    podman.run(&["tag", pulled.trim(), "docker.io/library/python:3.11-slim"])?;
    let remote_addr = remote.addr.clone();
    let (cold, warm) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let cold = podman_pass(&podman, &context, &remote_addr, "v1", "v2")?;
        let warm = podman_pass(&podman, &context, &remote_addr, "v3", "v4")?;
        drop(podman);
        Ok((cold, warm))
    })
    .await??;
    drop(remote);
    Ok((cold, warm))
}
