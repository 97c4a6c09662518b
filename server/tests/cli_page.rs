//! `docker save`/`load` and `docker attach` typed in the page's terminal as a learner would (issue 17), against
//! the real companion with real runc in headless Chromium: the saved archive is a file of the project (the file
//! tree shows it) that `docker load -i` reads back; an attach types into a detached shell and Ctrl-P Ctrl-Q
//! leaves it running. Expected texts: docker 28's (docker/cli `image/load.go`, `container/attach.go`,
//! `hijack.go`; moby `image/tarexport/load.go`). The native tests of both are in `cli_more`.

use anyhow::{ensure, Result};

use crate::commands::server;
use crate::support::browser::{Browser, Page, WAIT};
use crate::support::server::dist_dir;
use crate::terminal_keys::{keys, ENTER};

/// WebDriver's Control key held for P, then for Q (released by the NULL key): docker's detach keys.
const CTRL_P_CTRL_Q: &str = "\u{E009}p\u{E000}\u{E009}q\u{E000}";

/// `steps` on the page of a companion (`label` names its data directory) with busybox in its registry.
async fn in_the_page<F, Fut>(name: &str, label: &str, steps: F) -> Result<()>
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let Some(server) = server(label, &dist_dir())? else {
        return Ok(());
    };
    let url = server.url.clone();
    let browser = Browser::start().await?;
    browser
        .run(name, |page| async move {
            page.goto(&url).await?;
            steps(page).await
        })
        .await
}

/// A learner pulls an image, tags it, `docker save -o app.tar` (the file appears in the tree), removes the
/// image, `docker load -i app.tar` (`Loaded image: user/app:v1`) and runs it; `> FILE` writes a file too.
#[tokio::test]
async fn docker_save_writes_a_project_file_that_docker_load_reads_back() -> Result<()> {
    in_the_page(
        "docker_save_writes_a_project_file_that_docker_load_reads_back",
        "save-page",
        |page| async move {
            page.terminal_command("docker pull busybox", "Status: ").await?;
            page.terminal_command("docker tag busybox user/app:v1", "")
                .await?;
            page.terminal_command("docker save -o app.tar user/app:v1", "")
                .await?;
            page.by_name("Open app.tar").await?;
            page.terminal_command("docker rmi user/app:v1", "Untagged: user/app:v1")
                .await?;
            let gone = page
                .terminal_command("docker images user/app", "REPOSITORY")
                .await?;
            ensure!(
                !gone.lines().any(|l| l.starts_with("user/app ")),
                "removed: {gone}"
            );
            let loaded = page
                .terminal_command("docker load -i app.tar", "Loaded image: user/app:v1")
                .await?;
            ensure!(!loaded.contains("Error"), "{loaded}");
            page.terminal_command("docker run --rm user/app:v1 echo loaded-back", "loaded-back")
                .await?;
            page.terminal_command("docker save user/app:v1 > again.tar", "")
                .await?;
            page.by_name("Open again.tar").await?;
            let missing = page
                .terminal_command("docker load -i nope.tar", "no such file or directory")
                .await?;
            ensure!(
                missing.contains("open /project/nope.tar: no such file or directory"),
                "{missing}"
            );
            Ok(())
        },
    )
    .await
}

/// A learner starts a detached shell (`docker run -dit`), `docker attach`es to it, types `echo`, sees the
/// answer, and detaches with Ctrl-P Ctrl-Q: docker's `read escape sequence`, and the shell still runs.
#[tokio::test]
async fn docker_attach_types_into_a_detached_shell_and_ctrl_p_ctrl_q_leaves_it() -> Result<()> {
    in_the_page(
        "docker_attach_types_into_a_detached_shell_and_ctrl_p_ctrl_q_leaves_it",
        "attach-page",
        |page| async move {
            page.terminal_command("docker run -dit --name box busybox sh", "")
                .await?;
            keys(&page, &format!("docker attach box{ENTER}")).await?;
            // Nothing is replayed on attach: once attached, Enter makes the shell print its prompt.
            let started = std::time::Instant::now();
            while !page.text_of("Terminal output").await?.contains("/ #") {
                ensure!(
                    started.elapsed() < WAIT,
                    "the attached shell never answered Enter"
                );
                keys(&page, ENTER).await?;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            keys(&page, &format!("echo hi-$((40+2)){ENTER}")).await?;
            page.wait_for_text("Terminal output", "the shell's answer", |t| {
                t.lines().any(|l| l.trim() == "hi-42")
            })
            .await?;
            leave_box_running(&page, CTRL_P_CTRL_Q).await
        },
    )
    .await
}

/// Ctrl-P Ctrl-Q leaves `docker run -it` without a word (docker/cli's `run.go` returns nil on the escape) and
/// `docker exec -it` with `read escape sequence`; both processes keep running, and `--detach-keys` names others.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_p_ctrl_q_detaches_run_it_and_exec_it_and_the_shells_run_on() -> Result<()> {
    in_the_page(
        "ctrl_p_ctrl_q_detaches_run_it_and_exec_it_and_the_shells_run_on",
        "detach-page",
        |page| async move {
            keys(&page, &format!("docker run -it --name box busybox sh{ENTER}")).await?;
            page.wait_for_text("Terminal output", "the shell's prompt", |t| t.contains("/ #"))
                .await?;
            let before = page.text_of("Terminal output").await?.len();
            keys(&page, CTRL_P_CTRL_Q).await?;
            page.wait_gone("attached to box (Ctrl-D or exit to leave)")
                .await?;
            page.wait_terminal_idle().await?;
            let after = page.text_of("Terminal output").await?;
            let said = after.get(before..).unwrap_or_default();
            ensure!(!said.contains("read escape sequence"), "{said:?}");
            page.terminal_command("docker inspect -f {{.State.Running}} box", "true")
                .await?;

            keys(
                &page,
                &format!("docker exec -it --detach-keys ctrl-x box sh{ENTER}"),
            )
            .await?;
            let started = std::time::Instant::now();
            while page.text_of("Terminal output").await?.matches("/ #").count() < 2 {
                ensure!(
                    started.elapsed() < WAIT,
                    "the exec's shell never showed its prompt"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            leave_box_running(&page, "\u{E009}x\u{E000}").await
        },
    )
    .await
}

/// Types `detach` into the terminal attached to `box`: docker's detach message, the prompt back, `box` still
/// running (then removed).
async fn leave_box_running(page: &Page, detach: &str) -> Result<()> {
    keys(page, detach).await?;
    page.wait_for_text("Terminal output", "docker's detach message", |t| {
        t.contains("read escape sequence")
    })
    .await?;
    page.wait_terminal_idle().await?;
    page.terminal_command("docker inspect -f {{.State.Running}} box", "true")
        .await?;
    page.terminal_command("docker rm -f box", "box").await?;
    Ok(())
}
