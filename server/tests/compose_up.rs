//! `docker compose up -d`, `ps` and `down` through the real `slipway docker` in a project directory, against a
//! real server with real runc (issue 16): two busybox services where one fetches the other's page by service
//! name on the project's default network; a named volume that keeps its data across `down`/`up` and goes with
//! `down -v`; Compose's progress lines and `ps` table; labels, `--scale` (both containers answering on the service's
//! name), `ls`, `logs`, `stop`/`start`/`restart`; and after `down` nothing of the project left on the server.
//! In the page, a learner types `docker compose up -d`, `ps`, `logs`, `ls` and `down`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use crate::commands::{server, Ran};
use crate::networks::leftovers;
use crate::support::project::{Project as PageProject, ProjectFile};
use crate::support::server::{dist_dir, slipway_bin, Server};
use crate::support::TempDir;

/// A Compose project directory with `compose.yaml`, and `slipway docker compose` run in it for one session.
pub(crate) struct Project<'s> {
    pub(crate) server: &'s Server,
    pub(crate) session: String,
    pub(crate) dir: TempDir,
}

impl<'s> Project<'s> {
    pub(crate) fn new(server: &'s Server, name: &str, compose: &str) -> Result<Project<'s>> {
        let dir = TempDir::new(name);
        std::fs::write(dir.path().join("compose.yaml"), compose)?;
        Ok(Project {
            server,
            session: server.session()?,
            dir,
        })
    }

    /// Write a file of the project (`web/Dockerfile`), its folders made.
    pub(crate) fn write(&self, path: &str, text: &str) -> Result<()> {
        let file = self.dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap_or(self.dir.path()))?;
        Ok(std::fs::write(file, text)?)
    }

