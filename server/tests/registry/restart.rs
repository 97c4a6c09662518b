//! Sessions survive a restart of `slipway serve` on the same data dir (SIGTERM and SIGKILL alike): the same token
//! still works and its local images are still listed; an expired session stays expired; the file on disk holds
//! no token.

use std::path::Path;
use std::time::Duration;

use anyhow::{ensure, Result};
use slipway::api::{paths, SESSION_HEADER};

use super::collect_local::push_local;
use super::noise;
use crate::support::server::Server;
use crate::support::TempDir;

/// `GET /api/images` as session `token`: the status and body.
async fn images(server: &Server, token: &str) -> Result<(u16, String)> {
    let response = reqwest::Client::new()
        .get(format!("{}{}", server.url, paths::IMAGES))
        .header(SESSION_HEADER, token)
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

fn start(data: TempDir, args: &[&str]) -> Result<Server> {
    Server::start_in(data, Path::new("/nonexistent"), args)
}

#[tokio::test]
async fn a_session_survives_a_server_restart() -> Result<()> {
    let server = start(TempDir::new("restart-sessions"), &[])?;
    let token = server.session()?;
    let first = push_local(&server.url, &token, 41, &[&noise(10_000, 41)]).await?;
    let (status, listed) = images(&server, &token).await?;
    ensure!(
        status == 200 && listed.contains("learner1/app"),
        "{status} {listed}"
    );

    // A clean stop, then a start on the same data dir: the same token, the same images.
    let (stopped, data) = server.stop_keeping_data()?;
    ensure!(stopped.success(), "{stopped}");
    let on_disk = std::fs::read_to_string(data.path().join("issued-sessions.json"))?;
    ensure!(
        !on_disk.contains(&token),
        "the sessions file holds the token itself"
    );
    let server = start(data, &[])?;
    let (status, listed) = images(&server, &token).await?;
    ensure!(
        status == 200 && listed.contains("learner1/app"),
        "after SIGTERM: {status} {listed}"
    );
    let pulled = reqwest::Client::new()
        .get(format!(
            "{}/v2/{}/manifests/{}",
            server.url, first.repo, first.manifest
        ))
        .header(SESSION_HEADER, &token)
        .send()
        .await?;
    ensure!(pulled.status() == 200, "pull after SIGTERM: {}", pulled.status());

    // kill -9 (nothing written at exit): the session was on disk since it was issued.
    let other = server.session()?;
    push_local(&server.url, &other, 42, &[&noise(10_000, 42)]).await?;
    let server = start(server.crash()?, &[])?;
    for session in [&token, &other] {
        let (status, listed) = images(&server, session).await?;
        ensure!(
            status == 200 && listed.contains("learner1/app"),
            "after SIGKILL: {status} {listed}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_expired_session_stays_expired_after_a_restart() -> Result<()> {
    let idle = ["--session-idle", "2"];
    let server = start(TempDir::new("restart-expired"), &idle)?;
    let (expired, unused) = (server.session()?, server.session()?);
    ensure!(images(&server, &expired).await?.0 == 200);
    let (_, data) = server.stop_keeping_data()?;
    // Down for longer than the idle expiry, then back: the session expired meanwhile.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let server = start(data, &idle)?;
    let (status, body) = images(&server, &expired).await?;
    ensure!(
        status == 401,
        "an expired session after a restart: {status} {body}"
    );
    ensure!(
        images(&server, &unused).await?.0 == 401,
        "a session never used expired too"
    );
    // Also when it expires while the server runs and the server then restarts (SIGKILL: the last write had it).
    let token = server.session()?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ensure!(images(&server, &token).await?.0 == 401);
    let server = start(server.crash()?, &idle)?;
    ensure!(
        images(&server, &token).await?.0 == 401,
        "it came back after a restart"
    );
    Ok(())
}
