//! The seed tutorial end to end in headless Chromium, as a learner does it, by the lesson's own "Type it" buttons
//! and Enter, answering `docker login`'s prompts by typing: log in, build the Python web app
//! (its RUN step executed by the companion under runc), list images, run it with a published port and read the
//! app's page in the lesson's preview, change the app and rebuild (CACHED steps and why the rest ran), push to
//! the embedded registry and, through the companion's proxy, to a second real registry (Debian's
//! `docker-registry`), whose copy `skopeo` reads with the digest the page showed.

use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::support::browser::{Browser, Page};
use crate::support::distribution::Distribution;
use crate::support::server::{dist_dir, users_file, with_python, Server};
use crate::support::TempDir;
use crate::terminal_keys::{keys, CTRL_C, ENTER};
use crate::terminal_prompts::wait_for_row;

/// A step's command as a learner runs it: its "Type it" button, then Enter in the terminal. Returns what the
/// command printed once the terminal is idle again; `done` must be in it and `ERROR` must not.
pub(crate) async fn type_it(page: &Page, command: &str, done: &str) -> anyhow::Result<String> {
    let before = page.text_of("Terminal output").await?.len();
    page.click(&format!("Type it: {command}")).await?;
    page.wait_for_terminal_line(command).await?;
    keys(page, ENTER).await?;
    let started = std::time::Instant::now();
    loop {
        let idle = page
            .by_name("Terminal input")
            .await?
            .attr("aria-busy")
            .await?
            .as_deref()
            == Some("false");
        let screen = page.text_of("Terminal output").await?;
        let new = screen.get(before..).unwrap_or_default();
        // Ended: the prompt is back after the command's own row.
        if idle && new.lines().count() > 1 && new.lines().last() == Some("$") && new.contains(done) {
            anyhow::ensure!(!new.contains("ERROR"), "{command}:\n{new}");
            return Ok(new.to_string());
        }
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(600),
            "{command}: not done after 10 minutes:\n{new}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A step whose check reads the terminal history passes by itself once its command ends.
pub(crate) async fn step_done(page: &Page, step: usize) -> anyhow::Result<String> {
    page.wait_for_text(&format!("Step {step} result"), "a passing verdict", |t| {
        t.starts_with("Done")
    })
    .await
}

/// Click a lesson step's Check until it passes (a server may need a moment to listen). A check still running
/// from the last click may pass at any moment: the lesson then moves on and the step's Check button goes, so the
/// button is read and clicked in one step in the page, never waited for.
pub(crate) async fn check_passes(page: &Page, step: usize, title: &str) -> anyhow::Result<String> {
    page.click(title).await?;
    const CHECK: &str = "const v = document.querySelector(`[aria-label=\"Step ${arguments[0]} result\"]`);
        const b = document.querySelector(`[aria-label=\"Check step ${arguments[0]}\"]`);
        const verdict = v ? v.textContent : '';
        if (arguments[1] && b && !b.disabled && !verdict.startsWith('Done')) { b.click(); return [verdict, 'clicked']; }
        return [verdict, b ? (b.disabled ? 'checking' : 'idle') : 'gone'];";
    let state = |click: bool| async move {
        let answer = page
            .client
            .execute(CHECK, vec![serde_json::json!(step), serde_json::json!(click)])
            .await?;
        let field = |i: usize| answer[i].as_str().unwrap_or_default().to_string();
        anyhow::Ok((field(0), field(1)))
    };
    let mut verdict = String::new();
    for _ in 0..30 {
        let (shown, button) = state(true).await?;
        verdict = shown;
        if verdict.starts_with("Done") {
            return Ok(verdict);
        }
        anyhow::ensure!(
            button != "gone",
            "step {step} has no Check button and no pass: {verdict}"
        );
        // Until that check has answered: a verdict that passed, or an idle button again.
        for _ in 0..600 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let (shown, button) = state(false).await?;
            verdict = shown;
            if verdict.starts_with("Done") {
                return Ok(verdict);
            }
            if button == "idle" && !verdict.is_empty() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    anyhow::bail!("step {step} did not pass: {verdict}")
}

/// The seed lesson's eight steps in `page` (the workspace open), as a learner does them, by the lesson's own
/// "Type it" buttons and Enter, as user `user` whose registry password is `password`: each step's check passes
/// (in a class, once the server vouches for it) and the app shows in the lesson's preview. The digest pushed.
pub(crate) async fn the_seed_lesson(page: &Page, user: &str, password: &str) -> anyhow::Result<String> {
    page.by_name("Open app.py").await?;
    page.type_into("Your user name", user).await?;

    // Every step as its "Type it" button puts it, then Enter; docker login's prompts answered by typing.
    type_it(page, "docker version", "Version").await?;
    step_done(page, 1).await?;

    page.click("2. Log in to a registry").await?;
    page.click("Type it: docker login").await?;
    page.wait_for_terminal_line("docker login").await?;
    keys(page, ENTER).await?;
    wait_for_row(page, &format!("Username ({user}):")).await?;
    keys(page, ENTER).await?;
    wait_for_row(page, "Password:").await?;
    keys(page, &format!("{password}{ENTER}")).await?;
    page.wait_for_text("Terminal output", "Login Succeeded", |t| {
        t.contains("Login Succeeded")
    })
    .await?;
    page.wait_terminal_idle().await?;
    step_done(page, 2).await?;

    page.click("3. Build your first image").await?;
    let image = format!("{user}/python-sample-app");
    let build = type_it(page, &format!("docker build -t {image}:v1 ."), "naming to").await?;
    anyhow::ensure!(build.contains("RUN pip install -r requirements.txt"), "{build}");
    check_passes(page, 3, "3. Build your first image").await?;

    page.click("4. List your images").await?;
    let images = type_it(page, "docker images", "REPOSITORY").await?;
    anyhow::ensure!(images.contains(&image), "{images}");
    step_done(page, 4).await?;

    // `docker run -it`: the app's own output in the terminal, stopped with Ctrl-C as the step says.
    page.click("5. Run a container").await?;
    let run_it = format!("docker run -it {image}:v1");
    page.click(&format!("Type it: {run_it}")).await?;
    page.wait_for_terminal_line(&run_it).await?;
    keys(page, ENTER).await?;
    page.wait_for_text("Terminal output", "the app serving", |t| {
        t.contains("Serving on http://0.0.0.0:8000")
    })
    .await?;
    keys(page, CTRL_C).await?;
    wait_for_row(page, "$").await?;
    step_done(page, 5).await?;

    page.click("6. Publish the port and open the app").await?;
    type_it(page, &format!("docker run -d -p 8000:8000 {image}:v1"), "").await?;
    let verdict = check_passes(page, 6, "6. Publish the port and open the app").await?;
    anyhow::ensure!(verdict.contains("port 8000"), "{verdict}");
    let body = page.frame_text("App preview").await?;
    anyhow::ensure!(body.contains("Hello from a container"), "{body}");

    // Change the app: the base, WORKDIR, requirements and pip steps come from the cache.
    page.click("7. Change the app and rebuild").await?;
    page.click("Open app.py").await?;
    page.type_into("Editor for app.py", "\n# changed by the learner\n")
        .await?;
    let rebuild = type_it(page, &format!("docker build -t {image}:v2 ."), "naming to").await?;
    anyhow::ensure!(rebuild.matches("CACHED").count() >= 3, "{rebuild}");
    anyhow::ensure!(rebuild.contains("cache miss: app.py changed"), "{rebuild}");
    check_passes(page, 7, "7. Change the app and rebuild").await?;

    page.click("8. Push the image").await?;
    let push = type_it(page, &format!("docker push {image}:v1"), "size:").await?;
    let digest = push
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(digest.len() == 71, "{push}");
    check_passes(page, 8, "8. Push the image").await?;
    // The built and pushed image shows in the Registry panel, with its tag.
    page.wait_for_text("Registry", "the pushed image in the panel", |t| {
        t.contains(&image) && t.contains("v1")
    })
    .await?;
    Ok(digest)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_lesson_in_the_page() {
    let data = TempDir::new("lesson-data");
    with_python(&data).unwrap();
    let users = users_file(data.path()).unwrap();
    let remote_dir = TempDir::new("lesson-remote");
    let remote = Distribution::start(remote_dir.path()).await.unwrap();
    let remote_addr = remote.addr.clone();
    // The companion's proxy reaches only the registries it is told about (not an open proxy).
    let server = Server::start_in(
        data,
        &dist_dir(),
        &["--users", users.to_str().unwrap(), "--proxy-host", &remote_addr],
    )
    .unwrap();
    let url = format!("{}/", server.url);
    let shown_digest = Arc::new(Mutex::new(String::new()));
    let browser = Browser::start().await.unwrap();
    let digest_out = shown_digest.clone();
    browser
        .run("the_whole_lesson_in_the_page", |page| async move {
            page.goto(&url).await?;
            let digest = the_seed_lesson(&page, "learner1", "pw-one").await?;
            // The published port answers on the host too, as `docker run -p` does.
            let direct = reqwest::get("http://127.0.0.1:8000/").await?.text().await?;
            anyhow::ensure!(direct.contains("Hello from a container"), "{direct}");

            // The same image to a second registry, through the companion's proxy.
            let target = format!("{remote_addr}/learner1/python-sample-app:v1");
            page.terminal_command(&format!("docker tag learner1/python-sample-app:v1 {target}"), "")
                .await?;
            let pushed = page
                .terminal_command(&format!("docker push {target}"), "size:")
                .await?;
            anyhow::ensure!(pushed.contains(&digest), "{pushed}");
            *digest_out.lock().unwrap() = digest;
            Ok(())
        })
        .await
        .unwrap();
    let digest = shown_digest.lock().unwrap().clone();
    let inspect = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
        .arg(format!("docker://{}/learner1/python-sample-app:v1", remote.addr))
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&inspect.stdout).trim(), digest);
    drop(remote);
}
