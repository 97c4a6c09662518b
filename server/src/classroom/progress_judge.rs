//! The server's judge of a lesson's checks ([`slipway::lesson::Check`], the rules the page uses too), from what
//! the server itself holds for a learner: their local image store, their containers (asked through the runner,
//! inside the container's network namespace as the preview proxy does), the tags of their registry namespace,
//! and the commands it saw them run ([`super::progress::SeenCommand`]). Nothing the page says counts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slipway::api::{ContainerStatus, ContainerSummary};
use slipway::lesson::{Check, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::progress::SeenCommand;
use crate::registry::names::RepoName;
use crate::registry::Store;
use crate::runner::Runner;

/// The commands the server sees for itself (`command_ran` checks of other commands cannot be vouched): the
/// first two words of a check's pattern must be one of these. Not `docker images` nor `docker ps`: the page
/// lists images and containers by itself too, so the server cannot tell a learner's listing from the page's.
pub const SEEN_COMMANDS: &[&str] = &["docker login", "docker run", "docker push", "docker build"];

/// Whether the server can judge `check` itself.
pub fn vouchable(check: &Check) -> bool {
    match check {
        Check::CommandRan { pattern, .. } => {
            let words: Vec<&str> = pattern.split_whitespace().take(2).collect();
            SEEN_COMMANDS.contains(&words.join(" ").as_str())
        }
        _ => true,
    }
}

/// What the server holds for one learner, read once per pass (blocking reads of the store).
#[derive(Debug)]
pub struct Facts {
    /// `GET /api/images`'s body for their session.
    pub images: Result<String, String>,
    /// Their containers, running or not.
    pub containers: Vec<ContainerSummary>,
    /// Registry repository → `(status, tags/list body)`.
    pub tags: HashMap<String, (u16, String)>,
    /// Bytes of their local store.
    pub disk_bytes: u64,
    pub commands: Vec<SeenCommand>,
}

/// Read the facts about the learner whose session is `token`, for `checks`. Blocking.
pub fn gather(
    store: &Store,
    runner: Option<&Runner>,
    token: &str,
    checks: &[Check],
    commands: Vec<SeenCommand>,
) -> Facts {
    let key = slipway::image::local_store::session_key(Some(token));
    let images = crate::registry::images::session_images(store, &key)
        .map(|rows| serde_json::to_string(&rows).unwrap_or_default())
        .map_err(|e| e.to_string());
    let mut tags = HashMap::new();
    for repository in checks.iter().filter_map(Check::pushed_repository) {
        let answer = match RepoName::parse(&repository).and_then(|repo| store.tags(&repo)) {
            Ok(list) => (
                200,
                serde_json::json!({ "name": repository, "tags": list }).to_string(),
            ),
            Err(_) => (404, String::new()),
        };
        tags.insert(repository, answer);
    }
    let disk_bytes = store
        .namespace_usage(crate::registry::local::prefix(&key).trim_end_matches('/'))
        .map_or(0, |(bytes, _)| bytes);
    Facts {
        images,
        containers: runner.map(|r| r.list_in(Some(token), true)).unwrap_or_default(),
        tags,
        disk_bytes,
        commands,
    }
}

/// The verdict on `check` (already personalized) from `facts`; None when the server cannot see what it asks.
pub async fn judge(
    check: &Check,
    facts: &Facts,
    runner: Option<&Arc<Runner>>,
    token: &str,
) -> Option<Verdict> {
    if !vouchable(check) {
        return None;
    }
    Some(match check {
        Check::CommandRan { .. } => {
            let finished: Vec<(String, i32)> = facts
                .commands
                .iter()
                .map(|c| (c.command.clone(), c.exit_code))
                .collect();
            check.judge_history(&finished)
        }
        Check::ImageExists { .. } => check.judge_images(facts.images.clone()),
        Check::Pushed { .. } => {
            let answer = check
                .pushed_repository()
                .and_then(|repo| facts.tags.get(&repo).cloned())
                .ok_or_else(|| "the image name is not valid".to_string());
            check.judge_tags(answer)
        }
        Check::ContainerAnswers { port, .. } => {
            let running: Vec<&ContainerSummary> = facts
                .containers
                .iter()
                .filter(|c| c.status == ContainerStatus::Running)
                .collect();
            let listed = serde_json::to_string(&running).unwrap_or_default();
            match check.pick_container(Ok(listed)) {
                Err(verdict) => verdict,
                Ok(container) => check.judge_answer(ask_app(runner, token, &container.id, *port).await),
            }
        }
    })
}

/// Bytes of an app's answer read at most.
const ANSWER_LIMIT: u64 = 64 * 1024;

/// `GET /` of the app on `port` inside container `id` of session `token`: `(status, body)`.
async fn ask_app(
    runner: Option<&Arc<Runner>>,
    token: &str,
    id: &str,
    port: u16,
) -> Result<(u16, String), String> {
    let runner = runner.ok_or("this server runs no containers")?;
    let container = runner.get_in(Some(token), id).map_err(|e| e.to_string())?;
    let pid = container.state().pid.ok_or("the container is not running")?;
    let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
    let asked = async {
        let mut stream = crate::runner::network::connect_in_netns(netns, port).await?;
        stream
            .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut bytes = Vec::new();
        stream.take(ANSWER_LIMIT).read_to_end(&mut bytes).await?;
        Ok::<_, std::io::Error>(bytes)
    };
    let bytes = tokio::time::timeout(Duration::from_secs(3), asked)
        .await
        .map_err(|_| "no answer within 3 s".to_string())?
        .map_err(|e| e.to_string())?;
    parse_answer(&bytes)
}

/// An HTTP/1 answer's status and body.
fn parse_answer(bytes: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the app's answer is not HTTP")?;
    Ok((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_commands_the_server_sees_are_vouched() {
        let ran = |pattern: &str| Check::CommandRan {
            pattern: pattern.into(),
            exit_codes: vec![0],
        };
        assert!(vouchable(&ran("docker login")) && vouchable(&ran("docker run -it x")));
        assert!(!vouchable(&ran("docker version")) && !vouchable(&ran("ls")));
        assert!(
            !vouchable(&ran("docker images")),
            "the page lists images by itself too"
        );
        assert!(vouchable(&Check::Pushed { name: "a/b".into() }));
    }

    #[test]
    fn app_answers_are_read_as_status_and_body() {
        assert_eq!(
            parse_answer(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nHello from a container"),
            Ok((200, "Hello from a container".into()))
        );
        assert!(parse_answer(b"garbage").is_err());
    }
}
