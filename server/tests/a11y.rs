//! Accessibility (issue 17): axe-core in headless Chromium on the main page, the full-playground embed and the
//! layer explorer, against the real server: zero serious or critical violations on each.

use crate::support::axe::axe_violations;
use crate::support::browser::{Browser, Page};
use crate::support::project::{Project, ProjectFile};
use crate::support::server::Server;

/// The page is up: the companion answered and the terminal's prompt is in the page.
async fn wait_ready(page: &Page) -> anyhow::Result<()> {
    page.wait_for_text("Companion status", "a connection", |t| {
        t.starts_with("companion connected")
    })
    .await?;
    page.by_name("Terminal input").await.map(drop)
}

/// CodeMirror is in the page (its bundle loads when the first editor opens).
async fn wait_for_editor(page: &Page) -> anyhow::Result<()> {
    for _ in 0..300 {
        let found = page
            .client
            .execute("return document.querySelector('.cm-content') !== null;", vec![])
            .await?;
        if found.as_bool() == Some(true) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("no code editor in the page after 30 s")
}

async fn no_serious_violations(page: &Page, what: &str) -> anyhow::Result<()> {
    let violations = axe_violations(page).await?;
    anyhow::ensure!(violations.is_empty(), "{what}: {violations:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_main_page_and_the_embed_pass_axe() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("a11y_main_and_embed", |page| async move {
            page.goto(&format!("{url}/")).await?;
            wait_ready(&page).await?;
            // The editor loads on first use: check the page with it in, as a learner sees it.
            wait_for_editor(&page).await?;
            no_serious_violations(&page, "the main page").await?;
            // The embed has no companion status line: its terminal is the sign it is up.
            page.goto(&format!("{url}/embed")).await?;
            page.by_name("Terminal input").await?;
            no_serious_violations(&page, "the embed").await
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_layer_explorer_passes_axe() {
    let server = Server::start().unwrap();
    let project = Project::from_files([
        (
            "Dockerfile",
            ProjectFile::new("FROM scratch\nCOPY a.txt /app/\nCMD [\"/app/run\"]\n"),
        ),
        ("a.txt", ProjectFile::new("alpha\n")),
    ])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run("a11y_layer_explorer", |page| async move {
            page.goto(&url).await?;
            wait_ready(&page).await?;
            page.terminal_command("docker build -t learner1/app:v1 .", "naming to")
                .await?;
            page.click("Explore layers of learner1/app:v1").await?;
            page.wait_for_text("Image layers", "the layer", |t| t.contains("1. COPY a.txt /app/"))
                .await?;
            no_serious_violations(&page, "the layer explorer").await
        })
        .await
        .unwrap();
}
