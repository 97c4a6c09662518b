//! The page's terminal against the real companion: `docker run` starts a real container under runc and its
//! output appears in the terminal; `docker ps -a` lists it in docker's columns.

use crate::support::browser::Browser;
use crate::support::server::{dist_dir, with_busybox, with_busybox_in_registry, Server};
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
                // The Containers panel lists it too, refreshed after the command.
                page.wait_for_text("Containers", "the container in the panel", |t| {
                    t.contains("greeter") && t.contains("Exited (3)")
                })
                .await?;
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

/// The seed tutorial's registry half on a classroom companion (logins configured): a push is refused until
/// `docker login` succeeds, a wrong password is refused with docker's text, then the push lands and shows in the
/// Registry panel.
#[tokio::test(flavor = "multi_thread")]
async fn docker_login_checks_the_password_in_the_page() {
    let data = TempDir::new("terminal-login");
    with_busybox_in_registry(&data).unwrap();
    let users = crate::support::server::users_file(data.path()).unwrap();
    let server = Server::start_in(data, &dist_dir(), &["--users", users.to_str().unwrap()]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "docker_login_checks_the_password_in_the_page",
            |page| async move {
                page.goto(&url).await?;
                let enter = |line: &str| format!("{line}\u{E007}");
                page.type_into("Terminal input", &enter("docker pull busybox"))
                    .await?;
                page.wait_for_text("Local images", "busybox in the Images panel", |t| {
                    t.contains("busybox:latest")
                })
                .await?;
                page.type_into("Terminal input", &enter("docker tag busybox learner1/app:v1"))
                    .await?;
                page.wait_for_text("Local images", "the new tag", |t| t.contains("learner1/app:v1"))
                    .await?;
                page.type_into("Terminal input", &enter("docker push learner1/app:v1"))
                    .await?;
                page.wait_for_text("Terminal output", "the refused push", |t| {
                    t.contains("unauthorized: authentication required")
                })
                .await?;
                page.type_into("Terminal input", &enter("docker login -u learner1 -p wrong"))
                    .await?;
                let screen = page
                    .wait_for_text("Terminal output", "the refused login", |t| {
                        t.contains("wrong user name or password")
                    })
                    .await?;
                anyhow::ensure!(
                    screen.contains("Error response from daemon: Get \"http://")
                        && screen.contains("/v2/\": unauthorized:"),
                    "{screen}"
                );
                anyhow::ensure!(!screen.contains("Login Succeeded"), "{screen}");
                page.type_into("Terminal input", &enter("docker login -u learner1 -p pw-one"))
                    .await?;
                page.wait_for_text("Terminal output", "Login Succeeded", |t| {
                    t.contains("Login Succeeded")
                })
                .await?;
                page.type_into("Terminal input", &enter("docker push learner1/app:v1"))
                    .await?;
                page.wait_for_text("Terminal output", "the push", |t| {
                    t.contains("v1: digest: sha256:")
                })
                .await?;
                page.wait_for_text("Registry repositories", "the pushed image", |t| {
                    t.contains("learner1/app:v1")
                })
                .await?;
                // The login lives in the tab's session: a bare `docker login` reuses it.
                page.type_into("Terminal input", &enter("docker login")).await?;
                page.wait_for_text("Terminal output", "the stored login", |t| {
                    t.contains("Authenticating with existing credentials...")
                })
                .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_images_and_push_show_in_the_terminal_and_panels() {
    let data = TempDir::new("terminal-images");
    with_busybox_in_registry(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "pull_images_and_push_show_in_the_terminal_and_panels",
            |page| async move {
                page.goto(&url).await?;
                page.type_into("Terminal input", "docker pull busybox\u{E007}")
                    .await?;
                let screen = page
                    .wait_for_text("Terminal output", "the pull", |t| {
                        t.contains("docker.io/library/busybox:latest")
                    })
                    .await?;
                anyhow::ensure!(
                    screen.contains("latest: Pulling from library/busybox"),
                    "{screen}"
                );
                anyhow::ensure!(screen.contains(": Pull complete"), "{screen}");
                anyhow::ensure!(
                    screen.contains("Status: Downloaded newer image for busybox:latest"),
                    "{screen}"
                );
                page.wait_for_text("Local images", "busybox in the Images panel", |t| {
                    t.contains("busybox:latest")
                })
                .await?;
                page.type_into("Terminal input", "docker images\u{E007}").await?;
                page.wait_for_text("Terminal output", "docker images", |t| {
                    t.contains("REPOSITORY   TAG       IMAGE ID") && t.contains("busybox      latest")
                })
                .await?;
                page.type_into("Terminal input", "docker tag busybox learner1/app:v1\u{E007}")
                    .await?;
                page.wait_for_text("Local images", "the new tag", |t| t.contains("learner1/app:v1"))
                    .await?;
                page.type_into("Terminal input", "docker push learner1/app:v1\u{E007}")
                    .await?;
                page.wait_for_text("Terminal output", "the push", |t| {
                    t.contains("v1: digest: sha256:")
                })
                .await?;
                let registry = page
                    .wait_for_text("Registry repositories", "the pushed image", |t| {
                        t.contains("learner1/app:v1")
                    })
                    .await?;
                anyhow::ensure!(registry.contains("sha256:"), "{registry}");
                anyhow::ensure!(!registry.contains("slipway-local"), "{registry}");
                Ok(())
            },
        )
        .await
        .unwrap();
}

/// `docker run -it busybox sh` in the page: the terminal hands over to the container's shell (keystrokes in,
/// its TTY out, a hint while attached), and `exit 3` gives the prompt back with the exit code docker reports.
#[tokio::test(flavor = "multi_thread")]
async fn docker_run_it_hands_the_terminal_to_a_shell() {
    let data = TempDir::new("terminal-tty");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("docker_run_it_hands_the_terminal_to_a_shell", |page| async move {
            page.goto(&url).await?;
            page.type_into(
                "Terminal input",
                "docker run -it --name shell1 busybox sh\u{E007}",
            )
            .await?;
            page.wait_for_text("Terminal output", "the shell's prompt", |t| t.contains("/ #"))
                .await?;
            let hint = page
                .client
                .find(fantoccini::Locator::Css(".terminal-hint"))
                .await?
                .text()
                .await?;
            anyhow::ensure!(hint == "attached to shell1 (Ctrl-D or exit to leave)", "{hint}");
            let input = page.by_name("Terminal input").await?;
            anyhow::ensure!(input.attr("aria-busy").await?.as_deref() == Some("true"));
            input.send_keys("echo hi\u{E007}").await?;
            let screen = page
                .wait_for_text("Terminal output", "echo's output", |t| {
                    t.lines().any(|l| l == "hi")
                })
                .await?;
            // The shell's own echo of the line, with no escape sequences or carriage returns left in it.
            anyhow::ensure!(screen.lines().any(|l| l == "/ # echo hi"), "{screen}");
            anyhow::ensure!(!screen.contains('\u{1b}') && !screen.contains('\r'), "{screen:?}");
            input.send_keys("exit 3\u{E007}").await?;
            page.wait_gone("attached to shell1 (Ctrl-D or exit to leave)")
                .await?;
            page.wait_terminal_idle().await?;
            page.type_into("Terminal input", "docker ps -a\u{E007}").await?;
            let screen = page
                .wait_for_text("Terminal output", "the exited shell", |t| {
                    t.contains("Exited (3)")
                })
                .await?;
            anyhow::ensure!(screen.contains("shell1"), "{screen}");
            Ok(())
        })
        .await
        .unwrap();
}

/// `docker exec` in the page attaches to a process in a running container: `-it sh` gives a shell there, a
/// plain `docker exec` shows its output, and both give the prompt back when the process ends.
#[tokio::test(flavor = "multi_thread")]
async fn docker_exec_attaches_to_a_running_container() {
    let data = TempDir::new("terminal-exec");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("docker_exec_attaches_to_a_running_container", |page| async move {
            page.goto(&url).await?;
            let enter = |line: &str| format!("{line}\u{E007}");
            page.type_into(
                "Terminal input",
                &enter("docker run -d --name web busybox sleep 300"),
            )
            .await?;
            page.wait_for_text("Terminal output", "the container id", |t| {
                t.lines().any(|l| l.len() == 64)
            })
            .await?;
            page.type_into("Terminal input", &enter("docker exec -it web sh"))
                .await?;
            let input = page.by_name("Terminal input").await?;
            page.wait_for_text("Terminal output", "the exec shell's prompt", |t| {
                t.contains("/ #")
            })
            .await?;
            input
                .send_keys(&enter("echo in-$(hostname | cut -c1-3)-exec"))
                .await?;
            page.wait_for_text("Terminal output", "the exec's output", |t| {
                t.lines().any(|l| l.starts_with("in-") && l.ends_with("-exec"))
            })
            .await?;
            input.send_keys(&enter("exit")).await?;
            page.wait_gone("attached to web (Ctrl-D or exit to leave)")
                .await?;
            page.type_into("Terminal input", &enter("docker exec web echo plain-exec"))
                .await?;
            page.wait_for_text("Terminal output", "a plain exec's output", |t| {
                t.lines().any(|l| l == "plain-exec")
            })
            .await?;
            page.type_into("Terminal input", &enter("docker rm -f web"))
                .await?;
            page.wait_for_text("Terminal output", "the removal", |t| {
                t.lines().any(|l| l == "web")
            })
            .await?;
            Ok(())
        })
        .await
        .unwrap();
}

/// `slipway docker run -it` natively: no terminal to hand over, so it says where attached sessions run, and
/// starts nothing.
#[test]
fn native_docker_run_it_points_to_the_page() {
    let out = std::process::Command::new(crate::support::server::slipway_bin())
        .args([
            "docker",
            "--host",
            "http://127.0.0.1:9",
            "run",
            "-it",
            "busybox",
            "sh",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("run in the Slipway page's terminal only"),
        "{stderr}"
    );
}
