//! Lessons from another origin, in headless Chromium against the real companion: the lesson's host never
//! receives the learner's session (no `X-Slipway-Session`, no `Authorization`, no cookie) while the page's own
//! requests still speak for it, and a lesson or share link asks before it replaces a saved project the learner
//! changed.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::browser::Browser;
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

const LESSON_TITLE: &str = "A lesson from another host";
const LESSON_DOCKERFILE: &str = "FROM busybox\nCMD [\"echo\", \"from another host\"]\n";

/// One request the lesson host received: its request line and its headers (names lowercased).
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
}

/// A CORS-enabled lesson host on its own loopback port that records every request it gets. It allows any
/// header and credentials (it echoes the asking origin), so the only thing between the session and this host
/// is the page itself.
struct LessonHost {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LessonHost {
    async fn start() -> anyhow::Result<LessonHost> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, record.clone()));
            }
        });
        Ok(LessonHost { url, seen, task })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for LessonHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head, records it and answers it (one request per connection).
async fn answer(mut stream: tokio::net::TcpStream, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let origin = header("origin").unwrap_or_else(|| "*".into());
    let asked_headers = header("access-control-request-headers").unwrap_or_default();
    seen.lock().unwrap().push(Seen {
        line: line.clone(),
        headers: headers.clone(),
    });
    let lesson = serde_json::json!({
        "title": LESSON_TITLE,
        "files": ["Dockerfile"],
        "steps": [{"title": "Read it", "text": "The Dockerfile came from another host."}]
    })
    .to_string();
    let (status, body) = match line.split(' ').take(2).collect::<Vec<_>>()[..] {
        ["OPTIONS", _] => ("204 No Content", String::new()),
        ["GET", "/lesson.json"] => ("200 OK", lesson),
        ["GET", "/Dockerfile"] => ("200 OK", LESSON_DOCKERFILE.to_string()),
        _ => ("404 Not Found", String::new()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nAccess-Control-Allow-Origin: {origin}\r\nAccess-Control-Allow-Credentials: true\r\n\
         Access-Control-Allow-Methods: GET\r\nAccess-Control-Allow-Headers: {asked_headers}\r\nVary: Origin\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lesson_on_another_origin_never_receives_the_session() {
    let data = TempDir::new("lesson-origin");
    with_busybox(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let host = LessonHost::start().await.unwrap();
    let app = server.url.clone();
    let lesson_url = format!("{app}/?lesson={}/lesson.json", host.url);
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_lesson_on_another_origin_never_receives_the_session",
            |page| async move {
                // A cookie on the page's host (cookies ignore ports: the lesson host is the same 127.0.0.1).
                page.goto(&app).await?;
                page.by_name("Open app.py").await?;
                page.client
                    .execute(
                        "document.cookie = 'slipway_probe=1; path=/'; return null;",
                        vec![],
                    )
                    .await?;
                page.goto(&lesson_url).await?;
                page.by_name(LESSON_TITLE).await?;
                page.click("Open Dockerfile").await?;
                let text = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(text == LESSON_DOCKERFILE, "the lesson's file: {text:?}");
                // The page's own requests still carry the session: a real container runs for it.
                let out = page.terminal_command("docker run busybox echo hi", "hi").await?;
                anyhow::ensure!(out.lines().any(|l| l.trim() == "hi"), "{out}");
                page.terminal_command("docker ps -a", "Exited (0)").await?;
                Ok(())
            },
        )
        .await
        .unwrap();
    let seen = host.seen();
    let lines: Vec<&str> = seen.iter().map(|s| s.line.as_str()).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("GET /lesson.json "))
            && lines.iter().any(|l| l.starts_with("GET /Dockerfile ")),
        "the lesson host served the manifest and its file: {lines:?}"
    );
    for request in &seen {
        for (name, value) in &request.headers {
            assert!(
                !matches!(name.as_str(), "x-slipway-session" | "authorization" | "cookie"),
                "{} carried {name}: {value}",
                request.line
            );
            assert!(
                !value.to_ascii_lowercase().contains("x-slipway-session"),
                "{} asked to send the session ({name}: {value})",
                request.line
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lesson_link_asks_before_it_replaces_changed_files() {
    let server = Server::start().unwrap();
    let host = LessonHost::start().await.unwrap();
    let app = server.url.clone();
    let lesson_url = format!("{app}/?lesson={}/lesson.json", host.url);
    let mine = "FROM busybox\nCMD [\"echo\", \"my own work\"]\n";
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_lesson_link_asks_before_it_replaces_changed_files",
            |page| async move {
                page.goto(&app).await?;
                page.click("Open Dockerfile").await?;
                page.type_into("Dockerfile editor", mine).await?;
                // Leaving the page saves the workspace; the link then finds a changed project.
                page.goto(&lesson_url).await?;
                page.by_name("Open the link?").await?;
                let asked = page.text_of("Open the link?").await?;
                anyhow::ensure!(asked.contains("would replace the project you changed"), "{asked}");
                let text = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(text == mine, "the learner's file stays while asking: {text:?}");
                page.by_name("Your first container: a Python web app").await?;

                // The question has the focus on its safe answer; keeping the files drops the link, so a
                // reload shows them without asking again.
                let focused = page
                    .client
                    .execute("return document.activeElement.textContent;", vec![])
                    .await?;
                anyhow::ensure!(focused == "Keep my files", "focus on {focused}");
                page.click("Keep my files").await?;
                page.wait_gone("Open the link?").await?;
                let message = page.text_of("Files message").await?;
                anyhow::ensure!(
                    message == "Kept your files; the link was not opened.",
                    "{message}"
                );
                let now = page.client.current_url().await?;
                anyhow::ensure!(
                    now.query().is_none(),
                    "the link is gone from the address bar: {now}"
                );
                page.client.refresh().await?;
                page.click("Open Dockerfile").await?;
                let text = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(text == mine, "after keeping and a reload: {text:?}");
                page.wait_gone("Open the link?").await?;

                // The same link again, answered the other way: the lesson opens with its files.
                page.goto(&lesson_url).await?;
                // As a learner answers once the page has come up (its terminal takes commands): a click while
                // it still lays itself out can land beside the button.
                page.wait_terminal_idle().await?;
                page.click("Open the lesson").await?;
                page.by_name(LESSON_TITLE).await?;
                page.wait_gone("Open the link?").await?;
                page.click("Open Dockerfile").await?;
                let text = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(text == LESSON_DOCKERFILE, "the lesson's file: {text:?}");
                // Its files are now the saved project's start: a reload of the link asks nothing.
                page.client.refresh().await?;
                page.by_name(LESSON_TITLE).await?;
                page.wait_gone("Open the link?").await?;

                // A share link asks the same way once the learner has changed the files again.
                page.click("Copy share link").await?;
                let link = page.value_of("Share link").await?;
                page.click("Open Dockerfile").await?;
                page.type_into("Dockerfile editor", mine).await?;
                // As a learner leaves once the editor shows what they typed (under a full suite's load the keys
                // may still be on their way when the next command comes).
                let typed = std::time::Instant::now();
                while page.value_of("Dockerfile editor").await? != mine {
                    anyhow::ensure!(
                        typed.elapsed() < std::time::Duration::from_secs(20),
                        "the editor never showed the typed file"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                // Opened as a new page (the link differs from this one only in its fragment).
                page.goto("about:blank").await?;
                page.goto(&link).await?;
                page.wait_terminal_idle().await?;
                let asked = page.text_of("Open the link?").await?;
                anyhow::ensure!(asked.contains("a shared project (1 file)"), "{asked}");
                let text = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(text == mine, "the learner's file stays while asking: {text:?}");
                page.click("Open the shared files").await?;
                page.wait_gone("Open the link?").await?;
                page.wait_for_text("Files message", "the link's files", |t| {
                    t == "Opened the project from the link."
                })
                .await?;
                let text = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(text == LESSON_DOCKERFILE, "the shared file: {text:?}");
                let now = page.client.current_url().await?;
                anyhow::ensure!(
                    now.fragment().is_none(),
                    "the fragment is dropped once answered: {now}"
                );
                Ok(())
            },
        )
        .await
        .unwrap();
}
