//! Page-load benchmark: release wasm size (raw, gzipped), total first-load transfer, and the time from navigation
//! to the app's first render in headless Chromium on loopback (median of 10 cold loads, fresh profile each).
//! Run with `scripts/bench.sh` (it builds the app first). Prints a Markdown table for docs/performance.md.

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::support;
    use std::io::Write;
    use std::time::Duration;

    use support::browser::Browser;
    use support::server::{dist_dir, Server};

    fn gzip_len(bytes: &[u8]) -> usize {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).expect("gzip in memory");
        encoder.finish().expect("gzip in memory").len()
    }

    fn median(values: &mut [f64]) -> f64 {
        values.sort_by(|a, b| a.total_cmp(b));
        let mid = values.len() / 2;
        if values.len() % 2 == 0 {
            (values[mid - 1] + values[mid]) / 2.0
        } else {
            values[mid]
        }
    }

    const READ_LOAD_JS: &str = r#"
    const mark = performance.getEntriesByName('slipway-first-render')[0];
    const prompt = performance.getEntriesByName('slipway-prompt-ready')[0];
    // The engine (the commands), loaded after the prompt: read once it is there, so its bytes count in the load.
    const engine = performance.getEntriesByName('slipway-engine-ready')[0];
    if (!mark || !prompt || !engine) return null;
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const transfer = nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0);
    const wasm = resources.find(r => /slipway-web-.*_bg\.wasm$/.test(r.name));
    // What the prompt waited for: the files whose answer ended before its mark (not what loads after, on use).
    const before = resources.filter(r => r.responseEnd <= prompt.startTime);
    const at_prompt = nav.transferSize + before.reduce((sum, r) => sum + r.transferSize, 0);
    // The waterfall: each request's start and end (ms from navigation) and bytes on the wire, in start order.
    const at = name => { const m = performance.getEntriesByName(name)[0]; return m ? m.startTime : null; };
    const phases = { html: nav.responseEnd, dom: nav.domContentLoadedEventEnd, wasm: wasm ? wasm.responseEnd : null,
      start: at('slipway-wasm-start'), workspace: at('slipway-workspace-read'), session: at('slipway-session-ready'),
      render: mark.startTime, prompt: prompt.startTime };
    const waterfall = [nav].concat(resources).map(r => [r.name.replace(location.origin, '').slice(0, 60),
      Math.round(r.startTime), Math.round(r.responseEnd), r.transferSize, r.responseEnd <= prompt.startTime]);
    return { render_ms: mark.startTime, prompt_ms: prompt.startTime, engine_ms: engine.startTime, transfer: transfer, requests: resources.length + 1,
             wasm_encoded: wasm ? wasm.encodedBodySize : 0, at_prompt: at_prompt, at_prompt_requests: before.length + 1,
             waterfall: waterfall, phases: phases };
    "#;

    /// The steps between navigation and the prompt, in order: `(key in READ_LOAD_JS's phases, what it is)`.
    const PHASES: [(&str, &str); 8] = [
        ("html", "index.html received"),
        ("dom", "DOMContentLoaded (the blocking scripts in <head> ran)"),
        ("wasm", "the page's wasm received"),
        (
            "start",
            "the wasm runs: `start()` entered (compiled, instantiated)",
        ),
        // These two run side by side: the later one's second column is the wait beyond the first.
        ("workspace", "the saved workspace read (IndexedDB)"),
        (
            "session",
            "the companion's session ready (`POST /api/sessions`, `GET /api/containers`)",
        ),
        ("render", "the app's first render"),
        ("prompt", "the terminal's prompt drawn and taking keys"),
    ];

    /// The last cold load's requests: what the prompt waited for (answer ended before its mark) and what not.
    fn print_waterfall(waterfall: &serde_json::Value, prompt_ms: f64) {
        println!("Waterfall of the last load (prompt at {prompt_ms:.0} ms):\n");
        println!("| request | start ms | end ms | bytes on the wire | before the prompt |\n| --- | ---: | ---: | ---: | --- |");
        for row in waterfall.as_array().into_iter().flatten() {
            println!(
                "| `{}` | {} | {} | {} | {} |",
                row[0].as_str().unwrap_or_default(),
                row[1],
                row[2],
                row[3],
                if row[4] == serde_json::Value::Bool(true) {
                    "yes"
                } else {
                    "no"
                }
            );
        }
        println!();
    }

    #[tokio::main]
    pub async fn main() -> anyhow::Result<()> {
        let dist = dist_dir();
        let wasm = std::fs::read_dir(&dist)?
            .filter_map(Result::ok)
            .find(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with("slipway-web-") && name.ends_with("_bg.wasm")
            })
            .ok_or_else(|| anyhow::anyhow!("no .wasm in {}", dist.display()))?;
        let wasm_bytes = std::fs::read(wasm.path())?;

        let server = Server::start()?;
        let runs = 10;
        let (mut render, mut prompt, mut transfer, mut requests) = (Vec::new(), Vec::new(), Vec::new(), 0);
        let mut engine = Vec::new();
        let mut wasm_encoded = 0;
        let (mut at_prompt, mut at_prompt_requests) = (Vec::new(), 0);
        let mut waterfall = serde_json::Value::Null;
        let mut phases: Vec<Vec<f64>> = vec![Vec::new(); PHASES.len()];
        for _ in 0..runs {
            let browser = Browser::start().await?;
            let url = server.url.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            browser
                .run("bench_page_load", |page| async move {
                    page.goto(&url).await?;
                    page.by_name("Companion status").await?;
                    for _ in 0..500 {
                        let value = page.client.execute(READ_LOAD_JS, vec![]).await?;
                        if !value.is_null() {
                            tx.send(value)?;
                            return Ok(());
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    anyhow::bail!(
                        "no slipway-first-render, slipway-prompt-ready or slipway-engine-ready mark"
                    )
                })
                .await?;
            let value = rx.recv()?;
            render.push(value["render_ms"].as_f64().unwrap_or(f64::NAN));
            prompt.push(value["prompt_ms"].as_f64().unwrap_or(f64::NAN));
            engine.push(value["engine_ms"].as_f64().unwrap_or(f64::NAN));
            transfer.push(value["transfer"].as_f64().unwrap_or(f64::NAN));
            requests = value["requests"].as_u64().unwrap_or(0);
            wasm_encoded = value["wasm_encoded"].as_u64().unwrap_or(0);
            at_prompt.push(value["at_prompt"].as_f64().unwrap_or(f64::NAN));
            at_prompt_requests = value["at_prompt_requests"].as_u64().unwrap_or(0);
            waterfall = value["waterfall"].clone();
            for ((key, _), times) in PHASES.iter().zip(phases.iter_mut()) {
                times.push(value["phases"][key].as_f64().unwrap_or(f64::NAN));
            }
        }
        print_waterfall(&waterfall, prompt.last().copied().unwrap_or(f64::NAN));
        println!("Where the time to the prompt goes (ms from navigation, median of {runs} cold loads):\n");
        println!("| step | at, ms | after the step before, ms |\n| --- | ---: | ---: |");
        let mut before = 0.0;
        for ((_, what), times) in PHASES.iter().zip(phases.iter_mut()) {
            let at = median(times);
            println!("| {what} | {at:.0} | {:.0} |", at - before);
            before = at;
        }
        println!();
        println!("| metric | value |\n| --- | --- |");
        println!("| release wasm, raw | {} KiB |", wasm_bytes.len() / 1024);
        println!("| release wasm, gzip -9 | {} KiB |", gzip_len(&wasm_bytes) / 1024);
        // The build's precompressed copies (scripts/precompress.mjs), which the server sends as they are.
        let brotli = std::fs::metadata(format!("{}.br", wasm.path().display())).map_or(0, |m| m.len());
        println!(
            "| release wasm, brotli 11 (the build's `.br`) | {} KiB |",
            brotli / 1024
        );
        let encoding = match wasm_encoded {
            n if n == brotli => "br",
            n if n as usize == wasm_bytes.len() => "identity",
            _ => "gzip",
        };
        println!(
            "| the wasm as Chromium received it | {} KiB ({encoding}) |",
            wasm_encoded / 1024
        );
        println!(
            "| first-load transfer (bytes on the wire, {requests} requests) | {:.0} KiB |",
            median(&mut transfer) / 1024.0
        );
        println!(
            "| bytes on the wire before the prompt ({at_prompt_requests} requests) | {:.0} KiB |",
            median(&mut at_prompt) / 1024.0
        );
        println!(
            "| navigation → first render, median of {runs} (min–max) | {:.0} ms ({:.0}–{:.0}) |",
            median(&mut render.clone()),
            render.iter().cloned().fold(f64::INFINITY, f64::min),
            render.iter().cloned().fold(0.0, f64::max)
        );
        println!(
            "| navigation → interactive terminal prompt, median of {runs} (min–max) | {:.0} ms ({:.0}–{:.0}) |",
            median(&mut prompt.clone()),
            prompt.iter().cloned().fold(f64::INFINITY, f64::min),
            prompt.iter().cloned().fold(0.0, f64::max)
        );
        println!(
            "| navigation → engine ready (a command runs without waiting), median of {runs} (min–max) | {:.0} ms ({:.0}–{:.0}) |",
            median(&mut engine.clone()),
            engine.iter().cloned().fold(f64::INFINITY, f64::min),
            engine.iter().cloned().fold(0.0, f64::max)
        );
        Ok(())
    }
}
