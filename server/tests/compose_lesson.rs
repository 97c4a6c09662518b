//! The second lesson, "Your first multi-container app" (`static/lessons/compose-app/`), and the `redis` base image
//! it runs (issue 16). Natively: the lesson's own project (`static/examples/compose-app/`) through the real
//! `slipway docker` against a real server with the python and redis base images and real runc: the web image is
//! built, `docker compose up -d` starts redis and the app, the app (in another container, on the project's
//! network) counts visits in redis, the count survives `down`/`up` thanks to the named volume, and `down -v`
//! leaves nothing. In the page: a learner follows the lesson, typing each step's command with its "Type it" button.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::compose_up::Project;
use crate::networks::leftovers;
use crate::support::server::{with_python_and_redis, Server};
use crate::support::TempDir;

/// The lesson's project files, as the page loads them.
fn lesson_files() -> Vec<(&'static str, String)> {
    let root = crate::support::repo_root().join("static/examples/compose-app");
    ["compose.yaml", "Dockerfile", "app.py"]
        .into_iter()
        .map(|name| (name, std::fs::read_to_string(root.join(name)).expect(name)))
        .collect()
}

/// `slipway serve` with the python and redis base images in its registry.
fn lesson_server(label: &str, dist: &Path) -> Result<Option<Server>> {
    use crate::support::prerequisite::{available, runner_missing, RUNNER_FIX};
    if !available("runner", runner_missing(), RUNNER_FIX) {
        return Ok(None);
    }
    let data = TempDir::new(label);
    with_python_and_redis(&data)?;
    Ok(Some(Server::start_in(data, dist, &[])?))
}

