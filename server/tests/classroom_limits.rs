//! A class's server-wide limits and what its lifetimes stop (issue 15), with the real binary and runc: the
//! server-wide container limit is sized from the class (every learner at their own limit fits; one more is
//! refused with the learner's own limit's message) and a SIGHUP that adds a learner raises it; a RUN step in
//! progress is stopped at the class's end and when its learner goes idle, its build told why, leaving no
//! process, cgroup or mount.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use slipway::api::{Companion, CompanionError, CreateContainer, RunOptions, SessionTransport};

use crate::classroom::{cards, class_file, code_of, hangup, sign_in};
use crate::registry::client::Reqwest;
use crate::support::server::{slipway_bin, Server};
use crate::support::TempDir;

/// The cards' `(name, code)`.
type Codes = Vec<(String, String)>;

/// `slipway serve --classroom` with busybox on a class file holding `text` (in `dir`), more `args`; the codes.
fn class_server(label: &str, dir: &Path, text: &str, args: &[&str]) -> Result<(Server, Codes)> {
    let file = class_file(dir, text)?;
    let mut all = vec!["--classroom", file.to_str().context("utf-8")?];
    all.extend_from_slice(args);
    let server = crate::runner::busybox_server(label, &all)?.context("containers are needed")?;
    let (_, codes) = cards(&file, server.data.path())?;
    Ok((server, codes))
}

/// `docker run -d busybox sleep 300` for session `token`: the container's id, or the refusal.
async fn run_sleeper(server: &Server, token: &str) -> Result<String, CompanionError> {
    let http: &'static Reqwest = Box::leak(Box::new(Reqwest::new()));
    let transport = SessionTransport::new(http, token.to_string(), &server.url);
    let request = CreateContainer {
        image: "busybox".into(),
        options: RunOptions {
            cmd: vec!["sleep".into(), "300".into()],
            ..RunOptions::default()
        },
    };
    Ok(Companion::new(&transport, &server.url)
        .create(&request, true)
        .await?
        .id)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_class_at_every_learners_limit_fits_and_sighup_with_a_new_learner_makes_room() -> Result<()> {
    let dir = TempDir::new("classroom-limits");
    let class = |count: u32| format!("[learners]\ncount = {count}\n[limits]\ncontainers = 2\n");
    // Three learners of 2 containers each: 6 on the whole server, where the runner's default is 32 (and
    // --max-containers is not given, so the class's need is the limit exactly).
    let (server, codes) = class_server("classroom-limits", dir.path(), &class(3), &[])?;
    let mut tokens = Vec::new();
    for name in ["learner1", "learner2", "learner3"] {
        tokens.push(sign_in(&server, code_of(&codes, name)).await?);
    }
    for token in &tokens {
        for _ in 0..2 {
            run_sleeper(&server, token).await?;
        }
    }
    // One more per learner: their own limit says no, in their own terms (not the server's).
    for token in &tokens {
        let refused = run_sleeper(&server, token)
            .await
            .expect_err("past the learner's limit");
        let text = refused.to_string();
        ensure!(
            text.contains("too many containers (limit 2)") && text.contains("you may have 2"),
            "{text}"
        );
    }

    // A fourth learner (SIGHUP): the server-wide limit follows the class, 8 now, and they run their two.
    class_file(dir.path(), &class(4))?;
    let (_, codes) = cards(&dir.path().join("classroom.toml"), server.data.path())?;
    hangup(&server)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let fourth = loop {
        match sign_in(&server, code_of(&codes, "learner4")).await {
            Ok(token) => break token,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(e) => return Err(e.context("learner4 after SIGHUP")),
        }
    };
    for n in 0..2 {
        run_sleeper(&server, &fourth)
            .await
            .with_context(|| format!("learner4's container {n} within the class's new size"))?;
    }
    let refused = run_sleeper(&server, &fourth)
        .await
        .expect_err("past learner4's limit");
    ensure!(
        refused.to_string().contains("too many containers (limit 2)"),
        "{refused}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operators_max_containers_wins_over_the_class() -> Result<()> {
    let dir = TempDir::new("classroom-operator-limit");
    let class = "[learners]\ncount = 2\n[limits]\ncontainers = 2\n";
    let (server, codes) = class_server(
        "classroom-operator",
        dir.path(),
        class,
        &["--max-containers", "3"],
    )?;
    let one = sign_in(&server, code_of(&codes, "learner1")).await?;
    let two = sign_in(&server, code_of(&codes, "learner2")).await?;
    run_sleeper(&server, &one).await?;
    run_sleeper(&server, &one).await?;
    run_sleeper(&server, &two).await?;
    let refused = run_sleeper(&server, &two)
        .await
        .expect_err("past the operator's 3");
    ensure!(
        refused
            .to_string()
            .contains("as many containers as it may (3 across everyone)"),
        "{refused}"
    );
    Ok(())
}

/// `slipway docker build` of `FROM busybox` + `RUN sleep 600` for session `token`, in the background.
fn start_sleeping_build(server: &Server, token: &str, dir: &Path) -> Result<tokio::process::Child> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nRUN sleep 600\n")?;
    Ok(tokio::process::Command::new(slipway_bin())
        .args(["docker", "--host", &server.url, "build", "-t", "slow", "."])
        .current_dir(dir)
        .env("SLIPWAY_SESSION", token)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("XDG_CONFIG_HOME", dir.join(".config"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?)
}

/// The owner key of session `token` (the runner's cgroup name ends with it).
fn owner_key(token: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_string()
}

/// Processes running `sleep 600` in the cgroups of session `token`'s owner.
fn sleeping_steps(token: &str) -> usize {
    let owner = owner_key(token);
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                    let cgroup = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
                    cmdline == b"sleep\x00600\x00" && cgroup.contains(&owner)
                })
                .count()
        })
        .unwrap_or(0)
}

