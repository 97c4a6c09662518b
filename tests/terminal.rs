//! The page's terminal against the real companion: `docker run` starts a real container under runc and its
//! output appears in the terminal; `docker ps -a` lists it in docker's columns.

use crate::support::browser::Browser;
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

#[tokio::test(flavor = "multi_thread")]
async fn docker_run_in_the_page_runs_a_real_container() {
    let data = TempDir::new("terminal-data");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "docker_run_in_the_page_runs_a_real_container",
            |page| async move {
                page.goto(&url).await?;
                page.type_into(
                    "Terminal input",
                    "docker run --name greeter busybox sh -c 'echo hello from $(hostname) | tr a-z A-Z; exit 3'\u{E007}",
                )
                .await?;
                let screen = page
                    .wait_for_text("Terminal output", "the container's output", |t| {
                        t.contains("HELLO FROM")
                    })
                    .await?;
                // The hostname is the container's (its id prefix), not the page's: the command really ran inside.
                let line = screen
                    .lines()
                    .find(|l| l.starts_with("HELLO FROM"))
                    .unwrap_or_default();
                anyhow::ensure!(line.len() > "HELLO FROM ".len() + 8, "{screen}");
                page.type_into("Terminal input", "docker ps -a\u{E007}").await?;
                let screen = page
                    .wait_for_text("Terminal output", "docker ps -a", |t| t.contains("Exited (3)"))
                    .await?;
                anyhow::ensure!(screen.contains("CONTAINER ID   IMAGE"), "{screen}");
                anyhow::ensure!(screen.contains("greeter"), "{screen}");
                page.type_into("Terminal input", "docker run nosuchimage\u{E007}")
                    .await?;
                page.wait_for_text("Terminal output", "an unknown image error", |t| {
                    t.contains("Unable to find image 'nosuchimage:latest' locally")
                })
                .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}