    /// `slipway docker ARGS` in the project's directory for its session, stdin not a terminal; not started.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(slipway_bin());
        command
            .args(["docker", "--host", &self.server.url])
            .args(args)
            .current_dir(self.dir.path())
            .env("SLIPWAY_SESSION", &self.session)
            .env("SLIPWAY_AUTH_FILE", self.dir.path().join("auth.json"))
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null());
        command
    }

    pub(crate) fn docker(&self, args: &[&str]) -> Result<Ran> {
        let output = self.command(args).output()?;
        Ok(Ran {
            code: output.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&output.stdout).into_owned(),
            err: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    pub(crate) fn ok(&self, args: &[&str]) -> Result<Ran> {
        let ran = self.docker(args)?;
        ensure!(ran.code == 0, "docker {}: {ran:?}", args.join(" "));
        Ok(ran)
    }

    /// `docker logs NAME` until `done` says its output is complete (10 s at most).
    pub(crate) fn logs_until(&self, name: &str, done: impl Fn(&str) -> bool) -> Result<String> {
        let start = Instant::now();
        loop {
            let out = self.ok(&["logs", name])?.out;
            if done(&out) {
                return Ok(out);
            }
            ensure!(
                start.elapsed() < Duration::from_secs(10),
                "{name} printed only {out:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

const WEB_AND_CLIENT: &str = r#"name: app
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /w && echo hello-from-web > /w/index.html && exec httpd -f -p 80 -h /w"]
  client:
    image: busybox
    depends_on: [web]
    command:
      - sh
      - -c
      - "until printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 web 80; do sleep 0.2; done; exec sleep 600"
"#;

#[test]
fn compose_up_starts_services_that_reach_each_other_by_service_name_and_down_leaves_nothing() -> Result<()> {
    let Some(server) = server("compose-up", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-up-app", WEB_AND_CLIENT)?;
    // Piped, as Compose's default `--progress auto` prints off a terminal: one plain line per event.
    let up = project.ok(&["compose", "up", "-d"])?;
    assert_eq!(
        up.err,
        " web  Pulling\n web  Pulled\n Network app_default  Creating\n Network app_default  Created\n \
         Container app-web-1  Creating\n Container app-web-1  Created\n Container app-web-1  Starting\n \
         Container app-web-1  Started\n Container app-client-1  Creating\n Container app-client-1  Created\n \
         Container app-client-1  Starting\n Container app-client-1  Started\n"
    );
    let fetched = project.logs_until("app-client-1", |out| out.contains("hello-from-web"))?;
    ensure!(fetched.contains(" 200 OK"), "{fetched}");
    // Up again: everything is there and running already. `--progress tty` prints the TTY writer's block even
    // piped (here once, at the end).
    let again = project.ok(&["compose", "--progress", "tty", "up", "-d"])?;
    assert_eq!(
        again.err,
        "[+] Running 2/2\n ✔ Container app-web-1     Running\n ✔ Container app-client-1  Running\n"
    );
    let ps = project.ok(&["compose", "ps"])?.out;
    let lines: Vec<&str> = ps.lines().collect();
    ensure!(lines.len() == 3, "{ps}");
    ensure!(
        lines[0].split_whitespace().collect::<Vec<_>>()
            == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"],
        "{ps}"
    );
    ensure!(
        lines[1].starts_with("app-client-1") && lines[1].contains(" client ") && lines[1].contains(" Up "),
        "{ps}"
    );
    ensure!(
        lines[2].starts_with("app-web-1")
            && lines[2].contains("\"sh -c mkdir -p /w &…\"")
            && lines[2].contains(" web "),
        "{ps}"
    );
    let down = project.ok(&["compose", "down", "-t", "1"])?;
    assert_eq!(
        down.err,
        " Container app-client-1  Stopping\n Container app-client-1  Stopped\n Container app-client-1  Removing\n \
         Container app-client-1  Removed\n Container app-web-1  Stopping\n Container app-web-1  Stopped\n \
         Container app-web-1  Removing\n Container app-web-1  Removed\n Network app_default  Removing\n \
         Network app_default  Removed\n"
    );
    assert_eq!(project.ok(&["compose", "ps", "-a"])?.out.lines().count(), 1);
    ensure!(!project.ok(&["network", "ls"])?.out.contains("app_default"));
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const KEEPER: &str = r#"services:
  keeper:
    image: busybox
    volumes: [data:/data]
    command: ["sh", "-c", "echo run >> /data/log; echo \"runs: $$(wc -l < /data/log)\"; exec sleep 600"]
volumes:
  data: {}
"#;

#[test]
fn a_named_volume_keeps_its_data_across_down_and_up_and_goes_with_down_v() -> Result<()> {
    let Some(server) = server("compose-volume", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-keep", KEEPER)?;
    project.ok(&["pull", "-q", "busybox"])?;
    let up = |expect: &str| -> Result<()> {
        project.ok(&["compose", "-p", "keep", "up", "-d"])?;
        project
            .logs_until("keep-keeper-1", |out| out.contains("runs:"))
            .and_then(|out| {
                ensure!(out.contains(expect), "wanted {expect:?}, got {out:?}");
                Ok(())
            })
    };
    let first = project.ok(&["compose", "-p", "keep", "up", "-d"])?;
    assert_eq!(
        first.err,
        " Network keep_default  Creating\n Network keep_default  Created\n Volume \"keep_data\"  Creating\n \
         Volume \"keep_data\"  Created\n Container keep-keeper-1  Creating\n Container keep-keeper-1  Created\n \
         Container keep-keeper-1  Starting\n Container keep-keeper-1  Started\n"
    );
    project.logs_until("keep-keeper-1", |out| out.contains("runs: 1"))?;
    project.ok(&["compose", "-p", "keep", "down", "-t", "1"])?;
    ensure!(project.ok(&["volume", "ls", "-q"])?.out.contains("keep_data"));
    up("runs: 2")?;
    let down = project.ok(&["compose", "-p", "keep", "down", "-v", "-t", "1"])?;
    ensure!(
        down.err
            .ends_with(" Volume keep_data  Removing\n Volume keep_data  Removed\n"),
        "{down:?}"
    );
    ensure!(!project.ok(&["volume", "ls", "-q"])?.out.contains("keep_data"));
    up("runs: 1")?;
    project.ok(&["compose", "-p", "keep", "down", "-v", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const PAGE_WEB: &str = "services:\n  web:\n    image: busybox\n    \
    command: [\"sh\", \"-c\", \"echo hello-from-web; exec httpd -f -p 80\"]\n";

/// The page's project is named `project` (its directory is `/project`): its containers are `project-web-1`; its
/// logs are prefixed `web-1  | ` and `ls` lists it with its file.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_runs_compose_up_ps_logs_ls_and_down_in_the_page() {
    on_a_compose_page(
        "a_learner_runs_compose_up_ps_logs_ls_and_down_in_the_page",
        "compose-up-page",
        &[("compose.yaml", PAGE_WEB)],
        |page| async move {
            let up = page
                .terminal_command("docker compose up -d", "Container project-web-1  Started")
                .await?;
            ensure!(up.contains(" ✔ Network project_default  Created"), "{up}");
            let ps = page
                .terminal_command("docker compose ps", "project-web-1 ")
                .await?;
            ensure!(
                ps.contains("SERVICE") && ps.contains(" web ") && ps.contains("Up "),
                "{ps}"
            );
            page.terminal_command("docker compose logs", "web-1  | hello-from-web")
                .await?;
            let ls = page
                .terminal_command("docker compose ls", "/project/compose.yaml")
                .await?;
            ensure!(
                ls.contains("NAME                STATUS              CONFIG FILES")
                    && ls.contains("project             running(1)          /project/compose.yaml"),
                "{ls}"
            );
            page.terminal_command("docker compose down -t 1", "Network project_default  Removed")
                .await?;
            Ok(())
        },
    )
    .await;
}

/// Run `steps` in headless Chromium on the page of a server with busybox (`label` names its data directory),
/// opened on a project of `files` (path, text; a `compose.yaml` among them), at its share link; afterwards nothing
/// of it may be left on the server.
pub(crate) async fn on_a_compose_page<F, Fut>(name: &str, label: &str, files: &[(&str, &str)], steps: F)
where
    F: FnOnce(crate::support::browser::Page) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let Some(server) = server(label, &dist_dir()).unwrap() else {
        return;
    };
    let project =
        PageProject::from_files(files.iter().map(|&(path, text)| (path, ProjectFile::new(text)))).unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    crate::support::browser::on_the_page(name, &url, steps)
        .await
        .unwrap();
    let left = leftovers(&server);
    assert!(left.is_empty(), "left after down: {left:?}");
}

/// Two `web` containers serving their own hostnames, and a probe to ask the service's name from.
const SCALED: &str = r#"name: sc
services:
  web:
    image: busybox
    labels:
      tier: front
    command: ["sh", "-c", "mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 80 -h /w"]
  probe:
    image: busybox
    depends_on: [web]
    command:
      - sh
      - -c
      - "for i in $$(seq 12); do until printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web 80 | tail -n 1 | grep .; do sleep 0.2; done; done; echo probe-ready; exec sleep 600"
"#;

#[test]
fn compose_labels_scale_ls_logs_and_stop_start_restart_run_as_compose_does() -> Result<()> {
    let Some(server) = server("compose-scale", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-scale", SCALED)?;
    project.ok(&["pull", "-q", "busybox"])?;
    let up = project.ok(&["compose", "up", "-d", "--scale", "web=2"])?;
    let started = |name: &str| {
        format!(
            " Container {name}  Creating\n Container {name}  Created\n Container {name}  Starting\n \
             Container {name}  Started\n"
        )
    };
    assert_eq!(
        up.err,
        format!(
            " Network sc_default  Creating\n Network sc_default  Created\n{}{}{}",
            started("sc-web-1"),
            started("sc-web-2"),
            started("sc-probe-1")
        )
    );
    // Both containers answer on the service's name: the probe printed who answered, twelve times.
    let asked = project.logs_until("sc-probe-1", |out| out.contains("probe-ready"))?;
    let mut hosts: Vec<&str> = asked.lines().filter(|l| *l != "probe-ready").collect();
    hosts.sort();
    hosts.dedup();
    ensure!(hosts.len() == 2, "web answered from {hosts:?}");
    // Compose's labels, the service's own, in inspect and in `ps --filter label=`.
    let labels = project
        .ok(&["inspect", "-f", "{{json .Config.Labels}}", "sc-web-2"])?
        .out;
    for want in [
        r#""com.docker.compose.project":"sc""#,
        r#""com.docker.compose.service":"web""#,
        r#""com.docker.compose.container-number":"2""#,
        r#""com.docker.compose.oneoff":"False""#,
        r#""tier":"front""#,
    ] {
        ensure!(labels.contains(want), "{want} is not in {labels}");
    }
    let web = project
        .ok(&["ps", "-q", "--filter", "label=com.docker.compose.service=web"])?
        .out;
    ensure!(web.lines().count() == 2, "{web}");
    let front = project
        .ok(&[
            "ps",
            "-q",
            "--filter",
            "label=tier",
            "--filter",
            "label=com.docker.compose.project=sc",
        ])?
        .out;
    ensure!(front.lines().count() == 2, "{front}");
    // `ls` from anywhere: no compose file needed.
    let ls = project.ok(&["compose", "ls"])?.out;
    let root = project.dir.path().to_string_lossy().into_owned();
    assert_eq!(
        ls,
        format!(
            "NAME                STATUS              CONFIG FILES\nsc                  running(3)          {root}/compose.yaml\n"
        )
    );
    assert_eq!(project.ok(&["compose", "ls", "-q"])?.out, "sc\n");
    // Logs, prefixed as Compose prefixes them.
    let logs = project.ok(&["compose", "logs", "probe"])?.out;
    ensure!(
        logs.lines().count() == 13 && logs.lines().all(|l| l.starts_with("probe-1  | ")),
        "{logs}"
    );
    assert_eq!(
        project
            .ok(&["compose", "logs", "--no-log-prefix", "-n", "1", "probe"])?
            .out,
        "probe-ready\n"
    );
    let all = project.ok(&["compose", "logs", "-n", "1"])?.out;
    assert_eq!(all, "probe-1  | probe-ready\n");
    // Scaling down removes the highest number.
    let down_one = project.ok(&["compose", "up", "-d", "--scale", "web=1"])?;
    assert_eq!(
        down_one.err,
        " Container sc-web-1  Running\n Container sc-web-2  Removed\n Container sc-probe-1  Running\n"
    );
    // stop, start, restart.
    let stop = project.ok(&["compose", "stop", "-t", "1"])?;
    assert_eq!(
        stop.err,
        " Container sc-probe-1  Stopping\n Container sc-probe-1  Stopped\n Container sc-web-1  Stopping\n \
         Container sc-web-1  Stopped\n"
    );
    assert_eq!(project.ok(&["compose", "ls"])?.out.lines().count(), 1);
    ensure!(
        project
            .ok(&["compose", "ls", "-a"])?
            .out
            .contains("sc                  exited(2)"),
        "ls -a shows the stopped project"
    );
    let start = project.ok(&["compose", "start", "web"])?;
    assert_eq!(
        start.err,
        " Container sc-web-1  Starting\n Container sc-web-1  Started\n"
    );
    let restart = project.ok(&["compose", "restart", "-t", "1"])?;
    assert_eq!(
        restart.err,
        " Container sc-web-1  Restarting\n Container sc-web-1  Started\n Container sc-probe-1  Restarting\n \
         Container sc-probe-1  Started\n"
    );
    // `logs -f` follows every container until they have all exited.
    project.ok(&["compose", "stop", "-t", "1"])?;
    let followed = project.ok(&["compose", "logs", "-f", "-n", "1"])?.out;
    ensure!(
        followed.lines().count() == 1 && followed.starts_with("probe-1  | "),
        "{followed}"
    );
    let unknown = project.docker(&["compose", "logs", "nope"])?;
    ensure!(
        unknown.code == 1 && unknown.err == "no such service: nope\n",
        "{unknown:?}"
    );
    project.ok(&["compose", "down", "-t", "1"])?;
    assert_eq!(project.ok(&["compose", "ls", "-a"])?.out.lines().count(), 1);
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

/// A database that turns healthy after two seconds, and a web service that waits for it.
const WAITS: &str = "name: wt\nservices:\n  db:\n    image: busybox\n    \
    command: [sh, -c, 'sleep 2 && touch /ready && exec sleep 600']\n    \
    healthcheck: {test: test -e /ready, interval: 1s, retries: 20}\n  web:\n    image: busybox\n    \
    depends_on: {db: {condition: service_healthy}}\n    command: [sleep, '600']\n";

/// The rows a terminal shows once `written` (with its cursor moves and line rewrites) is drawn.
fn drawn_rows(written: &str) -> Vec<String> {
    let mut rows: Vec<String> = vec![String::new()];
    let mut at = 0usize;
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                let mut sequence = String::new();
                chars.next_if_eq(&'[');
                for c in chars.by_ref() {
                    sequence.push(c);
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
                let n: usize = sequence[..sequence.len() - 1].parse().unwrap_or(1);
                match sequence.chars().last() {
                    Some('A') => at = at.saturating_sub(n),
                    Some('B') => at = (at + n).min(rows.len() - 1),
                    Some('K') => rows[at].clear(),
                    _ => {}
                }
            }
            '\r' => {}
            '\n' => {
                at += 1;
                if at == rows.len() {
                    rows.push(String::new());
                }
            }
            c => rows[at].push(c),
        }
    }
    rows
}

/// On a terminal (a pseudo-terminal `script` holds, as a learner's shell would), `up -d` shows the container it
/// waits for as Compose's TTY writer does, ` ⠋ Container wt-db-1  Waiting`, then rewrites that row in place:
/// ` ✔ Container wt-db-1  Healthy`, the block counting `3/3` at the end.
#[test]
fn on_a_terminal_compose_up_shows_waiting_then_rewrites_it_healthy() -> Result<()> {
    let Some(server) = server("compose-waiting", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-waiting", WAITS)?;
    project.ok(&["pull", "-q", "busybox"])?;
    let line = format!(
        "{} docker --host {} compose up -d",
        slipway_bin().display(),
        server.url
    );
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .current_dir(project.dir.path())
        .env("SLIPWAY_SESSION", &project.session)
        .env("SLIPWAY_AUTH_FILE", project.dir.path().join("auth.json"))
        .env_remove("COMPOSE_PROJECT_NAME")
        .stdin(Stdio::null())
        .output()?;
    let written = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(output.status.success(), "{written}");
    // While it waited, the row was rewritten so: Compose's spinner, not counted as done.
    ensure!(
        written.contains("\x1b[2K ⠋ Container wt-db-1   Waiting\r")
            && written.contains("\x1b[2K[+] Running 1/2\r"),
        "no Waiting row: {written:?}"
    );
    let rows = drawn_rows(&written);
    let screen: Vec<&str> = rows
        .iter()
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(
        screen,
        [
            "[+] Running 3/3",
            " ✔ Network wt_default  Created",
            " ✔ Container wt-db-1   Healthy",
            " ✔ Container wt-web-1  Started",
        ]
    );
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const WITH_OLD: &str = "name: or\nservices:\n  web:\n    image: busybox\n    command: [sleep, '600']\n  \
    old:\n    image: busybox\n    command: [sleep, '600']\n";
const WITHOUT_OLD: &str = "name: or\nservices:\n  web:\n    image: busybox\n    command: [sleep, '600']\n";

/// A service taken out of the file leaves an orphan: `up` warns about it in Compose's words, `down` leaves it,
/// `down --remove-orphans` removes it (and `up --remove-orphans` does too).
#[test]
fn orphans_are_warned_about_by_up_and_removed_with_remove_orphans() -> Result<()> {
    let Some(server) = server("compose-orphans", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-orphans", WITH_OLD)?;
    project.ok(&["pull", "-q", "busybox"])?;
    project.ok(&["compose", "up", "-d"])?;
    project.write("compose.yaml", WITHOUT_OLD)?;
    let up = project.ok(&["compose", "up", "-d"])?;
    assert_eq!(
        up.err,
        "WARN[0000] Found orphan containers ([or-old-1]) for this project. If you removed or renamed this \
         service in your compose file, you can run this command with the --remove-orphans flag to clean it \
         up.\n Container or-web-1  Running\n"
    );
    // `up web` names one service: the others of the file are not orphans.
    project.write("compose.yaml", WITH_OLD)?;
    let named = project.ok(&["compose", "up", "-d", "web"])?;
    ensure!(!named.err.contains("orphan"), "{named:?}");
    project.write("compose.yaml", WITHOUT_OLD)?;
    let down = project.ok(&["compose", "down", "-t", "1"])?;
    assert_eq!(
        down.err,
        " Container or-web-1  Stopping\n Container or-web-1  Stopped\n Container or-web-1  Removing\n \
         Container or-web-1  Removed\n Network or_default  Resource is still in use\n"
    );
    let down = project.ok(&["compose", "down", "-t", "1", "--remove-orphans"])?;
    assert_eq!(
        down.err,
        " Container or-old-1  Stopping\n Container or-old-1  Stopped\n Container or-old-1  Removing\n \
         Container or-old-1  Removed\n Network or_default  Removing\n Network or_default  Removed\n"
    );
    ensure!(project.ok(&["ps", "-aq"])?.out.is_empty());
    // `up --remove-orphans` removes them before it starts the rest.
    project.write("compose.yaml", WITH_OLD)?;
    project.ok(&["compose", "up", "-d"])?;
    project.write("compose.yaml", WITHOUT_OLD)?;
    let up = project.ok(&["compose", "up", "-d", "--remove-orphans"])?;
    assert_eq!(
        up.err,
        " Container or-old-1  Stopping\n Container or-old-1  Stopped\n Container or-old-1  Removing\n \
         Container or-old-1  Removed\n Container or-web-1  Running\n"
    );
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

/// Compose's plain progress (`--progress plain`, `--ansi never`, or piped): one line per event as its plain writer
/// prints it (`pkg/progress/plain.go`: `fmt.Fprintln("", ID, "", StatusText)`), in the order Compose emits
/// them (`pkg/compose/create.go`, `convergence.go`, `start.go`, `stop.go`, `down.go`); `quiet` prints none; a
/// value Compose does not know is its error, and `json` is refused (not built).
#[test]
fn plain_progress_prints_composes_events_one_per_line() -> Result<()> {
    let Some(server) = server("compose-plain", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(
        &server,
        "compose-plain",
        "name: plain\nservices:\n  web:\n    image: busybox\n    command: [sleep, \"600\"]\n",
    )?;
    let up = project.ok(&["compose", "--progress", "plain", "up", "-d"])?;
    assert_eq!(
        up.err,
        " web  Pulling\n web  Pulled\n Network plain_default  Creating\n Network plain_default  Created\n \
         Container plain-web-1  Creating\n Container plain-web-1  Created\n Container plain-web-1  Starting\n \
         Container plain-web-1  Started\n"
    );
    let stop = project.ok(&["compose", "--ansi", "never", "stop"])?;
    assert_eq!(
        stop.err,
        " Container plain-web-1  Stopping\n Container plain-web-1  Stopped\n"
    );
    let start = project.ok(&["compose", "--progress=plain", "start"])?;
    assert_eq!(
        start.err,
        " Container plain-web-1  Starting\n Container plain-web-1  Started\n"
    );
    let failed = project.docker(&["compose", "--progress", "fancy", "down"])?;
    assert_eq!(
        (failed.code, failed.err.as_str()),
        (1, "unsupported --progress value \"fancy\"\n")
    );
    let json = project.docker(&["compose", "--progress", "json", "down"])?;
    ensure!(
        json.code == 1 && json.err.contains("--progress json is not supported here"),
        "{json:?}"
    );
    let down = project.ok(&["compose", "--progress", "plain", "down"])?;
    assert_eq!(
        down.err,
        " Container plain-web-1  Stopping\n Container plain-web-1  Stopped\n Container plain-web-1  Removing\n \
         Container plain-web-1  Removed\n Network plain_default  Removing\n Network plain_default  Removed\n"
    );
    let quiet_up = project.ok(&["compose", "--progress", "quiet", "up", "-d"])?;
    assert_eq!(quiet_up.err, "");
    project.ok(&["compose", "down"])?;
    Ok(())
}
