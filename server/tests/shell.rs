//! The foundation: the real server answers over real sockets, and the real page renders in headless Chromium.

use std::process::Command;

use crate::support::browser::Browser;
use crate::support::server::{dist_dir, slipway_bin, Server, StaticServer};
use crate::support::TempDir;

async fn info(server: &Server) -> serde_json::Value {
    let response = reqwest::get(format!("{}/api/info", server.url))
        .await
        .expect("GET /api/info");
    assert_eq!(response.status(), 200);
    response.json().await.expect("/api/info is JSON")
}

#[tokio::test]
async fn server_answers_registry_base_and_info_over_a_real_socket() {
    let server = Server::start().unwrap();
    let response = reqwest::get(format!("{}/v2/", server.url)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );

    let info = info(&server).await;
    assert_eq!(info["name"], "slipway");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let storage = server.data.path().join("registry");
    assert!(storage.is_dir(), "serve creates the registry storage");
    // A stranger learns nothing of the host's file system from it.
    let text = info.to_string();
    assert!(
        !text.contains(&server.data.path().display().to_string()),
        "{text}"
    );
    assert!(!text.contains("/runc") && !text.contains("/crun"), "{text}");
    // runc is installed by the setup script; the page's status line depends on this answer.
    let runtime = &info["runtime"]["available"];
    assert!(
        ["runc", "crun"].contains(&runtime["name"].as_str().unwrap_or_default()),
        "{info}"
    );

    let index = reqwest::get(&server.url).await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("Loading Slipway"));

    // The app's files go out gzipped to browsers that ask; the registry's answers never are.
    let client = reqwest::Client::new();
    let gzip = |path: &str| {
        client
            .get(format!("{}{path}", server.url))
            .header("Accept-Encoding", "gzip")
            .send()
    };
    let app = gzip("/").await.unwrap();
    assert_eq!(
        app.headers().get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..])
    );
    let v2 = gzip("/v2/").await.unwrap();
    assert_eq!(v2.status(), 200);
    assert!(v2.headers().get("content-encoding").is_none());
}

#[test]
fn sigterm_shuts_the_server_down_gracefully() {
    let server = Server::start().unwrap();
    let status = server.stop().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn every_subcommand_has_help() {
    for args in [vec!["--help"], vec!["serve", "--help"], vec!["help", "serve"]] {
        let out = Command::new(slipway_bin()).args(&args).output().unwrap();
        assert!(out.status.success(), "slipway {args:?} failed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: slipway"), "slipway {args:?}: {text}");
    }
    let out = Command::new(slipway_bin()).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("slipway {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn page_renders_and_reports_the_companion_connected() {
    let server = Server::start().unwrap();
    let info = info(&server).await;
    let expected = format!(
        "companion connected — runtime {} {}",
        info["runtime"]["available"]["name"].as_str().unwrap(),
        info["runtime"]["available"]["version"].as_str().unwrap()
    );
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "page_renders_and_reports_the_companion_connected",
            |page| async move {
                page.goto(&url).await?;
                page.wait_for_text("Companion status", &expected, |t| t == expected)
                    .await?;
                page.by_name("Dockerfile editor").await?;
                page.by_name("Terminal output").await?;
                // The panels are named by their headings; an empty one says what fills it.
                let images = page.text_of("Images").await?;
                anyhow::ensure!(images.contains("No images yet"), "Images panel: {images:?}");
                let containers = page.text_of("Containers").await?;
                anyhow::ensure!(
                    containers.contains("No containers yet"),
                    "Containers panel: {containers:?}"
                );
                let unnamed = page
                    .client
                    .execute(
                        "return [...document.querySelectorAll('button, textarea, input, select, a[href], [contenteditable=true]')]
                       .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() || e.title))
                       .map(e => e.outerHTML);",
                        vec![],
                    )
                    .await?;
                anyhow::ensure!(
                    unnamed == serde_json::json!([]),
                    "controls without an accessible name: {unnamed}"
                );
                page.click("Recheck the companion").await?;
                page.wait_for_text("Companion status", &expected, |t| t == expected)
                    .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}

