//! Docker's per-layer progress bars from the interpreter, in process against a real `slipway serve` and a second
//! registry reached directly: a multi-MB layer pushed in `PATCH` chunks and pulled in `Range` pieces shows a bar
//! that grows, redrawn under the layer's key, and ends with docker's final status on the same key.

use std::cell::RefCell;

use slipway::cli::containers::SessionTransport;
use slipway::cli::context::{CommandContext, Stream};
use slipway::cli::credentials::CredentialStore;
use slipway::cli::interpret::{plan_line, run_command};
use slipway::cli::outcome::{Outcome, Step};

use super::client::Reqwest;
use super::peers::Distribution;
use super::*;

/// What a command printed: its outcome, and every keyed status line `(key, line)` in order.
type Printed = (Outcome, Vec<(String, String)>);

/// Run a docker line through the interpreter as session `session`, with a status sink (the page's terminal).
async fn run_with_bars(server: &Server, session: &str, line: &str) -> Result<Printed> {
    let Step::Companion(inv) = plan_line(line) else {
        anyhow::bail!("{line} is not a companion command");
    };
    let reqwest = Reqwest::new();
    let transport = SessionTransport::new(&reqwest, session, &server.base);
    let credentials = RefCell::new(CredentialStore::default());
    let progress_lines = RefCell::new(Vec::new());
    let keyed = RefCell::new(Vec::new());
    let progress = |_: Stream, line: &str| progress_lines.borrow_mut().push(line.to_string());
    let status =
        |_: Stream, key: &str, line: &str| keyed.borrow_mut().push((key.to_string(), line.to_string()));
    let ctx = CommandContext {
        session: Some(session),
        progress: Some(&progress),
        status: Some(&status),
        ..CommandContext::new(&transport, &server.base, &server.addr, &credentials)
    };
    let outcome = run_command(&ctx, &inv).await;
    Ok((outcome, keyed.into_inner()))
}

/// The byte counts a layer's bars showed, in order (`Pushing [==>   ]  1.2MB/3.4MB` → `1.2MB`).
fn bar_counts<'l>(lines: &'l [(String, String)], key: &str, verb: &str) -> Vec<&'l str> {
    let prefix = format!("{key}: {verb} [");
    lines
        .iter()
        .filter(|(k, _)| k == key)
        .filter_map(|(_, line)| line.strip_prefix(&prefix))
        .map(|bar| {
            assert_eq!(bar.find(']'), Some(51), "a 50-column bar and its head: {bar}");
            bar[52..].trim_start().split('/').next().unwrap_or("")
        })
        .collect()
}

fn size_in_bytes(human: &str) -> f64 {
    let digits = human.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match &human[digits.len()..] {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        other => panic!("unexpected unit {other}"),
    };
    digits.parse::<f64>().unwrap() * unit
}

#[tokio::test]
async fn push_and_pull_of_a_multi_megabyte_layer_show_a_growing_bar_per_layer() -> Result<()> {
    let dir = TempDir::new("cli-progress");
    let remote = Distribution::start(dir.path()).await?;
    let server = Server::start(&dir.path().join("data"))?;
    let layer = noise(3_000_000, 17);
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    push_blob(&server, "library/big", config).await?;
    push_blob(&server, "library/big", &layer).await?;
    let manifest = image_manifest(config, &[&layer], serde_json::json!({}));
    let put = client()
        .put(server.url("/v2/library/big/manifests/latest"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest)
        .send()
        .await?;
    anyhow::ensure!(put.status() == 201, "seeding big: {}", put.status());
    let key = sha256(&layer)["sha256:".len()..][..12].to_string();

    let bars_a = server.session()?;
    let (pulled, _) = run_with_bars(&server, &bars_a, "docker pull big").await?;
    assert_eq!(pulled.exit_code, 0, "{}", pulled.stderr);
    let target = format!("{}/learner1/big:v1", remote.addr);
    let tagged = run_with_bars(&server, &bars_a, &format!("docker tag big {target}")).await?;
    assert_eq!(tagged.0.exit_code, 0, "{}", tagged.0.stderr);

    let (pushed, lines) = run_with_bars(&server, &bars_a, &format!("docker push {target}")).await?;
    assert_eq!(pushed.exit_code, 0, "{}", pushed.stderr);
    let counts = bar_counts(&lines, &key, "Pushing");
    assert!(counts.len() >= 10, "3 MB in 256 KiB chunks: {lines:?}");
    let sizes: Vec<f64> = counts.iter().map(|c| size_in_bytes(c)).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(counts.last(), Some(&"3MB"));
    assert_eq!(lines.last(), Some(&(key.clone(), format!("{key}: Pushed"))));

    let (pulled, lines) =
        run_with_bars(&server, &server.session()?, &format!("docker pull {target}")).await?;
    assert_eq!(pulled.exit_code, 0, "{}", pulled.stderr);
    let counts = bar_counts(&lines, &key, "Downloading");
    assert!(counts.len() >= 3, "3 MB in 1 MiB ranges: {lines:?}");
    let sizes: Vec<f64> = counts.iter().map(|c| size_in_bytes(c)).collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(counts.last(), Some(&"3MB"));
    assert_eq!(
        lines.last(),
        Some(&(key.clone(), format!("{key}: Pull complete")))
    );
    Ok(())
}
