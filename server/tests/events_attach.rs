//! The order of an attached `docker run`'s events, through the real interpreter, server and runc. Docker's CLI
//! attaches to what it runs, then starts it (docker/cli `cli/command/container/run.go`: `attachContainer` before
//! `ContainerStart`, with or without `-i`/`-t`), so dockerd 28 logs the container's `attach` (moby
//! `daemon/attach.go`) between its `create` and the start's network `connect` and `start`
//! (`daemon/container_operations.go`, `daemon/start.go`); `docker run -d` attaches to nothing.

use std::cell::RefCell;
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};
use futures_util::SinkExt;
use slipway::api::{AttachFrame, SessionTransport};
use slipway::cli::context::CommandContext;
use slipway::cli::credentials::CredentialStore;
use slipway::cli::outcome::Step;
use tokio::task::block_in_place;
use tokio_tungstenite::tungstenite::Message;

use crate::commands::{server, Cli};
use crate::events::{so_far, until_event};

/// The lines of `lines` about container `id` (its own events, and the networks' that name it), without times.
fn about<'l>(lines: &'l [String], id: &str) -> Vec<&'l str> {
    lines
        .iter()
        .map(String::as_str)
        .filter(|l| l.contains(id))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_run_attached_logs_its_attach_before_its_start_as_docker_does() -> Result<()> {
    let Some(server) = block_in_place(|| server("events-run-attach", Path::new("/nonexistent")))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let run = |args: &[&str]| block_in_place(|| cli.ok(args));
    run(&["pull", "-q", "busybox"])?;
    let bridge: serde_json::Value = serde_json::from_str(&run(&["network", "inspect", "bridge"])?)?;
    let bridge = bridge[0]["Id"].as_str().context("the bridge's Id")?.to_string();
    let all = ["-f", "type=container", "-f", "type=network"];

    // Natively, `docker run` without `-d`: its output followed from the start.
    assert_eq!(run(&["run", "--name", "fg", "busybox", "echo", "hi"])?, "hi\n");
    let id = run(&["inspect", "-f", "{{.Id}}", "fg"])?.trim().to_string();
    let lines = block_in_place(|| so_far(&cli, &all))?;
    let mine = about(&lines, &id);
    let attrs = "image=busybox, name=fg";
    let connect = format!("network connect {bridge} (container={id}, name=bridge, type=bridge)");
    assert_eq!(
        mine[..4],
        [
            format!("container create {id} ({attrs})"),
            format!("container attach {id} ({attrs})"),
            connect,
            format!("container start {id} ({attrs})"),
        ]
    );
    let rest: Vec<&str> = mine[4..].iter().filter_map(|l| l.split(' ').nth(1)).collect();
    ensure!(rest == ["die", "disconnect"], "{mine:#?}");

    // Detached: nothing attaches, `create` then `start`.
    let detached = run(&["run", "-d", "--name", "bg", "busybox", "true"])?;
    let lines = block_in_place(|| so_far(&cli, &["-f", "container=bg"]))?;
    let actions: Vec<&str> = lines.iter().filter_map(|l| l.split(' ').nth(1)).collect();
    ensure!(
        actions.starts_with(&["create", "start"]) && !actions.contains(&"attach"),
        "{}: {lines:#?}",
        detached.trim()
    );

    // `docker run -it` as the page's terminal runs it: the interpreter creates and starts the container, then
    // the terminal opens its attach WebSocket and sizes the TTY. One `attach`, before the `start`.
    let http = crate::registry::client::Reqwest::new();
    let transport = SessionTransport::new(&http, cli.session(), &server.url);
    let credentials = RefCell::new(CredentialStore::default());
    let host = server.url.trim_start_matches("http://");
    let ctx = CommandContext {
        session: Some(cli.session()),
        ..CommandContext::new(&transport, &server.url, host, &credentials)
    };
    let Step::Attach(inv) = slipway::cli::interpret::plan_line("docker run -it --name tty busybox sh") else {
        bail!("docker run -it attaches the terminal");
    };
    let target = slipway::cli::attach::start(&ctx, &inv, Some([24, 80]))
        .await
        .map_err(|refused| anyhow!("{refused:?}"))?;
    let url = format!("{}{}", server.url.replacen("http", "ws", 1), target.path);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
    let resize = AttachFrame::Resize { cols: 100, rows: 30 }.to_text();
    socket.send(Message::Text(resize.into())).await?;
    let lines = until_event(&cli, &["-f", "container=tty"], "container resize").await?;
    socket.close(None).await?;
    let id = run(&["inspect", "-f", "{{.Id}}", "tty"])?.trim().to_string();
    let attrs = "image=busybox, name=tty";
    assert_eq!(
        lines,
        [
            format!("container create {id} ({attrs})"),
            format!("container attach {id} ({attrs})"),
            format!("container start {id} ({attrs})"),
            format!("container resize {id} (height=30, image=busybox, name=tty, width=100)"),
        ]
    );

    // A later `docker attach` to it is an attach of its own, logged as it opens.
    let Step::Attach(again) = slipway::cli::interpret::plan_line("docker attach tty") else {
        bail!("docker attach attaches the terminal");
    };
    let target = slipway::cli::attach::start(&ctx, &again, None)
        .await
        .map_err(|refused| anyhow!("{refused:?}"))?;
    let url = format!("{}{}", server.url.replacen("http", "ws", 1), target.path);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
    let attaches = ["-f", "container=tty", "-f", "event=attach"];
    let start = std::time::Instant::now();
    loop {
        let lines = block_in_place(|| so_far(&cli, &attaches))?;
        if lines.len() == 2 {
            break;
        }
        ensure!(start.elapsed() < std::time::Duration::from_secs(30), "{lines:#?}");
    }
    socket.close(None).await?;
    run(&["rm", "-f", "fg", "bg", "tty"])?;
    Ok(())
}
