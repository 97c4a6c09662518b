//! `docker compose exec` and `top` against a real server with real runc (issue 16): a command in a service's running
//! container reading its file and environment, `-T` with the command's exit code passed through, `-e`/`-w`/`-u`,
//! `-d`, `--index`, and Compose's words for a service with no running container. Attached commands start as the
//! page starts them (`slipway::cli::compose::attach_project`) and the test reads the attach WebSocket as the page's
//! terminal does; natively `slipway docker compose exec|run` runs only detached. `docker compose run`: one-off
//! containers with their dependencies, `--rm`, `-d`, `ps -a` and `down --remove-orphans`. In the page, a learner
//! types `docker compose exec web sh`, then `echo` and `exit` in the container's shell, and `docker compose run
//! --rm web ...`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use futures_util::StreamExt;
use slipway::api::SessionTransport;
use slipway::cli::context::CommandContext;
use slipway::cli::credentials::CredentialStore;
use slipway::cli::interpret::plan_words;
use slipway::cli::outcome::{Outcome, Step};
use tokio_tungstenite::tungstenite::Message;

use crate::commands::server;
use crate::compose_up::{on_a_compose_page, Project};
use crate::networks::leftovers;
use crate::registry::client::Reqwest;

const EXEC_APP: &str = r#"name: ex
services:
  web:
    image: busybox
    environment:
      GREETING: hello-from-env
    command: ["sh", "-c", "echo from-the-file > /tmp/f; exec sleep 600"]
  once:
    image: busybox
    command: ["true"]
"#;

/// `docker compose WORDS...` attached, as the page runs it, in `project`'s session and directory: what the process
/// printed and its exit code, or what the line printed instead of attaching.
async fn attached(
    project: &Project<'_>,
    words: &[&str],
) -> Result<std::result::Result<(String, i32), Outcome>> {
    let mut line = vec!["docker".to_string(), "compose".to_string()];
    line.extend(words.iter().map(|w| w.to_string()));
    let Step::Compose(inv) = plan_words(&line) else {
        bail!("{line:?} is not a compose line");
    };
    ensure!(slipway::cli::compose::attaches(&inv), "{line:?} does not attach");
    let files: BTreeMap<String, String> = BTreeMap::from([(
        "compose.yaml".to_string(),
        std::fs::read_to_string(project.dir.path().join("compose.yaml"))?,
    )]);
    let http = Reqwest::new();
    let url = &project.server.url;
    let transport = SessionTransport::new(&http, project.session.clone(), url);
    let credentials = RefCell::new(CredentialStore::default());
    let host = url.trim_start_matches("http://");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let ctx = CommandContext {
        session: Some(&project.session),
        now,
        ..CommandContext::new(&transport, url, host, &credentials)
    };
    let dir = project.dir.path().to_string_lossy().into_owned();
    // No builder: the page's terminal builds with its own (`compose_build::` has the page's `run --build`).
    let env = BTreeMap::new();
    let started = slipway::cli::compose::attach_project(&ctx, &inv, &files, &env, &dir, None);
    let target = match started.await {
        Ok(target) => target,
        Err(said) => return Ok(Err(said)),
    };
    let ws = format!("{}{}", url.replacen("http", "ws", 1), target.path);
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws).await.context("attach")?;
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, socket.next())
            .await
            .map_err(|_| anyhow!("no exit frame; output so far {:?}", String::from_utf8_lossy(&out)))?;
        match frame {
            Some(Ok(Message::Binary(bytes))) => out.extend_from_slice(&bytes),
            Some(Ok(Message::Text(text))) => {
                if let Some(exit) = slipway::cli::attach::exit_outcome(&text) {
                    return Ok(Ok((String::from_utf8_lossy(&out).into_owned(), exit.exit_code)));
                }
            }
            Some(Ok(_)) => {}
            other => bail!("the attach ended without an exit frame: {other:?}"),
        }
    }
}