/// The page of the web container published on the host, once it answers 200 (redis may still be starting).
async fn visits(project: &Project<'_>) -> Result<u64> {
    let port = project.ok(&["port", "counter-web-1", "8000"])?.out;
    let port = port
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .context("no published port")?
        .trim()
        .to_string();
    let start = Instant::now();
    loop {
        let answer = reqwest::get(format!("http://127.0.0.1:{port}/")).await;
        if let Ok(answer) = answer {
            let (status, body) = (answer.status(), answer.text().await?);
            if status == 200 {
                return count_in(&body);
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("the app still answers {status}: {body}");
            }
        } else if start.elapsed() > Duration::from_secs(30) {
            bail!("the app on port {port} never answered: {answer:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lesson_project_counts_visits_in_redis_and_keeps_them_across_down_and_up() -> Result<()> {
    let Some(server) = lesson_server("compose-lesson", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-lesson-project", "")?;
    for (name, text) in lesson_files() {
        project.write(name, &text)?;
    }
    // The redis image as `slipway base-images` made it, under the official image's tags and with its settings.
    project.ok(&["pull", "-q", "redis:7"])?;
    let inspect = project.ok(&["image", "inspect", "redis:7"])?.out;
    let image: serde_json::Value = serde_json::from_str(&inspect)?;
    let config = &image[0]["Config"];
    assert_eq!(config["Cmd"], serde_json::json!(["redis-server"]), "{inspect}");
    assert_eq!(config["WorkingDir"], "/data", "{inspect}");
    ensure!(config["ExposedPorts"]["6379/tcp"].is_object(), "{inspect}");
    ensure!(config["Volumes"]["/data"].is_object(), "{inspect}");

    project.ok(&["build", "-q", "-t", "counter-web", "."])?;
    let up = project.ok(&["compose", "up", "-d"])?;
    for line in [
        " Network counter_default  Created\n",
        " Volume \"counter_cache-data\"  Created\n",
        " Container counter-cache-1  Started\n",
        " Container counter-web-1  Started\n",
    ] {
        ensure!(up.err.contains(line), "{line:?} missing: {up:?}");
    }
    // Another container reaches redis by its service name: redis listens on every address, protected mode off.
    let first = visits(&project).await?;
    let second = visits(&project).await?;
    assert_eq!(second, first + 1);
    let ping = [
        "run",
        "--rm",
        "--network",
        "counter_default",
        "redis:7",
        "redis-cli",
        "-h",
        "cache",
    ];
    let ping = project.ok(&[&ping[..], &["get", "visits"]].concat())?;
    assert_eq!(ping.out, format!("{second}\n"));

    project.ok(&["compose", "down", "-t", "5"])?;
    project.ok(&["compose", "up", "-d"])?;
    let kept = visits(&project).await?;
    assert_eq!(kept, second + 1, "the count in the volume survives down and up");

    let gone = project.ok(&["compose", "down", "-v", "-t", "1"])?;
    ensure!(
        gone.err.contains(" Volume counter_cache-data  Removed\n"),
        "{gone:?}"
    );
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down -v: {left:?}");
    Ok(())
}

/// The count a page of the app shows (`This page has N visits.`).
fn count_in(page: &str) -> Result<u64> {
    page.split("This page has ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no count in {page:?}"))
}

/// The lesson as a learner follows it in the page, opened by its name (`?lesson=compose-app`): each step's
/// command by its "Type it" button and Enter, each check passing, the app read in the lesson's preview.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_follows_the_compose_lesson_in_the_page() {
    use crate::lesson::{check_passes, step_done, type_it};
    let Some(server) = lesson_server("compose-lesson-page", &crate::support::server::dist_dir()).unwrap()
    else {
        return;
    };
    let url = format!("{}/?lesson=compose-app", server.url);
    let name = "a_learner_follows_the_compose_lesson_in_the_page";
    crate::support::browser::on_the_page(name, &url, |page| async move {
        page.by_name("Open compose.yaml").await?;
        let services = type_it(&page, "docker compose config --services", "web").await?;
        ensure!(services.contains("cache"), "{services}");
        step_done(&page, 1).await?;

        page.click("2. Build the web image").await?;
        type_it(&page, "docker build -t counter-web .", "naming to").await?;
        check_passes(&page, 2, "2. Build the web image").await?;

        page.click("3. Start the whole app").await?;
        let up = type_it(&page, "docker compose up -d", "Container counter-web-1").await?;
        ensure!(up.contains("Volume \"counter_cache-data\""), "{up}");
        check_passes(&page, 3, "3. Start the whole app").await?;
        let first = count_in(&page.frame_text("App preview").await?)?;

        page.click("4. See the project's containers").await?;
        let ps = type_it(&page, "docker compose ps", "counter-cache-1").await?;
        ensure!(ps.contains("counter-web-1") && ps.contains(" cache "), "{ps}");
        // `up -d` created the web container once redis's healthcheck said healthy.
        ensure!(ps.contains("(healthy)"), "{ps}");
        step_done(&page, 4).await?;

        page.click("5. Stop everything").await?;
        type_it(&page, "docker compose down", "Network counter_default").await?;
        step_done(&page, 5).await?;

        // Up again: the count goes on from the volume (it grew with each visit of the checks and previews).
        page.click("6. Start again: the count is kept").await?;
        type_it(&page, "docker compose up -d", "Container counter-web-1").await?;
        check_passes(&page, 6, "6. Start again: the count is kept").await?;
        let kept = count_in(&page.frame_text("App preview").await?)?;
        ensure!(kept > first, "the count went from {first} to {kept}");

        page.click("7. Scale out the web service").await?;
        let scaled = type_it(
            &page,
            "docker compose up -d --scale web=2",
            "Container counter-web-2",
        )
        .await?;
        ensure!(scaled.contains("Container counter-web-1"), "{scaled}");
        step_done(&page, 7).await?;

        page.click("8. Clean up").await?;
        type_it(&page, "docker compose down -v", "Volume counter_cache-data").await?;
        step_done(&page, 8).await?;
        Ok(())
    })
    .await
    .unwrap();
    let left = leftovers(&server);
    assert!(left.is_empty(), "left after down -v: {left:?}");
}
