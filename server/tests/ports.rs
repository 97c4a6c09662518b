//! Published ports on a shared server and on a learner's own machine, through the real binary, runc and (for the
//! page) Chromium: `slipway serve --ports shared` makes `-p 8000:8000` each session's own port 8000 (nothing
//! listens on the machine, two learners never collide, each preview shows that learner's app), `--ports host`
//! (the default on loopback) keeps real host ports; `docker port`, `docker ps` and the `Preview:` line say where
//! the app is reached.

use std::process::{Command, Output};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::previews::preview_root;
use crate::support::browser::Browser;
use crate::support::server::{dist_dir, slipway_bin, with_busybox, Server};
use crate::support::TempDir;

/// A tiny web app: busybox httpd on `port` serving `text` as its index page.
fn app(text: &str, port: u16) -> String {
    format!("mkdir /w && echo '{text}' > /w/index.html && exec httpd -f -p {port} -h /w")
}

/// `slipway serve` with busybox imported and `args`; the built page only where a test drives it.
fn server_in(label: &str, dist: &std::path::Path, args: &[&str]) -> Result<Server> {
    let data = TempDir::new(label);
    with_busybox(&data)?;
    Server::start_in(data, dist, args)
}

fn server(label: &str, args: &[&str]) -> Result<Server> {
    server_in(label, std::path::Path::new("/nonexistent"), args)
}

/// `slipway docker --host URL ARGS...` in the session `session`.
fn docker(server: &Server, session: &str, args: &[&str]) -> Result<Output> {
    Command::new(slipway_bin())
        .env("SLIPWAY_SESSION", session)
        .args(["docker", "--host", &server.url])
        .args(args)
        .output()
        .context("spawn slipway docker")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The session's `docker ps` shows `want` (in its PORTS column).
fn ps_shows(server: &Server, session: &str, want: &str) -> Result<()> {
    let ps = text(&docker(server, session, &["ps"])?.stdout);
    ensure!(ps.contains(want), "{ps}");
    Ok(())
}

/// The TCP ports process `pid` listens on (IPv4 and IPv6), from its sockets' inodes in `/proc/net/tcp*`.
fn listening_ports(pid: u32) -> Result<Vec<u16>> {
    let mut inodes = std::collections::HashSet::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))?.flatten() {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')) {
                inodes.insert(inode.to_string());
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table)?.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is ADDR:PORT in hex, st 0A is LISTEN, the inode is the tenth field.
            let (Some(local), Some(&"0A"), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if inodes.contains(*inode) {
                let port = local.rsplit(':').next().unwrap_or_default();
                ports.push(u16::from_str_radix(port, 16)?);
            }
        }
    }
    Ok(ports)
}

