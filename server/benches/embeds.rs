//! Docs embeds benchmark (issue 18): runnable blocks (`static/blocks.js`) beside today's iframe embed
//! (`static/embed.js`), in headless Chromium against `slipway serve` on loopback. For a page of 1 and of 20
//! blocks, cold (a fresh browser profile) and warm (the same page loaded again): bytes on the wire and time from
//! navigation to an enhanced page, and from the first Run to its first output (the runner frame loading
//! included). The iframe embed: bytes and time to the app's first render in its frame. Median of 5 loads each.
//! Run with `scripts/bench.sh embeds` (it builds the app first). Prints a Markdown table for docs/performance.md.

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::support;
    use std::time::Duration;

    use anyhow::{bail, Context};
    use serde_json::Value;
    use support::browser::{Browser, Page};
    use support::server::{dist_dir, with_busybox, Server};
    use support::TempDir;

    /// Loads per page and state (`EMBEDS_BENCH_RUNS` overrides, e.g. 1 for a quick look).
    fn runs() -> usize {
        std::env::var("EMBEDS_BENCH_RUNS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(5)
    }

    /// Bytes on the wire so far (the document and every resource, frames' included) and the named mark's time.
    const READ_JS: &str = r#"
    const mark = performance.getEntriesByName(arguments[0])[0];
    if (!mark) return null;
    const sum = (w) => w.performance.getEntriesByType('navigation').concat(w.performance.getEntriesByType('resource'))
        .reduce((s, e) => s + e.transferSize, 0);
    let bytes = sum(window);
    for (const f of document.querySelectorAll('iframe')) { try { bytes += sum(f.contentWindow); } catch (e) {} }
    return [mark.startTime, bytes];
    "#;

    /// The iframe embed's first render, read from inside its (same-origin) frame.
    const FRAME_JS: &str = r#"
    const f = document.querySelector('iframe');
    const w = f && f.contentWindow;
    const mark = w && w.performance.getEntriesByName('slipway-first-render')[0];
    if (!mark) return null;
    const sum = (w) => w.performance.getEntriesByType('navigation').concat(w.performance.getEntriesByType('resource'))
        .reduce((s, e) => s + e.transferSize, 0);
    // The frame's clock starts at its own navigation: add where it started on the page's.
    const start = performance.getEntriesByType('resource').find(e => e.initiatorType === 'iframe');
    return [(start ? start.startTime : 0) + mark.startTime, sum(window) + sum(w)];
    "#;

    fn median(values: &mut [f64]) -> f64 {
        values.sort_by(|a, b| a.total_cmp(b));
        values[values.len() / 2]
    }

    /// A docs page of `n` shell blocks (the first one is the one run).
    fn blocks_page(n: usize) -> String {
        let mut body = String::new();
        for i in 0..n {
            body.push_str(&format!(
                "<p>Step {i}.</p>\n<pre data-slipway=\"shell\" id=\"b{i}\"><code>docker run --rm busybox echo block {i}</code></pre>\n"
            ));
        }
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>bench</title>\
             <script src=\"/static/blocks.js\" defer></script></head><body><main>{body}</main></body></html>"
        )
    }

    fn iframe_page() -> String {
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>bench</title></head><body><main>\
         <script src=\"/static/embed.js\" data-panes=\"editor,terminal\"></script></main></body></html>"
            .to_string()
    }

    /// The built app plus the bench's pages, as one dist folder (symlinks to the real files).
    fn bench_dist() -> anyhow::Result<TempDir> {
        let dir = TempDir::new("bench-dist");
        for entry in std::fs::read_dir(dist_dir())? {
            let entry = entry?;
            std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name()))?;
        }
        std::fs::create_dir(dir.path().join("bench"))?;
        std::fs::write(dir.path().join("bench/one.html"), blocks_page(1))?;
        std::fs::write(dir.path().join("bench/twenty.html"), blocks_page(20))?;
        std::fs::write(dir.path().join("bench/iframe.html"), iframe_page())?;
        Ok(dir)
    }

    async fn poll(page: &Page, js: &str, arg: &str) -> anyhow::Result<(f64, f64)> {
        for _ in 0..1500 {
            let value = page.client.execute(js, vec![Value::from(arg)]).await?;
            if let Some(pair) = value.as_array() {
                return Ok((
                    pair[0].as_f64().unwrap_or(f64::NAN),
                    pair[1].as_f64().unwrap_or(f64::NAN),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("no {arg} mark")
    }

    /// One load of `url`: (ms to enhanced, bytes then, ms from Run to first output, bytes then), or the
    /// iframe's (ms to first render, bytes).
    async fn measure(page: &Page, url: &str, iframe: bool) -> anyhow::Result<[f64; 4]> {
        page.goto(url).await?;
        if iframe {
            let (ms, bytes) = poll(page, FRAME_JS, "").await?;
            return Ok([ms, bytes, f64::NAN, f64::NAN]);
        }
        let (enhanced, bytes) = poll(page, READ_JS, "slipway-blocks-enhanced").await?;
        let clicked: f64 = page
            .client
            .execute(
                "document.querySelector('.slipway-bar button').click(); return performance.now();",
                vec![],
            )
            .await?
            .as_f64()
            .context("performance.now()")?;
        let (output, run_bytes) = poll(page, READ_JS, "slipway-block-output").await?;
        Ok([enhanced, bytes, output - clicked, run_bytes])
    }

    #[tokio::main]
    pub async fn main() -> anyhow::Result<()> {
        let dist = bench_dist()?;
        let data = TempDir::new("data");
        with_busybox(&data)?;
        let server = Server::start_in(data, dist.path(), &[])?;
        println!("| page | load | to enhanced (ms) | bytes then (KiB) | Run → first output (ms) | bytes after Run (KiB) |");
        println!("| --- | --- | --- | --- | --- | --- |");
        for (name, path, iframe) in [
            ("1 block", "bench/one.html", false),
            ("20 blocks", "bench/twenty.html", false),
            ("iframe embed (first render)", "bench/iframe.html", true),
        ] {
            let url = format!("{}/{path}", server.url);
            let mut cold = Vec::new();
            let mut warm = Vec::new();
            for _ in 0..runs() {
                let browser = Browser::start().await?;
                let (tx, rx) = std::sync::mpsc::channel();
                let url = url.clone();
                browser
                    .run("bench_embeds", |page| async move {
                        tx.send(measure(&page, &url, iframe).await?)?;
                        tx.send(measure(&page, &url, iframe).await?)?;
                        Ok(())
                    })
                    .await?;
                cold.push(rx.recv()?);
                warm.push(rx.recv()?);
            }
            for (load, runs) in [("cold", cold), ("warm", warm)] {
                let column = |i: usize| median(&mut runs.iter().map(|r| r[i]).collect::<Vec<_>>());
                let run = match iframe {
                    true => "— | —".to_string(),
                    false => format!("{:.0} | {:.0}", column(2), column(3) / 1024.0),
                };
                println!(
                    "| {name} | {load} | {:.0} | {:.1} | {run} |",
                    column(0),
                    column(1) / 1024.0
                );
            }
        }
        Ok(())
    }
}
