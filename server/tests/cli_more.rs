//! The last docker commands of issue 17, natively through the real `slipway docker` against a real server with
//! real runc: `docker save`/`load` round trips and hostile archives, `inspect`'s ports. Expected texts: docker
//! 28's client (docker/cli `cli/command/image/load.go`) and moby's `image/tarexport/load.go` for the daemon's.

use std::path::Path;

use anyhow::{ensure, Result};

use crate::commands::{server, Cli};
use crate::support::TempDir;

/// A tar of `(name, bytes)` files with their names exactly as given (`..` included: a hostile archive).
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, bytes) in files {
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[124..135].copy_from_slice(format!("{:011o}", bytes.len()).as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(bytes);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

#[test]
fn docker_load_takes_back_what_docker_save_wrote_and_refuses_a_hostile_archive() -> Result<()> {
    let Some(server) = server("cli-more-load", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let project = TempDir::new("load-project");
    let here = project.path();
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&["tag", "busybox", "learner/box:v1"])?;
    let id = cli.ok(&["image", "inspect", "-f", "{{.Id}}", "learner/box:v1"])?;

    let saved = cli.docker_in(here, &["save", "-o", "box.tar", "learner/box:v1"])?;
    ensure!(saved.code == 0 && saved.out.is_empty(), "{saved:?}");
    ensure!(std::fs::metadata(here.join("box.tar"))?.len() > 100_000);
    cli.ok(&["rmi", "learner/box:v1"])?;
    let gone = cli.docker(&["image", "inspect", "learner/box:v1"])?;
    ensure!(gone.code == 1, "removed: {gone:?}");

    let loaded = cli.docker_in(here, &["load", "-i", "box.tar"])?;
    ensure!(
        loaded.code == 0 && loaded.out == "Loaded image: learner/box:v1\n" && loaded.err.is_empty(),
        "{loaded:?}"
    );
    assert_eq!(
        cli.ok(&["image", "inspect", "-f", "{{.Id}}", "learner/box:v1"])?,
        id,
        "the same image ID"
    );
    assert_eq!(
        cli.ok(&["run", "--rm", "learner/box:v1", "echo", "loaded"])?,
        "loaded\n",
        "the loaded image runs"
    );
    // Loaded again: nothing changes; docker -q prints the same line.
    let again = cli.docker_in(here, &["load", "-q", "--input", "box.tar"])?;
    ensure!(again.out == "Loaded image: learner/box:v1\n", "{again:?}");

    // docker's errors: no such file, no archive on stdin, a tar that is no save.
    let missing = cli.docker_in(here, &["load", "-i", "nope.tar"])?;
    ensure!(
        missing.code == 1
            && missing.err == format!("open {}/nope.tar: no such file or directory\n", here.display()),
        "{missing:?}"
    );
    let empty = cli.docker_in(here, &["load"])?;
    ensure!(
        empty.code == 1 && empty.err == "Error response from daemon: unexpected EOF\n",
        "{empty:?}"
    );
    std::fs::write(here.join("files.tar"), tar_of(&[("etc/hostname", b"box\n")]))?;
    let not_a_save = cli.docker_in(here, &["load", "-i", "files.tar"])?;
    ensure!(
        not_a_save.code == 1
            && not_a_save.err
                == "open /var/lib/docker/tmp/docker-import-0/repositories: no such file or directory\n",
        "{not_a_save:?}"
    );

    // Hostile: a manifest naming a file above the archive, and a layer whose entry climbs out of the root.
    let config = br#"{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let escape = tar_of(&[(
        "manifest.json",
        br#"[{"Config":"../../../../etc/passwd","RepoTags":["evil:1"],"Layers":[]}]"#,
    )]);
    std::fs::write(here.join("escape.tar"), escape)?;
    let refused = cli.docker_in(here, &["load", "-i", "escape.tar"])?;
    ensure!(
        refused.code == 1 && refused.err.contains("invalid path"),
        "{refused:?}"
    );
    let evil_layer = tar_of(&[("../../../../root/.ssh/authorized_keys", b"ssh-ed25519 AAAA")]);
    let evil_config = String::from_utf8_lossy(config).replace(
        "\"diff_ids\":[]",
        &format!("\"diff_ids\":[\"{}\"]", slipway::layer::sha256(&evil_layer)),
    );
    let evil = tar_of(&[
        (
            "manifest.json",
            br#"[{"Config":"config.json","RepoTags":["evil:1"],"Layers":["layer.tar"]}]"#,
        ),
        ("config.json", evil_config.as_bytes()),
        ("layer.tar", &evil_layer),
    ]);
    std::fs::write(here.join("evil.tar"), evil)?;
    let refused = cli.docker_in(here, &["load", "-i", "evil.tar"])?;
    ensure!(
        refused.code == 1 && refused.err.starts_with("Error response from daemon: layer 0: "),
        "{refused:?}"
    );
    let none = cli.docker(&["image", "inspect", "evil:1"])?;
    ensure!(none.code == 1, "nothing of a refused archive is stored: {none:?}");
    Ok(())
}

