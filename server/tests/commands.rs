//! The container commands beside `run` (issue 17): `create`, `start`, `wait`, `rename`, `pause`/`unpause`, `top`,
//! `inspect`, `container prune` and `image prune`, natively through the real `slipway docker` against a real
//! server with real runc, and typed in the page's terminal as a learner would. The expected texts are docker
//! 28's (docker/cli `cli/command/container/*.go`, `image/prune.go`, `inspect/inspector.go`; dockerd's
//! `daemon/{pause,unpause,rename}.go` for the daemon's errors).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{ensure, Result};

use crate::support::browser::Browser;
use crate::support::server::{dist_dir, slipway_bin, with_busybox_in_registry, Server};
use crate::support::TempDir;
use crate::terminal_keys::{keys, ENTER};
use crate::terminal_prompts::wait_for_row;

/// `slipway serve` with busybox in its registry, or None when the developer opted out of container tests.
pub(crate) fn server(label: &str, dist: &Path) -> Result<Option<Server>> {
    use crate::support::prerequisite::{available, runner_missing, RUNNER_FIX};
    if !available("runner", runner_missing(), RUNNER_FIX) {
        return Ok(None);
    }
    let data = TempDir::new(label);
    with_busybox_in_registry(&data)?;
    Ok(Some(Server::start_in(data, dist, &[])?))
}

/// `slipway docker` for one session, stdin not a terminal.
pub(crate) struct Cli<'s> {
    server: &'s Server,
    session: String,
    home: TempDir,
}

/// What a command printed and how it ended.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: i32,
    pub(crate) out: String,
    pub(crate) err: String,
}

impl<'s> Cli<'s> {
    pub(crate) fn new(server: &'s Server) -> Result<Cli<'s>> {
        Ok(Cli {
            server,
            session: server.session()?,
            home: TempDir::new("commands-cli"),
        })
    }

    /// The session token its commands carry.
    pub(crate) fn session(&self) -> &str {
        &self.session
    }

    pub(crate) fn docker(&self, args: &[&str]) -> Result<Ran> {
        self.docker_in(Path::new("."), args)
    }

    /// A command run in `dir` (`docker cp`'s local paths are below it).
    pub(crate) fn docker_in(&self, dir: &Path, args: &[&str]) -> Result<Ran> {
        let output = Command::new(slipway_bin())
            .current_dir(dir)
            .args(["docker", "--host", &self.server.url])
            .args(args)
            .env("SLIPWAY_SESSION", &self.session)
            .env("SLIPWAY_AUTH_FILE", self.home.path().join("auth.json"))
            .stdin(Stdio::null())
            .output()?;
        Ok(Ran {
            code: output.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&output.stdout).into_owned(),
            err: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// A command that must succeed; its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> Result<String> {
        let ran = self.docker(args)?;
        ensure!(ran.code == 0, "docker {}: {ran:?}", args.join(" "));
        Ok(ran.out)
    }

    /// A command that must fail with `code`, printing exactly `stderr` and nothing on stdout.
    pub(crate) fn fails(&self, args: &[&str], code: i32, stderr: &str) -> Result<()> {
        let ran = self.docker(args)?;
        ensure!(
            ran.code == code && ran.err == stderr && ran.out.is_empty(),
            "docker {}: wanted {code} and {stderr:?}, got {ran:?}",
            args.join(" ")
        );
        Ok(())
    }
}

/// The full id `docker create` printed.
pub(crate) fn created_id(out: &str) -> Result<String> {
    let id = out.trim_end_matches('\n');
    ensure!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) && out.ends_with('\n'),
        "not an id: {out:?}"
    );
    Ok(id.to_string())
}

