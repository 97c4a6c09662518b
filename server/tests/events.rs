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
    let networks = events(&cli, &[&past[..], &["-f", "type=network"]].concat())?;
    let actions: Vec<&str> = networks.iter().filter_map(|l| l.split(' ').nth(1)).collect();
    ensure!(
        actions == ["connect", "disconnect"],
        "the default bridge: {networks:#?}"
    );
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
    // `docker run` without `-d` attaches before it starts, as docker's CLI does.
    ensure!(
        actions == ["create", "attach", "start", "die", "destroy"],
        "{lines:#?}"
    );
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
            // The page's `docker run` follows the container from its start: attached first, as docker's CLI.
            assert_eq!(
                rest[..3],
                [
                    format!("container create {id} ({attrs})"),
                    format!("container attach {id} ({attrs})"),
                    format!("container start {id} ({attrs})")
                ]
            );
            ensure!(
                rest[3].starts_with(&format!("container die {id} (execDuration=")),
                "{new}"
            );
            ensure!(rest[3].ends_with(&format!(", exitCode=0, {attrs})")), "{new}");
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

/// A `docker CMD` run in `dir` (the project's files natively) that must succeed: its stdout.
fn ok_in(cli: &Cli, dir: &Path, args: &[&str]) -> Result<String> {
    let ran = cli.docker_in(dir, args)?;
    ensure!(ran.code == 0, "docker {args:?}: {ran:?}");
    Ok(ran.out)
}

/// The event lines (without times) of the session so far.
pub(crate) fn so_far(cli: &Cli, filter: &[&str]) -> Result<Vec<String>> {
    next_second();
    events(cli, &[&["--since", "10m", "--until", "0s"][..], filter].concat())
}

