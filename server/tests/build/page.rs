//! `docker build` in the page, as a learner does it: the project's files are the context, the image lands in the
//! session's local store (`docker images` lists it, `docker run` runs it under runc), and a rebuild after
//! editing one file shows CACHED for the unchanged steps and why the changed one was rebuilt.

use crate::support::project::{Project, ProjectFile};

use crate::support::browser::Browser;
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

const ENTER: &str = "\u{E007}";

#[tokio::test(flavor = "multi_thread")]
async fn build_images_run_and_rebuild_in_the_page() {
    let data = TempDir::new("page-build-data");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let project = Project::from_files([
        (
            "Dockerfile",
            ProjectFile::new(
                "FROM busybox\nWORKDIR /app\nCOPY a.txt .\nCOPY b.txt .\nCMD [\"cat\", \"/app/a.txt\", \"/app/b.txt\"]\n",
            ),
        ),
        ("a.txt", ProjectFile::new("alpha\n")),
        ("b.txt", ProjectFile::new("beta\n")),
    ])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run("build_images_run_and_rebuild_in_the_page", |page| async move {
            page.goto(&url).await?;
            page.by_name("Open b.txt").await?;
            page.type_into(
                "Terminal input",
                &format!("docker build -t learner1/app:v1 .{ENTER}"),
            )
            .await?;
            let screen = page
                .wait_for_text("Terminal output", "the build to finish", |t| {
                    t.contains("naming to") || t.contains("ERROR")
                })
                .await?;
            anyhow::ensure!(!screen.contains("ERROR"), "{screen}");
            anyhow::ensure!(screen.contains("COPY a.txt ."), "{screen}");

            page.type_into("Terminal input", &format!("docker images{ENTER}"))
                .await?;
            let screen = page
                .wait_for_text("Terminal output", "docker images", |t| {
                    t.contains("REPOSITORY") && t.contains("learner1/app")
                })
                .await?;
            let row = screen
                .lines()
                .find(|l| l.starts_with("learner1/app"))
                .unwrap_or_default();
            anyhow::ensure!(row.split_whitespace().nth(1) == Some("v1"), "{screen}");

            page.type_into(
                "Terminal input",
                &format!("docker run --rm learner1/app:v1{ENTER}"),
            )
            .await?;
            page.wait_for_text("Terminal output", "the container's output", |t| {
                t.contains("alpha\nbeta") || t.contains("alpha beta")
            })
            .await?;

            // Change one file and build again: the steps before it come from the cache, and it says why it ran.
            page.click("Open b.txt").await?;
            page.type_into("Editor for b.txt", "gamma\n").await?;
            page.type_into(
                "Terminal input",
                &format!("docker build -t learner1/app:v2 .{ENTER}"),
            )
            .await?;
            let screen = page
                .wait_for_text("Terminal output", "the rebuild", |t| {
                    t.matches("naming to").count() >= 2 || t.matches("ERROR").count() >= 1
                })
                .await?;
            let rebuild = &screen[screen.rfind("docker build -t learner1/app:v2").unwrap_or(0)..];
            anyhow::ensure!(!rebuild.contains("ERROR"), "{rebuild}");
            anyhow::ensure!(rebuild.contains("CACHED"), "{rebuild}");
            anyhow::ensure!(rebuild.contains("cache miss: b.txt changed"), "{rebuild}");
            Ok(())
        })
        .await
        .unwrap();
}