/// Without a companion (the app served by a plain static file server) the page says so instead of pretending.
#[tokio::test(flavor = "multi_thread")]
async fn page_says_the_companion_is_unreachable_without_one() {
    let static_server = StaticServer::start(&dist_dir()).await.unwrap();
    let url = format!("{}/", static_server.url);
    let browser = Browser::start().await.unwrap();
    let result = browser
        .run(
            "page_says_the_companion_is_unreachable_without_one",
            |page| async move {
                page.goto(&url).await?;
                let want = "offline: companion unreachable — /api/info answered HTTP 404 (editing, checks, \
                            COPY-only builds, images and downloads still work)";
                page.wait_for_text("Companion status", want, |t| t == want)
                    .await?;
                Ok(())
            },
        )
        .await;
    drop(static_server);
    result.unwrap();
}

/// The harness must not pass when the wasm fails to load: serve a dist without its .wasm and check that the
/// app never renders (the page stays on its loading placeholder).
#[tokio::test(flavor = "multi_thread")]
async fn page_check_fails_when_the_wasm_does_not_load() {
    let broken = TempDir::new("dist-without-wasm");
    // Nor its precompressed copies (`.wasm.br`, `.wasm.gz`): the server would send those instead.
    for entry in std::fs::read_dir(dist_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if entry.file_type().unwrap().is_file() && !name.to_string_lossy().contains(".wasm") {
            std::fs::copy(entry.path(), broken.path().join(&name)).unwrap();
        }
    }
    let server = Server::start_with(broken.path(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    let result = browser
        .run("expected_failure_wasm_missing", |page| async move {
            page.goto(&url).await?;
            page.wait_for_text("Companion status", "a connection", |t| {
                t.starts_with("companion connected")
            })
            .await?;
            Ok(())
        })
        .await;
    let error = result.expect_err("the page check passed although the wasm is missing");
    assert!(error.to_string().contains("Companion status"), "{error:#}");
    let _ = std::fs::remove_file(
        crate::support::browser::artifacts_dir().join("expected_failure_wasm_missing.png"),
    );
    let _ = std::fs::remove_file(
        crate::support::browser::artifacts_dir().join("expected_failure_wasm_missing.html"),
    );
}

/// The terminal runs the docker-command interpreter in the page: a typo gets docker's error and a suggestion.
#[tokio::test(flavor = "multi_thread")]
async fn terminal_answers_a_typo_with_a_suggestion() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("terminal_answers_a_typo_with_a_suggestion", |page| async move {
            page.goto(&url).await?;
            page.type_into("Terminal input", "docker biuld -t user/app:v1 .\u{E007}")
                .await?;
            let want = "docker: unknown command: docker biuld";
            let screen = page
                .wait_for_text("Terminal output", want, |t| t.contains(want))
                .await?;
            anyhow::ensure!(screen.contains("$ docker biuld -t user/app:v1 ."), "{screen}");
            anyhow::ensure!(screen.contains("Did you mean this?"), "{screen}");
            // ↑ brings the line back for editing.
            let input = page.by_name("Terminal input").await?;
            input.send_keys("\u{E013}").await?;
            page.wait_for_terminal_line("docker biuld -t user/app:v1 .")
                .await?;
            // Tab completes commands, flags and the project's files from the interpreter's own table (Ctrl-U
            // empties the line first); the `x` typed after shows the space Tab added.
            let erase = "\u{E009}u\u{E000}";
            input.send_keys(&format!("{erase}docker ver\u{E004}x")).await?;
            page.wait_for_terminal_line("docker version x").await?;
            input
                .send_keys(&format!("{erase}docker build -f Dock\u{E004}x"))
                .await?;
            page.wait_for_terminal_line("docker build -f Dockerfile x")
                .await?;
            input.send_keys(&format!("{erase}docker p\u{E004}")).await?;
            let screen = page
                .wait_for_text("Terminal output", "the choices", |t| t.contains("ps  pull  push"))
                .await?;
            anyhow::ensure!(screen.contains("ps  pull  push"), "{screen}");
            Ok(())
        })
        .await
        .unwrap();
}