/// The events dockerd 28 logs beside the life cycle (moby `daemon/top_unix.go` `top`, `daemon/update.go`
/// `update`, `daemon/archive_unix.go` `archive-path`/`extract-to-dir`, `daemon/export.go` `export`,
/// `daemon/commit.go` `commit` after the image's `tag`, `daemon/restart.go` `restart` after the stop's and the
/// start's own, `daemon/container_operations.go` a network's `connect` before `start` and `disconnect` after
/// `die`, the volume service's `create` of a `run -v` volume, `daemon/prune.go` a pruned network's `destroy`,
/// the image store's `push`, `save`, `load`, and a build's `tag`), through the real CLI, server and runc.
#[test]
fn top_update_cp_export_commit_restart_networks_volumes_and_images_are_dockers_events() -> Result<()> {
    let Some(server) = server("events-more", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let dir = crate::support::TempDir::new("events-more-project");
    let dir = dir.path();
    cli.ok(&["pull", "-q", "busybox"])?;
    let run: Vec<&str> = "run -d --name box -v data:/data busybox sleep 300"
        .split(' ')
        .collect();
    let id = cli.ok(&run)?;
    let id = id.trim();
    let bridge: serde_json::Value = serde_json::from_str(&cli.ok(&["network", "inspect", "bridge"])?)?;
    let bridge = bridge[0]["Id"].as_str().context("the bridge's Id")?.to_string();
    let attrs = "image=busybox, name=box";
    let connect = format!("network connect {bridge} (container={id}, name=bridge, type=bridge)");
    assert_eq!(
        so_far(&cli, &["-f", "type=container", "-f", "type=network", "-f", "type=volume"])?,
        [
            "volume create data (driver=local)".to_string(),
            format!("container create {id} ({attrs})"),
            connect.clone(),
            format!("volume mount data (container={id}, destination=/data, driver=local, propagation=, read/write=true)"),
            format!("container start {id} ({attrs})"),
        ]
    );

    cli.ok(&["top", "box"])?;
    cli.ok(&["update", "-m", "64m", "box"])?;
    ok_in(&cli, dir, &["cp", "box:/etc/hostname", "hostname"])?;
    std::fs::write(dir.join("note.txt"), "hi\n")?;
    ok_in(&cli, dir, &["cp", "note.txt", "box:/tmp/"])?;
    ok_in(&cli, dir, &["export", "-o", "box.tar", "box"])?;
    let image = cli.ok(&["commit", "-m", "a note", "box", "learner/snap:v1"])?;
    let image = image.trim();
    cli.ok(&["restart", "-t", "1", "box"])?;
    let actions: Vec<String> = so_far(&cli, &["-f", "type=container"])?
        .iter()
        .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "start",
            "top",
            "update",
            "archive-path",
            "extract-to-dir",
            "export",
            // commit pauses a running container meanwhile, as dockerd's `containerPause` logs it.
            "pause",
            "unpause",
            "commit",
            "kill",
            "kill",
            "die",
            "stop",
            "start",
            "restart"
        ]
    );
    let commit = so_far(&cli, &["-f", "event=commit"])?;
    assert_eq!(
        commit,
        [format!(
            "container commit {id} (comment=a note, image=busybox, imageID={image}, imageRef=learner/snap:v1, name=box)"
        )]
    );
    let tagged = so_far(&cli, &["-f", "type=image", "-f", "event=tag"])?;
    assert_eq!(tagged, [format!("image tag {image} (name=learner/snap:v1)")]);
    let disconnect = format!("network disconnect {bridge} (container={id}, name=bridge, type=bridge)");
    assert_eq!(
        so_far(&cli, &["-f", "type=network"])?,
        [connect.clone(), disconnect.clone(), connect.clone()],
        "connected at each start, released at the exit"
    );

    // A pruned network's destroy; a volume that already exists is not created again; `--network none` is on no
    // network here (dockerd logs a `connect` to its `none` network: not recorded).
    cli.ok(&["rm", "-f", "box"])?;
    let net = cli.ok(&["network", "create", "spare"])?;
    cli.ok(&["network", "prune", "-f"])?;
    cli.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "--network",
        "none",
        "busybox",
        "true",
    ])?;
    let networks = so_far(&cli, &["-f", "type=network"])?;
    ensure!(
        networks.ends_with(&[
            disconnect,
            format!("network create {} (name=spare, type=bridge)", net.trim()),
            format!("network destroy {} (name=spare, type=bridge)", net.trim()),
        ]),
        "no network for --network none: {networks:#?}"
    );
    let volumes = so_far(&cli, &["-f", "type=volume", "-f", "event=create"])?;
    assert_eq!(volumes, ["volume create data (driver=local)"]);

    // A user network: connected as its container starts (not when a stopped one is connected), released at exit.
    let back = cli.ok(&["network", "create", "back"])?;
    let back = back.trim();
    let later = cli.ok(&["create", "--name", "later", "busybox", "true"])?;
    let later = later.trim();
    cli.ok(&["network", "connect", "back", "later"])?;
    cli.ok(&["start", "later"])?;
    cli.ok(&["wait", "later"])?;
    let on_back = format!("{back} (container={later}, name=back, type=bridge)");
    assert_eq!(
        so_far(&cli, &["-f", "type=network", "-f", "network=back"])?,
        [
            format!("network create {back} (name=back, type=bridge)"),
            format!("network connect {on_back}"),
            format!("network disconnect {on_back}"),
        ]
    );

    // The image store's events, as the interpreter saw each command change it.
    let busybox_id = cli.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"])?;
    let busybox_id = busybox_id.trim();
    ok_in(&cli, dir, &["save", "-o", "busybox.tar", "busybox"])?;
    ok_in(&cli, dir, &["load", "-q", "-i", "busybox.tar"])?;
    cli.ok(&["tag", "busybox", "learner/pushed:v1"])?;
    cli.ok(&["push", "-q", "learner/pushed:v1"])?;
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nLABEL made=here\n")?;
    ok_in(&cli, dir, &["build", "-q", "-t", "learner/built:v1", "."])?;
    let built = cli.ok(&["image", "inspect", "-f", "{{.Id}}", "learner/built:v1"])?;
    let images = so_far(&cli, &["-f", "type=image"])?;
    let want = [
        format!("image save {busybox_id} (name={busybox_id})"),
        format!("image load {busybox_id} (name={busybox_id})"),
        format!("image tag {busybox_id} (name=learner/pushed:v1)"),
        "image push learner/pushed:v1 (name=learner/pushed)".to_string(),
        format!("image tag {} (name=learner/built:v1)", built.trim()),
    ];
    ensure!(images.ends_with(&want), "{images:#?}");
    Ok(())
}

