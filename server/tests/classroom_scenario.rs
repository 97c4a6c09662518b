//! The class in Chromium (issue 15), the parts a teacher and a learner do in their pages: a teacher (one browser
//! profile) and a learner (another) of a class given the seed lesson. The learner signs in with the code typed
//! into the sign-in form, runs the lesson's first commands (their steps marked done once the server vouches for
//! them), then stops at the build step with a Dockerfile mistake typed into the editor; the teacher's dashboard
//! shows that live (the step, the error), and a third learner, idle, stays at the start; the teacher's broadcast
//! (typed into the dashboard's form) appears in the learner's terminal; "extend time" moves the class's end shown
//! on the dashboard; the learner opening `/teacher` sees no class data.
//!
//! And the whole scenario in one Chromium run (`in_chromium_the_whole_class_a_teacher_and_three_learners`):
//! a teacher and three learners in four profiles on one chromedriver; grace completes the seed lesson through its
//! own commands, linus stops at the build with a Dockerfile error, margaret is idle, and the dashboard shows that
//! live; the broadcast reaches the three terminals; linus sees nothing of grace's, cannot push to her namespace
//! and runs his own app on port 8000 beside hers (each preview shows its own); "stop containers" on linus stops
//! only his; his `/teacher` holds no class data; a SIGHUP adding hopper lets her sign in while grace works on; the
//! class's end stops every container and the dashboard keeps the progress.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use slipway::api::{paths, Companion, SessionTransport};

use crate::classroom::{cards, class_file, code_of, hangup, sign_in};
use crate::classroom_progress::{learners_table, CODE_FIELD};
use crate::registry::client::Reqwest;
use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, with_busybox, with_python, Server};
use crate::support::TempDir;

const CLASS: &str =
    "[class]\nname = \"Docker 101\"\nlessons = [\"python-web-app\"]\nends = 2099-01-01T17:00:00Z\n\
    [[teachers]]\nname = \"ada\"\n[learners]\nnames = [\"grace\", \"linus\", \"margaret\"]\n";

/// A learner's page signed in: their code typed into the sign-in form, then the terminal greets them by name.
async fn signed_in(page: &Page, url: &str, name: &str, code: &str) -> Result<()> {
    page.goto(url).await?;
    page.type_into(CODE_FIELD, &format!("{code}\u{E007}")).await?;
    page.wait_for_text("Terminal output", "the greeting", |t| {
        t.contains(&format!("Welcome, {name}!"))
    })
    .await?;
    Ok(())
}

/// A Dockerfile mistake typed into the editor and built as the lesson's build step asks: the build fails.
async fn breaks_the_build(page: &Page, user: &str) -> Result<()> {
    page.click("Open Dockerfile").await?;
    page.type_into("Dockerfile editor", "FROM busybox\nRUN echo almost && exit 3\n")
        .await?;
    // The build fails, as it should: typed, then its error awaited (`terminal_command` wants no ERROR).
    let build = format!("docker build -t {user}/python-sample-app:v1 .\u{E007}");
    page.type_into("Terminal input", &build).await?;
    page.wait_for_text("Terminal output", "the build's error", |t| {
        t.contains("exit code: 3")
    })
    .await?;
    page.wait_terminal_idle().await
}

/// grace's part: sign in with her code typed, the lesson's first two steps (done once vouched), a broken build.
async fn grace_starts_the_lesson(grace: &Page, url: &str, code: &str) -> Result<()> {
    signed_in(grace, url, "grace", code).await?;
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
    breaks_the_build(grace, "grace").await
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

/// The class of the whole scenario: a teacher and three learners, the seed lesson.
const WHOLE_CLASS: &str = "[class]\nname = \"Docker 101\"\nlessons = [\"python-web-app\"]\n\
    ends = 2099-01-01T17:00:00Z\n[[teachers]]\nname = \"ada\"\n[learners]\nnames = [NAMES]\n";

/// The class file with learners `names` and, when given, another end.
fn whole_class(names: &[&str], ends: Option<&str>) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    let text = WHOLE_CLASS.replace("NAMES", &names.join(", "));
    match ends {
        Some(ends) => text.replace("2099-01-01T17:00:00Z", ends),
        None => text,
    }
}

/// The line of the dashboard's table for learner `name`.
fn row_of<'a>(table: &'a str, name: &str) -> &'a str {
    table.lines().find(|l| l.starts_with(name)).unwrap_or_default()
}

