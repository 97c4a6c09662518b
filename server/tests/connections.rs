//! Connections a stranger cannot hold, through the real binary and raw TCP: a slowloris client sending its headers a
//! byte a second is dropped at the header timeout, a request body that stops arriving or a response the client stops
//! reading ends at the idle timeout, and connections past the per-client limit are closed while the first ones keep working.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::server::Server;

fn start(flags: &[&str]) -> (Server, String) {
    let server = Server::start_with(Path::new("/nonexistent"), flags).unwrap();
    let addr = server.url.trim_start_matches("http://").to_string();
    (server, addr)
}

/// Whether the server has closed `stream`: waits up to `wait` for its end (bytes it sends first are read).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A new connection from an honest client is served.
async fn still_serves(addr: &str) {
    let mut honest = TcpStream::connect(addr).await.unwrap();
    assert_eq!(info_on(&mut honest, addr).await.unwrap(), 200);
}

/// `GET /api/info` on an open connection (kept alive): the status code.
async fn info_on(stream: &mut TcpStream, addr: &str) -> std::io::Result<u16> {
    let request = format!("GET /api/info HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend_from_slice(&buf[..n]);
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("a content-length");
    while received.len() < head_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.extend_from_slice(&buf[..n]);
    }
    Ok(head[9..12].parse().expect("a status code"))
}

#[tokio::test]
async fn a_slowloris_client_and_an_idle_kept_alive_connection_are_dropped_at_the_header_timeout() {
    let (server, addr) = start(&["--header-timeout", "2"]);
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let request =
        format!("GET /api/info HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n");
    let mut sent = 0;
    let mut dropped = false;
    for byte in request.as_bytes() {
        if slow.write_all(&[*byte]).await.is_err() {
            dropped = true;
            break;
        }
        sent += 1;
        if closed_within(&mut slow, Duration::from_secs(1)).await {
            dropped = true;
            break;
        }
    }
    assert!(
        dropped,
        "the server kept a connection whose headers took {sent} s"
    );
    assert!(
        sent < request.len() / 4,
        "dropped only after {sent} of {} header bytes (a byte a second)",
        request.len()
    );
    still_serves(&addr).await;
    // A kept-alive connection left idle after its answer is closed by the same deadline.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    assert_eq!(info_on(&mut idle, &addr).await.unwrap(), 200);
    assert!(
        closed_within(&mut idle, Duration::from_secs(30)).await,
        "an idle kept-alive connection stayed open"
    );
    drop(server);
}

#[tokio::test]
async fn a_request_body_that_stops_arriving_ends_at_the_idle_timeout() {
    let (server, addr) = start(&["--idle-timeout", "2"]);
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    let digest = format!("sha256:{}", "0".repeat(64));
    let head = format!(
        "POST /v2/learner1/app/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&[0u8; 1000]).await.unwrap();
    // A stalled body is not waited for forever: the request ends and the connection with it.
    assert!(
        closed_within(&mut stalled, Duration::from_secs(30)).await,
        "a body that stopped arriving held its connection for 30 s"
    );
    still_serves(&addr).await;
    drop(server);
}

#[tokio::test]
async fn a_client_that_stops_reading_its_response_is_dropped_at_the_idle_timeout() {
    let (server, addr) = start(&["--idle-timeout", "2"]);
    // Larger than what the kernel's socket buffers hold on both ends, so the server's writes must wait.
    let blob: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    let digest = crate::registry::sha256(&blob);
    let pushed = reqwest::Client::new()
        .post(format!(
            "{}/v2/learner1/big/blobs/uploads/?digest={digest}",
            server.url
        ))
        .body(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 201);
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    let request = format!("GET /v2/learner1/big/blobs/{digest} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    slow.write_all(request.as_bytes()).await.unwrap();
    // The client reads nothing for longer than the idle timeout, then drains what it was sent.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(20), slow.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => received += n,
        }
    };
    assert!(ended, "the connection stayed open after {received} bytes");
    assert!(
        received < blob.len(),
        "all {} bytes arrived: the stalled response was not cut",
        blob.len()
    );
    still_serves(&addr).await;
    drop(server);
}

#[tokio::test]
async fn connections_past_the_per_client_limit_are_closed_while_the_first_ones_work() {
    let (server, addr) = start(&["--max-connections-per-client", "4"]);
    let mut first = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        assert_eq!(info_on(&mut stream, &addr).await.unwrap(), 200);
        first.push(stream);
    }
    let mut fifth = TcpStream::connect(&addr).await.unwrap();
    assert!(
        info_on(&mut fifth, &addr).await.is_err(),
        "a fifth connection from 127.0.0.1 was served"
    );
    for stream in &mut first {
        assert_eq!(
            info_on(stream, &addr).await.unwrap(),
            200,
            "a first connection still works"
        );
    }
    // A closed connection gives its slot back (once the server has seen it close).
    drop(first.pop());
    let mut served = false;
    for _ in 0..50 {
        let mut again = TcpStream::connect(&addr).await.unwrap();
        if info_on(&mut again, &addr).await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the slot of a closed connection never came back");
    drop(server);
}
