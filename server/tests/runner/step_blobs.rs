//! RUN steps' layers kept in the runner's `blobs/sha256/` (steps that name no repository) are collected once
//! neither written nor stacked by a step for `--step-blob-grace`; one a build keeps stacking stays.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use serde_json::{json, Value};
use slipway::api::paths;

use super::busybox_server;

/// The runner's step blobs (file names).
fn step_blobs(runner: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(runner.join("blobs/sha256"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

/// `POST /api/steps` on `layers`: the status and the answer.
async fn step(http: &reqwest::Client, base: &str, layers: &[&str], command: &str) -> Result<(u16, Value)> {
    let response = http
        .post(format!("{base}{}", paths::STEPS))
        .json(&json!({"layers": layers, "command": command}))
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// A step that must make a layer: its digest.
async fn layer(http: &reqwest::Client, base: &str, layers: &[&str], command: &str) -> Result<String> {
    let (status, answer) = step(http, base, layers, command).await?;
    ensure!(status == 200 && answer["exit_code"] == 0, "{status} {answer}");
    Ok(answer["layer"]["digest"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn run_step_blobs_are_collected_after_their_grace() -> Result<()> {
    let Some(server) = busybox_server("step-blobs", &["--step-blob-grace", "3"])? else {
        return Ok(());
    };
    let (http, base) = (server.session_client()?, server.url.clone());
    let runner = server.data.path().join("runner");
    let layout = server.data.path().join("base-images/busybox");
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest_hex = index["manifests"][0]["digest"].as_str().unwrap_or_default();
    let manifest: Value = serde_json::from_slice(&std::fs::read(
        layout
            .join("blobs/sha256")
            .join(manifest_hex.trim_start_matches("sha256:")),
    )?)?;
    let busybox = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let stacked = layer(&http, &base, &[&busybox], "echo kept > /kept").await?;
    let left = layer(&http, &base, &[&busybox], "echo left > /left").await?;
    let hex = |digest: &str| digest.trim_start_matches("sha256:").to_string();
    ensure!(
        step_blobs(&runner)? == {
            let mut both = vec![hex(&stacked), hex(&left)];
            both.sort();
            both
        }
    );

    // A build keeps stacking one layer for twice the grace (its steps fail, so they add no blob): it stays,
    // the other one goes.
    let until = Instant::now() + Duration::from_secs(7);
    while Instant::now() < until {
        let (status, answer) = step(&http, &base, &[&busybox, &stacked], "cat /kept; exit 3").await?;
        ensure!(status == 200 && answer["exit_code"] == 3, "{status} {answer}");
        ensure!(answer["output"] == "kept\n", "{answer}");
        ensure!(
            step_blobs(&runner)?.contains(&hex(&stacked)),
            "a stacked layer was collected"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ensure!(
        step_blobs(&runner)? == [hex(&stacked)],
        "{:?}",
        step_blobs(&runner)?
    );

    // Left alone, it goes too: the runner's blob store is back to empty.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !step_blobs(&runner)?.is_empty() {
        ensure!(
            Instant::now() < deadline,
            "step blobs {:?} outlived their grace by 30 s",
            step_blobs(&runner)?
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, answer) = step(&http, &base, &[&busybox, &stacked], "true").await?;
    ensure!(status == 404, "a collected layer: {status} {answer}");
    Ok(())
}
