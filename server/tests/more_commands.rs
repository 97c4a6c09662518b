//! The rest of issue 17's container and system commands: `docker restart`, `docker start` of a stopped
//! container, `docker diff`, `docker info`, `docker version --format` and `docker context ls`, natively through
//! the real `slipway docker` against a real server with real runc. A stopped container keeps its writable
//! layer, as docker's does: started again, it finds its files where it left them. The expected texts are docker
//! 28's (docker/cli `cli/command/container/{restart,diff}.go`, `system/{info,version}.go`, `context/list.go`;
//! pflag's error for a bad `-t`).

use std::path::Path;

use anyhow::{ensure, Result};

use crate::commands::{server, Cli};
use crate::support::browser::Browser;
use crate::support::server::dist_dir;
use crate::terminal_keys::{keys, CTRL_C, ENTER};

/// Each run appends a line to `/runs` and prints how many there are, deletes a file of the image and writes
/// one of its own.
const SCRIPT: &str =
    "echo ran >> /runs; wc -l < /runs; rm -f /bin/true; mkdir -p /data; echo hi > /data/file";

#[test]
fn a_stopped_container_starts_again_with_its_files_and_diff_lists_them() -> Result<()> {
    let Some(server) = server("changes-again", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    assert_eq!(
        cli.ok(&["run", "--name", "keeper", "busybox", "sh", "-c", SCRIPT])?,
        "1\n"
    );
    let changes = "C /bin\nD /bin/true\nA /data\nA /data/file\nA /runs\n";
    assert_eq!(
        cli.ok(&["diff", "keeper"])?,
        changes,
        "docker diff of a stopped container"
    );

    assert_eq!(cli.ok(&["start", "keeper"])?, "keeper\n");
    assert_eq!(cli.ok(&["wait", "keeper"])?, "0\n");
    assert_eq!(
        cli.ok(&["logs", "keeper"])?,
        "1\n2\n",
        "the second run found the first run's file, and the logs go on"
    );
    assert_eq!(cli.ok(&["restart", "-t", "1", "keeper"])?, "keeper\n");
    assert_eq!(cli.ok(&["wait", "keeper"])?, "0\n");
    assert_eq!(cli.ok(&["logs", "keeper"])?, "1\n2\n3\n");
    assert_eq!(cli.ok(&["container", "diff", "keeper"])?, changes);
    Ok(())
}

#[test]
fn restart_stops_a_running_container_and_runs_it_again() -> Result<()> {
    let Some(server) = server("changes-restart", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let script = "echo up >> /ups; wc -l < /ups; sleep 300";
    cli.ok(&["run", "-d", "--name", "sleeper", "busybox", "sh", "-c", script])?;
    assert_eq!(
        cli.ok(&["diff", "sleeper"])?,
        "A /ups\n",
        "docker diff of a running container"
    );
    let started = "{{.State.Running}} {{.State.StartedAt}}";
    let before = cli.ok(&["inspect", "-f", started, "sleeper"])?;
    // The shell ignores SIGTERM as pid 1: the restart kills it after the second given.
    assert_eq!(cli.ok(&["restart", "-t", "1", "sleeper"])?, "sleeper\n");
    let after = cli.ok(&["inspect", "-f", started, "sleeper"])?;
    ensure!(
        before.starts_with("true ") && after.starts_with("true ") && after != before,
        "started again later: {before} then {after}"
    );
    let mut logs = String::new();
    for _ in 0..100 {
        logs = cli.ok(&["logs", "sleeper"])?;
        if logs.lines().count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(logs, "1\n2\n", "the second run found the first run's file");
    // A created container is only started.
    cli.ok(&["create", "--name", "fresh", "busybox", "sleep", "300"])?;
    assert_eq!(cli.ok(&["restart", "fresh", "sleeper"])?, "fresh\nsleeper\n");
    assert_eq!(
        cli.ok(&["inspect", "-f", "{{.State.Status}}", "fresh"])?,
        "running\n"
    );
    assert_eq!(cli.ok(&["diff", "fresh"])?, "", "nothing changed");
    cli.ok(&["rm", "-f", "fresh", "sleeper"])?;
    Ok(())
}

#[test]
fn restart_and_diff_answer_with_dockers_errors() -> Result<()> {
    let Some(server) = server("changes-errors", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&["create", "--name", "here", "busybox", "true"])?;
    let no_such = "Error response from daemon: No such container: nope\n";
    cli.fails(&["diff", "nope"], 1, no_such)?;
    let ran = cli.docker(&["restart", "here", "nope"])?;
    ensure!(
        ran.code == 1 && ran.out == "here\n" && ran.err == no_such,
        "{ran:?}"
    );
    cli.fails(
        &["restart", "-t", "soon", "here"],
        125,
        "invalid argument \"soon\" for \"-t, --timeout\" flag: strconv.ParseInt: parsing \"soon\": invalid \
         syntax\nSee 'docker restart --help'.\n",
    )?;
    let help = cli.ok(&["diff", "--help"])?;
    ensure!(help.contains("Usage:  docker container diff CONTAINER"), "{help}");
    Ok(())
}

#[test]
fn info_version_and_context_show_the_servers_real_figures() -> Result<()> {
    let Some(server) = server("system-info", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&["run", "-d", "--name", "up", "busybox", "sleep", "300"])?;
    cli.ok(&["run", "-d", "--name", "frozen", "busybox", "sleep", "300"])?;
    cli.ok(&["pause", "frozen"])?;
    cli.ok(&["create", "busybox", "true"])?;
    let info = cli.ok(&["info"])?;
    let cpus = std::thread::available_parallelism()?.get();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    for expected in [
        "Client:\n Version:    Slipway ".to_string(),
        "\nServer:\n Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n Images: 1\n Server Version: "
            .to_string(),
        format!(" Kernel Version: {}\n", kernel.trim()),
        format!(" CPUs: {cpus}\n"),
        " Storage Driver: overlayfs\n".to_string(),
        " OSType: linux\n".to_string(),
    ] {
        ensure!(info.contains(&expected), "{expected:?} in:\n{info}");
    }
    assert_eq!(
        cli.ok(&[
            "info",
            "--format",
            "{{.ContainersRunning}} {{.ContainersPaused}} {{.Images}} {{.OSType}}"
        ])?,
        "1 1 1 linux\n"
    );
    assert_eq!(
        cli.ok(&["version", "--format", "{{.Server.Version}} {{.Server.Os}}"])?,
        format!("{} linux\n", env!("CARGO_PKG_VERSION"))
    );
    let unclosed = cli.docker(&["version", "-f", "{{.Server.Version"])?;
    ensure!(
        unclosed.code == 64 && unclosed.err.contains("unclosed action"),
        "{unclosed:?}"
    );
    let contexts = cli.ok(&["context", "ls"])?;
    assert_eq!(
        contexts,
        format!(
            "NAME        DESCRIPTION                               DOCKER ENDPOINT{}ERROR\n\
             default *   Current DOCKER_HOST based configuration   {}\n",
            " ".repeat(server.url.len().max(15) + 3 - 15),
            server.url
        )
    );
    assert_eq!(cli.ok(&["context", "ls", "-q"])?, "default\n");
    cli.ok(&["rm", "-f", "up", "frozen"])?;
    Ok(())
}

/// The cells of `docker stats --no-stream NAME`'s one row, split at docker's three-space gaps.
fn stats_row(cli: &Cli, name: &str) -> Result<Vec<String>> {
    let table = cli.ok(&["stats", "--no-stream", name])?;
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    ensure!(
        header
            .split("   ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            == [
                "CONTAINER ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "NET I/O",
                "BLOCK I/O",
                "PIDS"
            ],
        "{table}"
    );
    let row = lines.next().unwrap_or_default();
    Ok(row
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect())
}

#[test]
fn stats_reads_the_cgroup_and_update_rewrites_it_within_the_servers_ceilings() -> Result<()> {
    let Some(server) = server("stats-update", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let burner = "while :; do :; done";
    cli.ok(&[
        "run", "-d", "--name", "burn", "--cpus", "0.5", "-m", "64m", "busybox", "sh", "-c", burner,
    ])?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    let row = stats_row(&cli, "burn")?;
    ensure!(row.len() == 8 && row[1] == "burn" && row[7] == "1", "{row:?}");
    let cpu: f64 = row[2].trim_end_matches('%').parse()?;
    ensure!((20.0..=60.0).contains(&cpu), "a loop held to half a CPU: {row:?}");
    ensure!(row[3].ends_with(" / 64MiB"), "{row:?}");

    assert_eq!(
        cli.ok(&[
            "update",
            "--cpus",
            "0.2",
            "-m",
            "32m",
            "--pids-limit",
            "10",
            "burn"
        ])?,
        "burn\n"
    );
    let row = stats_row(&cli, "burn")?;
    let cpu: f64 = row[2].trim_end_matches('%').parse()?;
    ensure!(
        cpu <= 30.0 && row[3].ends_with(" / 32MiB"),
        "the cgroup has the new limits: {row:?}"
    );
    assert_eq!(
        cli.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
            "burn"
        ])?,
        "33554432 200000000 10\n"
    );

    let ran = cli.docker(&["update", "-m", "100g", "burn"])?;
    ensure!(
        ran.code == 1
            && ran
                .err
                .starts_with("Error response from daemon: Memory limit 100GiB is over this server's ceiling"),
        "{ran:?}"
    );
    cli.fails(
        &["update", "burn"],
        1,
        "you must provide one or more flags when using this command\n",
    )?;
    cli.fails(
        &["update", "--cpus", "lots", "burn"],
        125,
        "invalid argument \"lots\" for \"--cpus\" flag\nSee 'docker update --help'.\n",
    )?;
    cli.fails(
        &["stats", "--no-stream", "nope"],
        1,
        "Error response from daemon: No such container: nope\n",
    )?;
    // The new limits hold for the next run too.
    cli.ok(&["restart", "-t", "0", "burn"])?;
    let row = stats_row(&cli, "burn")?;
    ensure!(row[3].ends_with(" / 32MiB"), "{row:?}");
    cli.ok(&["rm", "-f", "burn"])?;
    Ok(())
}

#[test]
fn system_prune_search_and_manifest_inspect_answer_as_docker_does() -> Result<()> {
    let Some(server) = server("prune-search", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;

    let search = cli.ok(&["search", "busy"])?;
    assert_eq!(
        search,
        "NAME      DESCRIPTION   STARS     OFFICIAL\nbusybox                 0         [OK]\n"
    );
    assert_eq!(
        cli.ok(&["search", "nothing-like-it"])?,
        "NAME      DESCRIPTION   STARS     OFFICIAL\n"
    );
    cli.fails(
        &["search", "--limit", "0", "busy"],
        1,
        "limit 0 is outside the range of [1, 100]\n",
    )?;

    let manifest = cli.ok(&["manifest", "inspect", "busybox"])?;
    ensure!(
        manifest.starts_with("{\n\t\"schemaVersion\": 2,\n\t\"mediaType\": \"application/vnd.")
            && manifest.contains("\n\t\"config\": {\n\t\t\"mediaType\": ")
            && manifest.contains("\n\t\"layers\": [\n"),
        "{manifest}"
    );
    cli.fails(
        &["manifest", "inspect", "busybox:nope"],
        1,
        "no such manifest: docker.io/library/busybox:nope\n",
    )?;

    let running = cli.ok(&["run", "-d", "busybox", "sleep", "300"])?;
    cli.ok(&["run", "--name", "done", "busybox", "true"])?;
    let done = cli.ok(&["inspect", "-f", "{{.Id}}", "done"])?;
    let asked = cli.docker(&["system", "prune"])?;
    ensure!(
        asked.code == 0
            && asked.out.starts_with(
                "WARNING! This will remove:\n  - all stopped containers\n  - all dangling images\n\n\
                 Are you sure you want to continue? [y/N] "
            ),
        "{asked:?}"
    );
    assert_eq!(
        cli.ok(&["system", "prune", "-f"])?,
        format!("Deleted Containers:\n{done}\nTotal reclaimed space: 0B\n")
    );
    assert_eq!(cli.ok(&["ps", "-aq", "--no-trunc"])?, running);
    cli.ok(&["rm", "-f", running.trim()])?;
    let pruned = cli.ok(&["system", "prune", "-af"])?;
    ensure!(
        pruned.starts_with("Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:"),
        "{pruned}"
    );
    let volumes = cli.docker(&["system", "prune", "--volumes"])?;
    ensure!(
        volumes.code == 125 && volumes.err.starts_with("unsupported flag: --volumes"),
        "{volumes:?}"
    );
    Ok(())
}

/// A learner types them in the page: `docker diff` of a stopped container, `docker start` runs it again over
/// its files, `docker stats` redraws its table live until Ctrl-C, `docker restart` and `docker info`.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_restarts_diffs_and_watches_stats_in_the_page() {
    let Some(server) = server("more-page", &dist_dir()).unwrap() else {
        return;
    };
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_learner_restarts_diffs_and_watches_stats_in_the_page",
            |page| async move {
                page.goto(&url).await?;
                let script = "docker run --name pg busybox sh -c 'echo x >> /hello; wc -l < /hello'";
                let ran = page.terminal_command(script, "1").await?;
                ensure!(!ran.contains("Error"), "{ran}");
                page.terminal_command("docker diff pg", "A /hello").await?;
                page.terminal_command("docker start pg", "pg").await?;
                page.terminal_command("docker wait pg", "0").await?;
                let logs = page.terminal_command("docker logs pg", "2").await?;
                ensure!(logs.contains("1\n2\n"), "{logs}");

                page.terminal_command("docker run -d --name live busybox sleep 300", "")
                    .await?;
                keys(&page, &format!("docker stats{ENTER}")).await?;
                // Redrawn in place: two measurements show the one table, not two.
                let screen = page
                    .wait_for_text("Terminal output", "the live stats table", |t| {
                        t.contains("MEM USAGE / LIMIT") && t.contains("   live   ")
                    })
                    .await?;
                tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
                let later = page.text_of("Terminal output").await?;
                ensure!(
                    later.matches("MEM USAGE / LIMIT").count() == 1,
                    "the table is redrawn, not printed again:\n{screen}\n---\n{later}"
                );
                keys(&page, CTRL_C).await?;
                page.wait_terminal_idle().await?;
                page.terminal_command("docker restart -t 1 live", "live").await?;
                let info = page.terminal_command("docker info", "Containers: 2").await?;
                ensure!(info.contains("  Running: 1\n"), "{info}");
                Ok(())
            },
        )
        .await
        .unwrap();
}

#[test]
fn commit_makes_an_image_of_a_containers_changes_that_runs() -> Result<()> {
    let Some(server) = server("commit", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "sh",
        "-c",
        "echo made > /made",
    ])?;
    let id = cli.ok(&[
        "commit",
        "-m",
        "add made",
        "-a",
        "Learner One",
        "-c",
        "CMD [\"cat\", \"/made\"]",
        "-c",
        "ENV GREETING=hi",
        "maker",
        "learner1/made:v1",
    ])?;
    ensure!(
        id.starts_with("sha256:") && id.len() == "sha256:".len() + 64 + 1,
        "{id:?}"
    );
    let images = cli.ok(&["images", "learner1/made"])?;
    ensure!(
        images
            .lines()
            .nth(1)
            .is_some_and(|row| row.starts_with("learner1/made   v1   ")),
        "{images}"
    );
    assert_eq!(cli.ok(&["run", "--rm", "learner1/made:v1"])?, "made\n");
    assert_eq!(
        cli.ok(&["run", "--rm", "learner1/made:v1", "sh", "-c", "echo $GREETING"])?,
        "hi\n"
    );
    let history = cli.ok(&["history", "learner1/made:v1"])?;
    ensure!(
        history
            .lines()
            .nth(1)
            .is_some_and(|row| row.ends_with("add made")),
        "{history}"
    );

    // A running container is committed as it runs (paused meanwhile, as docker does).
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo up > /up; sleep 300",
    ])?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    cli.ok(&["commit", "live", "learner1/live"])?;
    assert_eq!(cli.ok(&["run", "--rm", "learner1/live", "cat", "/up"])?, "up\n");
    // `--pause=false` (docker's `-p`, default true): committed without freezing it.
    cli.ok(&["commit", "--pause=false", "live", "learner1/live2"])?;
    assert_eq!(cli.ok(&["run", "--rm", "learner1/live2", "cat", "/up"])?, "up\n");
    assert_eq!(
        cli.ok(&["inspect", "-f", "{{.State.Status}}", "live"])?,
        "running\n"
    );

    cli.fails(
        &["commit", "nope", "learner1/x"],
        1,
        "Error response from daemon: No such container: nope\n",
    )?;
    cli.fails(
        &["commit", "-c", "RUN true", "maker", "learner1/x"],
        1,
        "Error response from daemon: run is not a valid change command\n",
    )?;
    cli.ok(&["rm", "-f", "live"])?;
    Ok(())
}