/// `slipway docker ARGS` in the session `session` (stdin not a terminal): its exit code and stdout.
fn docker_as(server: &crate::support::server::Server, session: &str, args: &[&str]) -> Result<(i32, String)> {
    let output = std::process::Command::new(crate::support::server::slipway_bin())
        .args(["docker", "--host", &server.url])
        .args(args)
        .env("SLIPWAY_SESSION", session)
        .env("SLIPWAY_AUTH_FILE", "/nonexistent/auth.json")
        .stdin(std::process::Stdio::null())
        .output()?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// `docker attach` as the page's terminal runs it (`cli::attach::start`, then the attach WebSocket): onto a
/// detached `-it` shell, only new output, typed input answered; Ctrl-P Ctrl-Q detaches with docker's `read
/// escape sequence` and leaves the shell running; a stopped container gets the CLI's refusal (docker/cli
/// `cli/command/container/attach.go`, `hijack.go`).
#[tokio::test(flavor = "multi_thread")]
async fn docker_attach_types_into_a_running_shell_and_ctrl_p_ctrl_q_detaches() -> Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use slipway::cli::outcome::Step;
    use tokio_tungstenite::tungstenite::Message;

    let Some(server) = tokio::task::block_in_place(|| server("cli-more-attach", Path::new("/nonexistent")))?
    else {
        return Ok(());
    };
    let session = crate::support::server::named_session(&server.url, "attach");
    let run = |args: &[&str]| tokio::task::block_in_place(|| docker_as(&server, session, args));
    ensure!(run(&["pull", "-q", "busybox"])?.0 == 0);
    ensure!(run(&["run", "-dit", "--name", "shell", "busybox", "sh"])?.0 == 0);
    ensure!(run(&["create", "--name", "idle", "busybox", "true"])?.0 == 0);

    let http = crate::registry::client::Reqwest::new();
    let transport = slipway::api::SessionTransport::new(&http, session, &server.url);
    let credentials = std::cell::RefCell::new(slipway::cli::credentials::CredentialStore::default());
    let ctx = slipway::cli::context::CommandContext {
        session: Some(session),
        ..slipway::cli::context::CommandContext::new(&transport, &server.url, "", &credentials)
    };
    let attach = |line: &str| {
        let Step::Attach(inv) = slipway::cli::interpret::plan_line(line) else {
            panic!("{line} attaches the terminal");
        };
        inv
    };
    let refused = slipway::cli::attach::start(&ctx, &attach("docker attach idle"), None).await;
    let Err(refused) = refused else {
        anyhow::bail!("attached to a created container")
    };
    assert_eq!(
        (refused.exit_code, refused.stderr.as_str()),
        (1, "You cannot attach to a stopped container, start it first\n")
    );
    let Ok(target) = slipway::cli::attach::start(&ctx, &attach("docker attach shell"), None).await else {
        anyhow::bail!("docker attach shell was refused")
    };
    let url = format!("{}{}", server.url.replacen("http", "ws", 1), target.path);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
    socket
        .send(Message::Binary("echo attached-$((20+22))\n".into()))
        .await?;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.contains("attached-42") {
        let next = tokio::time::timeout_at(deadline, socket.next()).await?;
        if let Some(Ok(Message::Binary(bytes))) = next {
            seen.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    // Ctrl-P Ctrl-Q: the attach ends with docker's words, the shell goes on.
    socket.send(Message::Binary(vec![0x10, 0x11].into())).await?;
    let ended = loop {
        match tokio::time::timeout_at(deadline, socket.next()).await? {
            Some(Ok(Message::Text(text))) => break slipway::cli::attach::exit_outcome(&text),
            Some(Ok(_)) => {}
            other => anyhow::bail!("the attach ended without a frame: {other:?}"),
        }
    };
    let ended = ended.ok_or_else(|| anyhow::anyhow!("not a frame the terminal knows"))?;
    assert_eq!(
        (ended.exit_code, ended.stderr.as_str()),
        (1, "read escape sequence\n")
    );
    assert_eq!(
        run(&["inspect", "-f", "{{.State.Running}}", "shell"])?,
        (0, "true\n".to_string()),
        "detached, the shell still runs"
    );
    // Attached again: what the shell printed before is not replayed.
    let Ok(again) =
        slipway::cli::attach::start(&ctx, &attach("docker attach --detach-keys ctrl-x shell"), None).await
    else {
        anyhow::bail!("docker attach shell was refused the second time")
    };
    let url = format!("{}{}", server.url.replacen("http", "ws", 1), again.path);
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await?;
    socket.send(Message::Binary(vec![0x18].into())).await?;
    let mut replayed = String::new();
    let ended = loop {
        match tokio::time::timeout_at(deadline, socket.next()).await? {
            Some(Ok(Message::Text(text))) => break slipway::cli::attach::exit_outcome(&text),
            Some(Ok(Message::Binary(bytes))) => replayed.push_str(&String::from_utf8_lossy(&bytes)),
            other => anyhow::bail!("the attach ended without a frame: {other:?}"),
        }
    };
    ensure!(ended.is_some_and(|o| o.stderr == "read escape sequence\n"));
    ensure!(!replayed.contains("attached-42"), "replayed: {replayed:?}");
    ensure!(run(&["rm", "-f", "shell", "idle"])?.0 == 0);
    Ok(())
}

/// `docker inspect` of a published container: `NetworkSettings.Ports` where the port listens (host mode on a
/// loopback server: `127.0.0.1`), `HostConfig.PortBindings` as `-p` asked; `{}` once stopped (docker 28).
#[test]
fn docker_inspect_shows_a_published_containers_ports() -> Result<()> {
    let Some(server) = server("cli-more-ports", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&[
        "run", "-d", "--name", "web", "-p", "8080", "busybox", "sleep", "300",
    ])?;
    let ports = cli.ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", "web"])?;
    let port = cli.ok(&["port", "web", "8080"])?;
    let host_port = port.trim_end().rsplit(':').next().unwrap_or_default().to_string();
    assert_eq!(
        ports,
        format!("{{\"8080/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{host_port}\"}}]}}\n")
    );
    assert_eq!(
        cli.ok(&["inspect", "-f", "{{json .HostConfig.PortBindings}}", "web"])?,
        "{\"8080/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}\n"
    );
    cli.ok(&["stop", "-t", "0", "web"])?;
    assert_eq!(
        cli.ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", "web"])?,
        "{}\n"
    );
    Ok(())
}
