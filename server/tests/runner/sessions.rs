//! Sessions the server issues (issue 14), attacked as a stranger would through the real binary: no session, a
//! made-up one, an expired one, another learner's containers by id, prefix or name, and attach tickets used
//! twice or for another process.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use reqwest::Method;
use serde_json::{json, Value};
use slipway::api::{paths, SESSION_HEADER};

use crate::support::server::Server;

/// `method path` as `session` (none: no header): the status and the JSON (or text) answer.
async fn call(
    server: &Server,
    session: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.url));
    if let Some(token) = session {
        request = request.header(SESSION_HEADER, token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// What every route acting for a session must refuse without a live one.
fn session_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (
            Method::POST,
            "/api/containers?start=true",
            Some(json!({"image": "busybox", "cmd": ["true"]})),
        ),
        (Method::GET, "/api/containers?all=true", None),
        (Method::GET, paths::IMAGES, None),
        (
            Method::POST,
            paths::STEPS,
            Some(json!({"layers": [], "command": "true"})),
        ),
    ]
}

#[tokio::test]
async fn a_request_without_a_session_cannot_create_or_list_a_container() -> Result<()> {
    let server = Server::start_with(Path::new("/nonexistent"), &[])?;
    for (method, path, body) in session_routes() {
        let (status, answer) = call(&server, None, method.clone(), path, body).await?;
        ensure!(
            status == 401,
            "{method} {path} without a session: {status} {answer}"
        );
        let message = answer["message"].as_str().unwrap_or_default();
        ensure!(message.contains("reload the page"), "{method} {path}: {answer}");
    }
    // The session route itself needs none, and answers a long random token.
    let token = server.session()?;
    ensure!(
        token.len() >= 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{token}"
    );
    let (status, listed) = call(
        &server,
        Some(&token),
        Method::GET,
        "/api/containers?all=true",
        None,
    )
    .await?;
    ensure!(status == 200 && listed == json!([]), "{status} {listed}");
    Ok(())
}

