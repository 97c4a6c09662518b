//! Healthchecks and restart policies applied by the server (issue 16), through the real `slipway docker`, a real
//! server and real runc: a check that turns healthy, one that turns unhealthy and one that times out, as `docker
//! ps` (`Up 2 seconds (healthy)`, `--filter health=`) and `docker inspect` (`State.Health`) show them; `--restart
//! on-failure:N` restarts a failing container N times then gives up; `always` restarts with Docker's growing
//! backoff (`Restarting (1) 1 second ago`) until `docker stop`, which never restarts. `docker compose up` waits
//! for `depends_on: service_healthy` and `service_completed_successfully` (and fails in Compose's words), and
//! `up --wait` for every service. After each test no process, cgroup or mount of the containers is left.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use crate::commands::{server, Cli, Ran};
use crate::compose_up::Project;
use crate::networks::leftovers;
use crate::support::server::Server;

/// Poll `docker ARGS` until `done` holds for its stdout (`secs` at most); that stdout.
fn until(
    run: &dyn Fn(&[&str]) -> Result<String>,
    args: &[&str],
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> Result<String> {
    let start = Instant::now();
    loop {
        let out = run(args)?;
        if done(&out) {
            return Ok(out);
        }
        ensure!(
            start.elapsed() < Duration::from_secs(secs),
            "docker {} printed only {out:?}",
            args.join(" ")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `docker ps -a` row of container `name`.
fn ps_row(cli: &Cli, name: &str) -> Result<String> {
    let out = cli.ok(&["ps", "-a"])?;
    Ok(out
        .lines()
        .find(|l| l.ends_with(&format!(" {name}")))
        .unwrap_or_default()
        .to_string())
}

/// What the server still holds of containers `ids` (full ids) once they are removed: processes, mounts, and
/// their cgroups below `/sys/fs/cgroup/*/slipway/o-*/`, looked at for 3 s while the reaping ends.
fn all_left(server: &Server, ids: &[String]) -> Vec<String> {
    let start = Instant::now();
    loop {
        let mut left = leftovers(server);
        for ctrl in ["memory", "pids", "cpu,cpuacct", "freezer", ""] {
            let slipway = Path::new("/sys/fs/cgroup").join(ctrl).join("slipway");
            for owner in std::fs::read_dir(&slipway).into_iter().flatten().flatten() {
                for id in ids.iter().filter(|id| owner.path().join(id).exists()) {
                    left.push(format!("cgroup {}/{id}", owner.path().display()));
                }
            }
        }
        if left.is_empty() || start.elapsed() > Duration::from_secs(3) {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The full ids of the session's containers.
fn ids(run: &dyn Fn(&[&str]) -> Result<String>) -> Result<Vec<String>> {
    Ok(run(&["ps", "-a", "-q", "--no-trunc"])?
        .lines()
        .map(String::from)
        .collect())
}

#[test]
fn healthchecks_turn_healthy_unhealthy_or_time_out_as_ps_and_inspect_show() -> Result<()> {
    let Some(server) = server("health-checks", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    // Healthy once /ready exists: failures in the start period do not count, so it stays starting till then.
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "good",
        "--health-cmd",
        "test -f /ready",
        "--health-interval",
        "200ms",
        "--health-start-period",
        "30s",
        "--health-start-interval",
        "200ms",
        "--health-retries",
        "1",
        "busybox",
        "sh",
        "-c",
        "sleep 2; touch /ready; exec sleep 600",
    ])?;
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "bad",
        "--health-cmd",
        "echo nope; exit 1",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "600",
    ])?;
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 5",
        "--health-interval",
        "200ms",
        "--health-timeout",
        "300ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "600",
    ])?;
    let good = ps_row(&cli, "good")?;
    ensure!(good.contains("(health: starting)"), "{good}");
    until(&|a| cli.ok(a), &["ps"], 15, |ps| {
        ps.lines()
            .any(|l| l.ends_with(" good") && l.contains(" (healthy) "))
            && ps
                .lines()
                .any(|l| l.ends_with(" bad") && l.contains(" (unhealthy) "))
            && ps
                .lines()
                .any(|l| l.ends_with(" slow") && l.contains(" (unhealthy) "))
    })?;
    let healthy = cli.ok(&["ps", "--filter", "health=healthy"])?;
    ensure!(
        healthy.lines().count() == 2 && healthy.contains(" good"),
        "{healthy}"
    );
    let unhealthy = cli.ok(&["ps", "--filter", "health=unhealthy"])?;
    ensure!(
        unhealthy.lines().count() == 3 && unhealthy.contains(" bad") && unhealthy.contains(" slow"),
        "{unhealthy}"
    );
    let refused = cli.docker(&["ps", "--filter", "health=fine"])?;
    ensure!(
        refused.code == 1
            && refused.err == "Error response from daemon: Unrecognised filter value for health: fine\n",
        "{refused:?}"
    );
    let state = |name: &str, template: &str| cli.ok(&["inspect", "-f", template, name]);
    ensure!(state("good", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}")? == "healthy 0\n");
    let bad = state("bad", "{{json .State.Health}}")?;
    let bad: serde_json::Value = serde_json::from_str(&bad)?;
    ensure!(
        bad["Status"] == "unhealthy" && bad["FailingStreak"].as_u64() >= Some(2),
        "{bad}"
    );
    let log = bad["Log"].as_array().cloned().unwrap_or_default();
    ensure!(!log.is_empty() && log.len() <= 5, "{bad}");
    ensure!(
        log[0]["ExitCode"] == 1
            && log[0]["Output"] == "nope\n"
            && log[0]["Start"].as_str().is_some_and(|s| s.ends_with('Z'))
            && log[0]["End"].as_str() >= log[0]["Start"].as_str(),
        "{bad}"
    );
    let slow = state("slow", "{{json .State.Health.Log}}")?;
    ensure!(
        slow.contains(r#""ExitCode":-1,"Output":"Health check exceeded timeout (300ms)""#),
        "{slow}"
    );
    let config = state("good", "{{json .Config.Healthcheck}}")?;
    ensure!(
        config.trim()
            == r#"{"Test":["CMD-SHELL","test -f /ready"],"Interval":200000000,"StartPeriod":30000000000,"StartInterval":200000000,"Retries":1}"#,
        "{config}"
    );
    // Stopped, the check stops with it: unhealthy, as dockerd says once its monitor is gone.
    cli.ok(&["stop", "-t", "1", "good"])?;
    ensure!(state("good", "{{.State.Health.Status}}")? == "unhealthy\n");
    let row = ps_row(&cli, "good")?;
    ensure!(row.contains(" Exited (137) ") && !row.contains("health"), "{row}");
    let gone = ids(&|a| cli.ok(a))?;
    cli.ok(&["rm", "-f", "good", "bad", "slow"])?;
    let left = all_left(&server, &gone);
    ensure!(left.is_empty(), "left after rm: {left:?}");
    Ok(())
}

#[test]
fn restart_policies_restart_with_backoff_give_up_after_n_and_never_after_stop() -> Result<()> {
    let Some(server) = server("health-restart", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let refused = cli.docker(&["run", "--rm", "--restart", "always", "busybox", "true"])?;
    ensure!(
        refused.code == 125
            && refused
                .err
                .starts_with("docker: Conflicting options: --restart and --rm\n"),
        "{refused:?}"
    );
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ])?;
    let count = "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}";
    until(&|a| cli.ok(a), &["inspect", "-f", count, "flaky"], 15, |s| {
        s == "2 exited 3\n"
    })?;
    // It gave up: no third restart comes.
    std::thread::sleep(Duration::from_millis(1500));
    ensure!(cli.ok(&["inspect", "-f", count, "flaky"])? == "2 exited 3\n");
    ensure!(cli.ok(&["logs", "flaky"])? == "run\nrun\nrun\n");
    ensure!(
        cli.ok(&["inspect", "-f", "{{json .HostConfig.RestartPolicy}}", "flaky"])?
            == "{\"Name\":\"on-failure\",\"MaximumRetryCount\":2}\n"
    );
    // Unbounded: the backoff grows (100 ms, 200 ms, ...) until ps catches it restarting, then stop ends it.
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "exit 1",
    ])?;
    let ps = until(&|a| cli.ok(a), &["ps"], 20, |ps| {
        ps.lines()
            .any(|l| l.ends_with(" loop") && l.contains(" Restarting (1) "))
    })?;
    ensure!(ps.contains("Restarting (1) "), "{ps}");
    let restarting = "{{.State.Status}} {{.State.Restarting}} {{.State.Running}}";
    until(&|a| cli.ok(a), &["inspect", "-f", restarting, "loop"], 10, |s| {
        s == "restarting true true\n"
    })?;
    cli.ok(&["stop", "-t", "1", "loop"])?;
    let stopped = cli.ok(&["inspect", "-f", count, "loop"])?;
    std::thread::sleep(Duration::from_millis(2500));
    ensure!(
        cli.ok(&["inspect", "-f", count, "loop"])? == stopped && stopped.ends_with(" exited 1\n"),
        "{stopped}"
    );
    // A running `always` container stopped by hand is not started again; `docker start` counts anew.
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "keeper",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "600",
    ])?;
    cli.ok(&["stop", "-t", "1", "keeper"])?;
    std::thread::sleep(Duration::from_millis(1000));
    ensure!(cli
        .ok(&["inspect", "-f", count, "keeper"])?
        .starts_with("0 exited "));
    cli.ok(&["start", "loop"])?;
    until(
        &|a| cli.ok(a),
        &["inspect", "-f", "{{.RestartCount}}", "loop"],
        10,
        |s| s != "0\n",
    )?;
    let gone = ids(&|a| cli.ok(a))?;
    cli.ok(&["rm", "-f", "flaky", "loop", "keeper"])?;
    std::thread::sleep(Duration::from_millis(500));
    let left = all_left(&server, &gone);
    ensure!(left.is_empty(), "left after rm: {left:?}");
    ensure!(cli.ok(&["ps", "-a", "-q"])?.is_empty());
    Ok(())
}

