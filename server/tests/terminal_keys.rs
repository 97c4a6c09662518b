//! The page's xterm.js terminal against the real companion: a container's TTY bytes reach the screen as they
//! are (colours), the TTY follows the pane's size, Ctrl-C stops a foreground container or goes to an attached
//! shell, and the prompt's line editor and history work from the keyboard.

use std::time::{Duration, Instant};

use crate::support::browser::{Browser, Page, WAIT};
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

pub(crate) const ENTER: &str = "\u{E007}";
/// WebDriver's Control key is held until the NULL key releases it.
pub(crate) const CTRL_C: &str = "\u{E009}c\u{E000}";

/// Type keys into xterm's input (the keys go wherever the terminal sends them: prompt or container).
pub(crate) async fn keys(page: &Page, text: &str) -> anyhow::Result<()> {
    Ok(page.by_name("Terminal input").await?.send_keys(text).await?)
}

/// The last `stty size` answer (`ROWS COLS`) after `seen` answers.
pub(crate) async fn stty_size(page: &Page, seen: usize) -> anyhow::Result<(u32, u32)> {
    keys(page, &format!("stty size{ENTER}")).await?;
    let sizes = |t: &str| -> Vec<(u32, u32)> {
        t.lines()
            .filter_map(|l| {
                let (rows, cols) = l.trim().split_once(' ')?;
                Some((rows.parse().ok()?, cols.parse().ok()?))
            })
            .collect()
    };
    let screen = page
        .wait_for_text("Terminal output", "stty's answer", |t| sizes(t).len() > seen)
        .await?;
    Ok(sizes(&screen)[seen])
}