#[test]
fn create_start_pause_rename_and_inspect_answer_as_docker_does() -> Result<()> {
    let Some(server) = server("commands-life", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let id = created_id(&cli.ok(&["create", "--name", "web", "-e", "A=1", "busybox", "sleep", "300"])?)?;
    ensure!(
        cli.ok(&["ps", "-a"])?.contains("   Created   "),
        "docker ps -a shows it Created"
    );
    let status = "{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.Name}}";
    assert_eq!(
        cli.ok(&["inspect", "-f", status, "web"])?,
        "created false false /web\n"
    );
    assert_eq!(cli.ok(&["start", "web"])?, "web\n");
    assert_eq!(
        cli.ok(&["start", "web"])?,
        "web\n",
        "starting a running container changes nothing"
    );
    assert_eq!(
        cli.ok(&["inspect", "-f", status, "web"])?,
        "running true false /web\n"
    );

    assert_eq!(cli.ok(&["pause", "web"])?, "web\n");
    let ps = cli.ok(&["ps"])?;
    let row = ps.lines().find(|l| l.ends_with("web")).unwrap_or_default();
    ensure!(row.contains("Up ") && row.contains(" (Paused)"), "{ps}");
    assert_eq!(
        cli.ok(&["inspect", "-f", status, "web"])?,
        "paused true true /web\n"
    );
    let already = format!("Error response from daemon: Container {id} is already paused\n");
    cli.fails(&["pause", "web"], 1, &already)?;
    assert_eq!(cli.ok(&["unpause", "web"])?, "web\n");
    let not_paused = format!("Error response from daemon: Container {id} is not paused\n");
    cli.fails(&["unpause", "web"], 1, &not_paused)?;

    let top = cli.ok(&["top", "web"])?;
    let mut lines = top.lines();
    assert_eq!(
        lines.next().unwrap_or_default(),
        "UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD"
    );
    let process = lines.next().unwrap_or_default();
    ensure!(
        process.starts_with("root ") && process.ends_with(" sleep 300"),
        "{top}"
    );

    assert_eq!(cli.ok(&["rename", "web", "web2"])?, "");
    assert_eq!(cli.ok(&["inspect", "--format", "{{.Name}}", "web2"])?, "/web2\n");
    cli.fails(
        &["rename", "web2", "web2"],
        1,
        "Error response from daemon: Renaming a container with the same name as its current name\n\
         Error: failed to rename container named web2\n",
    )?;
    cli.fails(
        &["rename", "web", "x2"],
        1,
        "Error response from daemon: No such container: web\nError: failed to rename container named web\n",
    )?;

    let inspected: serde_json::Value = serde_json::from_str(&cli.ok(&["inspect", "web2"])?)?;
    let c = &inspected[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(
        (c["Path"].as_str(), c["Args"].clone()),
        (Some("sleep"), serde_json::json!(["300"]))
    );
    assert_eq!(c["Config"]["Cmd"], serde_json::json!(["sleep", "300"]));
    assert_eq!(c["Config"]["Image"], "busybox");
    ensure!(
        c["Config"]["Env"]
            .as_array()
            .is_some_and(|e| e.contains(&"A=1".into())),
        "{c}"
    );
    ensure!(c["HostConfig"]["Memory"].as_i64().is_some_and(|m| m > 0), "{c}");
    let image_id = cli.ok(&["images", "-q", "--no-trunc", "busybox"])?;
    assert_eq!(c["Image"].as_str().unwrap_or_default(), image_id.trim());
    assert_eq!(
        cli.ok(&["inspect", "-f", "{{json .Config.Cmd}}", "web2"])?,
        "[\"sleep\",\"300\"]\n"
    );
    let image: serde_json::Value = serde_json::from_str(&cli.ok(&["inspect", "busybox"])?)?;
    assert_eq!(image[0]["RepoTags"], serde_json::json!(["busybox:latest"]));

    let missing = cli.docker(&["inspect", "nope"])?;
    ensure!(
        (missing.code, missing.out.as_str(), missing.err.as_str())
            == (1, "[]\n", "Error: No such object: nope\n"),
        "{missing:?}"
    );
    let bogus = cli.docker(&["inspect", "-f", "{{.State.Bogus}}", "web2"])?;
    ensure!(
        bogus.code == 1 && bogus.err.contains("map has no entry for key \"Bogus\""),
        "{bogus:?}"
    );
    let unsupported = cli.docker(&["inspect", "-f", "{{upper .Name}}", "web2"])?;
    ensure!(
        unsupported.code == 64 && unsupported.err.contains("is not supported"),
        "{unsupported:?}"
    );
    Ok(())
}

#[test]
fn wait_start_top_and_pause_name_the_missing_container() -> Result<()> {
    let Some(server) = server("commands-errors", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&["run", "-d", "--name", "three", "busybox", "sh", "-c", "exit 3"])?;
    cli.ok(&["create", "--name", "never", "busybox", "true"])?;
    assert_eq!(cli.ok(&["wait", "three", "never"])?, "3\n0\n");
    let no_such = "Error response from daemon: No such container: nope\n";
    cli.fails(&["wait", "nope"], 1, no_such)?;
    cli.fails(&["pause", "nope"], 1, no_such)?;
    cli.fails(&["unpause", "nope"], 1, no_such)?;
    cli.fails(&["top", "nope"], 1, no_such)?;
    cli.fails(
        &["start", "nope"],
        1,
        &format!("{no_such}Error: failed to start containers: nope\n"),
    )?;
    let id = cli.ok(&["inspect", "-f", "{{.Id}}", "three"])?;
    cli.fails(
        &["pause", "three"],
        1,
        &format!(
            "Error response from daemon: container {} is not running\n",
            id.trim()
        ),
    )?;
    // `start -a`: the output and the exit code of the container.
    cli.ok(&[
        "create",
        "--name",
        "hello",
        "busybox",
        "sh",
        "-c",
        "echo hi; exit 4",
    ])?;
    let attached = cli.docker(&["start", "-a", "hello"])?;
    ensure!(attached.code == 4 && attached.out == "hi\n", "{attached:?}");
    Ok(())
}

#[test]
fn the_prunes_remove_what_docker_removes_and_say_so() -> Result<()> {
    let Some(server) = server("commands-prune", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let running = created_id(&cli.ok(&["run", "-d", "busybox", "sleep", "300"])?)?;
    let created = created_id(&cli.ok(&["create", "busybox", "true"])?)?;
    cli.ok(&["run", "--name", "done", "busybox", "true"])?;
    let done = cli.ok(&["inspect", "-f", "{{.Id}}", "done"])?.trim().to_string();

    // Without a terminal to ask on and without -f, nothing goes.
    let asked = cli.docker(&["container", "prune"])?;
    ensure!(
        asked.code == 0
            && asked.out.starts_with(
                "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
            ),
        "{asked:?}"
    );
    assert_eq!(cli.ok(&["ps", "-aq"])?.lines().count(), 3);

    let mut gone = [created.clone(), done.clone()];
    gone.sort();
    let pruned = cli.ok(&["container", "prune", "-f"])?;
    let listed: Vec<&str> = pruned.lines().skip(1).take(2).collect();
    ensure!(
        pruned.starts_with("Deleted Containers:\n")
            && pruned.ends_with("\n\nTotal reclaimed space: 0B\n")
            && listed.len() == 2
            && gone.iter().all(|id| listed.contains(&id.as_str())),
        "{pruned}"
    );
    assert_eq!(cli.ok(&["ps", "-aq", "--no-trunc"])?, format!("{running}\n"));

    // Nothing is dangling here; with -a, an image a container uses stays.
    assert_eq!(cli.ok(&["image", "prune", "-f"])?, "Total reclaimed space: 0B\n");
    assert_eq!(
        cli.ok(&["image", "prune", "-a", "-f"])?,
        "Total reclaimed space: 0B\n"
    );
    cli.ok(&["rm", "-f", &running])?;
    let image_id = cli.ok(&["images", "-q", "--no-trunc"])?.trim().to_string();
    let pruned = cli.ok(&["image", "prune", "-af"])?;
    let expected_start =
        format!("Deleted Images:\nuntagged: busybox:latest\ndeleted: {image_id}\n\nTotal reclaimed space: ");
    ensure!(pruned.starts_with(&expected_start), "{pruned}");
    assert_eq!(cli.ok(&["images", "-q"])?, "");
    Ok(())
}

#[test]
fn another_session_cannot_pause_rename_top_inspect_or_prune_a_container() -> Result<()> {
    let Some(server) = server("commands-sessions", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let (owner, other) = (Cli::new(&server)?, Cli::new(&server)?);
    owner.ok(&["pull", "-q", "busybox"])?;
    let id = created_id(&owner.ok(&["run", "-d", "--name", "mine", "busybox", "sleep", "300"])?)?;
    let idle = created_id(&owner.ok(&["create", "--name", "idle", "busybox", "true"])?)?;
    for key in ["mine", &id[..12], id.as_str()] {
        let no_such = format!("Error response from daemon: No such container: {key}\n");
        other.fails(&["pause", key], 1, &no_such)?;
        other.fails(&["top", key], 1, &no_such)?;
        other.fails(&["wait", key], 1, &no_such)?;
        other.fails(
            &["rename", key, "theirs"],
            1,
            &format!("{no_such}Error: failed to rename container named {key}\n"),
        )?;
        let inspected = other.docker(&["inspect", "--type", "container", key])?;
        ensure!(inspected.code == 1 && inspected.err == no_such, "{inspected:?}");
    }
    assert_eq!(
        other.ok(&["container", "prune", "-f"])?,
        "Total reclaimed space: 0B\n"
    );
    let left = owner.ok(&["ps", "-aq", "--no-trunc"])?;
    ensure!(left.contains(&id) && left.contains(&idle), "{left}");
    assert_eq!(
        owner.ok(&["inspect", "-f", "{{.State.Status}}", "mine"])?,
        "running\n"
    );
    Ok(())
}

/// A learner types the lifecycle in the page: create, start, pause (ps says so), unpause, stop, then a
/// `docker container prune` that asks first and is answered `y`.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_creates_pauses_and_prunes_in_the_page() {
    let Some(server) = server("cmd-page", &dist_dir()).unwrap() else {
        return;
    };
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_learner_creates_pauses_and_prunes_in_the_page",
            |page| async move {
                page.goto(&url).await?;
                let created = page
                    .terminal_command("docker create --name pg busybox sleep 300", "docker create")
                    .await?;
                let id = created
                    .lines()
                    .map(str::trim)
                    .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_string);
                ensure!(id.is_some(), "no id: {created}");
                page.terminal_command("docker start pg", "pg").await?;
                page.terminal_command("docker pause pg", "pg").await?;
                page.terminal_command("docker ps", "(Paused)").await?;
                let ps = page.terminal_command("docker unpause pg", "pg").await?;
                ensure!(!ps.contains("Error"), "{ps}");
                page.terminal_command("docker stop -t 1 pg", "pg").await?;
                keys(&page, &format!("docker container prune{ENTER}")).await?;
                wait_for_row(&page, "Are you sure you want to continue? [y/N]").await?;
                keys(&page, &format!("y{ENTER}")).await?;
                let screen = page
                    .wait_for_text("Terminal output", "the prune's report", |t| {
                        t.contains("Total reclaimed space: 0B")
                    })
                    .await?;
                let id = id.unwrap_or_default();
                ensure!(
                    screen.contains("WARNING! This will remove all stopped containers.")
                        && screen.contains(&format!("Deleted Containers:\n{id}")),
                    "{screen}"
                );
                page.wait_terminal_idle().await?;
                let ps = page.terminal_command("docker ps -a", "CONTAINER ID").await?;
                ensure!(!ps.contains(" pg"), "{ps}");
                Ok(())
            },
        )
        .await
        .unwrap();
}
