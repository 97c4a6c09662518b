//! `slipway serve`'s collector and the runner's unpacked layers: a layer a container stacks is kept while the
//! container lives, and collected after the grace once the container is removed; the next run unpacks it again.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use serde_json::{json, Value};

use super::busybox_server;

/// The unpacked layers' directories (`<runner>/layers/<hex>`), and whether a collected one is still on disk.
fn layer_dirs(runner: &Path) -> Result<(Vec<String>, bool)> {
    let mut layers = Vec::new();
    let mut being_removed = false;
    for entry in std::fs::read_dir(runner.join("layers"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(".gc-") {
            being_removed = true;
        } else if !name.starts_with('.') {
            layers.push(name);
        }
    }
    layers.sort();
    Ok((layers, being_removed))
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> Result<(u16, Value)> {
    let response = http.request(method, url).json(&body).send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// Create and start a busybox container running `script`; its id.
async fn start(http: &reqwest::Client, base: &str, script: &str) -> Result<String> {
    let (status, created) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/containers?start=true"),
        json!({"image": "busybox", "cmd": ["sh", "-c", script]}),
    )
    .await?;
    ensure!(status == 201, "create: {status} {created}");
    Ok(created["id"].as_str().unwrap_or_default().to_string())
}

/// Wait for container `id` to exit; its exit code and logs.
pub(super) async fn finish(http: &reqwest::Client, base: &str, id: &str) -> Result<(i64, String)> {
    let (_, state) = call(
        http,
        reqwest::Method::POST,
        format!("{base}/api/containers/{id}/wait"),
        json!({}),
    )
    .await?;
    let logs = http
        .get(format!("{base}/api/containers/{id}/logs"))
        .send()
        .await?
        .text()
        .await?;
    Ok((state["exit_code"].as_i64().unwrap_or(-1), logs))
}

#[tokio::test]
async fn a_layer_in_use_is_kept_and_collected_after_its_container_is_removed() -> Result<()> {
    let Some(server) = busybox_server("collect-layers", &["--layer-grace", "2"])? else {
        return Ok(());
    };
    let (http, base, runner) = (
        server.session_client()?,
        server.url.clone(),
        server.data.path().join("runner"),
    );

    // Runs well past the grace (2 s; the collector looks every second), then uses its layer's files again.
    let id = start(
        &http,
        &base,
        "sleep 6; wc -c < /bin/busybox && echo still working",
    )
    .await?;
    let (in_use, _) = layer_dirs(&runner)?;
    ensure!(!in_use.is_empty(), "no unpacked layer after a container started");
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let (now, being_removed) = layer_dirs(&runner)?;
        ensure!(
            now == in_use && !being_removed,
            "a running container's layer was collected: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (code, logs) = finish(&http, &base, &id).await?;
    ensure!(
        code == 0 && logs.contains("still working"),
        "exit {code}, logs {logs:?}"
    );
    ensure!(
        layer_dirs(&runner)?.0 == in_use,
        "an exited container's layer was collected (it may start again)"
    );

    let (status, removed) = call(
        &http,
        reqwest::Method::DELETE,
        format!("{base}/api/containers/{id}?force=true"),
        json!({}),
    )
    .await?;
    ensure!(status == 204 || status == 200, "remove: {status} {removed}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (left, being_removed) = layer_dirs(&runner)?;
        if left.is_empty() && !being_removed {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "layers {left:?} outlived their container by 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The next container needs the layer again: it is unpacked again and runs.
    let again = start(&http, &base, "echo unpacked again").await?;
    let (code, logs) = finish(&http, &base, &again).await?;
    ensure!(
        code == 0 && logs.contains("unpacked again"),
        "exit {code}, logs {logs:?}"
    );
    ensure!(
        layer_dirs(&runner)?.0 == in_use,
        "the layer is back under its digest"
    );
    Ok(())
}
