//! Runnable code blocks in docs pages (`static/blocks.js`, docs/embedding.md), in headless Chromium against the
//! real companion: the five-block page of issue 18 served by a second origin (`localhost` against the
//! companion's `127.0.0.1`: another site), light until used, blocks that depend on blocks, output and errors
//! under the right block, the page's theme, axe-core, and a session that never leaves the Slipway origin.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use crate::support::axe::axe_violations;
use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, with_busybox, Server, StaticServer};
use crate::support::{repo_root, TempDir};

/// How long a block may take: the first Run loads the runner (the app's wasm) and pulls busybox.
const RUN_WAIT: Duration = Duration::from_secs(180);

fn example(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("static/examples/embeds").join(name)).expect("the example page")
}

/// `js` (a function body returning a value) until `done` accepts its value; the error quotes the last one.
async fn wait_js(page: &Page, js: &str, what: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let started = Instant::now();
    let mut last = Value::Null;
    while started.elapsed() < RUN_WAIT {
        let value = page.client.execute(js, vec![]).await?;
        if done(&value) {
            return Ok(value);
        }
        last = value;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("never {what} within {RUN_WAIT:?}; last: {last}")
}

/// The companion with busybox in its store, started with `args`.
fn companion(args: &[&str]) -> Server {
    let data = TempDir::new("data");
    with_busybox(&data).unwrap();
    Server::start_in(data, &dist_dir(), args).unwrap()
}

/// Until the page has `n` enhanced blocks.
async fn wait_enhanced(page: &Page, n: usize) -> anyhow::Result<()> {
    let js = "return document.querySelectorAll('.slipway-bar').length;";
    wait_js(page, js, "enhanced", |v| v == &json!(n)).await?;
    Ok(())
}

/// The text of block `id`'s output region.
fn output_js(id: &str) -> String {
    format!(
        "var o = document.querySelector('[data-slipway-output=\"{id}\"]'); return o ? o.innerText : null;"
    )
}

async fn wait_output(
    page: &Page,
    id: &str,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    let value = wait_js(page, &output_js(id), what, |v| v.as_str().is_some_and(&done)).await?;
    Ok(value.as_str().unwrap_or_default().to_string())
}

/// What the page fetched after its document: `[name, transferSize]` per resource (not the browser's own
/// `/favicon.ico`).
async fn resources(page: &Page) -> anyhow::Result<Vec<(String, f64)>> {
    let value = page
        .client
        .execute(
            "return performance.getEntriesByType('resource').filter(e => !e.name.endsWith('/favicon.ico')) \
               .map(e => [e.name, e.transferSize]);",
            vec![],
        )
        .await?;
    let list = value
        .as_array()
        .ok_or_else(|| anyhow!("no resource list: {value}"))?;
    Ok(list
        .iter()
        .map(|e| {
            (
                e[0].as_str().unwrap_or_default().to_string(),
                e[1].as_f64().unwrap_or(-1.0),
            )
        })
        .collect())
}

#[test]
fn the_blocks_script_stays_under_20_kib_gzipped() {
    let script = std::fs::read(repo_root().join("static/blocks.js")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&script).unwrap();
    let size = gz.finish().unwrap().len();
    assert!(size < 20 * 1024, "static/blocks.js is {size} bytes gzipped");
}

/// The five-block page on `localhost:PORT`, its script from the companion on `127.0.0.1`.
async fn cross_site_page(server: &Server) -> anyhow::Result<(StaticServer, TempDir, String)> {
    let dir = TempDir::new("docs-site");
    let html = example("plain.html").replace(
        "src=\"../../blocks.js\"",
        &format!("src=\"{}/static/blocks.js\"", server.url),
    );
    std::fs::write(dir.path().join("index.html"), html)?;
    let site = StaticServer::start(dir.path()).await?;
    let url = site.url.replace("127.0.0.1", "localhost") + "/index.html";
    Ok((site, dir, url))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_docs_page_on_another_site_runs_its_blocks_in_order_and_never_sees_the_session() {
    let server = companion(&[]);
    let (_site, _dir, url) = cross_site_page(&server).await.unwrap();
    let browser = Browser::start().await.unwrap();
    browser
        .run("embeds_cross_site", |page| async move {
            page.goto(&url).await?;
            let plain_before = example("plain.html");
            wait_enhanced(&page, 4).await?;
            // Light until used: the script and nothing else, no frame.
            let fetched = resources(&page).await?;
            assert_eq!(fetched.len(), 1, "{fetched:?}");
            assert!(fetched[0].0.ends_with("/static/blocks.js"), "{fetched:?}");
            let frames = page
                .client
                .execute("return document.querySelectorAll('iframe').length;", vec![])
                .await?;
            assert_eq!(frames, json!(0));
            // The plain block reads exactly as written.
            let plain = page
                .client
                .execute("return document.getElementById('plain').outerHTML;", vec![])
                .await?;
            assert!(plain_before.contains(plain.as_str().unwrap()), "{plain}");
            let plain_next = page
                .client
                .execute(
                    "var n = document.getElementById('plain').nextElementSibling; return n && n.outerHTML;",
                    vec![],
                )
                .await?;
            assert!(
                !plain_next.as_str().unwrap_or_default().contains("slipway"),
                "{plain_next}"
            );

            // Run the dependent block: the Dockerfile block is built first, its progress folded under it.
            page.click("Run build and run").await?;
            wait_output(&page, "app-image", "the Dockerfile block built", |t| {
                t.contains("Done.")
            })
            .await?;
            let out = wait_output(&page, "run-app", "the app's output", |t| t.contains("Done.")).await?;
            assert!(out.contains("print(\"hello from app.py\")"), "{out}");
            let folded = page
                .client
                .execute(
                    "var d = document.querySelector('[data-slipway-progress=\"app-image\"]'); \
                     return d ? [d.open, d.textContent] : null;",
                    vec![],
                )
                .await?;
            assert_eq!(folded[0], json!(false), "{folded}");
            assert!(
                folded[1].as_str().unwrap_or_default().contains("COPY app.py"),
                "{folded}"
            );

            // The broken block: its error under it and its line marked.
            page.click("Run the broken Dockerfile").await?;
            let out = wait_output(&page, "broken", "the error", |t| t.contains("Failed")).await?;
            assert!(out.contains("Failed at line 2"), "{out}");
            assert!(out.to_lowercase().contains("runn"), "{out}");
            let marked = page
                .client
                .execute(
                    "var m = document.querySelector('#broken mark'); return m && m.textContent;",
                    vec![],
                )
                .await?;
            assert_eq!(marked, json!("RUNN echo hello"));
            let run_app = page.client.execute(&output_js("run-app"), vec![]).await?;
            assert!(
                !run_app.as_str().unwrap_or_default().contains("RUNN"),
                "{run_app}"
            );

            // Compose: `docker compose up` when the interpreter has it, else the interpreter's own answer.
            page.click("Run the compose project").await?;
            let out = wait_output(&page, "compose-app", "an answer", |t| {
                t.contains("Done.") || t.contains("Failed")
            })
            .await?;
            assert!(
                out.lines().count() >= 2,
                "the interpreter's answer is shown: {out}"
            );

            // Edit, then Reset gives the original text back.
            page.click("Edit the broken Dockerfile").await?;
            let code = page.client.find(fantoccini::Locator::Css("#broken code")).await?;
            assert_eq!(
                code.attr("contenteditable").await?.as_deref(),
                Some("plaintext-only")
            );
            code.send_keys("\nLABEL edited=yes").await?;
            page.click("Reset the broken Dockerfile").await?;
            assert_eq!(
                code.text().await?,
                "FROM busybox\nRUNN echo hello\nCMD [\"true\"]"
            );

            // The block's files (its dependency's too) open in the full playground through a share link.
            let docs = page.client.window().await?;
            page.click("Open in the full playground: build and run").await?;
            let started = Instant::now();
            let app = loop {
                let windows = page.client.windows().await?;
                if let Some(app) = windows.into_iter().find(|w| *w != docs) {
                    break app;
                }
                if started.elapsed() > Duration::from_secs(20) {
                    bail!("the full playground never opened");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            page.client.switch_to_window(app).await?;
            let url = page.client.current_url().await?;
            assert!(url.fragment().is_some_and(|f| f.starts_with("share=")), "{url}");
            let files = wait_js(
                &page,
                "return document.body.innerText;",
                "the shared files",
                |v| {
                    v.as_str()
                        .is_some_and(|t| t.contains("app.py") && t.contains("Dockerfile"))
                },
            )
            .await?;
            assert!(files.as_str().is_some_and(|t| t.contains("app.py")));
            page.client.close_window().await?;
            page.client.switch_to_window(docs).await?;

            // The session lives in the runner frame only.
            let frame = page
                .client
                .find(fantoccini::Locator::Css("iframe[title='Slipway runner']"))
                .await?;
            frame.enter_frame().await?;
            let token = page
                .client
                .execute("return sessionStorage.getItem('slipway-session');", vec![])
                .await?;
            page.client.enter_parent_frame().await?;
            let token = token.as_str().unwrap_or_default().to_string();
            assert!(token.len() >= 16, "the runner holds a session: {token:?}");
            let seen = page
                .client
                .execute(
                    "var all = document.documentElement.outerHTML; \
                     for (var s of [localStorage, sessionStorage]) for (var i = 0; i < s.length; i++) \
                       all += s.key(i) + s.getItem(s.key(i)); \
                     return all + document.cookie;",
                    vec![],
                )
                .await?;
            assert!(
                !seen.as_str().unwrap_or_default().contains(&token),
                "the session reached the docs page"
            );
            Ok(())
        })
        .await
        .unwrap();
}

/// The background of block `id`'s Run button.
async fn button_background(page: &Page, id: &str) -> anyhow::Result<String> {
    let value = page
        .client
        .execute(
            &format!(
                "var b = document.querySelector('[data-slipway-bar=\"{id}\"] button'); \
                 return getComputedStyle(b).backgroundColor;"
            ),
            vec![],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_string())
}

const LIGHT: &str = "rgb(246, 248, 250)";
const DARK: &str = "rgb(33, 38, 45)";

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_are_light_follow_the_page_theme_and_pass_axe() {
    let server = companion(&[]);
    let base = format!("{}/static/examples/embeds", server.url);
    let browser = Browser::start().await.unwrap();
    browser
        .run("embeds_examples", |page| async move {
            page.goto(&format!("{base}/plain.html")).await?;
            wait_enhanced(&page, 4).await?;
            // Enhancing shifted nothing (the Layout Instability API's shifts since navigation).
            let shift = page
                .client
                .execute_async(
                    "var done = arguments[arguments.length - 1], total = 0; \
                     new PerformanceObserver(l => l.getEntries().forEach(e => total += e.value)) \
                       .observe({type: 'layout-shift', buffered: true}); \
                     setTimeout(() => done(total), 500);",
                    vec![],
                )
                .await?;
            assert_eq!(shift.as_f64(), Some(0.0), "cumulative layout shift {shift}");
            let fetched = resources(&page).await?;
            let bytes: f64 = fetched.iter().map(|(_, size)| size).sum();
            assert_eq!(fetched.len(), 1, "{fetched:?}");
            assert!(bytes > 0.0 && bytes < 20.0 * 1024.0, "{fetched:?}");
            assert_eq!(button_background(&page, "app-image").await?, LIGHT);
            page.client
                .execute(
                    "document.documentElement.setAttribute('data-theme', 'dark'); return null;",
                    vec![],
                )
                .await?;
            wait_js(
                &page,
                "return getComputedStyle(document.querySelector('.slipway-bar button')).backgroundColor;",
                "dark",
                |v| v == &json!(DARK),
            )
            .await?;
            let violations = axe_violations(&page).await?;
            assert!(violations.is_empty(), "plain.html, dark: {violations:#?}");
            page.click("Run the broken Dockerfile").await?;
            wait_output(&page, "broken", "the error", |t| t.contains("Failed")).await?;
            let violations = axe_violations(&page).await?;
            assert!(violations.is_empty(), "plain.html after a run: {violations:#?}");

            for (name, id, theme, says) in [
                ("docusaurus.html", "hello", DARK, "hello from Docusaurus"),
                ("mkdocs.html", "hello", DARK, "hello from MkDocs"),
                ("sphinx.html", "hello-image", LIGHT, "hello from Sphinx"),
            ] {
                page.goto(&format!("{base}/{name}")).await?;
                wait_enhanced(&page, 2).await?;
                assert_eq!(button_background(&page, id).await?, theme, "{name}");
                let violations = axe_violations(&page).await?;
                assert!(violations.is_empty(), "{name}: {violations:#?}");
                page.click("Run run hello").await?;
                let out = wait_output(&page, "hello-run", "hello", |t| {
                    t.contains("Done.") || t.contains("Failed")
                })
                .await?;
                assert!(out.contains(says), "{name}: {out}");
            }
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_gets_the_containers_its_operator_budgets_and_no_more() {
    let server = companion(&["--embed-containers", "1"]);
    let budget: Value = reqwest::get(format!("{}/embed/budget", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(budget, json!({"containers": 1, "build_minutes": null}));
    let (_site, _dir, url) = cross_site_page(&server).await.unwrap();
    let browser = Browser::start().await.unwrap();
    browser
        .run("embeds_budget", |page| async move {
            page.goto(&url).await?;
            page.click("Run build and run").await?;
            let out = wait_output(&page, "run-app", "the app's output", |t| t.contains("Done.")).await?;
            assert!(out.contains("hello from app.py"), "{out}");
            page.click("Run build and run").await?;
            let out = wait_output(&page, "run-app", "the refusal", |t| t.contains("Failed")).await?;
            assert!(out.contains("budget of 1 containers is used up"), "{out}");
            assert!(out.contains("Failed at line 2"), "{out}");
            Ok(())
        })
        .await
        .unwrap();
}

/// Issue 18: the first Run says how far the runner frame's load is, in the block's `aria-live` region: the
/// runner's wasm as it arrives (bytes, or a fraction when the total is known), the session, then the build.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_run_shows_the_runner_loading_then_the_session_then_the_build() {
    let server = companion(&[]);
    let (_site, _dir, url) = cross_site_page(&server).await.unwrap();
    let browser = Browser::start().await.unwrap();
    browser
        .run("embeds_first_run_progress", |page| async move {
            page.goto(&url).await?;
            wait_enhanced(&page, 4).await?;
            // Every status line the block shows, as the page shows it (a transient one included).
            page.client
                .execute(
                    "var out = document.querySelector('[data-slipway-output=\"app-image\"]'); \
                     window.seen = []; \
                     new MutationObserver(function () { \
                       var p = out.querySelector('p'); var t = p && p.textContent; \
                       if (t && window.seen[window.seen.length - 1] !== t) window.seen.push(t); \
                     }).observe(out, { subtree: true, childList: true, characterData: true }); \
                     return out.getAttribute('aria-live');",
                    vec![],
                )
                .await
                .map(|live| assert_eq!(live, json!("polite")))?;
            page.click("Run the app's Dockerfile").await?;
            wait_output(&page, "app-image", "the Dockerfile block built", |t| {
                t.contains("Done.")
            })
            .await?;
            let seen = page.client.execute("return window.seen;", vec![]).await?;
            let seen: Vec<String> = serde_json::from_value(seen)?;
            let at = |what: &str| seen.iter().position(|s| s.starts_with(what));
            let (Some(loading), Some(session), Some(building), Some(done)) = (
                at("Loading the runner\u{2026}"),
                at("Starting a session\u{2026}"),
                at("Building\u{2026}"),
                at("Done."),
            ) else {
                bail!("a stage is missing: {seen:?}");
            };
            assert!(
                loading < session && session < building && building < done,
                "{seen:?}"
            );
            // The wasm's bytes as they came (brotli on the wire: no total, so megabytes).
            assert!(
                seen.iter().any(|s| {
                    let rest = s.trim_start_matches("Loading the runner\u{2026} ");
                    rest != s && (rest.ends_with(" MB"))
                }),
                "{seen:?}"
            );
            // A second Run, the runner up: straight to the build.
            page.client.execute("window.seen = [];", vec![]).await?;
            page.click("Run the app's Dockerfile").await?;
            wait_output(&page, "app-image", "the second build", |t| t.contains("Done.")).await?;
            let seen = page.client.execute("return window.seen;", vec![]).await?;
            assert!(
                !seen.to_string().contains("Loading") && seen.to_string().contains("Building"),
                "{seen}"
            );
            Ok(())
        })
        .await
        .unwrap();
}
