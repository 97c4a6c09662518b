//! Streaming in the page, in headless Chromium: a RUN step's first line and `docker logs -f`'s first line show in
//! the terminal while the command is still running (the terminal is busy), the rest follows, and the command
//! ends with the step or the container.

use crate::support::project::{Project, ProjectFile};

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

const ENTER: &str = "\u{E007}";

/// Whether the terminal's output has the line `#N word` (a step's own output line in the plain progress).
fn has_step_line(screen: &str, word: &str) -> bool {
    screen.lines().any(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        words.len() == 2 && words[0].starts_with('#') && words[1] == word
    })
}

/// Whether the terminal's input says a command is running.
async fn busy(page: &Page) -> anyhow::Result<bool> {
    let input = page.by_name("Terminal input").await?;
    Ok(input.attr("aria-busy").await?.as_deref() == Some("true"))
}

/// Waits until the terminal is idle again; the screen then.
async fn until_idle(page: &Page) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    while busy(page).await? {
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the terminal is still busy after 2 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    page.text_of("Terminal output").await
}

#[tokio::test(flavor = "multi_thread")]
async fn run_output_and_logs_follow_stream_into_the_page_terminal() {
    if !super::can_run_containers() {
        return;
    }
    let data = TempDir::new("page-stream-data");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let project = Project::from_files([(
        "Dockerfile",
        ProjectFile::new("FROM busybox\nRUN echo start; sleep 2; echo end\n"),
    )])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "run_output_and_logs_follow_stream_into_the_page_terminal",
            |page| async move {
                page.goto(&url).await?;
                page.type_into(
                    "Terminal input",
                    &format!("docker build -t learner1/stream:v1 .{ENTER}"),
                )
                .await?;
                // The step's first line is on screen, its last not yet: only a streamed answer can show this.
                page.wait_for_text("Terminal output", "the RUN step's first line alone", |t| {
                    has_step_line(t, "start") && !has_step_line(t, "end")
                })
                .await?;
                anyhow::ensure!(busy(&page).await?, "the build was over when \"start\" showed");
                let screen = until_idle(&page).await?;
                anyhow::ensure!(
                    has_step_line(&screen, "end")
                        && screen.contains("naming to")
                        && !screen.contains("ERROR"),
                    "{screen}"
                );

                page.terminal_command(
                    "docker run -d --name ticker busybox sh -c 'echo one; sleep 2; echo two'",
                    "",
                )
                .await?;
                let before = page.text_of("Terminal output").await?.len();
                page.type_into("Terminal input", &format!("docker logs -f ticker{ENTER}"))
                    .await?;
                let lines_after = |t: &str| -> Vec<String> {
                    t.get(before..)
                        .unwrap_or_default()
                        .lines()
                        .map(str::to_string)
                        .collect()
                };
                page.wait_for_text("Terminal output", "the first log line alone", |t| {
                    let new = lines_after(t);
                    new.iter().any(|l| l == "one") && !new.iter().any(|l| l == "two")
                })
                .await?;
                anyhow::ensure!(busy(&page).await?, "docker logs -f was over when \"one\" showed");
                let screen = until_idle(&page).await?;
                let new = lines_after(&screen);
                let (one, two) = (
                    new.iter().position(|l| l == "one"),
                    new.iter().position(|l| l == "two"),
                );
                anyhow::ensure!(one.is_some() && one < two, "{new:?}");
                Ok(())
            },
        )
        .await
        .unwrap();
}
