//! The page's engine (www/src/bin/engine.rs): the terminal's commands, the builder and the editors' checks in a
//! wasm module of their own, loaded right after the prompt (docs/architecture.md, "The engine"). The prompt
//! never waits for it; a command waits for it as for a running command, and runs in it.

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

/// One Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({"cmd": self.0, "params": self.1});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// Refuse the page's requests to the engine's wasm (`urls` empty: let them through again).
async fn block(page: &Page, urls: &[&str]) -> Result<()> {
    page.client.issue_cmd(Cdp("Network.enable", json!({}))).await?;
    page.client
        .issue_cmd(Cdp("Network.setBlockedURLs", json!({ "urls": urls })))
        .await?;
    Ok(())
}

/// When the page asked for `file` (ms since navigation, each request), and when its prompt was up.
async fn timeline(page: &Page, file: &str) -> Result<(Vec<f64>, f64)> {
    let value = page
        .client
        .execute(
            "const asked = performance.getEntriesByType('resource')
                 .filter(e => new URL(e.name).pathname === arguments[0]).map(e => e.startTime);
             const prompt = performance.getEntriesByName('slipway-prompt-ready')[0];
             return [asked, prompt ? prompt.startTime : -1];",
            vec![json!(file)],
        )
        .await?;
    let asked = value[0]
        .as_array()
        .context("resource times")?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    Ok((asked, value[1].as_f64().context("the prompt mark")?))
}

/// With the engine's wasm refused, the page still comes up to its prompt (it never needed the engine, which it
/// asks for only after the prompt mark); a command then says the engine did not load, and once the wasm comes
/// through, the next command loads the engine and runs in it: a real container's output.
#[tokio::test(flavor = "multi_thread")]
async fn the_prompt_comes_before_the_engine_and_a_command_loads_it() {
    let data = TempDir::new("engine-load");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("the_prompt_comes_before_the_engine", |page| async move {
            block(&page, &["*/engine_bg.wasm"]).await?;
            page.goto(&url).await?;
            page.wait_terminal_idle().await?;
            let (asked, prompt) = timeline(&page, "/engine.js").await?;
            ensure!(prompt > 0.0, "no prompt mark");
            ensure!(
                asked.len() == 1 && asked[0] >= prompt,
                "engine.js asked at {asked:?} ms, the prompt up at {prompt} ms"
            );
            page.type_into("Terminal input", "docker images\u{E007}").await?;
            page.wait_for_text("Terminal output", "the engine's failure", |t| {
                t.contains("the page's engine did not load")
            })
            .await?;
            page.wait_terminal_idle().await?;
            block(&page, &[]).await?;
            let out = page
                .terminal_command(
                    "docker run --rm busybox echo ran-in-the-engine",
                    "ran-in-the-engine",
                )
                .await?;
            ensure!(!out.contains("did not load"), "{out}");
            let (asked, prompt) = timeline(&page, "/engine_bg.wasm").await?;
            ensure!(
                !asked.is_empty() && asked.iter().all(|&t| t >= prompt),
                "the engine's wasm asked at {asked:?} ms, the prompt up at {prompt} ms"
            );
            // Loaded once: the next command does not ask again.
            page.terminal_command("docker images", "busybox").await?;
            let (again, _) = timeline(&page, "/engine_bg.wasm").await?;
            ensure!(again.len() == asked.len(), "{again:?} after {asked:?}");
            Ok(())
        })
        .await
        .unwrap();
}

/// The Dockerfile editor's checks come from the engine: a typo is found, its fix clears it, the outline is there.
#[tokio::test(flavor = "multi_thread")]
async fn the_editors_checks_come_from_the_engine() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    crate::support::browser::on_the_page(
        "the_editors_checks_come_from_the_engine",
        &url,
        |page| async move {
            page.by_name("Dockerfile editor").await?;
            page.paste_into("Dockerfile editor", "FROM busybox\nRUNN echo hi\n")
                .await?;
            page.wait_for_text("Problems", "the typo's diagnostic", |t| t.contains("RUNN"))
                .await?;
            page.paste_into("Dockerfile editor", "FROM busybox\nRUN echo hi\n")
                .await?;
            page.wait_for_text("Problems", "the typo gone", |t| {
                !t.contains("RUNN") && !t.contains("Checking")
            })
            .await?;
            page.wait_for_text("Outline", "the outline", |t| t.contains("FROM busybox"))
                .await?;
            Ok(())
        },
    )
    .await
    .unwrap();
}
