//! `docker compose up -d`, `ps` and `down` through the real `slipway docker` in a project directory, against a
//! real server with real runc (issue 16): two busybox services where one fetches the other's page by service
//! name on the project's default network; a named volume that keeps its data across `down`/`up` and goes with
//! `down -v`; Compose's progress lines and `ps` table; and after `down` nothing of the project left on the server.
//! In the page, a learner types `docker compose up -d`, `docker compose ps` and `docker compose down`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};

use crate::commands::{server, Ran};
use crate::networks::leftovers;
use crate::support::browser::Browser;
use crate::support::project::{Project as PageProject, ProjectFile};
use crate::support::server::{dist_dir, slipway_bin, Server};
use crate::support::TempDir;

/// A Compose project directory with `compose.yaml`, and `slipway docker compose` run in it for one session.
pub(crate) struct Project<'s> {
    server: &'s Server,
    session: String,
    dir: TempDir,
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

    pub(crate) fn docker(&self, args: &[&str]) -> Result<Ran> {
        let output = Command::new(slipway_bin())
            .args(["docker", "--host", &self.server.url])
            .args(args)
            .current_dir(self.dir.path())
            .env("SLIPWAY_SESSION", &self.session)
            .env("SLIPWAY_AUTH_FILE", self.dir.path().join("auth.json"))
            .env_remove("COMPOSE_PROJECT_NAME")
            .stdin(Stdio::null())
            .output()?;
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
    fn logs_until(&self, name: &str, done: impl Fn(&str) -> bool) -> Result<String> {
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
    let refused = project.docker(&["compose", "up"])?;
    ensure!(
        refused.code == 1 && refused.err.contains("without -d"),
        "{refused:?}"
    );
    let up = project.ok(&["compose", "up", "-d"])?;
    assert_eq!(
        up.err,
        "[+] Pulling 1/1\n ✔ web  Pulled\n[+] Running 3/3\n ✔ Network app_default     Created\n \
         ✔ Container app-web-1     Started\n ✔ Container app-client-1  Started\n"
    );
    let fetched = project.logs_until("app-client-1", |out| out.contains("hello-from-web"))?;
    ensure!(fetched.contains(" 200 OK"), "{fetched}");
    // Up again: everything is there and running already.
    let again = project.ok(&["compose", "up", "-d"])?;
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
        "[+] Running 3/3\n ✔ Container app-client-1  Removed\n ✔ Container app-web-1     Removed\n \
         ✔ Network app_default     Removed\n"
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
        "[+] Running 3/3\n ✔ Network keep_default     Created\n ✔ Volume \"keep_data\"       Created\n \
         ✔ Container keep-keeper-1  Started\n"
    );
    project.logs_until("keep-keeper-1", |out| out.contains("runs: 1"))?;
    project.ok(&["compose", "-p", "keep", "down", "-t", "1"])?;
    ensure!(project.ok(&["volume", "ls", "-q"])?.out.contains("keep_data"));
    up("runs: 2")?;
    let down = project.ok(&["compose", "-p", "keep", "down", "-v", "-t", "1"])?;
    ensure!(down.err.contains(" ✔ Volume keep_data"), "{down:?}");
    ensure!(!project.ok(&["volume", "ls", "-q"])?.out.contains("keep_data"));
    up("runs: 1")?;
    project.ok(&["compose", "-p", "keep", "down", "-v", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const PAGE_WEB: &str =
    "services:\n  web:\n    image: busybox\n    command: [\"httpd\", \"-f\", \"-p\", \"80\"]\n";

/// The page's project is named `project` (its directory is `/project`): its containers are `project-web-1`.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_runs_compose_up_ps_and_down_in_the_page() {
    let Some(server) = server("compose-up-page", &dist_dir()).unwrap() else {
        return;
    };
    let project = PageProject::from_files([("compose.yaml", ProjectFile::new(PAGE_WEB))]).unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_learner_runs_compose_up_ps_and_down_in_the_page",
            |page| async move {
                page.goto(&url).await?;
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
                page.terminal_command("docker compose down -t 1", "Network project_default  Removed")
                    .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
    let left = leftovers(&server);
    assert!(left.is_empty(), "left after down: {left:?}");
}
