//! The class in Chromium (issue 15), the parts a teacher and a learner do in their pages: a teacher (one browser
//! profile) and a learner (another) of a class given the seed lesson. The learner signs in with the code typed
//! into the sign-in form, runs the lesson's first commands (their steps marked done once the server vouches for
//! them), then stops at the build step with a Dockerfile mistake typed into the editor; the teacher's dashboard
//! shows that live (the step, the error), and a third learner, idle, stays at the start; the teacher's broadcast
//! (typed into the dashboard's form) appears in the learner's terminal; "extend time" moves the class's end shown
//! on the dashboard; the learner opening `/teacher` sees no class data.

use std::time::Duration;

use anyhow::{ensure, Result};
use slipway::api::paths;

use crate::classroom::{cards, class_file, code_of};
use crate::classroom_progress::{learners_table, CODE_FIELD};
use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

const CLASS: &str =
    "[class]\nname = \"Docker 101\"\nlessons = [\"python-web-app\"]\nends = 2099-01-01T17:00:00Z\n\
    [[teachers]]\nname = \"ada\"\n[learners]\nnames = [\"grace\", \"linus\", \"margaret\"]\n";

/// grace's part: sign in with her code typed, the lesson's first two steps (done once vouched), a broken build.
async fn grace_starts_the_lesson(grace: &Page, url: &str, code: &str) -> Result<()> {
    grace.goto(url).await?;
    grace.type_into(CODE_FIELD, &format!("{code}\u{E007}")).await?;
    grace
        .wait_for_text("Terminal output", "the greeting", |t| {
            t.contains("Welcome, grace!")
        })
        .await?;
    grace.type_into("Your user name", "grace").await?;
    grace.terminal_command("docker version", "Version").await?;
    // `docker version` only the page answers: the server cannot see it, the page's verdict stands.
    grace
        .wait_for_text("Step 1 result", "step 1 done", |t| t.starts_with("Done"))
        .await?;
    grace
        .terminal_command(&format!("docker login -u grace -p {code}"), "Login Succeeded")
        .await?;
    // The login the server saw: marked done once the server vouches for it.
    grace
        .wait_for_text("Step 2 result", "step 2 vouched", |t| t.starts_with("Done"))
        .await?;
    grace.click("Open Dockerfile").await?;
    grace
        .type_into("Dockerfile editor", "FROM busybox\nRUN echo almost && exit 3\n")
        .await?;
    // The build fails, as it should: typed, then its error awaited (`terminal_command` wants no ERROR).
    grace
        .type_into(
            "Terminal input",
            "docker build -t grace/python-sample-app:v1 .\u{E007}",
        )
        .await?;
    grace
        .wait_for_text("Terminal output", "the build's error", |t| {
            t.contains("exit code: 3")
        })
        .await?;
    grace.wait_terminal_idle().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn in_chromium_a_teacher_follows_the_class_broadcasts_and_extends_time() -> Result<()> {
    let dir = TempDir::new("classroom-scenario");
    let file = class_file(dir.path(), CLASS)?;
    let data = TempDir::new("classroom-scenario-data");
    with_busybox(&data)?;
    let (_, codes) = cards(&file, data.path())?;
    let server = Server::start_in(data, &dist_dir(), &["--classroom", file.to_str().unwrap()])?;
    let (teacher_code, grace_code) = (
        code_of(&codes, "ada").to_string(),
        code_of(&codes, "grace").to_string(),
    );
    let (app, dashboard) = (
        format!("{}/", server.url),
        format!("{}{}", server.url, paths::TEACHER),
    );
    Browser::start()
        .await?
        .run("classroom_scenario_teacher", |teacher| async move {
            teacher.goto(&dashboard).await?;
            teacher
                .type_into(CODE_FIELD, &format!("{teacher_code}\u{E007}"))
                .await?;
            learners_table(&teacher, "three learners at the start", |t| {
                ["grace", "linus", "margaret"].iter().all(|n| t.contains(n))
                    && t.contains("1 of 8 (0 passed)")
            })
            .await?;
            let ends = teacher.text_of("Class actions").await?;
            ensure!(
                ends.contains("The class ends at 17:00 UTC (2099-01-01)"),
                "{ends}"
            );
            let watching = teacher.clone();
            Browser::start()
                .await?
                .run("classroom_scenario_learner", |grace| async move {
                    grace_starts_the_lesson(&grace, &app, &grace_code).await?;
                    // Step 3 of 8, one step passed: the login the server saw (`docker version` it cannot see).
                    let table = learners_table(&watching, "grace stopped at the build with its error", |t| {
                        t.contains("3 of 8 (1 passed)") && t.contains("exit code 3")
                    })
                    .await?;
                    let margaret = table
                        .lines()
                        .find(|l| l.starts_with("margaret"))
                        .unwrap_or_default();
                    ensure!(
                        margaret.contains("1 of 8 (0 passed)"),
                        "margaret is idle: {table}"
                    );
                    let said = watching.text_of("Class dashboard updates").await?;
                    ensure!(said.contains("grace"), "the live region: {said}");

                    watching
                        .type_into("Message to every learner", "Break until 10:30")
                        .await?;
                    watching.click("Broadcast").await?;
                    grace
                        .wait_for_text("Terminal output", "the broadcast", |t| {
                            t.contains("Message from ada: Break until 10:30")
                        })
                        .await?;
                    watching.type_into("Extend time by (minutes)", "30").await?;
                    watching.click("Extend time").await?;
                    watching
                        .wait_for_text("Class actions", "the new end", |t| {
                            t.contains("17:30 UTC (2099-01-01)")
                        })
                        .await?;
                    grace
                        .wait_for_text("Terminal output", "the new end in the terminal", |t| {
                            t.contains("More time: the class now ends at 2099-01-01T17:30:00Z")
                        })
                        .await?;

                    // The dashboard is not a learner's: no table, no class data.
                    grace.goto(&format!("{app}{}", &paths::TEACHER[1..])).await?;
                    let mut page = String::new();
                    for _ in 0..100 {
                        page = grace.client.source().await?;
                        if page.contains("signed in as a learner") {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    ensure!(
                        page.contains(
                            "This page is for the class's teachers; grace is signed in as a learner."
                        ),
                        "{page}"
                    );
                    ensure!(
                        !page.contains("margaret") && !page.contains("exit code 3"),
                        "a learner's /teacher shows class data"
                    );
                    Ok(())
                })
                .await
        })
        .await
}
