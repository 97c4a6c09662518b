//! Classroom benchmark (issue 15; a benchmark, not a test): LEARNERS learners (default 30) of one
//! `slipway serve --classroom` each do the seed lesson as a native client with its own session: sign in with
//! their join code (`POST /api/classroom/join`, as the page), build the lesson's image with its RUN step executed
//! (`slipway docker build`, the page's builder against the same API), `docker images`, `docker run -d -p
//! 8000:8000` until the app answers through its preview (the lesson's check), `docker push` to their namespace,
//! and a rebuild after an edit of `app.py`; their starts spread over SPREAD seconds (default 60). Two hostile
//! learners run beside them the whole time: one a fork bomb and a memory hog, the other an output flood.
//! Meanwhile one more learner probes the interactive commands (`docker images`, `docker ps`, `docker run --rm
//! busybox echo hi`, through the API as the page sends them). One learner alone does the lesson first in the
//! same run (it also warms the server): the reference each learner's time is compared with. Prints each step's
//! p50/p95/max, the lesson's completion time per learner (median, p95, max, and the slowest against the solo
//! time), the interactive p50/p95/p99, failures, the server's peak RSS and CPU, the machine's load, and last
//! `learners=N failures=F lesson_p95_s=X interactive_p95_ms=Y`.
//! Run with `scripts/bench.sh classroom [LEARNERS]`.

