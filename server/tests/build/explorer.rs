//! The page's live Build panel and layer explorer: a two-step COPY build shows each step's state as it runs,
//! the explorer reads the built image back from the registry (layers, their file trees, config, manifest), and
//! a rebuild after one file changed shows CACHED, the miss reason and the new layer's file.

use crate::support::project::{Project, ProjectFile};

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, Server};

/// The line of the Build panel that names `step`.
async fn step_line(page: &Page, step: &str) -> anyhow::Result<String> {
    let steps = page.text_of("Build steps").await?;
    steps
        .lines()
        .find(|l| l.contains(step))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no step {step:?} in the Build panel:\n{steps}"))
}

/// The Build panel's text after the line naming `step` (its miss reason, duration and size).
async fn step_meta(page: &Page, step: &str) -> anyhow::Result<String> {
    let steps = page.text_of("Build steps").await?;
    let mut lines = steps.lines().skip_while(|l| !l.contains(step));
    lines.next();
    Ok(lines.next().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn build_panel_and_layer_explorer_in_the_page() {
    let server = Server::start_with(&dist_dir(), &[]).unwrap();
    let project = Project::from_files([
        (
            "Dockerfile",
            ProjectFile::new(
                "FROM scratch\nCOPY a.txt /app/\nCOPY b.txt /app/\nENV GREETING=hello\nCMD [\"/app/run\"]\n",
            ),
        ),
        ("a.txt", ProjectFile::new("alpha\n")),
        ("b.txt", ProjectFile::new("beta\n")),
        (
            "broken.Dockerfile",
            ProjectFile::new("FROM scratch\nCOPY missing.txt /app/\n"),
        ),
    ])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run("build_panel_and_layer_explorer_in_the_page", |page| async move {
            page.goto(&url).await?;
            page.by_name("Open b.txt").await?;
            page.terminal_command("docker build -t learner1/app:v1 .", "naming to")
                .await?;
            page.wait_for_text("Build status", "the build's end", |t| t == "build finished")
                .await?;
            for (step, reason) in [
                ("[1/2] COPY a.txt /app/", "cache miss: new instruction"),
                ("[2/2] COPY b.txt /app/", "cache miss: a previous step changed"),
            ] {
                let line = step_line(&page, step).await?;
                anyhow::ensure!(line.starts_with("done"), "{line}");
                let meta = step_meta(&page, step).await?;
                anyhow::ensure!(meta.contains(reason), "{meta}");
            }

            page.click("Explore layers of learner1/app:v1").await?;
            let layers = page
                .wait_for_text("Image layers", "both layers", |t| {
                    t.contains("2. COPY b.txt /app/")
                })
                .await?;
            anyhow::ensure!(layers.contains("1. COPY a.txt /app/"), "{layers}");
            anyhow::ensure!(layers.contains("ENV GREETING=hello (no layer)"), "{layers}");
            anyhow::ensure!(
                layers.contains("digest sha256:") && layers.contains("diff_id sha256:"),
                "{layers}"
            );
            // The last layer is selected first: it adds b.txt and touches /app, which the layer below made.
            let files = page.text_of("Files of layer 2").await?;
            anyhow::ensure!(files.contains("[added] b.txt"), "{files}");
            anyhow::ensure!(files.contains("[modified] app/"), "{files}");
            anyhow::ensure!(!files.contains("a.txt"), "{files}");
            page.click("Layer 1: COPY a.txt /app/").await?;
            let files = page
                .wait_for_text("Files of layer 1", "layer 1's tree", |t| t.contains("a.txt"))
                .await?;
            anyhow::ensure!(
                files.contains("[added] a.txt") && files.contains("[added] app/"),
                "{files}"
            );

            page.click("Config").await?;
            let config = page.text_of("Image config").await?;
            anyhow::ensure!(config.contains("\"GREETING=hello\""), "{config}");
            anyhow::ensure!(
                config.contains("\"Cmd\": [\n      \"/app/run\"\n    ]"),
                "{config}"
            );
            page.click("Manifest").await?;
            let manifest = page.text_of("Image manifest").await?;
            anyhow::ensure!(
                manifest
                    .matches("application/vnd.oci.image.layer.v1.tar+gzip")
                    .count()
                    == 2,
                "{manifest}"
            );
            page.click("Close the layer explorer").await?;
            page.wait_gone("Layer explorer").await?;

            // Change one file and rebuild: the step before it is CACHED, the changed one says why it ran.
            page.click("Open b.txt").await?;
            page.type_into("Editor for b.txt", "gamma\n").await?;
            page.terminal_command("docker build -t learner1/app:v2 .", "naming to")
                .await?;
            page.wait_for_text("Build status", "the rebuild's end", |t| t == "build finished")
                .await?;
            let cached = step_line(&page, "[1/2] COPY a.txt /app/").await?;
            anyhow::ensure!(cached.starts_with("CACHED"), "{cached}");
            let rebuilt = step_line(&page, "[2/2] COPY b.txt /app/").await?;
            anyhow::ensure!(rebuilt.starts_with("done"), "{rebuilt}");
            let meta = step_meta(&page, "[2/2] COPY b.txt /app/").await?;
            anyhow::ensure!(meta.contains("cache miss: b.txt changed"), "{meta}");

            page.click("Explore layers of learner1/app:v2").await?;
            let files = page
                .wait_for_text("Files of layer 2", "the rebuilt layer", |t| t.contains("b.txt"))
                .await?;
            // "gamma\n": 6 bytes, where v1's b.txt had 5.
            anyhow::ensure!(files.contains("[added] b.txt 6B"), "{files}");
            let unnamed = page.unnamed_controls().await?;
            anyhow::ensure!(unnamed.is_empty(), "controls without a name: {unnamed:?}");
            page.click("Close the layer explorer").await?;

            // A failing step: the panel marks it, shows its error, and says why the build failed.
            page.type_into(
                "Terminal input",
                "docker build -f broken.Dockerfile -t learner1/broken .\u{E007}",
            )
            .await?;
            page.wait_for_text("Build status", "the failed build's end", |t| t == "build failed")
                .await?;
            let failed = step_line(&page, "[1/1] COPY missing.txt /app/").await?;
            anyhow::ensure!(failed.starts_with("error"), "{failed}");
            let output = page.text_of("Output of [1/1] COPY missing.txt /app/").await?;
            anyhow::ensure!(output.contains("missing.txt"), "{output}");
            let error = page.text_of("Build error").await?;
            anyhow::ensure!(error.starts_with("ERROR: failed to solve:"), "{error}");
            // The earlier steps are gone: the panel shows this build only.
            let steps = page.text_of("Build steps").await?;
            anyhow::ensure!(!steps.contains("COPY b.txt"), "{steps}");
            Ok(())
        })
        .await
        .unwrap();
}

/// A tag pushed to the registry opens in the explorer from the Registry panel, read from the registry: it still
/// shows after the local image is gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_tag_opens_in_the_layer_explorer_from_the_registry_panel() {
    let server = Server::start_with(&dist_dir(), &[]).unwrap();
    let project = Project::from_files([
        (
            "Dockerfile",
            ProjectFile::new("FROM scratch\nCOPY hello.txt /greetings/\nCMD [\"/hello\"]\n"),
        ),
        ("hello.txt", ProjectFile::new("hello, registry\n")),
    ])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_pushed_tag_opens_in_the_layer_explorer_from_the_registry_panel",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("Open hello.txt").await?;
                page.terminal_command("docker build -t learner1/hello:v1 .", "naming to")
                    .await?;
                page.terminal_command("docker push learner1/hello:v1", "v1: digest: sha256:")
                    .await?;
                page.terminal_command("docker rmi learner1/hello:v1", "Untagged")
                    .await?;
                page.wait_for_text("Registry repositories", "the pushed tag", |t| {
                    t.contains("learner1/hello:v1")
                })
                .await?;
                page.click("Explore layers of pushed learner1/hello:v1").await?;
                let layers = page
                    .wait_for_text("Image layers", "the COPY layer", |t| {
                        t.contains("1. COPY hello.txt /greetings/")
                    })
                    .await?;
                anyhow::ensure!(layers.contains("CMD [\"/hello\"] (no layer)"), "{layers}");
                let files = page.text_of("Files of layer 1").await?;
                anyhow::ensure!(
                    files.contains("[added] greetings/") && files.contains("[added] hello.txt 16B"),
                    "{files}"
                );
                page.click("Manifest").await?;
                let manifest = page.text_of("Image manifest").await?;
                anyhow::ensure!(
                    manifest.contains("application/vnd.oci.image.layer.v1.tar+gzip"),
                    "{manifest}"
                );
                let unnamed = page.unnamed_controls().await?;
                anyhow::ensure!(unnamed.is_empty(), "controls without a name: {unnamed:?}");
                page.click("Close the layer explorer").await?;
                page.wait_gone("Layer explorer").await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}