/// Session `token`'s client on `server` (the same session as the member's page), for what the test checks
/// natively.
fn member(server: &Server, token: &str) -> Companion<'static, SessionTransport<'static, Reqwest>> {
    let http: &'static Reqwest = Box::leak(Box::new(Reqwest::new()));
    let transport = Box::leak(Box::new(SessionTransport::new(
        http,
        token.to_string(),
        &server.url,
    )));
    Companion::new(transport, Box::leak(server.url.clone().into_boxed_str()))
}

/// What the preview of session `token`'s running app on port 8000 answers.
async fn preview_of(server: &Server, token: &str) -> Result<String> {
    let member = member(server, token);
    let info = member.info().await?;
    let origin = info
        .preview
        .context("a preview origin")?
        .origin("http:", "127.0.0.1");
    let running = member.containers(false).await?;
    let app = running
        .iter()
        .find(|c| c.ports.iter().any(|p| p.container == 8000))
        .with_context(|| format!("no app publishing 8000: {running:?}"))?;
    let url = format!("{origin}{}", paths::preview(&app.preview, 8000));
    Ok(reqwest::get(&url).await?.text().await?)
}

/// The ids of session `token`'s running containers.
async fn running(server: &Server, token: &str) -> Result<Vec<String>> {
    let containers = member(server, token).containers(false).await?;
    Ok(containers.into_iter().map(|c| c.id).collect())
}