// Only its memory and CPU readings are used here.
#[cfg(not(target_arch = "wasm32"))]
#[allow(dead_code)]
#[path = "hostile/leftovers.rs"]
mod leftovers;

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use anyhow::{ensure, Context};
    use slipway::api::{
        paths, Companion, CreateContainer, JoinRequest, RemoveQuery, RunOptions, SessionTransport,
    };

    use super::leftovers::{cpu_seconds, memory};
    use super::support::server::{slipway_bin, with_busybox, with_python, Server};
    use super::support::{repo_root, TempDir};

    const GREETING: &str = "Hello from a container";

    /// One learner's times, in seconds.
    #[derive(Debug, Clone, Copy)]
    struct Lesson {
        sign_in: f64,
        build: f64,
        images: f64,
        first_answer: f64,
        push: f64,
        rebuild: f64,
        /// From signing in to the rebuild's end.
        whole: f64,
    }

    /// The class's server and what every learner needs from it.
    struct Class {
        server: Server,
        preview_port: u16,
        codes: Vec<(String, String)>,
        dir: PathBuf,
    }

    /// A transport that is plain reqwest (the core's registry transport natively).
    fn http() -> anyhow::Result<slipway_server::registry::upstream::ReqwestTransport> {
        Ok(slipway_server::registry::upstream::ReqwestTransport::new(
            reqwest::Client::builder().build()?,
        ))
    }

    impl Class {
        fn code(&self, name: &str) -> anyhow::Result<String> {
            let found = self.codes.iter().find(|(n, _)| n == name);
            Ok(found.context("a card")?.1.clone())
        }

        /// `slipway docker --host URL ARGS` for session `token` in `context`.
        async fn docker(&self, token: &str, context: &Path, args: &[&str]) -> anyhow::Result<String> {
            let out = tokio::process::Command::new(slipway_bin())
                .args(["docker", "--host", &self.server.url])
                .args(args)
                .current_dir(context)
                .env("SLIPWAY_SESSION", token)
                .env("SLIPWAY_AUTH_FILE", context.join("auth.json"))
                .env("XDG_CACHE_HOME", context.join(".cache"))
                .env("XDG_CONFIG_HOME", context.join(".config"))
                .output()
                .await?;
            ensure!(
                out.status.success(),
                "docker {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }

        /// Sign in as `name`: the session token.
        async fn sign_in(&self, name: &str) -> anyhow::Result<String> {
            let http = http()?;
            let request = JoinRequest {
                code: self.code(name)?,
                name: None,
            };
            Ok(Companion::new(&http, &self.server.url)
                .join(&request)
                .await?
                .token)
        }

        /// `name`'s lesson: sign in, build (the RUN step executed: the requirements carry the name), `docker
        /// images`, run and wait for the app's first answer through its preview (the lesson's check), log in and
        /// push to their namespace, edit `app.py` and build again.
        async fn lesson(&self, name: &str) -> anyhow::Result<Lesson> {
            let context = self.dir.join(name);
            std::fs::create_dir_all(&context)?;
            let example = repo_root().join("static/examples/python-web-app");
            for file in ["Dockerfile", "app.py", "requirements.txt"] {
                std::fs::copy(example.join(file), context.join(file)).context(file)?;
            }
            let requirements = context.join("requirements.txt");
            let text = std::fs::read_to_string(&requirements)? + &format!("# {name}\n");
            std::fs::write(&requirements, text)?;
            let begun = Instant::now();
            let token = self.sign_in(name).await?;
            let sign_in = begun.elapsed().as_secs_f64();
            let image = format!("{name}/python-sample-app:v1");
            let timed = |args: Vec<String>| {
                let (token, context) = (token.clone(), context.clone());
                async move {
                    let started = Instant::now();
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.docker(&token, &context, &args).await?;
                    anyhow::Ok(started.elapsed().as_secs_f64())
                }
            };
            let words = |text: &str| text.split(' ').map(str::to_string).collect::<Vec<_>>();
            let build = timed(words(&format!("build -q -t {image} ."))).await?;
            let images = timed(words("images")).await?;
            let started = Instant::now();
            timed(words(&format!("run -d -p 8000:8000 --name web {image}"))).await?;
            self.until_answers(&token).await?;
            let first_answer = started.elapsed().as_secs_f64();
            let code = self.code(name)?;
            let push = timed(words(&format!("login -u {name} -p {code}"))).await?
                + timed(words(&format!("push {image}"))).await?;
            let app = context.join("app.py");
            std::fs::write(&app, std::fs::read_to_string(&app)? + "# edited\n")?;
            let rebuild = timed(words(&format!("build -q -t {name}/python-sample-app:v2 ."))).await?;
            Ok(Lesson {
                sign_in,
                build,
                images,
                first_answer,
                push,
                rebuild,
                whole: begun.elapsed().as_secs_f64(),
            })
        }

        /// Until the learner's app answers through its preview (at most two minutes).
        async fn until_answers(&self, token: &str) -> anyhow::Result<()> {
            let http = http()?;
            let transport = SessionTransport::new(&http, token.to_string(), &self.server.url);
            let companion = Companion::new(&transport, &self.server.url);
            let preview = companion
                .containers(false)
                .await?
                .into_iter()
                .find(|c| c.name == "web")
                .context("the web container")?
                .preview;
            let url = format!(
                "http://127.0.0.1:{}{}",
                self.preview_port,
                paths::preview(&preview, 8000)
            );
            let started = Instant::now();
            loop {
                if let Ok(response) = reqwest::get(&url).await {
                    if response.text().await.is_ok_and(|body| body.contains(GREETING)) {
                        return Ok(());
                    }
                }
                ensure!(started.elapsed() < Duration::from_secs(120), "never answered");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }

        /// A hostile learner `name`: each of `scripts` a running container of theirs.
        async fn hostile(&self, name: &str, scripts: &[&str]) -> anyhow::Result<()> {
            let token = self.sign_in(name).await?;
            let context = self.dir.join(name);
            std::fs::create_dir_all(&context)?;
            for script in scripts {
                self.docker(&token, &context, &["run", "-d", "busybox", "sh", "-c", script])
                    .await?;
            }
            Ok(())
        }
    }

    fn percentile(values: &[f64], p: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.total_cmp(b));
        match sorted.len() {
            0 => f64::NAN,
            n => sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1],
        }
    }

    /// What the interactive probe saw: the times of the commands that worked (milliseconds) and the errors of
    /// those that did not (each one a failure; the probe goes on).
    #[derive(Default)]
    struct Probed {
        times_ms: Vec<f64>,
        errors: Vec<String>,
    }

    /// One interactive command of the probe (0: `docker images`, 1: `docker ps`, 2: `docker run --rm busybox
    /// echo hi`).
    async fn interactive<T: slipway::registry::Transport>(
        companion: &Companion<'_, T>,
        command: usize,
    ) -> anyhow::Result<()> {
        let echo = CreateContainer {
            image: "busybox".into(),
            options: RunOptions {
                cmd: vec!["echo".into(), "hi".into()],
                ..RunOptions::default()
            },
        };
        match command {
            0 => drop(companion.images().await?),
            1 => drop(companion.containers(false).await?),
            _ => {
                let id = companion.create(&echo, true).await?.id;
                companion.wait(&id).await?;
                companion.remove(&id, &RemoveQuery { force: true }).await?;
            }
        }
        Ok(())
    }

    /// The interactive commands, timed one after another until `done` says the lessons are over.
    async fn probe(class: &Class, name: &str, done: &std::sync::atomic::AtomicBool) -> Probed {
        use std::sync::atomic::Ordering;
        let mut probed = Probed::default();
        let token = match class.sign_in(name).await {
            Ok(token) => token,
            Err(e) => {
                probed.errors.push(format!("signing in: {e:#}"));
                return probed;
            }
        };
        let Ok(http) = http() else {
            probed.errors.push("no HTTP client".into());
            return probed;
        };
        let transport = SessionTransport::new(&http, token, &class.server.url);
        let companion = Companion::new(&transport, &class.server.url);
        const NAMES: [&str; 3] = ["docker images", "docker ps", "docker run --rm busybox echo hi"];
        while !done.load(Ordering::Relaxed) {
            for (command, words) in NAMES.iter().enumerate() {
                let started = Instant::now();
                match interactive(&companion, command).await {
                    Ok(()) => probed.times_ms.push(started.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => probed.errors.push(format!("{words}: {e:#}")),
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        probed
    }

    /// What the class's run measured.
    struct Phase {
        interactive_ms: Vec<f64>,
        lessons: Vec<Lesson>,
        failures: Vec<String>,
        peak_rss: u64,
        cpu: f64,
        load: String,
        wall: f64,
    }

    /// `names` do the lesson at once, their starts spread over `spread`, while `prober` times the interactive
    /// commands; the server's RSS sampled meanwhile.
    async fn phase(class: &Class, names: &[String], prober: &str, spread: Duration) -> Phase {
        let pid = class.server.pid();
        let (cpu, started) = (cpu_seconds(pid), Instant::now());
        let step = spread / names.len().max(1) as u32;
        let runs = names.iter().enumerate().map(|(n, name)| async move {
            tokio::time::sleep(step * n as u32).await;
            (name.clone(), class.lesson(name).await)
        });
        let (mut lessons, mut failures) = (Vec::new(), Vec::new());
        let over = std::sync::atomic::AtomicBool::new(false);
        let lessons_then_over = async {
            let done = futures_util::future::join_all(runs).await;
            over.store(true, std::sync::atomic::Ordering::Relaxed);
            done
        };
        let probing = probe(class, prober, &over);
        let sampling = async {
            let mut peak = 0;
            while !over.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(memory(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            peak
        };
        let (done, probed, mut peak_rss) = tokio::join!(lessons_then_over, probing, sampling);
        for (name, result) in done {
            match result {
                Ok(lesson) => lessons.push(lesson),
                Err(e) => failures.push(format!("{name}: {e:#}")),
            }
        }
        failures.extend(
            probed
                .errors
                .iter()
                .map(|e| format!("{prober} (interactive): {e}")),
        );
        let interactive_ms = probed.times_ms;
        peak_rss = peak_rss.max(memory(pid, "VmRSS"));
        Phase {
            interactive_ms,
            lessons,
            failures,
            peak_rss,
            cpu: cpu_seconds(pid) - cpu,
            load: super::common::loadavg(),
            wall: started.elapsed().as_secs_f64(),
        }
    }

    /// One of a lesson's times.
    type Measure = fn(&Lesson) -> f64;

    fn print_phase(title: &str, phase: &Phase, solo: &Lesson) {
        let column = |f: Measure| -> Vec<f64> { phase.lessons.iter().map(f).collect() };
        println!("\n### {title}\n");
        println!("| step | alone (s) | p50 (s) | p95 (s) | max (s) |\n| --- | ---: | ---: | ---: | ---: |");
        let rows: [(&str, Measure); 7] = [
            ("sign in", |l| l.sign_in),
            ("build (RUN executed)", |l| l.build),
            ("docker images", |l| l.images),
            ("run -d -p until it answers (the check)", |l| l.first_answer),
            ("login + push", |l| l.push),
            ("rebuild after an edit", |l| l.rebuild),
            ("whole lesson", |l| l.whole),
        ];
        for (step, f) in rows {
            let values = column(f);
            println!(
                "| {step} | {:.2} | {:.2} | {:.2} | {:.2} |",
                f(solo),
                percentile(&values, 0.5),
                percentile(&values, 0.95),
                percentile(&values, 1.0)
            );
        }
        let ms = &phase.interactive_ms;
        let figures = match ms.is_empty() {
            true => "NOT MEASURED: every probe failed (see the failures below)".to_string(),
            false => format!(
                "p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms",
                percentile(ms, 0.5),
                percentile(ms, 0.95),
                percentile(ms, 0.99)
            ),
        };
        println!(
            "\nInteractive commands (`docker images`, `docker ps`, `docker run --rm busybox echo hi`; {} timed): \
             {figures}.",
            ms.len(),
        );
        println!(
            "\n{} lessons done, {} failures in {:.0} s; server peak RSS {:.0} MiB, server CPU {:.1} s; load after: {}",
            phase.lessons.len(),
            phase.failures.len(),
            phase.wall,
            phase.peak_rss as f64 / 1048576.0,
            phase.cpu,
            phase.load
        );
        for failure in &phase.failures {
            println!("- failed: {failure}");
        }
        let whole = column(|l| l.whole);
        println!(
            "\nLesson completion per learner: median {:.1} s, p95 {:.1} s, max {:.1} s; alone {:.1} s; the slowest \
             took {:.1}× the solo time (goal: at most 3×).",
            percentile(&whole, 0.5),
            percentile(&whole, 0.95),
            percentile(&whole, 1.0),
            solo.whole,
            percentile(&whole, 1.0) / solo.whole
        );
    }

    pub fn main() -> anyhow::Result<()> {
        tokio::runtime::Runtime::new()?.block_on(bench())
    }

    async fn start_class(learners: usize, dir: &Path) -> anyhow::Result<Class> {
        let data = TempDir::new("bench-classroom-data");
        with_busybox(&data)?;
        with_python(&data)?;
        let file = dir.join("classroom.toml");
        let text = format!(
            "[class]\nname = \"bench\"\n[learners]\ncount = {}\n",
            learners + 4
        );
        std::fs::write(&file, text)?;
        let cards = std::process::Command::new(slipway_bin())
            .args(["classroom", "cards", "--classroom"])
            .arg(&file)
            .arg("--data")
            .arg(data.path())
            .args(["--url", "http://bench"])
            .output()?;
        let html = String::from_utf8(cards.stdout)?;
        let codes = html
            .split("<section class=\"card\">")
            .skip(1)
            .filter_map(|card| {
                let after = |start: &str| Some(card.split_once(start)?.1.split_once('<')?.0.to_string());
                Some((after("<h2>")?, after("<p class=\"code\">")?))
            })
            .collect();
        let server = Server::start_in(
            data,
            Path::new("/nonexistent"),
            &[
                "--classroom",
                file.to_str().context("utf-8 path")?,
                "--sessions-per-minute",
                "10000",
            ],
        )?;
        let http = http()?;
        let info = Companion::new(&http, &server.url).info().await?;
        let preview_port = info.preview.context("the preview listener")?.port;
        Ok(Class {
            server,
            preview_port,
            codes,
            dir: dir.to_path_buf(),
        })
    }

    /// The hostile learners: a fork bomb and a memory hog, and an output flood.
    const HOSTILE: [&[&str]; 2] = [
        &[
            "f(){ f | f & }; f; sleep 3600",
            "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done",
        ],
        &["yes 'an output flood, line after line after line'"],
    ];

    async fn bench() -> anyhow::Result<()> {
        let learners: usize = std::env::var("LEARNERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(30);
        let spread = Duration::from_secs(
            std::env::var("SPREAD")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(60),
        );
        let dir = TempDir::new("bench-classroom");
        let class = start_class(learners, dir.path()).await?;
        let names: Vec<String> = (1..=learners).map(|n| format!("learner{n}")).collect();
        println!(
            "## Classroom: {learners} learners and 2 hostile ones, starts spread over {} s ({} cores, load before {})",
            spread.as_secs(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            super::common::loadavg()
        );
        let prober = format!("learner{}", learners + 3);
        // One learner alone first: it warms the server (the base image's first unpack) and is the solo reference.
        let solo = class
            .lesson(&format!("learner{}", learners + 4))
            .await
            .context("the solo lesson")?;
        println!(
            "\nOne learner alone (the reference): whole lesson {:.2} s ({solo:?}).",
            solo.whole
        );
        for (n, scripts) in HOSTILE.iter().enumerate() {
            let name = format!("learner{}", learners + 1 + n);
            class
                .hostile(&name, scripts)
                .await
                .with_context(|| format!("hostile {name}"))?;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let run = phase(&class, &names, &prober, spread).await;
        print_phase(
            "the class, beside a fork bomb and a memory hog (one learner) and an output flood (another)",
            &run,
            &solo,
        );
        let whole: Vec<f64> = run.lessons.iter().map(|l| l.whole).collect();
        let interactive_p95 = match run.interactive_ms.is_empty() {
            true => "unmeasured".to_string(),
            false => format!("{:.0}", percentile(&run.interactive_ms, 0.95)),
        };
        println!(
            "\nlearners={learners} failures={} lesson_p95_s={:.2} interactive_p95_ms={interactive_p95}",
            run.failures.len(),
            percentile(&whole, 0.95),
        );
        // A figure that could not be measured is a failed run, not a NaN in a table.
        ensure!(
            !run.interactive_ms.is_empty(),
            "the interactive probe timed no command (its errors are listed above)"
        );
        ensure!(!whole.is_empty(), "no learner finished the lesson");
        Ok(())
    }
}
