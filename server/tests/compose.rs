//! Compose in the page (headless Chromium, the real server): a compose.yaml with a mistake opens in the checking
//! editor, which shows Compose's diagnostic at its line and column (list entry, underline) and the services'
//! outline; fixing it clears the diagnostic; `docker compose config` typed in the terminal prints the model,
//! interpolated from the project's `.env`. Natively, `slipway docker compose config` reads the current directory
//! and the process's environment.

use std::process::{Command, Stdio};

use fantoccini::Locator;
use serde_json::json;

use crate::support::browser::Browser;
use crate::support::project::{Project, ProjectFile};
use crate::support::server::{slipway_bin, Server};
use crate::support::TempDir;

const BROKEN: &str = "services:\n  web:\n    image: \"busybox:${TAG}\"\n    foo: bar\n    ports:\n      - \"8080:80\"\n  cache:\n    image: busybox\n";

#[tokio::test(flavor = "multi_thread")]
async fn compose_file_shows_composes_diagnostic_at_its_line_and_config_prints_the_model() {
    let server = Server::start().unwrap();
    let project = Project::from_files([
        ("Dockerfile", ProjectFile::new("FROM busybox\n")),
        ("compose.yaml", ProjectFile::new(BROKEN)),
        (".env", ProjectFile::new("TAG=1.36\n")),
    ])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run("compose_file_diagnostics_and_config", |page| async move {
            page.goto(&url).await?;
            page.click("Open compose.yaml").await?;
            let problems = page
                .wait_for_text("Problems", "Compose's diagnostic", |t| {
                    t.contains("services.web Additional property foo is not allowed")
                })
                .await?;
            anyhow::ensure!(problems.contains("4:5"), "diagnostic not at line 4, column 5: {problems:?}");
            page.client
                .find(Locator::Css(".compose-editor .editor-diagnostics li[data-line='4']"))
                .await?;
            let underlined = page
                .client
                .execute(
                    "return [...document.querySelectorAll('.cm-lintRange-error')].map(e => e.textContent).join('');",
                    vec![],
                )
                .await?;
            anyhow::ensure!(underlined == json!("foo"), "underlined: {underlined}");
            let outline = page.text_of("Outline").await?;
            anyhow::ensure!(outline.contains("2 web") && outline.contains("7 cache"), "outline: {outline:?}");

            // Fixed (pasted: typing YAML would meet the editor's auto-indent), the diagnostic goes.
            let fixed = BROKEN.replace("    foo: bar\n", "");
            page.paste_into("Editor for compose.yaml", &fixed).await?;
            page.wait_for_text("Problems", "no problems", |t| t.contains("No problems"))
                .await?;
            // A mistake typed at the end (Ctrl+End, then the keys) is reported as it is typed, at its line.
            let editor = page.by_name("Editor for compose.yaml").await?;
            editor.send_keys("\u{E009}\u{E010}\u{E000}bogus: 1").await?;
            let problems = page
                .wait_for_text("Problems", "the typed mistake", |t| {
                    t.contains("(root) Additional property bogus is not allowed")
                })
                .await?;
            anyhow::ensure!(problems.contains("8:1"), "typed mistake not at 8:1: {problems:?}");
            page.paste_into("Editor for compose.yaml", &fixed).await?;
            page.wait_for_text("Problems", "no problems", |t| t.contains("No problems"))
                .await?;

            let out = page
                .terminal_command("docker compose config", "name: project")
                .await?;
            for want in [
                "services:",
                "  web:",
                "    image: busybox:1.36",
                "      - mode: ingress",
                "        published: \"8080\"",
                "networks:",
                "    name: project_default",
            ] {
                anyhow::ensure!(out.contains(want), "{want:?} missing from:\n{out}");
            }
            let services = page
                .terminal_command("docker compose config --services", "cache")
                .await?;
            anyhow::ensure!(services.contains("cache") && services.contains("web"), "{services}");
            Ok(())
        })
        .await
        .unwrap();
}

/// `slipway docker compose config` in a project directory: the project is named after the directory (normalized
/// as Compose does), paths are absolute, the environment wins over `.env`, and a missing required variable fails
/// with Compose's message and the file's line and column. No companion is needed for it.
#[test]
fn native_compose_config_reads_the_directory_and_the_environment() {
    let home = TempDir::new("compose-native");
    let dir = home.path().join("My App");
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    build: ./app\n    image: \"web:${TAG}\"\n    environment:\n      - FROM_DOTENV=${DOTENV_ONLY}\n",
    )
    .unwrap();
    std::fs::write(dir.join(".env"), "TAG=from-dotenv\nDOTENV_ONLY=yes\n").unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut command = Command::new(slipway_bin());
        command
            .args(["docker", "--host", "http://127.0.0.1:9", "compose", "config"])
            .current_dir(&dir)
            .env_remove("TAG")
            .stdin(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let out = run(&[("TAG", "from-env")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let context = format!("      context: {}/app\n", dir.display());
    for want in [
        "name: myapp\n",
        context.as_str(),
        "    image: web:from-env\n",
        "      FROM_DOTENV: \"yes\"\n",
    ] {
        assert!(stdout.contains(want), "{want:?} missing from:\n{stdout}");
    }
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: \"web:${NOPE:?say which}\"\n",
    )
    .unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "compose.yaml:3:12: error while interpolating services.web.image: required variable NOPE is missing a value: say which\n"
    );
}