/// Until `check` holds (20 s at most).
async fn until(what: &str, mut check: impl AsyncFnMut() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await? {
        ensure!(Instant::now() < deadline, "{what}: not within 20 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// linus's part: the lesson's login, then a Dockerfile mistake at the build step.
async fn linus_stops_at_the_build(linus: &Page, code: &str) -> Result<()> {
    linus.type_into("Your user name", "linus").await?;
    linus
        .terminal_command(&format!("docker login -u linus -p {code}"), "Login Succeeded")
        .await?;
    breaks_the_build(linus, "linus").await
}

/// linus sees nothing of grace's, cannot push to her namespace, and runs his own app on port 8000.
async fn linus_stays_in_his_namespace(linus: &Page) -> Result<()> {
    for listing in ["docker images", "docker ps -a"] {
        let seen = linus.terminal_command(listing, "").await?;
        ensure!(!seen.contains("grace"), "{listing} shows grace's: {seen}");
    }
    linus
        .type_into("Dockerfile editor", "FROM busybox\nRUN echo fixed > /fixed\n")
        .await?;
    linus
        .terminal_command("docker build -t grace/python-sample-app:v1 .", "naming to")
        .await?;
    linus
        .terminal_command("docker push grace/python-sample-app:v1", "denied")
        .await?;
    let app = "docker run -d -p 8000:8000 busybox sh -c \"mkdir -p /www && echo linus-app > /www/index.html \
        && httpd -f -p 8000 -h /www\"";
    linus.terminal_command(app, "").await?;
    Ok(())
}

/// The whole scenario of the issue in one Chromium run (one chromedriver, four profiles).
async fn the_whole_class(
    server: &Server,
    pages: [Page; 4],
    codes: &[(String, String)],
    dir: &Path,
) -> Result<()> {
    let [teacher, grace, linus, margaret] = pages;
    let app = format!("{}/", server.url);
    let code = |name: &str| code_of(codes, name).to_string();
    teacher.goto(&format!("{}{}", server.url, paths::TEACHER)).await?;
    teacher
        .type_into(CODE_FIELD, &format!("{}\u{E007}", code("ada")))
        .await?;
    learners_table(&teacher, "three learners at the start", |t| {
        ["grace", "linus", "margaret"]
            .iter()
            .all(|n| row_of(t, n).contains("1 of 8 (0 passed)"))
    })
    .await?;
    for (page, name) in [(&grace, "grace"), (&linus, "linus"), (&margaret, "margaret")] {
        signed_in(page, &app, name, &code(name)).await?;
    }
    crate::lesson::the_seed_lesson(&grace, "grace", &code("grace")).await?;
    linus_stops_at_the_build(&linus, &code("linus")).await?;
    // Live: grace done with the six steps the server can see, linus at the build with its error, margaret idle.
    let table = learners_table(&teacher, "grace done, linus stopped at the build", |t| {
        row_of(t, "grace").contains("done (6 passed)")
            && row_of(t, "linus").contains("3 of 8 (1 passed)")
            && row_of(t, "linus").contains("exit code 3")
    })
    .await?;
    ensure!(
        row_of(&table, "margaret").contains("1 of 8 (0 passed)"),
        "margaret is idle: {table}"
    );
    ensure!(!row_of(&table, "grace").contains("exit code"), "{table}");

    teacher
        .type_into("Message to every learner", "Break until 10:30")
        .await?;
    teacher.click("Broadcast").await?;
    for page in [&grace, &linus, &margaret] {
        page.wait_for_text("Terminal output", "the broadcast", |t| {
            t.contains("Message from ada: Break until 10:30")
        })
        .await?;
    }
    margaret.client.clone().close().await?;

    linus_stays_in_his_namespace(&linus).await?;
    let (grace_token, linus_token) = (
        sign_in(server, &code("grace")).await?,
        sign_in(server, &code("linus")).await?,
    );
    // Both published 8000: each preview shows their own app.
    until("linus's app answers in his preview", async || {
        Ok(preview_of(server, &linus_token)
            .await
            .is_ok_and(|t| t.contains("linus-app")))
    })
    .await?;
    let graces = preview_of(server, &grace_token).await?;
    ensure!(
        graces.contains("Hello from a container") && !graces.contains("linus-app"),
        "{graces}"
    );

    // "Stop containers" on linus: his stop, grace's runs on.
    let grace_running = running(server, &grace_token).await?;
    ensure!(!grace_running.is_empty() && !running(server, &linus_token).await?.is_empty());
    teacher.click("Stop containers of linus").await?;
    teacher.click("Confirm").await?;
    until("linus's containers stopped", async || {
        Ok(running(server, &linus_token).await?.is_empty())
    })
    .await?;
    ensure!(
        running(server, &grace_token).await? == grace_running,
        "grace's stopped too"
    );

    // A learner's /teacher holds no class data.
    linus.goto(&format!("{app}{}", &paths::TEACHER[1..])).await?;
    let refusal = "This page is for the class's teachers; linus is signed in as a learner.";
    let mut page = String::new();
    until("the refusal on /teacher", async || {
        page = linus.client.source().await?;
        Ok(page.contains(refusal))
    })
    .await?;
    ensure!(
        !page.contains("margaret") && !page.contains("exit code 3"),
        "a learner's /teacher shows class data"
    );
    linus.client.clone().close().await?;

    // SIGHUP with a fourth learner: they sign in; grace, signed in, works on.
    let file = dir.join("classroom.toml");
    class_file(dir, &whole_class(&["grace", "linus", "margaret", "hopper"], None))?;
    let (_, codes) = cards(&file, server.data.path())?;
    hangup(server)?;
    let hopper = code_of(&codes, "hopper").to_string();
    until("hopper signs in", async || {
        Ok(sign_in(server, &hopper).await.is_ok())
    })
    .await?;
    grace.terminal_command("docker ps", "python-sample-app").await?;

    // The class ends (its end moved into the past): every container stops, the progress stays.
    let ended = whole_class(
        &["grace", "linus", "margaret", "hopper"],
        Some("2020-01-01T00:00:00Z"),
    );
    class_file(dir, &ended)?;
    hangup(server)?;
    until("grace's containers stopped at the end", async || {
        Ok(running(server, &grace_token).await?.is_empty())
    })
    .await?;
    learners_table(&teacher, "the progress kept after the end", |t| {
        // linus's `docker run -d` of his own app passed the lesson's "run a container" step (5) meanwhile.
        row_of(t, "grace").contains("done (6 passed)") && row_of(t, "linus").contains("6 of 8 (2 passed)")
    })
    .await?;
    grace.client.clone().close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn in_chromium_the_whole_class_a_teacher_and_three_learners() -> Result<()> {
    let dir = TempDir::new("classroom-whole");
    let file = class_file(dir.path(), &whole_class(&["grace", "linus", "margaret"], None))?;
    let data = TempDir::new("classroom-whole-data");
    with_busybox(&data)?;
    with_python(&data)?;
    let (_, codes) = cards(&file, data.path())?;
    let server = Server::start_in(data, &dist_dir(), &["--classroom", file.to_str().unwrap()])?;
    let teacher = Browser::start().await?;
    let learners = [
        teacher.another_profile().await?,
        teacher.another_profile().await?,
        teacher.another_profile().await?,
    ];
    let pages = learners.each_ref().map(|b| Page {
        client: b.client.clone(),
    });
    teacher
        .run("classroom_whole_class", |page| async move {
            let [grace, linus, margaret] = pages;
            let outcome = the_whole_class(
                &server,
                [page, grace.clone(), linus.clone(), margaret.clone()],
                &codes,
                dir.path(),
            )
            .await;
            for learner in [grace, linus, margaret] {
                let _ = learner.client.close().await;
            }
            outcome
        })
        .await
}