/// The owner cgroups of session `token` still on the host.
fn owner_cgroups(token: &str) -> Vec<String> {
    let owner = owner_key(token);
    let roots = ["/sys/fs/cgroup/slipway".to_string()].into_iter().chain(
        std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("slipway").display().to_string()),
    );
    roots
        .flat_map(|root| std::fs::read_dir(root).into_iter().flatten().flatten())
        .map(|e| e.path().display().to_string())
        .filter(|path| path.ends_with(&format!("-{owner}")))
        .collect()
}

/// Until session `token` has its RUN step's `sleep 600` running (30 s at most).
async fn until_step_runs(token: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sleeping_steps(token) == 0 {
        ensure!(Instant::now() < deadline, "the RUN step never started");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// The build's end (within `within`): its stderr, after checking it failed.
async fn build_fails_within(build: tokio::process::Child, within: Duration) -> Result<String> {
    let out = tokio::time::timeout(within, build.wait_with_output())
        .await
        .with_context(|| format!("the build still runs after {within:?}"))??;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(!out.status.success(), "the build succeeded: {stderr}");
    Ok(stderr)
}

/// After a stopped step: no `sleep 600`, no owner cgroup of the learner, no child process, mount or namespace.
async fn nothing_left(server: &Server, token: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = crate::networks::leftovers(server);
        if sleeping_steps(token) > 0 {
            left.push("the step's process".into());
        }
        left.extend(owner_cgroups(token));
        if left.is_empty() {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "left after the stop: {left:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_step_in_progress_stops_at_the_class_end_with_the_reason_and_leaves_nothing() -> Result<()> {
    let dir = TempDir::new("classroom-step-end");
    let class = |ends: u64| {
        format!(
            "[class]\nends = {}\n[learners]\ncount = 1\n",
            slipway::image::config::rfc3339(ends)
        )
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let (server, codes) = class_server("classroom-step-end", dir.path(), &class(now + 3600), &[])?;
    let token = sign_in(&server, code_of(&codes, "learner1")).await?;
    let build = start_sleeping_build(&server, &token, &dir.path().join("project"))?;
    until_step_runs(&token).await?;
    // The class's end moved into the past (the file changed and SIGHUP, as a teacher would).
    class_file(dir.path(), &class(now - 60))?;
    hangup(&server)?;
    let stopped_at = Instant::now();
    let stderr = build_fails_within(build, Duration::from_secs(15)).await?;
    ensure!(stderr.contains("the class has ended"), "{stderr}");
    ensure!(
        stopped_at.elapsed() < Duration::from_secs(10),
        "{:?}",
        stopped_at.elapsed()
    );
    nothing_left(&server, &token).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_step_in_progress_stops_when_its_learner_goes_idle() -> Result<()> {
    let dir = TempDir::new("classroom-step-idle");
    let class = "[learners]\ncount = 1\n[limits]\nidle_timeout = \"6s\"\n";
    let (server, codes) = class_server("classroom-step-idle", dir.path(), class, &[])?;
    let token = sign_in(&server, code_of(&codes, "learner1")).await?;
    let started = Instant::now();
    let build = start_sleeping_build(&server, &token, &dir.path().join("project"))?;
    until_step_runs(&token).await?;
    let stderr = build_fails_within(build, Duration::from_secs(30)).await?;
    ensure!(stderr.contains("stopped after 6 seconds idle"), "{stderr}");
    ensure!(
        started.elapsed() >= Duration::from_secs(5),
        "stopped before the idle timeout: {:?}",
        started.elapsed()
    );
    nothing_left(&server, &token).await
}