#[test]
fn another_session_cannot_restart_diff_commit_update_or_watch_a_container() -> Result<()> {
    let Some(server) = server("more-sessions", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let owner = Cli::new(&server)?;
    owner.ok(&["pull", "-q", "busybox"])?;
    owner.ok(&["run", "-d", "--name", "mine", "busybox", "sleep", "300"])?;
    let id = owner
        .ok(&["inspect", "-f", "{{.Id}}", "mine"])?
        .trim()
        .to_string();
    let stranger = Cli::new(&server)?;
    for key in ["mine", &id[..12]] {
        let no_such = format!("Error response from daemon: No such container: {key}\n");
        stranger.fails(&["restart", key], 1, &no_such)?;
        stranger.fails(&["diff", key], 1, &no_such)?;
        stranger.fails(&["update", "-m", "64m", key], 1, &no_such)?;
        stranger.fails(&["commit", key, "stranger/copy"], 1, &no_such)?;
        stranger.fails(&["stats", "--no-stream", key], 1, &no_such)?;
    }
    let info = stranger.ok(&["info", "-f", "{{.Containers}} {{.Images}}"])?;
    assert_eq!(info, "0 0\n", "the stranger's own session is empty");
    assert_eq!(
        owner.ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.HostConfig.Memory}}",
            "mine"
        ])?,
        "running 536870912\n"
    );
    owner.ok(&["rm", "-f", "mine"])?;
    Ok(())
}
