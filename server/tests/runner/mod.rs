//! The runner through the real `slipway` binary: `slipway serve` with an OCI layout holding a busybox image made
//! from the host's static busybox, then `docker run`, logs, a RUN step and a clean shutdown over HTTP.

mod collector;
mod crash;
mod crun;
mod fair_shares;
mod local;
mod network;
mod page;
mod published_ports;
mod seccomp;
mod sessions;
mod step_blobs;
mod streaming;

use std::path::Path;

use crate::support::server::Server;

/// Whether this machine can run containers; a missing piece fails the test (see `support::prerequisite`).
fn can_run_containers() -> bool {
    use crate::support::prerequisite::{available, runner_missing, RUNNER_FIX};
    available("runner", runner_missing(), RUNNER_FIX)
}

/// `slipway serve` with busybox imported, or None when the developer opted out of container tests.
pub(crate) fn busybox_server(label: &str, args: &[&str]) -> anyhow::Result<Option<Server>> {
    server_with(label, crate::support::server::with_busybox, args)
}

/// `slipway serve` on a data dir that `base_images` prepared (e.g. `with_python`), or None when the developer
/// opted out of container tests.
fn server_with(
    label: &str,
    base_images: fn(&crate::support::TempDir) -> anyhow::Result<()>,
    args: &[&str],
) -> anyhow::Result<Option<Server>> {
    if !can_run_containers() {
        return Ok(None);
    }
    let data = crate::support::TempDir::new(label);
    base_images(&data)?;
    Ok(Some(Server::start_in(data, Path::new("/nonexistent"), args)?))
}

/// `docker run --rm IMAGE CMD...` through the protocol's client (`slipway::api::Companion`): exit code and
/// output.
pub(crate) async fn docker_run(server: &Server, image: &str, cmd: &[&str]) -> anyhow::Result<(i64, String)> {
    use slipway::api::{Companion, CreateContainer, LogsQuery, RemoveQuery, RunOptions};
    let http = crate::registry::client::Reqwest::new();
    let transport = slipway::api::SessionTransport::new(&http, server.session()?, &server.url);
    let companion = Companion::new(&transport, &server.url);
    let request = CreateContainer {
        image: image.to_string(),
        options: RunOptions {
            cmd: cmd.iter().map(|arg| arg.to_string()).collect(),
            ..RunOptions::default()
        },
    };
    let id = companion.create(&request, true).await?.id;
    let state = companion.wait(&id).await?;
    let chunks = companion.logs(&id, &LogsQuery::default()).await?;
    companion.remove(&id, &RemoveQuery { force: true }).await?;
    let output = chunks.into_iter().map(|chunk| chunk.data).collect();
    Ok((state.exit_code.map_or(-1, i64::from), output))
}

#[tokio::test]
async fn docker_run_and_a_run_step_through_the_binary() -> anyhow::Result<()> {
    let Some(server) = busybox_server("runner-binary", &["--runtime", "runc"])? else {
        return Ok(());
    };
    let http = server.session_client()?;
    let base = server.url.clone();
    let layout = server.data.path().join("base-images/busybox");

    let info: serde_json::Value = http.get(format!("{base}/api/info")).send().await?.json().await?;
    assert_eq!(info["runtime"]["available"]["name"], "runc", "{info}");

    let created: serde_json::Value = http
        .post(format!("{base}/api/containers?start=true"))
        .json(
            &serde_json::json!({"image": "busybox", "cmd": ["sh", "-c", "echo hello from $(id -u); exit 2"]}),
        )
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().expect("id").to_string();
    let (exit_code, logs) = collector::finish(&http, &base, &id).await?;
    assert_eq!(exit_code, 2);
    assert_eq!(logs, "hello from 0\n");

    let image: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest_hex = image["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(manifest_hex))?)?;
    let step: serde_json::Value = http
        .post(format!("{base}/api/steps"))
        .json(
            &serde_json::json!({"layers": [manifest["layers"][0]["digest"]], "command": "echo hi > /hi.txt"}),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(step["exit_code"], 0, "{step}");
    assert!(step["layer"]["digest"].as_str().unwrap().starts_with("sha256:"));
    // The next step stacks that layer (kept in the runner's blobs: the step named no repository).
    let next: serde_json::Value = http
        .post(format!("{base}/api/steps"))
        .json(
            &serde_json::json!({"layers": [manifest["layers"][0]["digest"], step["layer"]["digest"]],
            "command": "cat /hi.txt"}),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(next["output"], "hi\n", "{next}");

    // A detached container is killed and cleaned up when the server shuts down.
    let sleeper: serde_json::Value = http
        .post(format!("{base}/api/containers?start=true"))
        .json(&serde_json::json!({"image": "busybox", "cmd": ["sleep", "100"]}))
        .send()
        .await?
        .json()
        .await?;
    assert!(sleeper["id"].is_string(), "{sleeper}");
    let (status, data) = server.stop_keeping_data()?;
    assert!(status.success(), "{status}");
    let runner_dir = data.path().join("runner");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    assert!(
        !mountinfo.contains(runner_dir.to_str().unwrap()),
        "mounts left under {}",
        runner_dir.display()
    );
    assert_eq!(
        std::fs::read_dir(runner_dir.join("c"))?.count(),
        0,
        "container dirs left"
    );
    Ok(())
}