#[tokio::test]
async fn a_made_up_session_is_refused() -> Result<()> {
    let server = Server::start_with(Path::new("/nonexistent"), &[])?;
    let issued = server.session()?;
    // A guess of the right shape is no better than a word: only what this server issued counts.
    let guesses = [
        "secret".to_string(),
        "cli-root".to_string(),
        "0".repeat(issued.len()),
    ];
    for guess in &guesses {
        for (method, path, body) in session_routes() {
            let (status, answer) = call(&server, Some(guess), method.clone(), path, body).await?;
            ensure!(status == 401, "{method} {path} as {guess:?}: {status} {answer}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn an_expired_session_is_refused() -> Result<()> {
    let server = Server::start_with(
        Path::new("/nonexistent"),
        &["--session-idle", "1", "--session-max-age", "3"],
    )?;
    let list = "/api/containers?all=true";
    // Idle past its expiry.
    let idle = server.session()?;
    ensure!(call(&server, Some(&idle), Method::GET, list, None).await?.0 == 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, answer) = call(&server, Some(&idle), Method::GET, list, None).await?;
    ensure!(status == 401, "idle for 1.5 s: {status} {answer}");
    // Used all the time, it still ends at its absolute expiry.
    let busy = server.session()?;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        let (status, answer) = call(&server, Some(&busy), Method::GET, list, None).await?;
        ensure!(status == 200, "used within its idle time: {status} {answer}");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, answer) = call(&server, Some(&busy), Method::GET, list, None).await?;
    ensure!(status == 401, "past its absolute expiry: {status} {answer}");
    Ok(())
}

/// A one-time ticket for `attach` (a container's or an exec's attach path) as `session`.
async fn ticket(server: &Server, session: &str, attach: &str) -> Result<(u16, String)> {
    let (status, answer) = call(
        server,
        Some(session),
        Method::POST,
        &format!("{attach}-ticket"),
        None,
    )
    .await?;
    Ok((status, answer["ticket"].as_str().unwrap_or_default().to_string()))
}

/// Opens the attach WebSocket `attach?ticket=TICKET`: Ok, or the status the upgrade was refused with.
async fn open_attach(server: &Server, attach: &str, ticket: &str) -> Result<Result<(), u16>> {
    let url = format!("{}{attach}?ticket={ticket}", server.url.replacen("http", "ws", 1));
    match tokio_tungstenite::connect_async(&url).await {
        Ok(_) => Ok(Ok(())),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Ok(Err(response.status().as_u16())),
        Err(e) => Err(e).context(url),
    }
}

#[tokio::test]
async fn a_session_cannot_reach_anothers_container_by_id_prefix_or_name() -> Result<()> {
    let Some(server) = super::busybox_server("sessions-apart", &[])? else {
        return Ok(());
    };
    let (alice, bob) = (server.session()?, server.session()?);
    let run = json!({"image": "busybox", "name": "mine", "tty": true, "interactive": true, "cmd": ["sh"]});
    let (status, created) = call(
        &server,
        Some(&alice),
        Method::POST,
        "/api/containers?start=true",
        Some(run),
    )
    .await?;
    ensure!(status == 201, "{status} {created}");
    let id = created["id"].as_str().context("no id")?.to_string();
    let (status, exec) = call(
        &server,
        Some(&alice),
        Method::POST,
        &paths::container_exec(&id),
        Some(json!({"cmd": ["sleep", "30"]})),
    )
    .await?;
    ensure!(status == 201, "{status} {exec}");
    let exec_id = exec["id"].as_str().context("no exec id")?.to_string();

    let (_, listed) = call(&server, Some(&bob), Method::GET, "/api/containers?all=true", None).await?;
    ensure!(listed == json!([]), "bob lists alice's container: {listed}");
    for key in [id.clone(), id[..4].to_string(), "mine".to_string()] {
        let reaches = [
            (Method::GET, paths::container(&key), None),
            (Method::GET, paths::container_logs(&key), None),
            (Method::POST, paths::container_attach_ticket(&key), None),
            (
                Method::POST,
                paths::container_exec(&key),
                Some(json!({"cmd": ["id"]})),
            ),
            (Method::POST, paths::container_stop(&key), None),
            (Method::POST, paths::container_kill(&key), None),
            (
                Method::DELETE,
                format!("{}?force=true", paths::container(&key)),
                None,
            ),
        ];
        for (method, path, body) in reaches {
            let (status, answer) = call(&server, Some(&bob), method.clone(), &path, body).await?;
            ensure!(status == 404, "bob: {method} {path}: {status} {answer}");
        }
    }
    for path in [paths::exec(&exec_id), paths::exec_attach_ticket(&exec_id)] {
        let method = if path.ends_with("-ticket") {
            Method::POST
        } else {
            Method::GET
        };
        let (status, answer) = call(&server, Some(&bob), method, &path, None).await?;
        ensure!(status == 404, "bob: {path}: {status} {answer}");
    }
    // Nothing bob tried touched it.
    let (_, inspect) = call(
        &server,
        Some(&alice),
        Method::GET,
        &paths::container("mine"),
        None,
    )
    .await?;
    ensure!(inspect["state"]["status"] == "running", "{inspect}");

    // Alice's tickets: each opens its own process's attach once; none opens another's; no ticket opens nothing.
    let attach = paths::container_attach(&id);
    let exec_attach = paths::exec_attach(&exec_id);
    ensure!(
        open_attach(&server, &attach, "").await? == Err(401),
        "an attach without a ticket"
    );
    ensure!(
        open_attach(&server, &attach, &alice).await? == Err(401),
        "the session is no ticket"
    );
    let (status, once) = ticket(&server, &alice, &attach).await?;
    ensure!(status == 200 && !once.is_empty(), "{status}");
    ensure!(
        open_attach(&server, &attach, &once).await? == Ok(()),
        "the owner's ticket"
    );
    ensure!(
        open_attach(&server, &attach, &once).await? == Err(401),
        "a ticket used twice"
    );
    let (_, for_container) = ticket(&server, &alice, &attach).await?;
    ensure!(
        open_attach(&server, &exec_attach, &for_container).await? == Err(401),
        "a container's ticket opened an exec"
    );
    let (_, for_exec) = ticket(&server, &alice, &exec_attach).await?;
    ensure!(
        open_attach(&server, &exec_attach, &for_exec).await? == Ok(()),
        "the exec's ticket"
    );

    let (status, _) = call(
        &server,
        Some(&alice),
        Method::DELETE,
        &format!("{}?force=true", paths::container(&id)),
        None,
    )
    .await?;
    ensure!(status == 204, "{status}");
    Ok(())
}

/// A learner who left: once their session expires, the collector removes their containers as `docker rm -f`
/// does (the process ends, the container's directory goes), so their slots, memory and ports come back; another
/// learner's container stays.
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_sessions_containers_are_removed_by_the_collector() -> Result<()> {
    // `--upload-grace 10`: the collector looks every second.
    let args = ["--session-idle", "3", "--upload-grace", "10"];
    let Some(server) = super::busybox_server("sessions-expiry-collect", &args)? else {
        return Ok(());
    };
    let (left, stays) = (server.session()?, server.session()?);
    let run = |session: String| {
        let server = &server;
        async move {
            let path = format!("{}?start=true", paths::CONTAINERS);
            let body = json!({"image": "busybox", "cmd": ["sleep", "300"]});
            let (status, created) = call(server, Some(&session), Method::POST, &path, Some(body)).await?;
            ensure!(status == 201, "{status} {created}");
            let id = created["id"].as_str().context("no id")?.to_string();
            let (_, inspect) =
                call(server, Some(&session), Method::GET, &paths::container(&id), None).await?;
            let pid = inspect["state"]["pid"].as_i64().context("no pid")?;
            Ok::<_, anyhow::Error>((id, pid))
        }
    };
    let (left_id, left_pid) = run(left.clone()).await?;
    let (stays_id, stays_pid) = run(stays.clone()).await?;
    let dir = |id: &str| server.data.path().join("runner/c").join(&id[..16]);
    ensure!(
        dir(&left_id).is_dir(),
        "no container directory at {}",
        dir(&left_id).display()
    );
    ensure!(Path::new(&format!("/proc/{left_pid}")).exists());

    // `left` is never used again; `stays` keeps using its session.
    let started = std::time::Instant::now();
    while dir(&left_id).exists() || Path::new(&format!("/proc/{left_pid}")).exists() {
        ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the expired session's container is still there after 30 s"
        );
        let (status, _) = call(&server, Some(&stays), Method::GET, paths::CONTAINERS, None).await?;
        ensure!(status == 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, inspect) = call(
        &server,
        Some(&stays),
        Method::GET,
        &paths::container(&stays_id),
        None,
    )
    .await?;
    ensure!(
        status == 200 && inspect["state"]["status"] == "running",
        "{status} {inspect}"
    );
    ensure!(Path::new(&format!("/proc/{stays_pid}")).exists());
    ensure!(dir(&stays_id).is_dir());
    Ok(())
}
