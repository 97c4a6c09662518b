//! `docker events` natively through the real `slipway docker` against a real server with real runc. Expected
//! texts: docker/cli `cli/command/system/events.go` (the line: nine-digit time, type, action, ID, attributes
//! sorted; `--format`), moby `daemon/events.go` (a container's attributes: labels, `image`, `name`),
//! `daemon/monitor.go` (`die`: `exitCode`, `execDuration`), `daemon/kill.go` (`kill`: `signal` as a number),
//! `daemon/stop.go` (`kill` 15, then 9 after the timeout, `stop`), `daemon/events/filter.go` (filters),
//! `api/server/router/system/system_routes.go` (`since`/`until` and their error), docker/cli `opts.FilterOpt`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::commands::{server, Cli};
use crate::support::server::slipway_bin;

/// A line without its time, which must be docker's nine-digit RFC 3339 in UTC.
fn without_time(line: &str) -> Result<String> {
    let (time, rest) = line.split_once(' ').context("no time")?;
    ensure!(
        time.len() == 30 && time.ends_with('Z') && time.as_bytes()[19] == b'.',
        "time {time:?} in {line:?}"
    );
    Ok(rest.to_string())
}

/// Past the current whole second: `--until 0s` is now in whole seconds, as docker's client sends it.
fn next_second() {
    std::thread::sleep(Duration::from_millis(1100));
}

/// What `docker events ARGS` printed, each line without its time.
fn events(cli: &Cli, args: &[&str]) -> Result<Vec<String>> {
    let mut all = vec!["events"];
    all.extend_from_slice(args);
    cli.ok(&all)?.lines().map(without_time).collect()
}

#[test]
fn a_run_stop_and_rm_are_dockers_events_in_order_filtered_and_formatted_as_docker_does() -> Result<()> {
    let Some(server) = server("events-life", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let id = cli.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-l",
        "tier=front",
        "busybox",
        "sleep",
        "300",
    ])?;
    let id = id.trim();
    // busybox's sleep is PID 1: SIGTERM does nothing, SIGKILL ends it after the timeout.
    cli.ok(&["stop", "-t", "1", "web"])?;
    cli.ok(&["rm", "web"])?;
    next_second();

    let past = ["--since", "5m", "--until", "0s"];
    let lines = events(&cli, &[&past[..], &["--filter", "type=container"]].concat())?;
    let attrs = "image=busybox, name=web";
    ensure!(lines.len() == 7, "{lines:#?}");
    assert_eq!(lines[0], format!("container create {id} ({attrs}, tier=front)"));
    assert_eq!(lines[1], format!("container start {id} ({attrs}, tier=front)"));
    assert_eq!(
        lines[2],
        format!("container kill {id} ({attrs}, signal=15, tier=front)")
    );
    assert_eq!(
        lines[3],
        format!("container kill {id} ({attrs}, signal=9, tier=front)")
    );
    let die = format!("container die {id} (execDuration=");
    ensure!(
        lines[4].starts_with(&die) && lines[4].ends_with(&format!(", exitCode=137, {attrs}, tier=front)")),
        "{}",
        lines[4]
    );
    assert_eq!(lines[5], format!("container stop {id} ({attrs}, tier=front)"));
    assert_eq!(lines[6], format!("container destroy {id} ({attrs}, tier=front)"));

    // Filters, as moby's: one action, one container by name (or ID prefix), one type, a label.
    let starts = events(&cli, &[&past[..], &["--filter", "event=start"]].concat())?;
    assert_eq!(starts, [lines[1].clone()]);
    let dies = events(
        &cli,
        &[&past[..], &["-f", "container=web", "-f", "event=die"]].concat(),
    )?;
    assert_eq!(dies, [lines[4].clone()]);
    assert_eq!(
        events(
            &cli,
            &[&past[..], &["-f", &format!("container={}", &id[..12])]].concat()
        )?
        .len(),
        7
    );
    assert!(events(&cli, &[&past[..], &["-f", "type=network"]].concat())?.is_empty());
    assert!(events(&cli, &[&past[..], &["-f", "label=tier=back"]].concat())?.is_empty());

    // --format: a template over the message's Go fields; json is docker 28's message, legacy fields included.
    let formatted = cli.ok(&[
        &["events"][..],
        &past,
        &[
            "-f",
            "event=start",
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}} {{.Status}}",
        ],
    ]
    .concat())?;
    assert_eq!(formatted, "start web start\n");
    let json = cli.ok(&[&["events"][..], &past, &["-f", "event=die", "--format", "json"]].concat())?;
    let message: serde_json::Value = serde_json::from_str(json.trim())?;
    assert_eq!(message["status"], "die");
    assert_eq!(message["id"], id);
    assert_eq!(message["from"], "busybox");
    assert_eq!(message["Type"], "container");
    assert_eq!(message["Actor"]["Attributes"]["exitCode"], "137");
    assert_eq!(message["scope"], "local");
    ensure!(
        message["timeNano"].as_i64().unwrap_or(0) / 1_000_000_000 == message["time"].as_i64().unwrap_or(-1)
    );
    let keys: Vec<&str> = json
        .split("\":")
        .map(|k| k.rsplit('"').next().unwrap_or(""))
        .collect();
    let order = [
        "status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano",
    ];
    ensure!(order.iter().all(|k| keys.contains(k)), "{json}");

    // --since and --until: nothing after now, nothing before a minute ago once the window is closed.
    assert!(events(&cli, &["--since", "0s", "--until", "0s"])?.is_empty());
    let backwards = cli.docker(&["events", "--since", "0s", "--until", "5m"])?;
    ensure!(
        backwards.code == 1
            && backwards
                .err
                .starts_with("Error response from daemon: `since` time (")
            && backwards.err.contains(") cannot be after `until` time ("),
        "{backwards:?}"
    );
    cli.fails(
        &["events", "-f", "type"],
        125,
        "invalid argument \"type\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n\
         See 'docker events --help'.\n",
    )?;
    cli.fails(
        &["events", "--since", "soon"],
        1,
        "failed to parse value as time or duration: \"soon\"\n",
    )?;

    // Another session sees none of it.
    let other = Cli::new(&server)?;
    assert!(events(&other, &past)?.is_empty());
    Ok(())
}