/// GET `url` until its body holds `want` (the app inside may take a moment to listen); the last body.
async fn until_answers(http: &reqwest::Client, url: &str, want: &str) -> Result<String> {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(response) = http.get(url).send().await {
            last = response.text().await.unwrap_or_default();
            if last.contains(want) {
                return Ok(last);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("{url} never answered {want:?}; last: {last:?}")
}

#[tokio::test]
async fn two_learners_both_publish_8000_and_each_preview_shows_their_own_app() -> Result<()> {
    let server = server("ports-shared", &["--ports", "shared"])?;
    // The first learner through the API, as the page runs it.
    let ada = server.session_client()?;
    let created: Value = ada
        .post(format!("{}/api/containers?start=true", server.url))
        .json(
            &json!({"image": "busybox", "cmd": ["sh", "-c", app("hello from ada", 8000)],
            "publish": [{"host": 8000, "container": 8000}]}),
        )
        .send()
        .await?
        .json()
        .await?;
    let ada_id = created["id"].as_str().with_context(|| format!("{created}"))?;
    ensure!(
        created["ports"] == json!([{"host": 8000, "container": 8000}]),
        "{created}"
    );

    // The second learner natively: the same `-p 8000:8000` does not collide, and the preview link is printed.
    let bob = server.session()?;
    let script = app("hello from bob", 8000);
    let run = docker(
        &server,
        &bob,
        &[
            "run",
            "-d",
            "-p",
            "8000:8000",
            "busybox",
            "sh",
            "-c",
            script.as_str(),
        ],
    )?;
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    ensure!(run.status.success(), "{stdout}{stderr}");
    ensure!(stdout.trim().len() == 64, "only the id on stdout: {stdout:?}");
    let bob_link = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Preview: "))
        .with_context(|| format!("no preview link: {stderr:?}"))?;
    ensure!(bob_link.ends_with("/8000/"), "{bob_link}");

    let http = reqwest::Client::new();
    let ada_root = preview_root(&ada, &server.url, ada_id, 8000).await?;
    until_answers(&http, &ada_root, "hello from ada").await?;
    let bob_page = until_answers(&http, bob_link, "hello from bob").await?;
    ensure!(!bob_page.contains("ada"), "{bob_page}");
    ensure!(ada_root != bob_link, "one preview for two apps: {ada_root}");

    // Nothing of it listens on the machine: the server's only listeners are its own (the app's and the previews').
    let port_of = |url: &str| reqwest::Url::parse(url).ok().and_then(|u| u.port());
    let own = [port_of(&server.url), port_of(&ada_root)].map(Option::unwrap_or_default);
    let listening = listening_ports(server.pid())?;
    ensure!(
        listening.iter().all(|p| own.contains(p)),
        "the server listens on {listening:?}, its own are {own:?}"
    );

    // Each learner's `docker ps` shows their own port 8000, the docker way.
    ps_shows(&server, &bob, "0.0.0.0:8000->8000/tcp")?;
    Ok(())
}

#[tokio::test]
async fn in_host_mode_a_published_port_is_the_machines() -> Result<()> {
    // The default on loopback without --public-host: host mode.
    let server = server("ports-host", &[])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let session = server.session()?;
    let publish = format!("{port}:8000");
    let script = app("hello from the host", 8000);
    let args = [
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        publish.as_str(),
        "busybox",
        "sh",
        "-c",
        script.as_str(),
    ];
    let run = docker(&server, &session, &args)?;
    ensure!(run.status.success(), "{}{}", text(&run.stdout), text(&run.stderr));
    ensure!(!text(&run.stderr).contains("Preview:"), "{}", text(&run.stderr));
    until_answers(
        &reqwest::Client::new(),
        &format!("http://127.0.0.1:{port}/"),
        "hello from the host",
    )
    .await?;
    ensure!(
        listening_ports(server.pid())?.contains(&port),
        "the server holds no listener on {port}"
    );
    let answer = docker(&server, &session, &["port", "web", "8000"])?;
    ensure!(
        text(&answer.stdout) == format!("127.0.0.1:{port}\n"),
        "{answer:?}"
    );
    ps_shows(&server, &session, &format!("127.0.0.1:{port}->8000/tcp"))?;
    // The machine's port is the machine's: another session taking it gets docker's words, with the loopback.
    let taken = docker(
        &server,
        &server.session()?,
        &["run", "-d", "-p", publish.as_str(), "busybox", "sleep", "9"],
    )?;
    let stderr = text(&taken.stderr);
    ensure!(
        taken.status.code() == Some(125)
            && stderr.ends_with(&format!(
                "): Bind for 127.0.0.1:{port} failed: port is already allocated\n"
            )),
        "{stderr:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_learner_publishing_8000_twice_gets_dockers_error() -> Result<()> {
    let server = server("ports-twice", &["--ports", "shared"])?;
    let session = server.session()?;
    let run = |name: &str| {
        docker(
            &server,
            &session,
            &[
                "run",
                "-d",
                "--name",
                name,
                "-p",
                "8000:8000",
                "busybox",
                "sleep",
                "60",
            ],
        )
    };
    let first = run("one")?;
    ensure!(first.status.success(), "{}", text(&first.stderr));
    let second = run("two")?;
    let stderr = text(&second.stderr);
    ensure!(second.status.code() == Some(125), "{:?} {stderr}", second.status);
    ensure!(
        stderr.starts_with(
            "docker: Error response from daemon: failed to set up container networking: driver failed programming \
             external connectivity on endpoint two ("
        ) && stderr.ends_with("): Bind for 0.0.0.0:8000 failed: port is already allocated\n"),
        "{stderr:?}"
    );
    // Another learner's 8000 is theirs.
    let other = docker(
        &server,
        &server.session()?,
        &["run", "-d", "-p", "8000:8000", "busybox", "sleep", "60"],
    )?;
    ensure!(other.status.success(), "{}", text(&other.stderr));
    // Given back when its container goes.
    let removed = docker(&server, &session, &["rm", "-f", "one"])?;
    ensure!(removed.status.success(), "{}", text(&removed.stderr));
    let again = run("three")?;
    ensure!(again.status.success(), "{}", text(&again.stderr));
    Ok(())
}

#[tokio::test]
async fn docker_port_prints_what_docker_prints() -> Result<()> {
    let server = server("ports-cli", &["--ports", "shared"])?;
    let session = server.session()?;
    let run = docker(
        &server,
        &session,
        &[
            "run",
            "-d",
            "--name",
            "c",
            "-p",
            "8000:8000",
            "-p",
            "8080:80",
            "-p",
            "81",
            "busybox",
            "sleep",
            "60",
        ],
    )?;
    ensure!(run.status.success(), "{}", text(&run.stderr));
    let port = |args: &[&str]| -> Result<(String, String, Option<i32>)> {
        let out = docker(&server, &session, &[&["port"][..], args].concat())?;
        Ok((text(&out.stdout), text(&out.stderr), out.status.code()))
    };
    // `-p 81` got the learner's first port of docker's ephemeral range.
    let all = "80/tcp -> 0.0.0.0:8080\n81/tcp -> 0.0.0.0:32768\n8000/tcp -> 0.0.0.0:8000\n";
    ensure!(
        port(&["c"])? == (all.into(), String::new(), Some(0)),
        "{:?}",
        port(&["c"])?
    );
    for one in ["8000", "8000/tcp"] {
        ensure!(
            port(&["c", one])? == ("0.0.0.0:8000\n".into(), String::new(), Some(0)),
            "{one}"
        );
    }
    let unknown = port(&["c", "90/tcp"])?;
    ensure!(
        unknown
            == (
                String::new(),
                "Error: No public port '90/tcp' published for c\n".into(),
                Some(1)
            ),
        "{unknown:?}"
    );
    let too_many = port(&["c", "80", "81"])?;
    ensure!(
        too_many
            .1
            .starts_with("docker: 'docker port' requires at least 1 and at most 2 arguments"),
        "{too_many:?}"
    );
    ps_shows(
        &server,
        &session,
        "0.0.0.0:8000->8000/tcp, 0.0.0.0:8080->80/tcp, 0.0.0.0:32768->81/tcp",
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_shared_server_the_lessons_published_app_shows_in_the_preview() -> Result<()> {
    let server = server_in("ports-page", &dist_dir(), &["--ports", "shared"])?;
    let url = format!("{}/", server.url);
    let pid = server.pid();
    let browser = Browser::start().await?;
    browser
        .run(
            "on_a_shared_server_the_lessons_published_app_shows_in_the_preview",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("Open app.py").await?;
                // The lesson's step 6 with a busybox app in place of the built Python one: same port, same text.
                let line = format!(
                    "docker run -d --name web -p 8000:8000 busybox sh -c \"{}\"",
                    app("Hello from a container", 8000)
                );
                let printed = page.terminal_command(&line, "Preview: http://").await?;
                ensure!(printed.contains("/8000/"), "{printed}");
                let verdict =
                    crate::lesson::check_passes(&page, 6, "6. Publish the port and open the app").await?;
                ensure!(verdict.contains("port 8000"), "{verdict}");
                let body = page.frame_text("App preview").await?;
                ensure!(body.contains("Hello from a container"), "{body}");
                ensure!(
                    !listening_ports(pid)?.contains(&8000),
                    "the server listens on 8000"
                );
                let port = page.terminal_command("docker port web", "8000/tcp").await?;
                ensure!(port.contains("8000/tcp -> 0.0.0.0:8000"), "{port}");
                let ps = page
                    .terminal_command("docker ps", "0.0.0.0:8000->8000/tcp")
                    .await?;
                ensure!(ps.contains("0.0.0.0:8000->8000/tcp"), "{ps}");
                Ok(())
            },
        )
        .await
}
