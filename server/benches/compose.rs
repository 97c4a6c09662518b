//! Compose benchmark (issue 16): `docker compose up -d` of the second lesson's project (redis and the web app,
//! `static/examples/compose-app/`) with Slipway (`slipway docker compose` against a real `slipway serve`, real
//! runc), cold then warm, beside `podman-compose up -d` of the same files with the same images (loaded into podman
//! from Slipway's OCI layouts) on the same machine in the same run; and the request latency from a container to
//! the web app by its service name on the project's network, on both. Podman runs rootful in a network namespace
//! of its own (`ip netns add`, entered with `nsenter --net`, which keeps the host's `/sys` and its cgroups), so
//! its bridge, published ports and firewall rules never touch the host's. Run with `scripts/bench.sh compose`;
//! prints a Markdown table for docs/performance.md.

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::Instant;

    use anyhow::{ensure, Context, Result};

    use super::support::server::{slipway_bin, with_python_and_redis, Server};
    use super::support::TempDir;

    /// Run in a container on the project's network: 100 sequential GETs of the web app by its service name (each
    /// one an INCR in redis), after it first answers; prints the median and the 90th percentile.
    const LATENCY: &str = "import time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen('http://web:8000/').read(); break
    except Exception: time.sleep(0.1)
t = []
for _ in range(100):
    s = time.perf_counter(); urllib.request.urlopen('http://web:8000/').read(); t.append(time.perf_counter() - s)
