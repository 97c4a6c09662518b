//! Published ports within the operator's bounds, through the real binary and runc: more than
//! `--max-published-ports` or a host port outside `--published-port-range` is refused before any listener opens,
//! and `-p CONTAINER` picks its host port inside the range.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use super::busybox_server;
use crate::support::server::{slipway_bin, Server};

/// `count` consecutive loopback ports free right now (the OS picks where to look).
fn free_ports(count: u16) -> Result<u16> {
    for _ in 0..50 {
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
        let Some(last) = first.checked_add(count - 1) else {
            continue;
        };
        if (first..=last).all(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok()) {
            return Ok(first);
        }
    }
    bail!("no {count} consecutive free loopback ports found")
}

/// `POST /api/containers?start=true` publishing `ports` (host, container): status and body.
async fn create(server: &Server, cmd: &[&str], ports: &[(u16, u16)]) -> Result<(u16, Value)> {
    let publish: Vec<Value> = ports
        .iter()
        .map(|&(host, container)| json!({"host": host, "container": container}))
        .collect();
    let response = server
        .session_client()?
        .post(format!("{}/api/containers?start=true", server.url))
        .json(&json!({"image": "busybox", "cmd": cmd, "publish": publish}))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await?))
}

/// Whether anything listens on loopback `port`.
fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(1)).is_ok()
}

/// An HTTP/1.0 GET of `/` on loopback `port`, retried while the server inside starts; the whole answer.
fn http_get(port: u16) -> String {
    let mut answer = String::new();
    for _ in 0..50 {
        if let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            answer.clear();
            if stream.write_all(b"GET / HTTP/1.0\r\n\r\n").is_ok() {
                let _ = stream.read_to_string(&mut answer);
            }
            if answer.contains("hello from the range") {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    answer
}

#[tokio::test]
async fn more_ports_than_allowed_are_refused_before_any_listener_opens() -> Result<()> {
    let Some(server) = busybox_server("ports-limit", &["--max-published-ports", "2"])? else {
        return Ok(());
    };
    let first = free_ports(3)?;
    let ports = [(first, 80), (first + 1, 81), (first + 2, 82)];
    let (status, body) = create(&server, &["sleep", "30"], &ports).await?;
    ensure!(status == 400, "{status} {body}");
    let message = body["message"].as_str().unwrap_or_default();
    ensure!(
        message == "too many published ports: 3 requested, this server allows at most 2 per container",
        "{body}"
    );
    for (host, _) in ports {
        ensure!(!listening(host), "port {host} was opened for a refused container");
    }

    // The docker CLI prints it as docker prints any daemon error, and exits 125 like `docker run`.
    // An issued session, given as the CLI's environment: the test leaves no `sessions.json` in the user's home.
    let output = Command::new(slipway_bin())
        .env("SLIPWAY_SESSION", server.session()?)
        .args(["docker", "--host", &server.url, "run", "--rm"])
        .args(
            ports
                .iter()
                .flat_map(|(h, c)| ["-p".to_string(), format!("{h}:{c}")]),
        )
        .args(["busybox", "true"])
        .output()
        .context("spawn slipway docker")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(output.status.code() == Some(125), "{:?} {stderr}", output.status);
    ensure!(
        stderr.contains(&format!("docker: Error response from daemon: {message}")),
        "{stderr}"
    );

    // Within the limit it runs.
    let (status, body) = create(&server, &["true"], &ports[..2]).await?;
    ensure!(status == 201, "{status} {body}");
    Ok(())
}

#[tokio::test]
async fn host_ports_come_only_from_the_configured_range() -> Result<()> {
    let low = free_ports(4)?;
    let range = format!("{low}-{}", low + 3);
    let Some(server) = busybox_server("ports-range", &["--published-port-range", &range])? else {
        return Ok(());
    };
    let outside = low + 4;
    let (status, body) = create(&server, &["sleep", "30"], &[(outside, 8080)]).await?;
    ensure!(status == 400, "{status} {body}");
    ensure!(
        body["message"]
            == format!("host port {outside} is outside the range this server publishes on ({range})"),
        "{body}"
    );
    ensure!(
        !listening(outside),
        "port {outside} was opened for a refused container"
    );

    // `-p 8080`: the server picks the host port, inside the range, and it answers.
    let script = "mkdir /w && echo hello from the range > /w/index.html && httpd -f -p 8080 -h /w";
    let (status, body) = create(&server, &["sh", "-c", script], &[(0, 8080)]).await?;
    ensure!(status == 201, "{status} {body}");
    let host = body["ports"][0]["host"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .with_context(|| format!("no host port: {body}"))?;
    ensure!(
        (low..=low + 3).contains(&host),
        "host port {host} outside {range}"
    );
    let answer = http_get(host);
    ensure!(answer.contains("hello from the range"), "{answer:?}");
    Ok(())
}
