//! The container API over a real socket: docker run / ps / logs / wait / stop / rm, the attach WebSocket with a
//! TTY, and a RUN step, all against real runc containers.

use std::time::Duration;

use axum::http::StatusCode;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use super::tests::{assert_clean, test_env, TestEnv};

async fn serve(env: &TestEnv) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sessions = std::sync::Arc::new(crate::sessions::Sessions::default());
    for token in [TEST_SESSION, "alice", "bob"] {
        sessions.admit(token);
    }
    let gate = axum::middleware::from_fn_with_state(sessions, crate::sessions::gate);
    let app = super::router(env.runner.clone()).layer(gate);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The session of requests that name none (the server takes it as issued).
const TEST_SESSION: &str = "test-session";

/// The attach WebSocket URL of `attach_path` with a one-time ticket asked for as `session`.
async fn ticketed(addr: std::net::SocketAddr, session: &str, attach_path: &str) -> String {
    let (status, body) = http_as(
        addr,
        Some(session),
        "POST",
        &format!("{attach_path}-ticket"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    format!(
        "ws://{addr}{attach_path}?ticket={}",
        json(&body)["ticket"].as_str().unwrap()
    )
}

/// A minimal HTTP/1.0 client (no extra dependency), as [`TEST_SESSION`]: returns status and body.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, String) {
    http_as(addr, Some(TEST_SESSION), method, path, body).await
}

/// The same, as session `session` (`X-Slipway-Session`).
async fn http_as(
    addr: std::net::SocketAddr,
    session: Option<&str>,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let session = session
        .map(|t| format!("X-Slipway-Session: {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: x\r\n{session}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (StatusCode::from_u16(code).unwrap(), body.to_string())
}

/// `docker run -d` over the API (`POST /api/containers?start=true`) as `session`: the new container's id.
async fn started(addr: std::net::SocketAddr, session: Option<&str>, body: serde_json::Value) -> String {
    let (status, body) = http_as(addr, session, "POST", "/api/containers?start=true", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    json(&body)["id"].as_str().unwrap().to_string()
}

/// `docker rm -f` over the API, then nothing of the container may be left on the host.
async fn removed_clean(env: &TestEnv, addr: std::net::SocketAddr, id: &str) {
    let (status, body) = http(addr, "DELETE", &format!("/api/containers/{id}?force=true"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_clean(env, id);
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The attach output until `done` says it is complete (binary frames, as text); panics after `deadline`.
async fn output_until(ws: &mut Ws, deadline: tokio::time::Instant, done: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    while !done(&seen) {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("the awaited output did not come in time; seen: {seen:?}"))
            .unwrap()
            .unwrap();
        if let Message::Binary(b) = msg {
            seen.push_str(&String::from_utf8_lossy(&b));
        }
    }
    seen
}

/// The body of the final text frame of an attach (`{"exit": {...}}`).
async fn exit_frame(ws: &mut Ws, deadline: tokio::time::Instant) -> serde_json::Value {
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Text(t) = msg {
            return json(&t)["exit"].clone();
        }
    }
    panic!("no exit frame in time")
}

/// A `logs -f` client that goes away (Ctrl-C in the page) ends the server's follower at once, even while the
/// container prints nothing; the container itself runs on.
#[tokio::test]
async fn a_log_follower_ends_when_its_client_goes_away() {
    let env = test_env();
    let addr = serve(&env).await;
    let id = started(
        addr,
        Some(TEST_SESSION),
        serde_json::json!({"image": "busybox", "cmd": ["sh", "-c", "echo once; sleep 600"]}),
    )
    .await;
    let logs = env.runner.get(&id).unwrap().io.logs.clone();
    let before = logs.followers();
    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /api/containers/{id}/logs?follow=true HTTP/1.1\r\nHost: x\r\nX-Slipway-Session: {TEST_SESSION}\r\n\r\n"
    );
    client.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("once\n") {
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout_at(deadline, client.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "the follow answer ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        logs.followers(),
        before + 1,
        "one follower while the client reads"
    );
    drop(client);
    while logs.followers() > before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the follower outlived its client"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, inspect) = http(addr, "GET", &format!("/api/containers/{id}"), None).await;
    assert_eq!(json(&inspect)["state"]["status"], "running", "{inspect}");
    removed_clean(&env, addr, &id).await;
}

#[tokio::test]
async fn run_logs_wait_inspect_remove() {
    let env = test_env();
    let addr = serve(&env).await;
    let id = started(addr, Some(TEST_SESSION), serde_json::json!({"image": "busybox", "cmd": ["sh", "-c", "echo one; echo two >&2; exit 4"], "env": ["A=1"]})).await;
    let (status, body) = http(addr, "POST", &format!("/api/containers/{id}/wait"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["exit_code"], 4);
    let (_, logs) = http(
        addr,
        "GET",
        &format!("/api/containers/{id}/logs?follow=true"),
        None,
    )
    .await;
    assert!(logs.contains("one\n") && logs.contains("two\n"), "{logs}");
    let (_, tail) = http(
        addr,
        "GET",
        &format!("/api/containers/{id}/logs?tail=1&format=json"),
        None,
    )
    .await;
    assert_eq!(tail.lines().count(), 1, "{tail}");
    let (_, stamped) = http(
        addr,
        "GET",
        &format!("/api/containers/{id}/logs?timestamps=true"),
        None,
    )
    .await;
    assert!(
        stamped
            .lines()
            .all(|l| l.len() > 31 && &l[4..5] == "-" && l.contains("Z ")),
        "{stamped}"
    );
    let (_, ps) = http(addr, "GET", "/api/containers", None).await;
    assert_eq!(
        json(&ps).as_array().unwrap().len(),
        0,
        "exited containers only with all=true"
    );
    let (_, ps) = http(addr, "GET", "/api/containers?all=true", None).await;
    assert_eq!(json(&ps)[0]["status"], "exited");
    let (_, inspect) = http(addr, "GET", &format!("/api/containers/{}", &id[..12]), None).await;
    assert_eq!(json(&inspect)["state"]["exit_code"], 4);
    assert_eq!(
        json(&inspect)["args"],
        serde_json::json!(["sh", "-c", "echo one; echo two >&2; exit 4"])
    );
    let (status, _) = http(addr, "DELETE", &format!("/api/containers/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = http(addr, "GET", &format!("/api/containers/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_clean(&env, &id);
}

#[tokio::test]
async fn errors_have_status_and_message() {
    let env = test_env();
    let addr = serve(&env).await;
    let (status, body) = http(
        addr,
        "POST",
        "/api/containers",
        Some(serde_json::json!({"image": "nope"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json(&body)["message"].as_str().unwrap().contains("nope"));
    let (status, _) = http(
        addr,
        "POST",
        "/api/containers",
        Some(serde_json::json!({"image": "busybox", "user": "ghost"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = http(addr, "POST", "/api/containers/abcd/stop", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn detached_container_stops_with_term_then_kill() {
    let env = test_env();
    let addr = serve(&env).await;
    let id = started(
        addr,
        Some(TEST_SESSION),
        serde_json::json!({"image": "busybox", "name": "sleeper", "cmd": ["sleep", "100"]}),
    )
    .await;
    let (_, ps) = http(addr, "GET", "/api/containers", None).await;
    assert_eq!(json(&ps)[0]["name"], "sleeper");
    let (status, body) = http(addr, "POST", "/api/containers/sleeper/stop?t=1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["exit_code"], 137);
    let (status, _) = http(addr, "DELETE", "/api/containers/sleeper", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_clean(&env, &id);
}

#[tokio::test]
async fn attach_websocket_drives_a_tty() {
    let env = test_env();
    let addr = serve(&env).await;
    let id = started(
        addr,
        Some(TEST_SESSION),
        serde_json::json!({"image": "busybox", "tty": true, "interactive": true, "cmd": ["sh"]}),
    )
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(
        ticketed(addr, TEST_SESSION, &format!("/api/containers/{id}/attach")).await,
    )
    .await
    .unwrap();
    ws.send(Message::text(r#"{"resize":{"cols":120,"rows":30}}"#))
        .await
        .unwrap();
    ws.send(Message::binary(b"stty size; echo hi-$((6*7))\n".to_vec()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    output_until(&mut ws, deadline, |seen| {
        seen.contains("30 120") && seen.contains("hi-42")
    })
    .await;
    // A window resized while a program runs in the foreground: it gets SIGWINCH (its trap prints), and the new
    // size is the TTY's; a size of zero (a terminal not laid out yet) is ignored.
    let program = br#"sh -c 'trap "echo got-\$((40+3))-winch" WINCH; echo ready-$((1+1)); while sleep 0.1; do :; done'"#;
    ws.send(Message::binary([&program[..], b"\n"].concat()))
        .await
        .unwrap();
    output_until(&mut ws, deadline, |seen| seen.contains("ready-2")).await;
    for resize in [
        r#"{"resize":{"cols":0,"rows":0}}"#,
        r#"{"resize":{"cols":90,"rows":20}}"#,
    ] {
        ws.send(Message::text(resize)).await.unwrap();
    }
    output_until(&mut ws, deadline, |seen| seen.contains("got-43-winch")).await;
    // Ctrl-C ends the program; the shell reads the size the TTY has now.
    ws.send(Message::binary(b"\x03".to_vec())).await.unwrap();
    ws.send(Message::binary(b"stty size | tr ' ' x\n".to_vec()))
        .await
        .unwrap();
    output_until(&mut ws, deadline, |seen| seen.contains("20x90")).await;
    ws.send(Message::binary(b"exit 3\n".to_vec())).await.unwrap();
    assert_eq!(exit_frame(&mut ws, deadline).await["exit_code"], 3);
    removed_clean(&env, addr, &id).await;
}

/// An attach message past `--max-websocket-message` (1 MiB by default) ends the attach; keystrokes pass.
#[tokio::test]
async fn an_attach_message_past_the_size_limit_ends_the_attach() {
    let env = test_env();
    let addr = serve(&env).await;
    let body = serde_json::json!({"image": "busybox", "tty": true, "interactive": true, "cmd": ["sh"]});
    let id = started(addr, Some(TEST_SESSION), body).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(
        ticketed(addr, TEST_SESSION, &format!("/api/containers/{id}/attach")).await,
    )
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    ws.send(Message::binary(b"echo small-$((2*3))\n".to_vec()))
        .await
        .unwrap();
    output_until(&mut ws, deadline, |seen| seen.contains("small-6")).await;
    let too_big = vec![b'x'; env.runner.config.max_websocket_message + 1];
    let _ = ws.send(Message::binary(too_big)).await;
    let ended = loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => break false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => break true,
            Ok(Some(Ok(_))) => continue,
        }
    };
    assert!(ended, "a message past the limit was taken");
    removed_clean(&env, addr, &id).await;
}

/// `docker run -it --rm` of a process that ends before the client attaches (the client attaches after the
/// start): the attach still gets the output and the exit code, then the container goes.
#[tokio::test]
async fn an_rm_tty_container_that_ended_before_the_attach_still_answers_it() {
    let env = test_env();
    let addr = serve(&env).await;
    let body = serde_json::json!({"image": "busybox", "tty": true, "interactive": true, "auto_remove": true,
                                  "console_size": [21, 77], "cmd": ["sh", "-c", "stty size; exit 4"]});
    let id = started(addr, Some(TEST_SESSION), body).await;
    let path = format!("/api/containers/{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while json(&http(addr, "GET", &path, None).await.1)["state"]["status"] != "exited" {
        assert!(tokio::time::Instant::now() < deadline, "never exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut ws, _) =
        tokio_tungstenite::connect_async(ticketed(addr, TEST_SESSION, &format!("{path}/attach")).await)
            .await
            .unwrap();
    output_until(&mut ws, deadline, |seen| seen.contains("21 77")).await;
    assert_eq!(exit_frame(&mut ws, deadline).await["exit_code"], 4);
    drop(ws);
    while http(addr, "GET", &path, None).await.0 != StatusCode::NOT_FOUND {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not removed after the attach"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_clean(&env, &id);
}

#[tokio::test]
async fn run_step_over_http_returns_a_layer_descriptor() {
    let env = test_env();
    let addr = serve(&env).await;
    let base = env.runner.images.resolve("busybox").unwrap();
    let layers: Vec<String> = base.layers.iter().map(|l| l.digest.clone()).collect();
    let (status, body) = http(
        addr,
        "POST",
        "/api/steps",
        Some(serde_json::json!({"layers": layers, "command": "echo built > /built.txt; echo done"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result = json(&body);
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["output"], "done\n");
    let layer = &result["layer"];
    assert_eq!(layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
    let digest = layer["digest"].as_str().unwrap();
    let blob = env
        .runner
        .config
        .data_dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    assert_eq!(
        std::fs::metadata(blob).unwrap().len(),
        layer["size"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn preview_proxy_reaches_the_web_app_inside_by_its_token_only() {
    let env = test_env();
    let addr = serve(&env).await;
    let previews = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let previews = listener.local_addr().unwrap();
        let app = super::proxy::preview_router(env.runner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        previews
    };
    let id = started(
        addr,
        Some(TEST_SESSION),
        serde_json::json!({"image": "busybox", "cmd": ["httpd", "-f", "-p", "8080", "-h", "/www"]}),
    )
    .await;
    let (_, inspect) = http(addr, "GET", &format!("/api/containers/{id}"), None).await;
    let token = json(&inspect)["preview"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32, "{inspect}");
    let mut page = String::new();
    for _ in 0..50 {
        let path = format!("{}index.html?x=1", slipway::api::paths::preview(&token, 8080));
        let (status, body) = http(previews, "GET", &path, None).await;
        if status == StatusCode::OK {
            page = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(page, "hello from busybox httpd\n");
    let (status, _) = http(previews, "GET", &slipway::api::paths::preview(&token, 9999), None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "nothing listens on 9999");
    let (status, _) = http(previews, "GET", &slipway::api::paths::preview(&id, 8080), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the id is not the token");
    removed_clean(&env, addr, &id).await;
}

#[tokio::test]
async fn exec_runs_in_the_running_container_plain_and_with_a_tty() {
    let env = test_env();
    let addr = serve(&env).await;
    let id = started(
        addr,
        Some(TEST_SESSION),
        serde_json::json!({"image": "busybox", "hostname": "host1", "env": ["FROM=run"],
            "cmd": ["sh", "-c", "echo marker > /tmp/m; sleep 100"]}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = http(
        addr,
        "POST",
        &format!("/api/containers/{id}/exec"),
        Some(serde_json::json!({"cmd": ["sh", "-c", "echo $FROM $EXTRA $(hostname) $(id -u); cat /tmp/m; exit 6"],
            "env": ["EXTRA=x"], "user": "app"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let exec_id = json(&body)["id"].as_str().unwrap().to_string();
    let (_, state) = http(addr, "POST", &format!("/api/execs/{exec_id}/wait"), None).await;
    assert_eq!(json(&state)["exit_code"], 6);
    let exec = env.runner.execs.get(&exec_id).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&exec.io.logs.all_bytes()),
        "run x host1 1000\nmarker\n"
    );

    let (_, body) = http(
        addr,
        "POST",
        &format!("/api/containers/{id}/exec"),
        Some(serde_json::json!({"cmd": ["sh"], "tty": true})),
    )
    .await;
    let exec_id = json(&body)["id"].as_str().unwrap().to_string();
    let (mut ws, _) = tokio_tungstenite::connect_async(
        ticketed(addr, TEST_SESSION, &format!("/api/execs/{exec_id}/attach")).await,
    )
    .await
    .unwrap();
    ws.send(Message::binary(b"echo in-$((2+3)); exit 9\n".to_vec()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (mut seen, mut exit) = (String::new(), None);
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline, ws.next()).await {
        match msg {
            Message::Binary(b) => seen.push_str(&String::from_utf8_lossy(&b)),
            Message::Text(t) => {
                exit = Some(json(&t));
                break;
            }
            _ => {}
        }
    }
    assert!(seen.contains("in-5"), "{seen:?}");
    assert_eq!(exit.expect("exit frame")["exit"]["exit_code"], 9);
    let (status, _) = http(addr, "DELETE", &format!("/api/containers/{id}?force=true"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(env.runner.execs.get(&exec_id).is_none());
    assert_clean(&env, &id);
}

#[tokio::test]
async fn sessions_see_only_their_containers_and_have_a_quota() {
    let env = super::tests::test_env_with(|c| c.max_per_session = 1);
    let addr = serve(&env).await;
    let run = serde_json::json!({"image": "busybox", "name": "mine", "cmd": ["sleep", "100"]});
    let id = started(addr, Some("alice"), run.clone()).await;
    // Bob cannot see, inspect, stop or remove Alice's container, and may reuse its name.
    let (_, ps) = http_as(addr, Some("bob"), "GET", "/api/containers?all=true", None).await;
    assert_eq!(json(&ps), serde_json::json!([]));
    for (method, path) in [
        ("GET", format!("/api/containers/{id}")),
        ("POST", "/api/containers/mine/stop".into()),
        ("DELETE", format!("/api/containers/{id}?force=true")),
    ] {
        let (status, _) = http_as(addr, Some("bob"), method, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let (status, body) = http_as(addr, Some("bob"), "POST", "/api/containers", Some(run.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let bob_id = json(&body)["id"].as_str().unwrap().to_string();
    // Alice is at her quota of one.
    let (status, _) = http_as(
        addr,
        Some("alice"),
        "POST",
        "/api/containers",
        Some(serde_json::json!({"image": "busybox"})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (_, ps) = http_as(addr, Some("alice"), "GET", "/api/containers", None).await;
    assert_eq!(json(&ps)[0]["id"], id.as_str());
    for (who, cid) in [("alice", &id), ("bob", &bob_id)] {
        let (status, _) = http_as(
            addr,
            Some(who),
            "DELETE",
            &format!("/api/containers/{cid}?force=true"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert_clean(&env, &id);
}

#[tokio::test]
async fn labels_are_bounded_and_shown_to_their_owner_only() {
    let env = super::tests::test_env();
    let addr = serve(&env).await;
    let huge = "x".repeat(70 << 10);
    for labels in [serde_json::json!({"big": huge}), serde_json::json!({"": "v"})] {
        let body = serde_json::json!({"image": "busybox", "labels": labels});
        let (status, answer) = http_as(addr, Some("alice"), "POST", "/api/containers", Some(body)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(answer.contains("label"), "{answer}");
    }
    let run = serde_json::json!({"image": "busybox", "cmd": ["sleep", "100"],
        "labels": {"com.docker.compose.project": "app", "tier": "front"}});
    let id = started(addr, Some("alice"), run).await;
    let (_, ps) = http_as(addr, Some("alice"), "GET", "/api/containers", None).await;
    assert_eq!(json(&ps)[0]["labels"]["com.docker.compose.project"], "app");
    let (_, inspect) = http_as(addr, Some("alice"), "GET", &format!("/api/containers/{id}"), None).await;
    assert_eq!(json(&inspect)["config"]["labels"]["tier"], "front");
    let (_, theirs) = http_as(addr, Some("bob"), "GET", "/api/containers?all=true", None).await;
    assert_eq!(json(&theirs), serde_json::json!([]));
    let (status, _) = http_as(
        addr,
        Some("alice"),
        "DELETE",
        &format!("/api/containers/{id}?force=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_clean(&env, &id);
}

/// The status a WebSocket handshake was refused with (the upgrade must fail).
async fn ws_refusal(url: &str) -> StatusCode {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status(),
        Err(e) => panic!("{url}: unexpected error {e}"),
        Ok(_) => panic!("{url}: the upgrade was accepted"),
    }
}

#[tokio::test]
async fn an_attach_ticket_opens_its_own_sessions_process_once() {
    let env = test_env();
    let addr = serve(&env).await;
    let id = started(
        addr,
        Some("alice"),
        serde_json::json!({"image": "busybox", "tty": true, "interactive": true, "cmd": ["sh"]}),
    )
    .await;
    let attach = format!("/api/containers/{id}/attach");
    // Another session gets no ticket for it; no ticket, a made-up one or the session token itself open nothing.
    let (status, _) = http_as(addr, Some("bob"), "POST", &format!("{attach}-ticket"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for url in [
        format!("ws://{addr}{attach}"),
        format!("ws://{addr}{attach}?ticket=made-up"),
        format!("ws://{addr}{attach}?ticket=alice"),
    ] {
        assert_eq!(ws_refusal(&url).await, StatusCode::UNAUTHORIZED, "{url}");
    }
    let url = ticketed(addr, "alice", &attach).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(
        ws_refusal(&url).await,
        StatusCode::UNAUTHORIZED,
        "a ticket is used once"
    );
    ws.send(Message::binary(b"echo via-$((40+2))\n".to_vec()))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    output_until(&mut ws, deadline, |seen| seen.contains("via-42")).await;
    // An exec's attach follows the same rules, and a container's ticket does not open an exec.
    let (status, body) = http_as(
        addr,
        Some("alice"),
        "POST",
        &format!("/api/containers/{id}/exec"),
        Some(serde_json::json!({"cmd": ["sleep", "5"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let exec_attach = format!("/api/execs/{}/attach", json(&body)["id"].as_str().unwrap());
    let (status, _) = http_as(addr, Some("bob"), "POST", &format!("{exec_attach}-ticket"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let container_ticket = ticketed(addr, "alice", &attach).await;
    let (_, ticket) = container_ticket.split_once("?ticket=").unwrap();
    let url = format!("ws://{addr}{exec_attach}?ticket={ticket}");
    assert_eq!(ws_refusal(&url).await, StatusCode::UNAUTHORIZED);
    tokio_tungstenite::connect_async(ticketed(addr, "alice", &exec_attach).await)
        .await
        .expect("the owner attaches to its exec");
    ws.send(Message::binary(b"exit\n".to_vec())).await.unwrap();
    assert_eq!(exit_frame(&mut ws, deadline).await["exit_code"], 0);
    let path = format!("/api/containers/{id}?force=true");
    let (status, _) = http_as(addr, Some("alice"), "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_clean(&env, &id);
}
