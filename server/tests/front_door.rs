//! The server's front door through the real binary: a foreign `Host` (DNS rebinding) and a foreign `Origin` on a
//! WebSocket upgrade get 403, responses carry the security headers, and an exposed bind without users refuses to
//! start. (The rules themselves are unit-tested in `server/src/guard.rs`.)

use std::path::Path;

use crate::support::server::{serve_refusal, Server};

#[tokio::test]
async fn a_rebound_host_name_and_a_foreign_origin_get_403_through_the_real_server() {
    let server = Server::start_with(Path::new("/nonexistent"), &[]).unwrap();
    let http = reqwest::Client::new();
    let info = format!("{}/api/info", server.url);

    let own = http.get(&info).send().await.unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.headers()["x-content-type-options"], "nosniff");
    // The policy is for documents: JSON goes without it, the page (here: the "not built" page) has it.
    assert!(!own.headers().contains_key("content-security-policy"));
    let page = http.get(&server.url).send().await.unwrap();
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.ends_with("frame-ancestors 'self'"), "{policy}");

    let rebound = http
        .get(&info)
        .header("host", "attacker.example:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let body = rebound.text().await.unwrap();
    assert!(body.contains("--public-host"), "{body}");

    // A hostile page on another loopback port opening a learner's container's TTY.
    let attach = http
        .get(format!("{}/api/containers/anything/attach", server.url))
        .header("origin", "http://127.0.0.1:1")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(attach.status(), 403);

    let create = http
        .post(format!("{}/api/containers", server.url))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({"image": "busybox"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 403);
}

#[test]
fn an_exposed_bind_without_users_refuses_to_start_and_says_how_to_fix_it() {
    let stderr = serve_refusal(&["--addr", "0.0.0.0:0"]);
    assert!(
        stderr.contains("refusing to serve an open registry on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--users") && stderr.contains("--open-registry"),
        "{stderr}"
    );
}