/// `docker compose ARGS` in a project.
fn compose(project: &Project, args: &[&str]) -> Result<Ran> {
    project.docker(&[&["compose"], args].concat())
}

/// `docker ARGS` in a project's session that must succeed: its stdout.
fn ok(project: &Project, args: &[&str]) -> Result<String> {
    project.ok(args).map(|ran| ran.out)
}

const DEPENDS: &str = r#"name: app
services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 2; touch /ready; exec sleep 600"]
    healthcheck:
      test: ["CMD", "test", "-f", "/ready"]
      interval: 300ms
      start_period: 30s
      start_interval: 300ms
  init:
    image: busybox
    command: ["sh", "-c", "exit 0"]
  web:
    image: busybox
    command: ["sleep", "600"]
    depends_on:
      db: {condition: service_healthy}
      init: {condition: service_completed_successfully}
"#;

const FAILING: &str = r#"name: bad
services:
  db:
    image: busybox
    command: ["sleep", "600"]
    healthcheck: {test: ["CMD-SHELL", "exit 1"], interval: 200ms, retries: 2}
  web:
    image: busybox
    command: ["sleep", "600"]
    depends_on: {db: {condition: service_healthy}}
"#;

const INIT_FAILS: &str = r#"name: once
services:
  init:
    image: busybox
    command: ["sh", "-c", "exit 3"]
  web:
    image: busybox
    command: ["sleep", "600"]
    depends_on: {init: {condition: service_completed_successfully}}