/// Waits until the session's kept events hold a line containing `text`: the lines.
pub(crate) async fn until_event(cli: &Cli<'_>, filter: &[&str], text: &str) -> Result<Vec<String>> {
    let start = Instant::now();
    loop {
        let lines = tokio::task::block_in_place(|| so_far(cli, filter))?;
        if lines.iter().any(|l| l.contains(text)) {
            return Ok(lines);
        }
        ensure!(
            start.elapsed() < Duration::from_secs(60),
            "no {text:?} in {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `docker run -dit --name shell busybox sh` (busybox pulled first): its id.
fn run_shell(cli: &Cli<'_>) -> Result<String> {
    tokio::task::block_in_place(|| {
        cli.ok(&["pull", "-q", "busybox"])?;
        cli.ok(&["run", "-dit", "--name", "shell", "busybox", "sh"])
    })
}

/// `attach` as the attach WebSocket opens (`daemon/attach.go`), `resize` with `height`/`width` as a TTY takes a
/// size (`daemon/resize.go`), `health_status: healthy|unhealthy` as the check's status changes
/// (`daemon/health.go` `handleProbeResult`), `oom` before the `die` of a container its memory limit killed
/// (`daemon/monitor.go`).
#[tokio::test(flavor = "multi_thread")]
async fn attach_resize_health_status_and_oom_are_dockers_events() -> Result<()> {
    use futures_util::SinkExt;
    use slipway::api::{paths, AttachFrame, Companion, SessionTransport};
    use tokio_tungstenite::tungstenite::Message;

    let Some(server) = tokio::task::block_in_place(|| server("events-attach", Path::new("/nonexistent")))?
    else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let run = |args: &[&str]| tokio::task::block_in_place(|| cli.ok(args));
    let id = run_shell(&cli)?;
    let id = id.trim();
    let http = crate::registry::client::Reqwest::new();
    let transport = SessionTransport::new(&http, cli.session(), &server.url);
    let path = Companion::new(&transport, &server.url)
        .attach_path(&paths::container_attach_ticket(id))
        .await?;
    let url = format!("{}{}", server.url.replacen("http", "ws", 1), path);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
    let resize = AttachFrame::Resize { cols: 100, rows: 30 }.to_text();
    socket.send(Message::Text(resize.into())).await?;
    let attrs = "image=busybox, name=shell";
    let lines = until_event(&cli, &["-f", "container=shell"], "container resize").await?;
    socket.close(None).await?;
    let tail: Vec<&str> = lines.iter().map(String::as_str).skip(2).collect();
    assert_eq!(
        tail,
        [
            format!("container attach {id} ({attrs})"),
            format!("container resize {id} (height=30, image=busybox, name=shell, width=100)"),
        ]
    );

    // Healthy at the first passing probe, unhealthy once one fails (one retry).
    run(&[
        "run",
        "-d",
        "--name",
        "doc",
        "--health-cmd",
        "test ! -e /tmp/bad",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "300",
    ])?;
    let health = ["-f", "container=doc", "-f", "event=health_status"];
    until_event(&cli, &health, "health_status: healthy").await?;
    run(&["exec", "-d", "doc", "touch", "/tmp/bad"])?;
    let lines = until_event(&cli, &health, "health_status: unhealthy").await?;
    let actions: Vec<&str> = lines.iter().filter_map(|l| l.split(" (").next()).collect();
    ensure!(
        actions.len() == 2
            && actions[0].starts_with("container health_status: healthy ")
            && actions[1].starts_with("container health_status: unhealthy "),
        "{lines:#?}"
    );

    // A memory hog past its own limit: `oom`, then its `die` (137).
    let hog = tokio::task::block_in_place(|| {
        cli.docker(&[
            "run",
            "--name",
            "hog",
            "-m",
            "16m",
            "busybox",
            "sh",
            "-c",
            "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
        ])
    })?;
    ensure!(hog.code == 137 && !hog.out.contains("survived"), "{hog:?}");
    let lines = tokio::task::block_in_place(|| so_far(&cli, &["-f", "container=hog"]))?;
    let actions: Vec<&str> = lines.iter().filter_map(|l| l.split(' ').nth(1)).collect();
    ensure!(
        actions == ["create", "attach", "start", "oom", "die"],
        "{lines:#?}"
    );
    ensure!(lines[4].contains("exitCode=137"), "{lines:#?}");
    Ok(())
}

/// The detach keys (Ctrl-P Ctrl-Q) end an attach with `detach` (`daemon/attach.go`: the attach's copy ended by
/// the client's escape) and an exec's with `exec_detach` and its `execID` (`daemon/exec.go`); the processes keep
/// running. Through the protocol's client, as the page's terminal attaches.
#[tokio::test(flavor = "multi_thread")]
async fn detach_keys_end_an_attach_with_detach_and_an_exec_with_exec_detach() -> Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use slipway::api::{AttachFrame, SessionTransport};
    use slipway::cli::outcome::Step;
    use tokio_tungstenite::tungstenite::Message;

    let Some(server) = tokio::task::block_in_place(|| server("events-detach", Path::new("/nonexistent")))?
    else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let run = |args: &[&str]| tokio::task::block_in_place(|| cli.ok(args));
    let id = run_shell(&cli)?;
    let id = id.trim();
    let http = crate::registry::client::Reqwest::new();
    let transport = SessionTransport::new(&http, cli.session(), &server.url);
    let credentials = std::cell::RefCell::new(slipway::cli::credentials::CredentialStore::default());
    let ctx = slipway::cli::context::CommandContext {
        session: Some(cli.session()),
        ..slipway::cli::context::CommandContext::new(&transport, &server.url, "", &credentials)
    };
    for line in ["docker attach shell", "docker exec -it shell sh"] {
        let Step::Attach(inv) = slipway::cli::interpret::plan_line(line) else {
            anyhow::bail!("{line} attaches the terminal");
        };
        let Ok(target) = slipway::cli::attach::start(&ctx, &inv, None).await else {
            anyhow::bail!("{line} was refused");
        };
        let url = format!("{}{}", server.url.replacen("http", "ws", 1), target.path);
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
        socket.send(Message::Binary(vec![0x10, 0x11].into())).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, socket.next()).await? {
                Some(Ok(Message::Text(text)))
                    if AttachFrame::from_text(&text) == Some(AttachFrame::Detached) =>
                {
                    break
                }
                Some(Ok(_)) => {}
                other => anyhow::bail!("{line}: no detached frame: {other:?}"),
            }
        }
    }
    let lines = until_event(&cli, &["-f", "container=shell"], "exec_detach").await?;
    let attrs = "image=busybox, name=shell";
    ensure!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("container detach {id} ({attrs})"))),
        "{lines:#?}"
    );
    let exec_detach = lines.iter().find(|l| l.contains("container exec_detach "));
    let exec_detach = exec_detach.map(String::as_str).unwrap_or_default();
    ensure!(
        exec_detach.contains(&format!("exec_detach {id} (execID="))
            && exec_detach.ends_with(&format!(", {attrs})")),
        "{lines:#?}"
    );
    // Detached, not ended: the shell still runs.
    let running = run(&["inspect", "-f", "{{.State.Running}}", "shell"])?;
    ensure!(running.trim() == "true", "{running:?}");
    run(&["rm", "-f", "shell"])?;
    Ok(())
}