/// Run `steps` on the page of a companion whose registry has busybox.
pub(crate) async fn on_a_page_with_busybox<F, Fut>(name: &str, dir: &str, steps: F)
where
    F: FnOnce(Page, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // Short: the data directory holds the containers' console sockets (a socket path has at most 107 bytes).
    let data = TempDir::new(dir);
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser.run(name, |page| steps(page, url)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_containers_colours_reach_the_screen_and_its_tty_follows_the_pane() {
    on_a_page_with_busybox(
        "a_containers_colours_reach_the_screen_and_its_tty_follows_the_pane",
        "term-colours",
        |page, url| async move {
            page.goto(&url).await?;
            keys(&page, &format!("docker run -it --rm busybox sh{ENTER}")).await?;
            page.wait_for_text("Terminal output", "the shell's prompt", |t| t.contains("/ #"))
                .await?;
            keys(&page, &format!("printf '\\033[31mred\\033[0m\\n'{ENTER}")).await?;
            page.wait_for_text("Terminal output", "printf's output", |t| {
                t.lines().any(|l| l == "red")
            })
            .await?;
            // xterm.js draws the word with the ANSI red foreground (palette colour 1), on its next animation
            // frame: the transcript can have the line a moment before the rows are painted.
            let started = std::time::Instant::now();
            let red = loop {
                let red = page
                    .client
                    .execute(
                        "return [...document.querySelectorAll('.xterm-rows span')]
                           .filter(s => s.textContent === 'red').map(s => s.className);",
                        vec![],
                    )
                    .await?;
                let painted = red.as_array().is_some_and(|spans| !spans.is_empty());
                if painted || started.elapsed() > WAIT {
                    break red;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            anyhow::ensure!(
                red.as_array().is_some_and(|spans| spans
                    .iter()
                    .any(|c| c.as_str().unwrap_or_default().contains("xterm-fg-1"))),
                "the spans drawing \"red\": {red}"
            );
            let before = stty_size(&page, 0).await?;
            anyhow::ensure!(before.0 >= 5 && before.1 >= 20, "{before:?}");
            // Bigger text: fewer cells fit the pane, and the container's TTY is told.
            page.click("A+ larger text").await?;
            page.click("A+ larger text").await?;
            let started = Instant::now();
            let mut answers = 1;
            let after = loop {
                let size = stty_size(&page, answers).await?;
                answers += 1;
                if size.0 < before.0 && size.1 < before.1 {
                    break size;
                }
                anyhow::ensure!(started.elapsed() < WAIT, "still {size:?}, was {before:?}");
            };
            anyhow::ensure!(after.1 > 10, "{after:?}");
            keys(&page, &format!("exit{ENTER}")).await?;
            page.wait_terminal_idle().await?;
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_a_foreground_container_and_reaches_an_attached_shell() {
    on_a_page_with_busybox(
        "ctrl_c_stops_a_foreground_container_and_reaches_an_attached_shell",
        "term-ctrl-c",
        |page, url| async move {
            page.goto(&url).await?;
            keys(
                &page,
                &format!("docker run --name sleeper busybox sleep 600{ENTER}"),
            )
            .await?;
            let input = page.by_name("Terminal input").await?;
            anyhow::ensure!(input.attr("aria-busy").await?.as_deref() == Some("true"));
            keys(&page, CTRL_C).await?;
            page.wait_for_text("Terminal output", "^C and a new prompt", |t| t.ends_with("^C\n$"))
                .await?;
            page.wait_terminal_idle().await?;
            // Nothing is left running: docker ps lists running containers only.
            let running = page.terminal_command("docker ps", "CONTAINER ID").await?;
            anyhow::ensure!(!running.contains("sleeper"), "{running}");
            let all = page.terminal_command("docker ps -a", "sleeper").await?;
            anyhow::ensure!(all.contains("Exited ("), "{all}");

            // Attached to a shell, Ctrl-C is the shell's: it stops `sleep`, the shell stays.
            keys(
                &page,
                &format!("docker run -it --rm --name shell2 busybox sh{ENTER}"),
            )
            .await?;
            page.wait_for_text("Terminal output", "the shell's prompt", |t| t.contains("/ #"))
                .await?;
            keys(&page, &format!("sleep 600{ENTER}")).await?;
            page.wait_for_text("Terminal output", "sleep running", |t| {
                t.lines().last().is_some_and(|l| l.ends_with("# sleep 600"))
            })
            .await?;
            // Give the shell a moment to start `sleep` (a ^C before that interrupts the shell's read instead).
            tokio::time::sleep(Duration::from_secs(1)).await;
            keys(&page, CTRL_C).await?;
            keys(&page, &format!("echo after-$?{ENTER}")).await?;
            page.wait_for_text("Terminal output", "the interrupted sleep's status", |t| {
                t.lines().any(|l| l == "after-130")
            })
            .await?;
            keys(&page, &format!("echo still-$((6*7)){ENTER}")).await?;
            page.wait_for_text("Terminal output", "the shell still there", |t| {
                t.lines().any(|l| l == "still-42")
            })
            .await?;
            keys(&page, &format!("exit{ENTER}")).await?;
            page.wait_terminal_idle().await?;
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prompt_edits_lines_recalls_history_and_follows_the_theme() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "the_prompt_edits_lines_recalls_history_and_follows_the_theme",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("Terminal input").await?;
                // ← and insert; Home and insert; End and type; ← seven times and Ctrl-K cut the tail.
                keys(&page, "ocker versin\u{E012}o").await?;
                page.wait_for_terminal_line("ocker version").await?;
                keys(&page, "\u{E011}d\u{E010} --junk").await?;
                page.wait_for_terminal_line("docker version --junk").await?;
                keys(&page, &format!("{}\u{E009}k\u{E000}", "\u{E012}".repeat(7))).await?;
                page.wait_for_terminal_line("docker version").await?;
                keys(&page, ENTER).await?;
                let out = page
                    .wait_for_text("Terminal output", "docker version's answer", |t| {
                        t.contains("Slipway")
                    })
                    .await?;
                anyhow::ensure!(out.contains("$ docker version\n"), "{out}");
                // ↑ brings it back; Ctrl-A and Delete edit it at its start.
                keys(&page, "\u{E013}").await?;
                page.wait_for_terminal_line("docker version").await?;
                keys(&page, "\u{E009}a\u{E000}\u{E017}\u{E017}").await?;
                page.wait_for_terminal_line("cker version").await?;
                // The page's theme switch recolours the terminal too (xterm draws rows in the theme's foreground).
                let text_colour = || async {
                    let colour = page
                        .client
                        .execute(
                            "return getComputedStyle(document.querySelector('.xterm-rows')).color;",
                            vec![],
                        )
                        .await?;
                    anyhow::Ok(colour.as_str().unwrap_or_default().to_string())
                };
                anyhow::ensure!(text_colour().await? == "rgb(201, 209, 217)", "dark theme");
                page.click("Switch to the light theme").await?;
                let started = Instant::now();
                while text_colour().await? != "rgb(31, 35, 40)" {
                    anyhow::ensure!(started.elapsed() < WAIT, "light theme: {}", text_colour().await?);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(())
            },
        )
        .await
        .unwrap();
}
