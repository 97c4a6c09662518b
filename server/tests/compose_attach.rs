//! `docker compose up` attached (no `-d`) through the real `slipway docker` against a real server with real runc
//! (issue 16): each service's output prefixed, in order per service, until every container has exited (exit 0, as
//! Compose ends); `--abort-on-container-exit` and `--exit-code-from`; Ctrl-C (SIGINT, as a terminal sends it)
//! stops the containers gracefully, a second one kills them; in the page, Ctrl-C in the terminal does the same.
//! And `depends_on.restart: true`: `compose restart` of a dependency restarts its dependents.
//! After each test nothing of the projects is left on the server.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::commands::server;
use crate::compose_up::{on_a_compose_page, Project};
use crate::networks::leftovers;
use crate::terminal_keys::{keys, CTRL_C, ENTER};

/// The lines of service `prefix` (`one-1  | `), without it, in the order printed.
fn lines_of(out: &str, prefix: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::to_string)
        .collect()
}

const TWO_PRINTERS: &str = r#"name: att
services:
  one:
    image: busybox
    command: ["sh", "-c", "for i in 1 2 3; do echo one-$$i; sleep 0.2; done"]
  two:
    image: busybox
    command: ["sh", "-c", "for i in 1 2 3; do echo two-$$i; sleep 0.3; done; exit 3"]
"#;

