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

/// The digest of busybox's one layer, from the data dir's base-image layout.
pub(super) fn busybox_layer(data: &Path) -> Result<String> {
    let layout = data.join("base-images/busybox");
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest_hex = index["manifests"][0]["digest"].as_str().unwrap_or_default();
    let manifest: Value = serde_json::from_slice(&std::fs::read(
        layout
            .join("blobs/sha256")
            .join(manifest_hex.trim_start_matches("sha256:")),
    )?)?;
    Ok(manifest["layers"][0]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test]
async fn a_run_steps_layer_past_the_disk_quota_is_refused_before_it_is_written() -> Result<()> {
    let Some(server) = busybox_server("step-quota", &[])? else {
        return Ok(());
    };
    let busybox = busybox_layer(server.data.path())?;
    // Busybox unpacked once, so the budget below counts it.
    let (http, base) = (server.session_client()?, server.url.clone());
    layer(&http, &base, &[&busybox], "true").await?;
    let (_, data) = server.stop_keeping_data()?;
    // Room for 2 MiB more than the data dir holds now: a step writing 8 MiB of noise does not fit.
    let quota = (crate::support::bytes_below(data.path()) + (2 << 20)).to_string();
    let server =
        crate::support::server::Server::start_in(data, Path::new("/nonexistent"), &["--disk-quota", &quota])?;
    let (http, base) = (server.session_client()?, server.url.clone());
    let runner = server.data.path().join("runner");
    let before = step_blobs(&runner)?;
    let (status, answer) = step(&http, &base, &[&busybox], "head -c 8388608 /dev/urandom > /noise").await?;
    ensure!(
        status == 507 && answer.to_string().contains("disk quota"),
        "{status} {answer}"
    );
    ensure!(
        step_blobs(&runner)? == before,
        "the refused capture left {:?}",
        step_blobs(&runner)?
    );
    // A small step still fits.
    let small = layer(&http, &base, &[&busybox], "echo small > /small").await?;
    ensure!(step_blobs(&runner)?.iter().any(|b| small.ends_with(b.as_str())));
    Ok(())
}

#[tokio::test]
async fn run_step_blobs_are_collected_after_their_grace() -> Result<()> {
    let Some(server) = busybox_server("step-blobs", &["--step-blob-grace", "3"])? else {
        return Ok(());
    };
    let (http, base) = (server.session_client()?, server.url.clone());
    let runner = server.data.path().join("runner");
    let busybox = busybox_layer(server.data.path())?;

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