"#;

#[test]
fn compose_up_waits_for_healthy_and_completed_dependencies_and_fails_as_compose_does() -> Result<()> {
    let Some(server) = server("health-compose", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let app = Project::new(&server, "health-compose-app", DEPENDS)?;
    ok(&app, &["pull", "-q", "busybox"])?;
    let up = compose(&app, &["up", "-d"])?;
    ensure!(up.code == 0, "{up:?}");
    assert_eq!(
        up.err,
        " Network app_default  Creating\n Network app_default  Created\n Container app-db-1  Creating\n \
         Container app-db-1  Created\n Container app-db-1  Starting\n Container app-db-1  Started\n \
         Container app-init-1  Creating\n Container app-init-1  Created\n Container app-init-1  Starting\n \
         Container app-init-1  Started\n Container app-db-1  Waiting\n Container app-db-1  Healthy\n \
         Container app-init-1  Waiting\n Container app-init-1  Exited\n Container app-web-1  Creating\n \
         Container app-web-1  Created\n Container app-web-1  Starting\n Container app-web-1  Started\n"
    );
    // The dependent started only once the dependency was healthy (2 s after its start).
    let started = |name: &str| -> Result<i64> {
        let text = ok(&app, &["inspect", "-f", "{{.State.StartedAt}}", name])?;
        slipway::image::parse_rfc3339(text.trim()).ok_or_else(|| anyhow::anyhow!("{text}"))
    };
    let (db, web) = (started("app-db-1")?, started("app-web-1")?);
    ensure!(web - db >= 2, "web started at {web}, db at {db}");
    let ps = compose(&app, &["ps"])?.out;
    ensure!(
        ps.lines()
            .any(|l| l.starts_with("app-db-1 ") && l.contains(" (healthy)")),
        "{ps}"
    );
    let mut gone = ids(&|a| ok(&app, a))?;
    ensure!(compose(&app, &["down", "-t", "1"])?.code == 0);

    let bad = Project::new(&server, "health-compose-bad", FAILING)?;
    let up = compose(&bad, &["up", "-d"])?;
    ensure!(up.code == 1, "{up:?}");
    ensure!(
        up.err.ends_with(
            " Container bad-db-1  Error\ndependency failed to start: container bad-db-1 is unhealthy\n"
        ),
        "{up:?}"
    );
    ensure!(!ok(&bad, &["ps", "-a"])?.contains("bad-web-1"));
    gone.extend(ids(&|a| ok(&bad, a))?);
    ensure!(compose(&bad, &["down", "-t", "1"])?.code == 0);

    let once = Project::new(&server, "health-compose-once", INIT_FAILS)?;
    let up = compose(&once, &["up", "-d"])?;
    ensure!(
        up.code == 1
            && up.err.ends_with(
                " Container once-init-1  Error\nservice \"init\" didn't complete successfully: exit 3\n"
            ),
        "{up:?}"
    );
    gone.extend(ids(&|a| ok(&once, a))?);
    ensure!(compose(&once, &["down", "-t", "1"])?.code == 0);
    let left = all_left(&server, &gone);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const WAITED: &str = r#"name: w
services:
  web:
    image: busybox
    command: ["sh", "-c", "sleep 1; touch /ok; exec sleep 600"]
    healthcheck: {test: ["CMD", "test", "-f", "/ok"], interval: 200ms, start_period: 10s}
    restart: always
  plain:
    image: busybox
    command: ["sleep", "600"]
  flaky:
    image: busybox
    command: ["sh", "-c", "exit 1"]
    restart: on-failure:1
    profiles: [flaky]
"#;

#[test]
fn compose_up_wait_waits_for_every_service_and_restart_applies() -> Result<()> {
    let Some(server) = server("health-wait", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let app = Project::new(&server, "health-wait-app", WAITED)?;
    ok(&app, &["pull", "-q", "busybox"])?;
    let up = compose(&app, &["up", "--wait"])?;
    ensure!(up.code == 0, "{up:?}");
    assert_eq!(
        up.err,
        " Network w_default  Creating\n Network w_default  Created\n Container w-web-1  Creating\n \
         Container w-web-1  Created\n Container w-web-1  Starting\n Container w-web-1  Started\n \
         Container w-plain-1  Creating\n Container w-plain-1  Created\n Container w-plain-1  Starting\n \
         Container w-plain-1  Started\n Container w-web-1  Waiting\n Container w-web-1  Healthy\n \
         Container w-plain-1  Waiting\n Container w-plain-1  Healthy\n"
    );
    let policy = ok(
        &app,
        &["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "w-web-1"],
    )?;
    ensure!(policy == "always\n", "{policy}");
    // Compose's `restart:` is the server's restart policy.
    let up = compose(&app, &["--profile", "flaky", "up", "-d"])?;
    ensure!(up.code == 0, "{up:?}");
    let count = "{{.RestartCount}} {{.State.Status}}";
    until(
        &|a| ok(&app, a),
        &["inspect", "-f", count, "w-flaky-1"],
        10,
        |s| s == "1 exited\n",
    )?;
    // --wait gives up after --wait-timeout in Compose's words.
    let mut gone = ids(&|a| ok(&app, a))?;
    ensure!(compose(&app, &["--profile", "flaky", "down", "-t", "1"])?.code == 0);
    let never = Project::new(
        &server,
        "health-wait-never",
        "name: n\nservices:\n  s:\n    image: busybox\n    command: [\"sleep\", \"600\"]\n    \
         healthcheck: {test: [\"CMD-SHELL\", \"exit 1\"], interval: 30s}\n",
    )?;
    let up = compose(&never, &["up", "--wait", "--wait-timeout", "1"])?;
    ensure!(
        up.code == 1 && up.err.ends_with("application not healthy after 1s\n"),
        "{up:?}"
    );
    gone.extend(ids(&|a| ok(&never, a))?);
    ensure!(compose(&never, &["down", "-t", "1"])?.code == 0);
    let left = all_left(&server, &gone);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}
