//! Hostile-learner soak (issue 14; a benchmark, not a test): an honest learner does the seed lesson natively
//! against a fresh `slipway serve` (`slipway docker login`, `build` with its RUN step executed, `run -d -p` until
//! the app answers on the published port, `push` to the embedded registry), first alone and then while five
//! hostile clients attack at once (a container catting /dev/zero, an attach flooding a container that never
//! reads, a bad-login storm, upload spam, a fork bomb). Prints the honest lesson's time alone and under attack,
//! the server's peak memory, and what is left afterwards (mounts, cgroups, processes, network namespaces, disk
//! after the collector). Run with `scripts/bench.sh hostile`; paste the tables into docs/performance.md.

#[cfg(not(target_arch = "wasm32"))]
#[path = "hostile/attacks.rs"]
mod attacks;

#[cfg(not(target_arch = "wasm32"))]
#[path = "hostile/leftovers.rs"]
mod leftovers;

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use anyhow::{ensure, Context};
    use tokio::io::AsyncWriteExt;

    use super::attacks::{Attack, Kind};
    use super::leftovers::{cpu_seconds, disk_usage, memory, Leftovers};
    use super::support::server::{
        slipway_bin, until_app_answers, users_file, with_busybox, with_python, Server,
    };
    use super::support::{free_port, repo_root, TempDir};

    /// Honest passes through the lesson in each phase (after one warm-up pass that is not counted).
    const RUNS: usize = 3;
    const IMAGE: &str = "learner1/python-sample-app:v1";
    const GREETING: &str = "Hello from a container";
    const STEPS: [&str; 4] = [
        "`docker login`",
        "`docker build` (RUN executed)",
        "`run -d -p` until the app answers",
        "`docker push`",
    ];

    /// The honest learner: the lesson's files in a context directory, `slipway docker --host` with a config and
    /// cache of its own.
    struct Learner {
        url: String,
        home: PathBuf,
        context: PathBuf,
    }

    impl Learner {
        fn new(server: &Server, dir: &Path) -> anyhow::Result<Learner> {
            let context = dir.join("lesson");
            std::fs::create_dir_all(&context)?;
            let example = repo_root().join("static/examples/python-web-app");
            for file in ["Dockerfile", "app.py", "requirements.txt"] {
                std::fs::copy(example.join(file), context.join(file)).context(file)?;
            }
            Ok(Learner {
                url: server.url.clone(),
                home: dir.join("home"),
                context,
            })
        }

        /// `slipway docker --host URL ARGS...` in the lesson's directory; its stdout.
        async fn docker(&self, args: &[&str], stdin: &str) -> anyhow::Result<String> {
            let mut child = tokio::process::Command::new(slipway_bin())
                .args(["docker", "--host", &self.url])
                .args(args)
                .current_dir(&self.context)
                .env("XDG_CACHE_HOME", self.home.join("cache"))
                .env("XDG_CONFIG_HOME", self.home.join("config"))
                .env_remove("SLIPWAY_SESSION")
                .env_remove("SLIPWAY_AUTH_FILE")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            let mut input = child.stdin.take().context("stdin")?;
            input.write_all(stdin.as_bytes()).await?;
            drop(input);
            let out = child.wait_with_output().await?;
            ensure!(
                out.status.success(),
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }

        /// One pass through the lesson; seconds per step. A new line in requirements.txt makes the build run
        /// its `RUN pip install` again, as a learner's change to the requirements does.
        async fn pass(&self, n: usize) -> anyhow::Result<[f64; STEPS.len()]> {
            let requirements = self.context.join("requirements.txt");
            let mut text = std::fs::read_to_string(&requirements)?;
            text.push_str(&format!("# pass {n}\n"));
            std::fs::write(&requirements, text)?;
            let mut times = [0.0; STEPS.len()];
            let mut since = Instant::now();
            let mut lap = |step: usize| {
                times[step] = since.elapsed().as_secs_f64();
                since = Instant::now();
            };
            self.docker(&["login", "-u", "learner1", "--password-stdin"], "pw-one\n")
                .await?;
            lap(0);
            self.docker(&["build", "-q", "-t", IMAGE, "."], "").await?;
            lap(1);
            let port = free_port();
            let name = format!("web-{n}");
            let publish = format!("{port}:8000");
            self.docker(&["run", "-d", "-p", &publish, "--name", &name, IMAGE], "")
                .await?;
            until_app_answers(port, GREETING).await?;
            lap(2);
            self.docker(&["push", IMAGE], "").await?;
            lap(3);
            self.docker(&["rm", "-f", &name], "").await?;
            Ok(times)
        }
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// `RUNS` passes: the median of each step and of the whole.
    async fn passes(learner: &Learner, first: usize) -> anyhow::Result<Vec<f64>> {
        let mut all = Vec::new();
        for n in first..first + RUNS {
            all.push(learner.pass(n).await?);
        }
        let mut medians: Vec<f64> = (0..STEPS.len())
            .map(|step| median(all.iter().map(|t| t[step]).collect()))
            .collect();
        medians.push(median(all.iter().map(|t| t.iter().sum()).collect()));
        Ok(medians)
    }

    pub fn main() -> anyhow::Result<()> {
        tokio::runtime::Runtime::new()?.block_on(soak())
    }

    async fn soak() -> anyhow::Result<()> {
        let dir = TempDir::new("bench-hostile");
        let data = TempDir::new("bench-hostile-data");
        with_busybox(&data)?;
        with_python(&data)?;
        let users = users_file(dir.path())?;
        let before_server = Leftovers::host();
        // Default login limits: the storm comes from an address of its own (attacks.rs), the learner from 127.0.0.1.
        let server = Server::start_in(
            data,
            Path::new("/nonexistent"),
            &[
                "--users",
                users.to_str().context("utf-8 path")?,
                "--upload-grace",
                "5",
                "--layer-grace",
                "5",
            ],
        )?;
        let data_dir = server.data.path().to_path_buf();
        let learner = Learner::new(&server, dir.path())?;
        learner.pass(0).await.context("the warm-up pass")?;
        let cpu = cpu_seconds(server.pid());
        let alone = passes(&learner, 1).await?;
        let cpu_alone = (cpu_seconds(server.pid()) - cpu) / RUNS as f64;
        let peak_alone = memory(server.pid(), "VmHWM");
        let baseline = Leftovers::of(&server, &data_dir);
        let disk_before = disk_usage(&data_dir);

        let mut each = Vec::new();
        for (n, kind) in Kind::ALL.into_iter().enumerate() {
            let attack = Attack::start(&server, &data_dir, &[kind]).await?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let cpu = cpu_seconds(server.pid());
            let took: f64 = learner.pass(100 + n).await?.iter().sum();
            let cpu = cpu_seconds(server.pid()) - cpu;
            let report = attack.stop(&server).await?;
            each.push((kind.name(), took, cpu, report.peak_rss));
        }

        let attack = Attack::start(&server, &data_dir, &Kind::ALL).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let attacked = passes(&learner, 1 + RUNS).await?;
        let report = attack.stop(&server).await?;
        let peak_attacked = memory(server.pid(), "VmHWM");

        // The collector's graces are 5 s: wait for the disk to come back (at most a minute).
        let started = Instant::now();
        let mut disk_after = disk_usage(&data_dir);
        while disk_after > disk_before + (1 << 20) && started.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            disk_after = disk_usage(&data_dir);
        }
        let collected_in = started.elapsed().as_secs_f64();
        let after = Leftovers::of(&server, &data_dir);

        print_lesson(&alone, &attacked);
        println!(
            "\nThe same lesson beside each hostile client alone (one pass; the server's CPU seconds during the pass, \
             {cpu_alone:.1} s for a pass alone; the clients run on the same cores):\n"
        );
        println!("| beside | whole lesson (s) | / alone | server CPU (s) | server's peak RSS |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        for (name, took, cpu, rss) in each {
            println!(
                "| {name} | {took:.2} | {:.2}x | {cpu:.1} | {:.0} MiB |",
                took / alone[alone.len() - 1],
                rss as f64 / 1048576.0
            );
        }
        println!(
            "\nServer memory: peak RSS (VmHWM) {:.0} MiB after the lesson alone, {:.0} MiB after the attack \
             (peak sampled VmRSS during it: {:.0} MiB).\n",
            peak_alone as f64 / 1048576.0,
            peak_attacked as f64 / 1048576.0,
            report.peak_rss as f64 / 1048576.0
        );
        println!("| hostile client | what it did |\n| --- | --- |");
        for (client, did) in &report.clients {
            println!("| {client} | {did} |");
        }
        println!(
            "\nData dir: {:.1} MiB before the attack, {:.1} MiB at most during it, {:.1} MiB {:.0} s after it \
             ended (the collector's graces: 5 s).\n",
            disk_before as f64 / 1048576.0,
            report.peak_disk as f64 / 1048576.0,
            disk_after as f64 / 1048576.0,
            collected_in
        );
        baseline.print_against(&after, &before_server);
        let shutdown = terminate(server.pid()).await;
        let stopped = Leftovers::host();
        println!(
            "\nAfter SIGTERM (exited in {shutdown}): {} mounts under the data dir, {} cgroups and {} network \
             namespaces more than before the server started.",
            stopped.mounts_under(&data_dir),
            stopped.cgroups_since(&before_server).len(),
            stopped.netns_since(&before_server)
        );
        Ok(())
    }

    /// SIGTERM to `pid`, then how long it took to exit (at most a minute is waited for).
    async fn terminate(pid: u32) -> String {
        let sent = Instant::now();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        while sent.elapsed() < Duration::from_secs(60) {
            // Exited: a zombie until the harness reaps it (state `Z` after the command's parenthesis).
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit_once(')')
                .is_none_or(|(_, rest)| rest.trim_start().starts_with('Z'))
            {
                return format!("{:.1} s", sent.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        "more than 60 s".into()
    }

    fn print_lesson(alone: &[f64], attacked: &[f64]) {
        println!(
            "Honest lesson, {RUNS} passes each (median seconds), `slipway docker` against `slipway serve` \
             (load {}):\n",
            super::common::loadavg()
        );
        let mut header = String::from("| phase |");
        for step in STEPS {
            header.push_str(&format!(" {step} |"));
        }
        println!(
            "{header} whole lesson |\n|---{}|",
            "|---:".repeat(STEPS.len() + 1)
        );
        for (phase, times) in [("alone", alone), ("under five hostile clients", attacked)] {
            let cells: String = times.iter().map(|t| format!(" {t:.2} |")).collect();
            println!("| {phase} |{cells}");
        }
        let ratio = attacked[STEPS.len()] / alone[STEPS.len()];
        println!(
            "\nUnder attack / alone: {ratio:.2}x (goal <= 1.5x: {}).",
            if ratio <= 1.5 { "met" } else { "NOT met" }
        );
    }
}