t.sort(); print(f'{t[50]*1000:.2f} {t[90]*1000:.2f}')";

    /// One side's figures: seconds for `up -d` cold and warm, milliseconds per request (median, p90).
    #[derive(Debug, Default)]
    struct Figures {
        cold: f64,
        warm: f64,
        median: f64,
        p90: f64,
    }

    fn output(mut cmd: Command) -> Result<String> {
        let out = cmd.stdin(Stdio::null()).output()?;
        ensure!(
            out.status.success(),
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn latency(printed: &str) -> Result<(f64, f64)> {
        let mut numbers = printed.split_whitespace().filter_map(|w| w.parse::<f64>().ok());
        let median = numbers.next().context("no latency printed")?;
        Ok((median, numbers.next().context("no p90 printed")?))
    }

    fn timed(run: impl FnOnce() -> Result<String>) -> Result<f64> {
        let start = Instant::now();
        run()?;
        Ok(start.elapsed().as_secs_f64())
    }

    fn slipway_side(server: &Server, dir: &Path) -> Result<Figures> {
        let session = server.session()?;
        let docker = |args: &[&str]| {
            let mut cmd = Command::new(slipway_bin());
            cmd.args(["docker", "--host", &server.url])
                .args(args)
                .current_dir(dir)
                .env("SLIPWAY_SESSION", &session)
                .env("SLIPWAY_AUTH_FILE", dir.join(".auth.json"));
            output(cmd)
        };
        docker(&["build", "-q", "-t", "counter-web", "."])?;
        let mut figures = Figures {
            cold: timed(|| docker(&["compose", "up", "-d"]))?,
            ..Figures::default()
        };
        let run = ["run", "--rm", "--network", "counter_default", "python:3.11-slim"];
        (figures.median, figures.p90) = latency(&docker(&[&run[..], &["python", "-c", LATENCY]].concat())?)?;
        docker(&["compose", "down", "-t", "5"])?;
        figures.warm = timed(|| docker(&["compose", "up", "-d"]))?;
        docker(&["compose", "down", "-v", "-t", "5"])?;
        Ok(figures)
    }

    /// Podman with its own storage, settings that work on this host (DESIGN.md: runc, cgroupfs, file events
    /// logger, ulimits below the host's; CNI with the dnsname plugin for names) and a network namespace of its
    /// own. A wrapper script carries the flags, for podman-compose's `--podman-path`. Drop removes every
    /// container, mount, file and the namespace.
    struct Podman {
        dir: PathBuf,
        netns: String,
    }

    impl Podman {
        fn new() -> Result<Podman> {
            let pid = std::process::id();
            let dir = PathBuf::from(format!("/var/tmp/slipway-bench-compose-{pid}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("cni"))?;
            std::fs::write(
                dir.join("containers.conf"),
                format!(
                    "[containers]\ndefault_ulimits = [\"nofile=4096:4096\", \"nproc=4096:4096\"]\n[engine]\n\
                     events_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\nruntime = \"runc\"\n[network]\n\
                     network_backend = \"cni\"\nnetwork_config_dir = \"{}\"\n",
                    dir.join("cni").display()
                ),
            )?;
            let d = dir.display();
            std::fs::write(
                dir.join("podman"),
                format!(
                    "#!/bin/sh\nexec env CONTAINERS_CONF={d}/containers.conf podman --root {d}/root --runroot \
                     {d}/run --tmpdir {d}/tmp --storage-driver overlay --events-backend file --cgroup-manager \
                     cgroupfs \"$@\"\n"
                ),
            )?;
            output({
                let mut chmod = Command::new("chmod");
                chmod.arg("+x").arg(dir.join("podman"));
                chmod
            })?;
            let netns = format!("slipway-bench-compose-{pid}");
            output({
                let mut add = Command::new("ip");
                add.args(["netns", "add", &netns]);
                add
            })?;
            Ok(Podman { dir, netns })
        }

        /// `PROGRAM ARGS` inside podman's network namespace.
        fn inside(&self, program: &Path, args: &[&str]) -> Command {
            let mut cmd = Command::new("nsenter");
            cmd.arg(format!("--net=/run/netns/{}", self.netns))
                .arg(program)
                .args(args);
            cmd
        }

        fn podman(&self, args: &[&str]) -> Result<String> {
            output(self.inside(&self.dir.join("podman"), args))
        }

        fn compose(&self, project: &Path, args: &[&str]) -> Result<String> {
            let path = self.dir.join("podman");
            let mut cmd = self.inside(Path::new("/usr/bin/podman-compose"), &[]);
            cmd.args(["-p", "counter", "--podman-path"])
                .arg(&path)
                .args(args)
                .current_dir(project);
            output(cmd)
        }
    }

    impl Drop for Podman {
        fn drop(&mut self) {
            let _ = self.podman(&["rm", "--force", "--all", "--time", "0"]);
            let _ = self.podman(&["volume", "prune", "--force"]);
            let _ = self.podman(&["rmi", "--force", "--all"]);
            super::support::unmount_below(&self.dir);
            let _ = std::fs::remove_dir_all(&self.dir);
            let _ = Command::new("ip").args(["netns", "del", &self.netns]).status();
        }
    }

    fn podman_side(layouts: &Path, dir: &Path) -> Result<Figures> {
        let podman = Podman::new()?;
        // The same images as Slipway's, from its OCI layouts, before the clock starts.
        for (layout, reference, tag) in [
            ("redis", "redis:7-bookworm", "docker.io/library/redis:7"),
            ("python", "python:3.11-slim", "docker.io/library/python:3.11-slim"),
        ] {
            let source = format!("oci:{}:{reference}", layouts.join(layout).display());
            let id = podman.podman(&["pull", "-q", &source])?;
            podman.podman(&["tag", id.trim(), tag])?;
        }
        let context = dir.to_str().context("utf-8 path")?;
        podman.podman(&["build", "-q", "--pull=never", "-t", "counter-web", context])?;
        let mut figures = Figures {
            cold: timed(|| podman.compose(dir, &["up", "-d"]))?,
            ..Figures::default()
        };
        let run = [
            "run",
            "--rm",
            "--net",
            "counter_default",
            "docker.io/library/python:3.11-slim",
        ];
        (figures.median, figures.p90) =
            latency(&podman.podman(&[&run[..], &["python", "-c", LATENCY]].concat())?)?;
        podman.compose(dir, &["down", "-t", "5"])?;
        figures.warm = timed(|| podman.compose(dir, &["up", "-d"]))?;
        podman.compose(dir, &["down", "-v", "-t", "5"])?;
        Ok(figures)
    }

    fn load() -> String {
        super::common::loadavg()
            .split_whitespace()
            .next()
            .unwrap_or("?")
            .to_string()
    }

    pub fn main() -> Result<()> {
        let project = TempDir::new("bench-compose-project");
        let examples = super::support::repo_root().join("static/examples/compose-app");
        for name in ["compose.yaml", "Dockerfile", "app.py"] {
            std::fs::copy(examples.join(name), project.path().join(name))?;
        }
        let data = TempDir::new("bench-compose");
        with_python_and_redis(&data)?;
        let layouts = data.path().join("base-images");
        let server = Server::start_in(data, Path::new("/nonexistent"), &[])?;
        let load_before = load();
        let slipway = slipway_side(&server, project.path())?;
        // The server (idle now) keeps its data dir, where the layouts podman loads are.
        let podman = podman_side(&layouts, project.path())?;
        drop(server);
        println!("| lesson project (redis + web) | Slipway | podman-compose 1.0.3 (podman 4.3, CNI) |");
        println!("| --- | --- | --- |");
        let row =
            |what: &str, s: f64, p: f64, unit: &str| println!("| {what} | {s:.2} {unit} | {p:.2} {unit} |");
        row("`compose up -d`, cold", slipway.cold, podman.cold, "s");
        row(
            "`compose up -d`, warm (after `down`)",
            slipway.warm,
            podman.warm,
            "s",
        );
        row(
            "container → `web:8000`, median",
            slipway.median,
            podman.median,
            "ms",
        );
        row("container → `web:8000`, p90", slipway.p90, podman.p90, "ms");
        println!(
            "\nload average {load_before} before, {} after; {} cores",
            load(),
            num_cpus()
        );
        Ok(())
    }

    fn num_cpus() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}
