//! The browser half of the layer-pass benchmark: the page's `layer-worker` Web Workers (the release wasm in
//! `dist/`, served by `slipway serve`, headless Chromium) gzip and hash the same layers' tars, with 1 worker and
//! with `navigator.hardwareConcurrency` workers taking layers from one queue, as the page's pool does.
//!
//! Wall time is `performance.now()` around the pass in the page; CPU time is every process under this one
//! (chromedriver, Chromium and its renderer with the workers' threads, the server), read from `/proc`.

use std::path::Path;
use std::time::Duration;

use slipway::layer::LayerInfo;

use super::support::browser::Browser;
use super::support::server::{dist_dir, Server};
use super::support::TempDir;

/// One measured configuration: its name, median wall seconds, median CPU seconds.
pub type Row = (String, f64, f64);

/// Runs in the page: fetches the layers once, then `__prep(n)` starts `n` workers and copies the tars (buffers
/// are transferred, so each pass needs fresh copies) and `__pass()` packs them all, leaving the result in
/// `window.__done` (`{ms, digests}` or `{error}`).
const SETUP_JS: &str = r#"
const [names, level] = arguments;
window.__done = null;
window.__ready = false;
(async () => {
  const layers = await Promise.all(names.map(n => fetch(n).then(r => r.arrayBuffer())));
  let workers = [], queue = [];
  const start = () => new Promise((ok, fail) => {
    const w = new Worker('/layer-worker_loader.js');
    w.onmessage = e => { if (JSON.parse(e.data[0]) === 'ready') ok(w); };
    w.onerror = e => fail(e.message || 'the worker did not load');
  });
  window.__prep = async n => {
    workers.forEach(w => w.terminate());
    workers = await Promise.all(Array.from({length: n}, start));
    queue = layers.map(b => b.slice(0));
    window.__ready = true;
  };
  const pack = (w, job) => new Promise((ok, fail) => {
    // The worker's protocol (ui::layer_worker): [JSON text, buffer]; reports externally tagged.
    w.onmessage = e => {
      const report = JSON.parse(e.data[0]);
      if (report.done && report.done.job === job) ok(report.done.digest);
      else if (report.error && report.error.job === job) fail(report.error.message);
    };
    w.postMessage([JSON.stringify({job, level}), queue[job]], [queue[job]]);
  });
  window.__pass = () => {
    window.__done = null;
    const digests = new Array(queue.length);
    let next = 0;
    const t0 = performance.now();
    Promise.all(workers.map(async w => {
      while (next < queue.length) { const job = next++; digests[job] = await pack(w, job); }
    })).then(() => { window.__done = {ms: performance.now() - t0, digests}; },
             e => { window.__done = {error: String(e)}; });
  };
  window.__cores = navigator.hardwareConcurrency;
})().catch(e => { window.__done = {error: String(e)}; });
"#;

/// utime + stime of every live process below this one, in seconds (clock ticks of 10 ms).
fn descendants_cpu_secs() -> f64 {
    let mut procs = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state, ppid (index 1), ... utime (11), stime (12).
        let num = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        procs.push((pid, num(1) as u32, num(11) + num(12)));
    }
    let mut below = vec![std::process::id()];
    let mut total = 0.0;
    while let Some(parent) = below.pop() {
        for &(pid, ppid, ticks) in &procs {
            if ppid == parent {
                below.push(pid);
                total += ticks;
            }
        }
    }
    total / 100.0
}

/// A copy of the built app with the layers' tars beside it, so the page can fetch them.
fn dist_with_layers(tars: &[Vec<u8>], into: &Path) -> anyhow::Result<Vec<String>> {
    // `BENCH_DIST`: another build of the app (other compiler flags) to compare with `dist/`.
    let built = std::env::var_os("BENCH_DIST").map_or_else(dist_dir, std::path::PathBuf::from);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(built)
        .arg(into)
        .status()?;
    anyhow::ensure!(status.success(), "could not copy dist/");
    let mut names = Vec::new();
    for (i, tar) in tars.iter().enumerate() {
        let name = format!("bench-layer-{i}.tar");
        std::fs::write(into.join(&name), tar)?;
        names.push(format!("/{name}"));
    }
    Ok(names)
}

/// Polls `expr` in the page until it is neither null nor false.
async fn wait_for(page: &fantoccini::Client, expr: &str) -> anyhow::Result<serde_json::Value> {
    for _ in 0..6000 {
        let value = page.execute(&format!("return {expr};"), vec![]).await?;
        if !value.is_null() && value != false {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the page never set {expr}")
}

/// Packs `tars` in the page's workers `runs` times after a warm-up pass, with 1 worker and with one per core;
/// every pass must give the native digests in `expected`.
pub async fn run(
    tars: &[Vec<u8>],
    expected: &[LayerInfo],
    level: u32,
    runs: usize,
) -> anyhow::Result<Vec<Row>> {
    let dir = TempDir::new("bench-layer-dist");
    let dist = dir.path().join("dist");
    let names = dist_with_layers(tars, &dist)?;
    let server = Server::start_with(&dist, &[])?;
    let browser = Browser::start().await?;
    let client = browser.client.clone();
    client.goto(&format!("{}/", server.url)).await?;
    client.execute(SETUP_JS, vec![names.into(), level.into()]).await?;
    let cores = wait_for(&client, "window.__cores")
        .await?
        .as_u64()
        .unwrap_or(1)
        .max(1);
    let want: Vec<String> = expected.iter().map(|i| i.digest.to_string()).collect();
    let mut rows = Vec::new();
    for workers in [1, cores] {
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for pass in 0..=runs {
            client
                .execute(
                    "window.__ready = false; window.__prep(arguments[0]);",
                    vec![workers.into()],
                )
                .await?;
            wait_for(&client, "window.__ready").await?;
            let cpu_start = descendants_cpu_secs();
            client.execute("window.__pass();", vec![]).await?;
            let done = wait_for(&client, "window.__done").await?;
            let cpu_secs = descendants_cpu_secs() - cpu_start;
            if let Some(error) = done.get("error") {
                anyhow::bail!("the workers failed: {error}");
            }
            let digests: Vec<String> = serde_json::from_value(done["digests"].clone())?;
            anyhow::ensure!(digests == want, "the workers gave {digests:?}, native {want:?}");
            if pass > 0 {
                // Pass 0 warms V8 up (its first wasm calls run unoptimized).
                wall.push(done["ms"].as_f64().unwrap_or(0.0) / 1000.0);
                cpu.push(cpu_secs);
            }
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let name = if workers == 1 {
            format!("browser: {} layers in 1 layer-worker, gzip-{level}", tars.len())
        } else {
            format!(
                "browser: {} layers in {workers} layer-workers (one per core), gzip-{level}",
                tars.len()
            )
        };
        rows.push((name, median(wall), median(cpu)));
    }
    client.close().await?;
    drop(browser);
    drop(server);
    Ok(rows)
}