#[test]
fn attached_up_prints_each_services_lines_prefixed_until_all_have_exited() -> Result<()> {
    let Some(server) = server("compose-attach", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-attach-app", TWO_PRINTERS)?;
    project.ok(&["pull", "-q", "busybox"])?;
    // Compose ends with 0 when every container has exited, whatever their codes (no cascade asked).
    let up = project.ok(&["compose", "up"])?;
    assert_eq!(
        up.err,
        " Network att_default  Creating\n Network att_default  Created\n Container att-two-1  Creating\n \
         Container att-two-1  Created\n Container att-two-1  Starting\n Container att-two-1  Started\n \
         Container att-one-1  Creating\n Container att-one-1  Created\n Container att-one-1  Starting\n \
         Container att-one-1  Started\n"
    );
    ensure!(up.out.starts_with("Attaching to one-1, two-1\n"), "{up:?}");
    assert_eq!(lines_of(&up.out, "one-1  | "), ["one-1", "one-2", "one-3"]);
    assert_eq!(lines_of(&up.out, "two-1  | "), ["two-1", "two-2", "two-3"]);
    // Each says it ended after its own output; Compose ends once the last has.
    for (service, code) in [("one", 0), ("two", 3)] {
        let said = format!("{service}-1 exited with code {code}");
        let at = up.out.find(&said).context("no exit line")?;
        ensure!(
            at > up
                .out
                .find(&format!("{service}-1  | {service}-3"))
                .unwrap_or(usize::MAX),
            "{up:?}"
        );
    }
    ensure!(
        up.out
            .lines()
            .last()
            .is_some_and(|l| l.contains(" exited with code ")),
        "{up:?}"
    );
    // Nothing of the project runs after it.
    let ps = project.ok(&["compose", "ps", "-a"])?.out;
    ensure!(ps.matches("Exited").count() == 2, "{ps}");
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const ONE_ENDS_FIRST: &str = r#"name: abo
services:
  long:
    image: busybox
    command: ["sh", "-c", "trap 'echo long-stopped; exit 0' TERM; echo long-up; while true; do sleep 0.1; done"]
  short:
    image: busybox
    command: ["sh", "-c", "sleep 1; echo short-done; exit 3"]
"#;

#[test]
fn abort_on_container_exit_stops_the_rest_and_exit_code_from_returns_that_services_code() -> Result<()> {
    let Some(server) = server("compose-abort", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-abort-app", ONE_ENDS_FIRST)?;
    project.ok(&["pull", "-q", "busybox"])?;
    let up = project.docker(&["compose", "up", "--abort-on-container-exit"])?;
    ensure!(up.code == 3, "the first exit's code: {up:?}");
    ensure!(
        up.out
            .contains("short-1  | short-done\nshort-1 exited with code 3\nAborting on container exit...\n"),
        "{up:?}"
    );
    let stopped = |name: &str| format!(" Container {name}  Stopping\n Container {name}  Stopped\n");
    let (short, long) = (stopped("abo-short-1"), stopped("abo-long-1"));
    ensure!(
        up.err.ends_with(&format!("{short}{long}")) || up.err.ends_with(&format!("{long}{short}")),
        "{up:?}"
    );
    // Aborting, Compose shows no more output: `long`'s goodbye is not printed.
    ensure!(!up.out.contains("long-stopped"), "{up:?}");
    // `long` is stopped by the cascade and exits 0 from its trap: that is the code asked for.
    let from = project.docker(&["compose", "up", "--exit-code-from", "long"])?;
    ensure!(from.code == 0, "{from:?}");
    ensure!(from.out.contains("Aborting on container exit..."), "{from:?}");
    let refused = project.docker(&["compose", "up", "-d", "--abort-on-container-exit"])?;
    ensure!(
        refused.code == 1 && refused.err == "--abort-on-container-exit and --detach are incompatible\n",
        "{refused:?}"
    );
    ensure!(project.ok(&["ps", "-q"])?.out.is_empty(), "nothing runs");
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const RESTARTS_WITH_DB: &str = r#"name: rst
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db-start; exec sleep 600"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    image: busybox
    depends_on:
      db:
        condition: service_healthy
        restart: true
    command: ["sh", "-c", "echo web-start; exec sleep 600"]
  side:
    image: busybox
    depends_on: [db]
    command: ["sh", "-c", "echo side-start; exec sleep 600"]
"#;

/// `depends_on.restart: true`: `compose restart db` restarts `web` after it (once db is healthy again), as
/// Compose's `restart` adds such dependents; `side`, which depends on db without it, keeps running as it was.
#[test]
fn restarting_a_dependency_restarts_the_dependents_that_ask_for_it() -> Result<()> {
    let Some(server) = server("compose-restart-deps", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-rst", RESTARTS_WITH_DB)?;
    project.ok(&["pull", "-q", "busybox"])?;
    project.ok(&["compose", "up", "-d"])?;
    let restart = project.ok(&["compose", "restart", "-t", "1", "db"])?;
    assert_eq!(
        restart.err,
        " Container rst-db-1  Restarting\n Container rst-db-1  Started\n Container rst-web-1  Restarting\n \
         Container rst-web-1  Started\n"
    );
    let starts = |name: &str, line: &str| -> Result<usize> {
        Ok(project.ok(&["logs", name])?.out.matches(line).count())
    };
    let start = Instant::now();
    while starts("rst-web-1", "web-start")? < 2 {
        ensure!(
            start.elapsed() < Duration::from_secs(10),
            "web did not start again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ensure!(starts("rst-db-1", "db-start")? == 2);
    ensure!(starts("rst-side-1", "side-start")? == 1, "side was not restarted");
    // Restarting web alone leaves db be.
    let web = project.ok(&["compose", "restart", "-t", "1", "web"])?;
    assert_eq!(
        web.err,
        " Container rst-web-1  Restarting\n Container rst-web-1  Started\n"
    );
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

/// A running `slipway docker compose up`, its output gathered as it comes.
struct Running {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl Running {
    fn start(mut command: Command) -> Result<Running> {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let gather = |stream: Box<dyn Read + Send>| {
            let text = Arc::new(Mutex::new(String::new()));
            let into = text.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut text = into.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            });
            text
        };
        let out = gather(Box::new(child.stdout.take().context("stdout")?));
        let err = gather(Box::new(child.stderr.take().context("stderr")?));
        Ok(Running { child, out, err })
    }

    fn out(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Wait until stdout says `text` (60 s at most).
    fn wait_for(&self, text: &str) -> Result<()> {
        let start = Instant::now();
        while !self.out().contains(text) {
            ensure!(
                start.elapsed() < Duration::from_secs(60),
                "no {text:?} in {:?} / {:?}",
                self.out(),
                self.err.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// SIGINT, as a terminal's Ctrl-C sends it.
    fn interrupt(&self) -> Result<()> {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()?;
        ensure!(sent.success(), "kill -INT");
        Ok(())
    }

    /// The exit code and both outputs once it ended.
    fn end(mut self) -> Result<(i32, String, String)> {
        let status = self.child.wait()?;
        // The readers finish with the pipes.
        std::thread::sleep(Duration::from_millis(100));
        let err = self.err.lock().unwrap().clone();
        Ok((status.code().unwrap_or(-1), self.out(), err))
    }
}

const TICKERS: &str = r#"name: int
services:
  polite:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done"]
"#;

const STUBBORN: &str = r#"name: force
services:
  stubborn:
    image: busybox
    command: ["sh", "-c", "echo up; exec sleep 600"]
"#;

#[test]
fn ctrl_c_stops_an_attached_up_gracefully_and_a_second_one_kills() -> Result<()> {
    let Some(server) = server("compose-ctrl-c", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-int", TICKERS)?;
    project.ok(&["pull", "-q", "busybox"])?;
    let running = Running::start(project.command(&["compose", "up"]))?;
    running.wait_for("polite-1  | tick\npolite-1  | tick\n")?;
    running.interrupt()?;
    let (code, out, err) = running.end()?;
    ensure!(code == 130, "{code}: {out} / {err}");
    ensure!(
        out.contains("\nGracefully stopping... (press Ctrl+C again to force)\n"),
        "{out}"
    );
    ensure!(
        err.ends_with(" Container int-polite-1  Stopping\n Container int-polite-1  Stopped\n"),
        "{err}"
    );
    let ps = project.ok(&["compose", "ps", "-a"])?.out;
    ensure!(ps.contains("Exited (0)"), "stopped by its trap: {ps}");
    project.ok(&["compose", "down", "-t", "1"])?;

    // `sleep` as PID 1 ignores SIGTERM: the graceful stop would wait 10 s; the second Ctrl-C kills at once.
    let stubborn = Project::new(&server, "compose-force", STUBBORN)?;
    let running = Running::start(stubborn.command(&["compose", "up"]))?;
    running.wait_for("stubborn-1  | up\n")?;
    let started = Instant::now();
    running.interrupt()?;
    running.wait_for("Gracefully stopping...")?;
    running.interrupt()?;
    let (code, out, err) = running.end()?;
    ensure!(code == 130, "{code}: {out} / {err}");
    ensure!(
        started.elapsed() < Duration::from_secs(8),
        "killed, not stopped: {:?}",
        started.elapsed()
    );
    // Piped, Compose's plain lines come as the events do: the stop the second Ctrl-C cut short said
    // `Stopping` (when it had begun), the kill `Killed`.
    ensure!(
        err.ends_with(" Container force-stubborn-1  Killed\n") && !err.contains("[+]"),
        "{err}"
    );
    ensure!(stubborn.ok(&["ps", "-q"])?.out.is_empty(), "nothing runs");
    stubborn.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const PAGE_TICKER: &str = r#"services:
  web:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick-from-web; sleep 0.3; done"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
"#;

/// In the page: `docker compose up` typed in the terminal shows the prefixed output as it comes, Ctrl-C prints
/// Compose's `Gracefully stopping...` and the stopped container, and the prompt comes back; then the Containers
/// panel shows the service healthy after `up --wait`.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_stops_an_attached_compose_up_with_ctrl_c_in_the_page() {
    on_a_compose_page(
        "a_learner_stops_an_attached_compose_up_with_ctrl_c_in_the_page",
        "compose-attach-page",
        &[("compose.yaml", PAGE_TICKER)],
        |page| async move {
            let before = page.text_of("Terminal output").await?.len();
            keys(&page, &format!("docker compose up{ENTER}")).await?;
            page.wait_for_text("Terminal output", "two prefixed ticks", |t| {
                t.get(before..).is_some_and(|new| {
                    new.contains("Attaching to web-1") && new.matches("web-1  | tick-from-web").count() >= 2
                })
            })
            .await?;
            let input = page.by_name("Terminal input").await?;
            ensure!(input.attr("aria-busy").await?.as_deref() == Some("true"));
            keys(&page, CTRL_C).await?;
            page.wait_terminal_idle().await?;
            let screen = page.text_of("Terminal output").await?;
            let new = screen.get(before..).unwrap_or_default();
            ensure!(
                new.contains("^CGracefully stopping... (press Ctrl+C again to force)"),
                "{new}"
            );
            ensure!(new.contains(" ✔ Container project-web-1  Stopped"), "{new}");
            let ps = page
                .terminal_command("docker compose ps -a", "project-web-1")
                .await?;
            ensure!(ps.contains("Exited (0)"), "{ps}");
            // The Containers panel shows each container's health beside its state, as `ps` does: `up --wait`
            // ends once the healthcheck says healthy, and the panel refreshes after it.
            page.terminal_command("docker compose up --wait", "Container project-web-1  Healthy")
                .await?;
            page.wait_for_text("Containers", "web-1 healthy in the panel", |t| {
                t.contains("project (compose)") && t.contains("web-1") && t.contains("(healthy)")
            })
            .await?;
            page.terminal_command("docker compose down -t 1", "Network project_default  Removed")
                .await?;
            Ok(())
        },
    )
    .await;
}
