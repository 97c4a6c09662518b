//! Container networking through the real binary: loopback only by default; `--container-network outbound` reaches
//! the host's network through slirp4netns but not the host's loopback; the preview proxy carries a WebSocket.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use super::busybox_server;
use crate::support::server::Server;

/// `docker run --rm busybox sh -c SCRIPT`: exit code and output.
async fn run_sh(server: &Server, script: &str) -> Result<(i64, String)> {
    super::docker_run(server, "busybox", &["sh", "-c", script]).await
}

/// The host's address on its default route (no packet is sent: a UDP "connect" only picks the route).
fn host_address() -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    match socket.local_addr().ok()?.ip() {
        std::net::IpAddr::V4(ip) if !ip.is_loopback() => Some(ip),
        _ => None,
    }
}

/// A TCP service on all the host's addresses that greets each connection; returns its port.
fn greeter() -> Result<u16> {
    let listener = TcpListener::bind("0.0.0.0:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let _ = stream.write_all(b"hello from the host\n");
        }
    });
    Ok(port)
}

/// The helpers (slirp4netns) a server process still has running.
fn slirp_children(server_pid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // pid (comm) state ppid ...
            let Some((comm, rest)) = stat.split_once(") ") else {
                return false;
            };
            let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
            comm.ends_with("(slirp4netns") && ppid == Some(server_pid)
        })
        .count()
}

#[tokio::test]
async fn outbound_network_is_an_operator_choice_and_never_reaches_host_loopback() -> Result<()> {
    crate::registry::require_tool("slirp4netns", "slirp4netns");
    let host = host_address();
    let missing = host
        .is_none()
        .then(|| "the host has no default route, so there is no non-loopback address to reach".to_string());
    let fix = "Run it on a machine with a network interface that has a default route";
    if !crate::support::prerequisite::available("default-route", missing, fix) {
        return Ok(());
    }
    let host = host.expect("checked above");
    let port = greeter()?;
    let Some(closed) = busybox_server("net-none", &[])? else {
        return Ok(());
    };
    let (code, output) = run_sh(&closed, &format!("nc -w 2 {host} {port}")).await?;
    ensure!(
        !output.contains("hello"),
        "a loopback-only container got out: {code} {output:?}"
    );
    drop(closed);

    let open =
        busybox_server("net-outbound", &["--container-network", "outbound"])?.context("prerequisites")?;
    let (code, output) = run_sh(&open, &format!("nc -w 5 {host} {port}")).await?;
    ensure!(
        code == 0 && output == "hello from the host\n",
        "{code} {output:?}"
    );
    // slirp4netns's name for the host's loopback is shut.
    let (code, output) = run_sh(&open, &format!("nc -w 2 10.0.2.2 {port}")).await?;
    ensure!(
        !output.contains("hello"),
        "reached the host's loopback: {code} {output:?}"
    );
    let (_, resolv) = run_sh(&open, "cat /etc/resolv.conf").await?;
    ensure!(resolv.contains("nameserver 10.0.2.3"), "{resolv}");
    ensure!(
        slirp_children(open.pid()) == 0,
        "slirp4netns outlived its containers"
    );
    Ok(())
}

/// A one-message WebSocket server in busybox sh: the handshake (sha1sum, xxd, base64), then a text frame "hello".
const WS_HANDLER: &str = r#"#!/bin/sh
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  case "$line" in [Ss]ec-[Ww]eb[Ss]ocket-[Kk]ey:*) key=${line#*: } ;; esac
done
accept=$(printf '%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11' "$key" | sha1sum | cut -d' ' -f1 | xxd -r -p | base64)
printf 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n' "$accept"
printf '\201\005hello'
sleep 2
"#;

/// The RFC 6455 example key and its accept value.
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// GET with `Upgrade: websocket` through the preview proxy (`root`: the port's preview root URL); returns the
/// response head and the bytes after it.
fn websocket_through_proxy(root: &str) -> Result<(String, Vec<u8>)> {
    let (addr, path) = root
        .trim_start_matches("http://")
        .split_once('/')
        .context("preview root")?;
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /{path}chat HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )?;
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            if received.len() >= end + 4 + 7 || !received.starts_with(b"HTTP/1.1 101") {
                break;
            }
        }
    }
    let end = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(received.len(), |e| e + 4);
    Ok((
        String::from_utf8_lossy(&received[..end]).into_owned(),
        received[end..].to_vec(),
    ))
}

#[tokio::test]
async fn the_preview_proxy_carries_a_websocket() -> Result<()> {
    let Some(server) = busybox_server("net-websocket", &[])? else {
        return Ok(());
    };
    let http = server.session_client()?;
    let created: Value = http
        .post(format!("{}/api/containers?start=true", server.url))
        .json(&json!({"image": "busybox", "cmd": ["sh", "-c",
            "printf '%s' \"$0\" > /ws.sh && chmod +x /ws.sh && exec nc -ll -p 8080 -e /ws.sh", WS_HANDLER]}))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().context("no id")?.to_string();
    let mut last = String::new();
    for _ in 0..50 {
        let root = crate::previews::preview_root(&http, &server.url, &id, 8080).await?;
        let (head, frames) = tokio::task::spawn_blocking(move || websocket_through_proxy(&root)).await??;
        if head.starts_with("HTTP/1.1 101") {
            ensure!(
                head.to_ascii_lowercase().contains(&format!(
                    "sec-websocket-accept: {}",
                    WS_ACCEPT.to_ascii_lowercase()
                )),
                "{head}"
            );
            ensure!(frames == b"\x81\x05hello", "frames: {frames:?}");
            return Ok(());
        }
        last = head;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("no WebSocket upgrade through the proxy; last answer: {last}")
}