/// `slipway docker events ARGS` running, its output lines collected as they come.
struct Following {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Following {
    fn start(server_url: &str, session: &str, args: &[&str]) -> Result<Following> {
        let mut child = Command::new(slipway_bin())
            .args(["docker", "--host", server_url, "events"])
            .args(args)
            .env("SLIPWAY_SESSION", session)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (stdout, sink) = (child.stdout.take().context("stdout")?, lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Ok(Following { child, lines })
    }

    fn wait_for(&self, text: &str) -> Result<()> {
        let start = Instant::now();
        while !self.lines.lock().unwrap().iter().any(|l| l.contains(text)) {
            ensure!(
                start.elapsed() < Duration::from_secs(60),
                "no {text:?} in {:?}",
                self.lines
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

#[test]
fn docker_events_follows_until_ctrl_c_or_until_its_until() -> Result<()> {
    let Some(server) = server("events-follow", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let mut following = Following::start(&server.url, cli.session(), &["--filter", "event=start"])?;
    let bounded = Following::start(
        &server.url,
        cli.session(),
        &["--until", "-15s", "-f", "type=container"],
    )?;
    // The streams are open before the container runs (nothing is replayed without --since).
    std::thread::sleep(Duration::from_millis(1500));
    cli.ok(&["run", "--rm", "--name", "once", "busybox", "true"])?;
    following.wait_for("container start ")?;
    following.wait_for("name=once")?;
    ensure!(
        following.child.try_wait()?.is_none(),
        "it follows on after an event"
    );
    // Ctrl-C: SIGINT, as a terminal sends it, ends it as it ends docker.
    let sent = Command::new("kill")
        .args(["-INT", &following.child.id().to_string()])
        .status()?;
    ensure!(sent.success());
    let status = following.child.wait()?;
    use std::os::unix::process::ExitStatusExt;
    ensure!(
        status.signal() == Some(2) || status.code() == Some(130),
        "{status:?}"
    );
    assert_eq!(
        following.lines.lock().unwrap().len(),
        1,
        "only the start: {:?}",
        following.lines
    );

    // With --until in the future: every event until then, then it ends by itself.
    let mut bounded = bounded;
    let status = bounded.child.wait()?;
    ensure!(status.success(), "{status:?}");
    let lines = bounded.lines.lock().unwrap().clone();
    let actions: Vec<&str> = lines.iter().filter_map(|l| l.split(' ').nth(2)).collect();
    ensure!(actions == ["create", "start", "die", "destroy"], "{lines:#?}");
    Ok(())
}

#[test]
fn a_sessions_events_are_bounded_and_only_image_events_come_from_the_client() -> Result<()> {
    let Some(server) = server("events-ring", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let url = format!("{}{}", server.url, slipway::api::paths::EVENTS);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let post = |body: serde_json::Value| {
            http.post(&url)
                .header(slipway::api::SESSION_HEADER, cli.session())
                .json(&body)
                .send()
        };
        for i in 0..300 {
            let event = serde_json::json!({
                "Type": "image", "Action": "tag",
                "Actor": {"ID": format!("sha256:{i:064}"), "Attributes": {"name": format!("learner/app:v{i}")}}
            });
            let answer = post(event).await?;
            ensure!(answer.status() == 201, "{}", answer.text().await?);
        }
        let forged = serde_json::json!({"Type": "container", "Action": "start", "Actor": {"ID": "x", "Attributes": {}}});
        let refused = post(forged).await?;
        ensure!(refused.status() == 400, "{}", refused.status());
        Ok(())
    })?;
    next_second();
    let kept = events(&cli, &["--since", "1h", "--until", "0s"])?;
    // 256 events a session: the oldest 44 went.
    assert_eq!(kept.len(), 256);
    assert_eq!(
        kept[0],
        format!("image tag sha256:{:064} (name=learner/app:v44)", 44)
    );
    assert!(kept.iter().all(|l| l.starts_with("image tag ")));
    Ok(())
}

/// The learner types `docker events` in the page's terminal: the events so far with `--since`/`--until`, then
/// a following `docker events` that prints a line as it happens and stops on Ctrl-C.
#[tokio::test(flavor = "multi_thread")]
async fn the_learner_reads_and_follows_events_in_the_pages_terminal() {
    use crate::terminal_keys::{keys, on_a_page_with_busybox, CTRL_C, ENTER};
    on_a_page_with_busybox(
        "the_learner_reads_and_follows_events_in_the_pages_terminal",
        "term-events",
        |page, url| async move {
            page.goto(&url).await?;
            page.terminal_command("docker run --name hello busybox echo hi", "hi")
                .await?;
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let before = page.text_of("Terminal output").await?.len();
            let past = "docker events --since 5m --until 0s --filter type=container";
            let new = page.terminal_command(past, "container die").await?;
            let lines: Vec<String> = new
                .lines()
                .filter(|l| l.contains(" container "))
                .map(str::to_string)
                .collect();
            let rest: Vec<String> = lines.iter().map(|l| without_time(l)).collect::<Result<_>>()?;
            let id = rest
                .first()
                .and_then(|l| l.split(' ').nth(2))
                .unwrap_or_default()
                .to_string();
            ensure!(id.len() == 64, "{new}");
            let attrs = "image=busybox, name=hello";
            assert_eq!(
                rest[..2],
                [
                    format!("container create {id} ({attrs})"),
                    format!("container start {id} ({attrs})")
                ]
            );
            ensure!(
                rest[2].starts_with(&format!("container die {id} (execDuration=")),
                "{new}"
            );
            ensure!(rest[2].ends_with(&format!(", exitCode=0, {attrs})")), "{new}");
            ensure!(page.text_of("Terminal output").await?.len() > before);

            // Following: a line as the container starts again (started from outside the page), then Ctrl-C.
            let before = page.text_of("Terminal output").await?.len();
            keys(&page, &format!("docker events --filter event=start{ENTER}")).await?;
            page.wait_for_text("Terminal output", "the command line", |t| {
                t.get(before..).is_some_and(|n| n.contains("event=start"))
            })
            .await?;
            tokio::time::sleep(Duration::from_millis(1000)).await;
            let session = page
                .client
                .execute("return sessionStorage.getItem('slipway-session');", vec![])
                .await?;
            let started = Command::new(slipway_bin())
                .args(["docker", "--host", &url, "start", "hello"])
                .env("SLIPWAY_SESSION", session.as_str().unwrap_or_default())
                .stdin(Stdio::null())
                .output()?;
            ensure!(started.status.success(), "{started:?}");
            page.wait_for_text(
                "Terminal output",
                "the start event, printed as it happened",
                |t| {
                    t.get(before..)
                        .is_some_and(|n| n.contains(&format!("container start {id} ({attrs})")))
                },
            )
            .await?;
            let input = page.by_name("Terminal input").await?;
            ensure!(
                input.attr("aria-busy").await?.as_deref() == Some("true"),
                "still following"
            );
            keys(&page, CTRL_C).await?;
            page.wait_for_text("Terminal output", "^C and a new prompt", |t| t.ends_with("^C\n$"))
                .await?;
            page.wait_terminal_idle().await?;
            page.terminal_command("docker ps -a", "hello").await?;
            Ok(())
        },
    )
    .await;
}