/// [`attached`] until its output is `want` (the container's command may not have written its file yet).
async fn attached_until(project: &Project<'_>, words: &[&str], want: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let ran = attached(project, words).await?;
        if matches!(&ran, Ok((out, 0)) if out == want) {
            return Ok(());
        }
        ensure!(started.elapsed() < Duration::from_secs(10), "{words:?}: {ran:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_exec_runs_in_the_services_container_and_passes_its_exit_code_through() -> Result<()> {
    let Some(server) = server("compose-exec", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-exec-app", EXEC_APP)?;
    project.ok(&["compose", "up", "-d"])?;
    // The service's file, and its environment, from a process without a TTY; the command's code comes back.
    let script = "cat /tmp/f; echo $GREETING; test -t 0 || echo no-tty; exit 3";
    let started = Instant::now();
    let (out, code) = loop {
        let ran = attached(&project, &["exec", "-T", "web", "sh", "-c", script]).await?;
        match ran {
            Ok((out, code))
                if out.starts_with("from-the-file") || started.elapsed() > Duration::from_secs(10) =>
            {
                break (out, code)
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(said) => bail!("{said:?}"),
        }
    };
    assert_eq!(out, "from-the-file\nhello-from-env\nno-tty\n");
    assert_eq!(code, 3);
    // Without -T the process has a TTY (Compose's default), so its newlines come back as the TTY sends them.
    let tty = attached(
        &project,
        &["exec", "web", "sh", "-c", "test -t 0 && echo has-a-tty"],
    )
    .await?;
    assert_eq!(
        tty.map_err(|o| anyhow!("{o:?}"))?,
        ("has-a-tty\r\n".to_string(), 0)
    );
    attached_until(
        &project,
        &[
            "exec",
            "-T",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "1000",
            "web",
            "sh",
            "-c",
            "echo $A $(pwd) $(id -u)",
        ],
        "1 /tmp 1000\n",
    )
    .await?;
    // -d starts the process and prints nothing; natively that is how exec runs.
    let detached = project.ok(&[
        "compose",
        "exec",
        "-d",
        "web",
        "sh",
        "-c",
        "echo detached > /tmp/d",
    ])?;
    ensure!(detached.out.is_empty() && detached.err.is_empty(), "{detached:?}");
    attached_until(&project, &["exec", "-T", "web", "cat", "/tmp/d"], "detached\n").await?;
    let native = project.docker(&["compose", "exec", "-T", "web", "true"])?;
    ensure!(
        native.code == 1 && native.err.contains("run in the Slipway page's terminal only"),
        "{native:?}"
    );
    // No running container: Compose's words (pkg/compose/containers.go), exit 1, nothing attached.
    for (words, said) in [
        (
            &["exec", "-T", "once", "ls"][..],
            "service \"once\" is not running\n",
        ),
        (
            &["exec", "-T", "nope", "ls"][..],
            "service \"nope\" is not running\n",
        ),
        (
            &["exec", "-T", "--index", "2", "web", "ls"][..],
            "service \"web\" is not running container #2\n",
        ),
    ] {
        match attached(&project, words).await? {
            Err(outcome) => ensure!(
                outcome.exit_code == 1 && outcome.stderr == said,
                "{words:?}: {outcome:?}"
            ),
            Ok(ran) => bail!("{words:?} attached: {ran:?}"),
        }
    }
    // `top`: Compose's one table, the service and its container's number first (cmd/compose/top.go).
    let top = project.ok(&["compose", "top"])?.out;
    let lines: Vec<&str> = top.lines().collect();
    ensure!(
        lines.first().map(|l| l.split_whitespace().collect::<Vec<_>>())
            == Some(vec![
                "SERVICE", "#", "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"
            ]),
        "{top}"
    );
    ensure!(
        lines
            .iter()
            .any(|l| l.starts_with("web      1  ") && l.ends_with("sleep 600")),
        "{top}"
    );
    ensure!(project.ok(&["compose", "top", "once"])?.out.is_empty());
    let refused = project.docker(&["compose", "exec", "--privileged", "web", "true"])?;
    ensure!(
        refused.code != 0 && refused.err.contains("extended privileges"),
        "{refused:?}"
    );
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const RUN_APP: &str = r#"name: rn
services:
  web:
    image: busybox
    depends_on: [db]
    environment:
      GREETING: hi-from-web
    ports: ["8080:80"]
    command: ["sleep", "600"]
  db:
    image: busybox
    command: ["sh", "-c", "mkdir -p /w && echo db-answers > /w/db && exec httpd -f -p 80 -h /w"]
"#;

/// `docker compose run`: the dependency started first and reached by its service name, the service's environment,
/// `--rm` leaving nothing, the exit code passed through; `-d` prints the one-off's id, `ps` hides it (`ps -a`
/// shows it), `down` leaves it (and so the network, with Compose's warning) until `--remove-orphans`.
#[tokio::test(flavor = "multi_thread")]
async fn compose_run_starts_a_one_off_with_its_dependencies_and_rm_leaves_nothing() -> Result<()> {
    let Some(server) = server("compose-run", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-run-app", RUN_APP)?;
    project.ok(&["pull", "-q", "busybox"])?;
    let fetch = "echo $GREETING; until wget -qO- http://db/db; do sleep 0.2; done";
    let (out, code) = attached(&project, &["run", "--rm", "-T", "web", "sh", "-c", fetch])
        .await?
        .map_err(|o| anyhow!("{o:?}"))?;
    assert_eq!((out.as_str(), code), ("hi-from-web\ndb-answers\n", 0));
    let all = project.ok(&["ps", "-a"])?.out;
    ensure!(!all.contains("rn-web-run-"), "--rm left the one-off: {all}");
    let ps = project.ok(&["compose", "ps"])?.out;
    ensure!(ps.contains("rn-db-1") && !ps.contains("rn-web-1"), "{ps}");
    let (out, code) = attached(
        &project,
        &["run", "--rm", "--no-deps", "-T", "web", "sh", "-c", "exit 4"],
    )
    .await?
    .map_err(|o| anyhow!("{o:?}"))?;
    assert_eq!((out.as_str(), code), ("", 4));
    let detached = project.ok(&["compose", "run", "-d", "web"])?;
    let id = detached.out.trim();
    ensure!(
        id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{detached:?}"
    );
    ensure!(detached.err == " Container rn-db-1  Running\n", "{detached:?}");
    ensure!(!project.ok(&["compose", "ps"])?.out.contains("rn-web-run-"));
    let listed = project.ok(&["compose", "ps", "-a"])?.out;
    let one_off = listed
        .lines()
        .find(|l| l.starts_with("rn-web-run-"))
        .ok_or_else(|| anyhow!("ps -a does not list the one-off: {listed}"))?;
    let name = one_off.split_whitespace().next().unwrap_or_default();
    ensure!(name.len() == "rn-web-run-".len() + 12, "{name}");
    let labelled = project.ok(&[
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        "label=com.docker.compose.oneoff=True",
    ])?;
    assert_eq!(labelled.out.trim(), id);
    let refused = project.docker(&["compose", "run", "web", "true"])?;
    ensure!(
        refused.code == 1 && refused.err.contains("page's terminal only"),
        "{refused:?}"
    );
    let down = project.ok(&["compose", "down", "-t", "1"])?;
    ensure!(
        down.err
            .ends_with(" Network rn_default  Resource is still in use\n"),
        "{down:?}"
    );
    ensure!(project.ok(&["ps", "-a"])?.out.contains(name));
    let orphans = project.ok(&["compose", "down", "-t", "1", "--remove-orphans"])?;
    ensure!(
        orphans.err.contains(&format!(" Container {name}  Removed\n"))
            && orphans
                .err
                .ends_with(" Network rn_default  Removing\n Network rn_default  Removed\n"),
        "{orphans:?}"
    );
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const PAGE_APP: &str = "services:\n  web:\n    image: busybox\n    command: [\"sleep\", \"600\"]\n";

/// In the page: `docker compose exec web sh` gives the learner a shell in `project-web-1`; `exit` gives the prompt
/// back; `docker compose run --rm web ...` shows the one-off's output and leaves no container.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_execs_a_shell_and_runs_a_one_off_in_the_page() {
    on_a_compose_page(
        "a_learner_execs_a_shell_and_runs_a_one_off_in_the_page",
        "compose-exec-page",
        &[("compose.yaml", PAGE_APP)],
        |page| async move {
            page.terminal_command("docker compose up -d", "Container project-web-1  Started")
                .await?;
            page.type_into("Terminal input", "docker compose exec web sh\u{E007}")
                .await?;
            page.wait_for_text("Terminal output", "the exec shell's prompt", |t| {
                t.contains("/ #")
            })
            .await?;
            let input = page.by_name("Terminal input").await?;
            input.send_keys("echo hi-$((40+2))\u{E007}").await?;
            page.wait_for_text("Terminal output", "the shell's answer", |t| {
                t.lines().any(|l| l == "hi-42")
            })
            .await?;
            input.send_keys("exit\u{E007}").await?;
            page.wait_gone("attached to project-web-1 (Ctrl-D or exit to leave)")
                .await?;
            page.wait_terminal_idle().await?;
            // A one-off with a TTY: its output in the terminal, and --rm leaves nothing of it.
            page.terminal_command("docker compose run --rm web sh -c 'echo hi-$((40+2))'", "hi-42")
                .await?;
            let all = page
                .terminal_command("docker compose ps -a", "project-web-1")
                .await?;
            ensure!(!all.contains("project-web-run-"), "{all}");
            page.terminal_command("docker compose down -t 1", "Network project_default  Removed")
                .await?;
            Ok(())
        },
    )
    .await;
}

const RUN_FLAGS_APP: &str = r#"name: rf
services:
  web:
    build: ./web
    command: ["cat", "/v"]
  absent:
    image: learner1/absent:v1
  probe:
    image: busybox
"#;

/// `docker compose run`'s flags as Compose v2 has them (`cmd/compose/run.go`): `--build` builds the service's
/// image first (again after its Dockerfile changed), `--pull never` fails on a missing image as the daemon does
/// and an unknown policy is Compose's error, `--use-aliases` makes the one-off answer on its service's name, and `--cap-add`/`--cap-drop` are refused saying why (the runner's capabilities
/// are Docker's defaults); the attached form of `--build` (the page's terminal) says to build first.
#[tokio::test(flavor = "multi_thread")]
async fn compose_run_build_pull_use_aliases_and_caps_answer_as_compose_or_say_why() -> Result<()> {
    let Some(server) = server("compose-run-flags", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-run-flags", RUN_FLAGS_APP)?;
    project.ok(&["pull", "-q", "busybox"])?;
    project.write("web/Dockerfile", "FROM busybox\nRUN echo v1 > /v\n")?;
    let first = project.ok(&["compose", "run", "-d", "-T", "--build", "web"])?;
    ensure!(first.err.contains("Built"), "{first:?}");
    let logs = project.logs_until(first.out.trim(), |out| out.contains("v1"))?;
    assert_eq!(logs, "v1\n");
    project.write("web/Dockerfile", "FROM busybox\nRUN echo v2 > /v\n")?;
    let again = project.ok(&["compose", "run", "-d", "-T", "--build", "web"])?;
    let logs = project.logs_until(again.out.trim(), |out| out.contains("v2"))?;
    assert_eq!(logs, "v2\n", "--build built the changed Dockerfile");

    let never = project.docker(&["compose", "run", "-d", "--pull", "never", "absent"])?;
    ensure!(
        never.code == 1
            && never
                .err
                .ends_with("Error response from daemon: No such image: learner1/absent:v1\n"),
        "{never:?}"
    );
    let bogus = project.docker(&["compose", "run", "-d", "--pull", "sometimes", "probe"])?;
    ensure!(
        bogus.code == 1 && bogus.err == "invalid --pull option \"sometimes\"\n",
        "{bogus:?}"
    );

    let serve = "mkdir -p /w && echo aliased > /w/index.html && exec httpd -f -p 80 -h /w";
    project.ok(&[
        "compose",
        "run",
        "-d",
        "--use-aliases",
        "probe",
        "sh",
        "-c",
        serve,
    ])?;
    let fetch = "for i in $(seq 50); do wget -qO- http://probe/ && exit 0; sleep 0.2; done; exit 1";
    let (out, code) = attached(&project, &["run", "--rm", "-T", "probe", "sh", "-c", fetch])
        .await?
        .map_err(|o| anyhow!("{o:?}"))?;
    assert_eq!(
        (out.as_str(), code),
        ("aliased\n", 0),
        "the one-off answers on its service's name"
    );

    for flag in ["--cap-add", "--cap-drop"] {
        let refused = project.docker(&["compose", "run", "-d", flag, "NET_ADMIN", "probe"])?;
        ensure!(
            refused.code != 0 && refused.err.contains("Docker's default capabilities"),
            "{refused:?}"
        );
    }
    let attached_build = attached(&project, &["run", "--build", "-T", "web"]).await?;
    let Err(said) = attached_build else {
        bail!("an attached --build ran: {attached_build:?}")
    };
    ensure!(
        said.stderr
            .contains("building a service's image needs the project's files"),
        "{said:?}"
    );
    project.ok(&["compose", "down", "--remove-orphans"])?;
    Ok(())
}
