//! The page's terminal against the real companion, for what the xterm.js work left: Ctrl-C on `docker logs -f`
//! closes its HTTP request at once (the companion's follower goes with it), a multi-line paste runs line by
//! line, and `docker logs --tail N --timestamps` and a plain `docker exec` answer as docker's do.

use std::time::Instant;

use crate::support::browser::{Page, WAIT};
use crate::terminal_keys::{keys, on_a_page_with_busybox, CTRL_C, ENTER};

/// How many readers the companion has following container `name`'s output, asked as this page's session.
async fn log_followers(page: &Page, url: &str, name: &str) -> anyhow::Result<u64> {
    let session = page
        .client
        .execute("return sessionStorage.getItem('slipway-session');", vec![])
        .await?;
    let session = session.as_str().unwrap_or_default().to_string();
    let inspect: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/api/containers/{name}"))
        .header("X-Slipway-Session", session)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    inspect["log_followers"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no log_followers in {inspect}"))
}

/// The lines the terminal printed after its first `before` bytes.
async fn lines_since(page: &Page, before: usize) -> anyhow::Result<Vec<String>> {
    let screen = page.text_of("Terminal output").await?;
    Ok(screen
        .get(before..)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect())
}

/// `2026-11-28T05:05:13.123456789Z tick`: docker's `--timestamps` prefix on a line.
fn stamped(line: &str, text: &str) -> bool {
    let Some((stamp, rest)) = line.split_once(' ') else {
        return false;
    };
    let b = stamp.as_bytes();
    rest == text
        && b.len() == 30
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[29] == b'Z'
        && stamp[20..29].bytes().all(|c| c.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_closes_a_followed_log_and_logs_and_exec_answer_like_docker() {
    on_a_page_with_busybox(
        "ctrl_c_closes_a_followed_log_and_logs_and_exec_answer_like_docker",
        "term-logs",
        |page, url| async move {
            page.goto(&url).await?;
            page.terminal_command(
                "docker run -d --name ticker busybox sh -c 'while true; do echo tick; sleep 1; done'",
                "",
            )
            .await?;
            let before = page.text_of("Terminal output").await?.len();
            keys(&page, &format!("docker logs -f ticker{ENTER}")).await?;
            page.wait_for_text("Terminal output", "two ticks followed", |t| {
                t.get(before..)
                    .is_some_and(|new| new.lines().filter(|l| *l == "tick").count() >= 2)
            })
            .await?;
            let input = page.by_name("Terminal input").await?;
            anyhow::ensure!(input.attr("aria-busy").await?.as_deref() == Some("true"));
            anyhow::ensure!(log_followers(&page, &url, "ticker").await? == 1);

            keys(&page, CTRL_C).await?;
            page.wait_for_text("Terminal output", "^C and a new prompt", |t| t.ends_with("^C\n$"))
                .await?;
            page.wait_terminal_idle().await?;
            // The page closed the request, so the companion stopped following: the container runs on.
            let started = Instant::now();
            while log_followers(&page, &url, "ticker").await? != 0 {
                anyhow::ensure!(
                    started.elapsed() < WAIT,
                    "the companion still follows ticker's log"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let running = page.terminal_command("docker ps", "ticker").await?;
            anyhow::ensure!(running.contains("Up "), "{running}");

            // The last two lines, each with the time it was written.
            let before = page.text_of("Terminal output").await?.len();
            page.terminal_command("docker logs --tail 2 --timestamps ticker", "tick")
                .await?;
            let new = lines_since(&page, before).await?;
            let ticks: Vec<&String> = new.iter().filter(|l| l.ends_with(" tick")).collect();
            anyhow::ensure!(
                ticks.len() == 2 && ticks.iter().all(|l| stamped(l, "tick")),
                "{new:?}"
            );

            // exec without -it: both streams come back as plain lines.
            let before = page.text_of("Terminal output").await?.len();
            page.terminal_command(
                "docker exec ticker sh -c 'echo to-out; echo to-err >&2; exit 3'",
                "to-err",
            )
            .await?;
            let new = lines_since(&page, before).await?;
            anyhow::ensure!(
                new.iter().any(|l| l == "to-out") && new.iter().any(|l| l == "to-err"),
                "{new:?}"
            );
            page.terminal_command("docker rm -f ticker", "ticker").await?;
            Ok(())
        },
    )
    .await;
}

/// Paste text into the terminal as the browser does (a `paste` event with the clipboard's text).
async fn paste(page: &Page, text: &str) -> anyhow::Result<()> {
    let input = page.by_name("Terminal input").await?;
    page.client
        .execute(
            "const data = new DataTransfer();
             data.setData('text/plain', arguments[1]);
             arguments[0].dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
             return null;",
            vec![serde_json::to_value(&input)?, serde_json::json!(text)],
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multi_line_paste_runs_each_line_in_order() {
    on_a_page_with_busybox(
        "a_multi_line_paste_runs_each_line_in_order",
        "term-paste",
        |page, url| async move {
            page.goto(&url).await?;
            page.wait_terminal_idle().await?;
            let before = page.text_of("Terminal output").await?.len();
            paste(
                &page,
                "docker run --rm busybox echo first-line\ndocker run --rm busybox \\\n  echo second-line\ndocker vers",
            )
            .await?;
            page.wait_for_text("Terminal output", "both commands' output", |t| {
                t.get(before..).is_some_and(|new| {
                    new.lines().any(|l| l == "second-line") && new.ends_with("$ docker vers")
                })
            })
            .await?;
            page.wait_terminal_idle().await?;
            let new = lines_since(&page, before).await?;
            let at = |line: &str| new.iter().position(|l| l == line);
            let (first, second) = (at("first-line"), at("second-line"));
            anyhow::ensure!(first.is_some() && first < second, "{new:?}");
            // Each ran as its own command, the continued line as one.
            let second_command = at("$ docker run --rm busybox   echo second-line");
            anyhow::ensure!(
                first < second_command && second_command < second,
                "{new:?}"
            );
            // The unfinished last line waits on the prompt: Enter runs it.
            keys(&page, &format!("ion{ENTER}")).await?;
            page.wait_for_text("Terminal output", "docker version", |t| {
                t.contains("Client:")
            })
            .await?;
            Ok(())
        },
    )
    .await;
}
