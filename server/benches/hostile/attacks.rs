//! The five hostile clients of the soak, each a task on the bench's runtime until [`Attack::stop`]: a container
//! catting /dev/zero, an attach flooding a container that never reads, a storm of bad logins, upload spam and a
//! fork bomb. Each has a session of its own; a sampler records the server's memory and the data dir's size.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::SinkExt;
use slipway::api::{paths, Companion, CreateContainer, RemoveQuery, RunOptions, SessionTransport};
use slipway_server::registry::upstream::ReqwestTransport;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::leftovers::{disk_usage, memory};
use super::support::server::{issue_session, Server};

/// What each hostile client did, and the highest memory and disk the sampler saw.
pub struct Report {
    pub clients: Vec<(String, String)>,
    pub peak_rss: u64,
    pub peak_disk: u64,
}

/// Container `options` from busybox, started, in `session`: its id.
async fn run(url: &str, session: &str, options: RunOptions) -> anyhow::Result<String> {
    let http = ReqwestTransport::new(reqwest::Client::new());
    let transport = SessionTransport::new(&http, session.to_string(), url);
    let request = CreateContainer {
        image: "busybox".into(),
        options,
    };
    Ok(Companion::new(&transport, url).create(&request, true).await?.id)
}

fn cmd(words: &[&str]) -> RunOptions {
    RunOptions {
        cmd: words.iter().map(|w| w.to_string()).collect(),
        ..RunOptions::default()
    }
}

/// One hostile client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DevZero,
    ForkBomb,
    AttachFlood,
    LoginStorm,
    UploadSpam,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::DevZero,
        Kind::ForkBomb,
        Kind::AttachFlood,
        Kind::LoginStorm,
        Kind::UploadSpam,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::DevZero => "a container catting /dev/zero",
            Kind::ForkBomb => "a fork bomb (pids limit 64)",
            Kind::AttachFlood => "an attach flooding a container that never reads",
            Kind::LoginStorm => "a bad-login storm (16 at once from 127.0.0.66, unknown user names)",
            Kind::UploadSpam => "upload spam (64 MiB uploads, abandoned)",
        }
    }
}

/// The attack under way.
pub struct Attack {
    stop: Arc<AtomicBool>,
    started: Instant,
    clients: Vec<(Kind, JoinHandle<anyhow::Result<String>>)>,
    /// Hostile containers: who made them, in which session, and whether their output tells what they did.
    containers: Vec<(Kind, String, String)>,
    sampler: JoinHandle<(u64, u64)>,
}

impl Attack {
    pub async fn start(server: &Server, data: &Path, kinds: &[Kind]) -> anyhow::Result<Attack> {
        let stop = Arc::new(AtomicBool::new(false));
        let url = server.url.clone();
        let (mut containers, mut clients) = (Vec::new(), Vec::new());
        for &kind in kinds {
            let options = match kind {
                Kind::DevZero => cmd(&["cat", "/dev/zero"]),
                Kind::ForkBomb => RunOptions {
                    pids_limit: Some(64),
                    ..cmd(&["sh", "-c", "b() { b | b & }; b; sleep 3600"])
                },
                Kind::AttachFlood => RunOptions {
                    interactive: true,
                    ..cmd(&["sleep", "3600"])
                },
                Kind::LoginStorm => {
                    clients.push((kind, tokio::spawn(login_storm(url.clone(), stop.clone()))));
                    continue;
                }
                Kind::UploadSpam => {
                    clients.push((kind, tokio::spawn(upload_spam(url.clone(), stop.clone()))));
                    continue;
                }
            };
            let session = issue_session(&url)?;
            let id = run(&url, &session, options).await?;
            if kind == Kind::AttachFlood {
                let flood = attach_flood(url.clone(), session.clone(), id.clone(), stop.clone());
                clients.push((kind, tokio::spawn(flood)));
            }
            containers.push((kind, session, id));
        }
        let sampler = tokio::spawn(sample(server.pid(), data.to_path_buf(), stop.clone()));
        Ok(Attack {
            stop,
            started: Instant::now(),
            clients,
            containers,
            sampler,
        })
    }

    /// Ends every client, removes the hostile containers (first reading what they did) and reports.
    pub async fn stop(self, server: &Server) -> anyhow::Result<Report> {
        let seconds = self.started.elapsed().as_secs();
        self.stop.store(true, Ordering::Relaxed);
        let mut report = Vec::new();
        for (kind, task) in self.clients {
            let did = match tokio::time::timeout(Duration::from_secs(30), task).await {
                Ok(Ok(Ok(did))) => did,
                Ok(Ok(Err(e))) => format!("failed: {e:#}"),
                Ok(Err(e)) => format!("panicked: {e}"),
                Err(_) => "did not stop within 30 s".into(),
            };
            report.push((kind.name().to_string(), did));
        }
        let http = ReqwestTransport::new(reqwest::Client::new());
        for (kind, session, id) in &self.containers {
            let transport = SessionTransport::new(&http, session.clone(), &server.url);
            let companion = Companion::new(&transport, &server.url);
            if *kind != Kind::AttachFlood {
                let logged: usize = companion
                    .logs(id, &Default::default())
                    .await?
                    .iter()
                    .map(|c| c.data.len())
                    .sum();
                let state = companion.inspect(id).await?.state;
                report.push((
                    kind.name().to_string(),
                    format!(
                        "{seconds} s, still {:?} at the end; {:.1} MiB of output kept",
                        state.status,
                        logged as f64 / 1048576.0
                    ),
                ));
            }
            companion.remove(id, &RemoveQuery { force: true }).await?;
        }
        let (peak_rss, peak_disk) = self.sampler.await?;
        Ok(Report {
            clients: report,
            peak_rss,
            peak_disk,
        })
    }
}

/// The server's resident memory and the data dir's size every half second: the highest of each.
async fn sample(pid: u32, data: PathBuf, stop: Arc<AtomicBool>) -> (u64, u64) {
    let (mut rss, mut disk) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        rss = rss.max(memory(pid, "VmRSS"));
        let dir = data.clone();
        disk = disk.max(
            tokio::task::spawn_blocking(move || disk_usage(&dir))
                .await
                .unwrap_or(0),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (rss, disk)
}

/// 256 KiB binary messages into the attach of container `id` as fast as the server takes them.
async fn attach_flood(
    url: String,
    session: String,
    id: String,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<String> {
    let http = ReqwestTransport::new(reqwest::Client::new());
    let transport = SessionTransport::new(&http, session, &url);
    let attach = Companion::new(&transport, &url)
        .attach_path(&paths::container_attach_ticket(&id))
        .await?;
    let ws = format!("{}{attach}", url.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(&ws).await.context("attach")?;
    let chunk = bytes::Bytes::from(vec![b'x'; 256 << 10]);
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(
            Duration::from_millis(200),
            socket.send(Message::Binary(chunk.clone())),
        )
        .await
        {
            Ok(Ok(())) => sent += chunk.len() as u64,
            Ok(Err(e)) => return Ok(format!("{} MiB sent, then: {e}", sent >> 20)),
            Err(_) => {} // held up: the server reads no more than the container takes
        }
    }
    Ok(format!(
        "{:.1} MiB sent; the rest was held up",
        sent as f64 / 1048576.0
    ))
}

/// The address the login storm comes from: another loopback address than the honest learner's 127.0.0.1, as a
/// stranger has another address than a learner (the per-address login limit is the stranger's, not the class's).
const STORM_ADDRESS: [u8; 4] = [127, 0, 0, 66];

/// 16 connections logging in with made-up user names and passwords, one after another each.
async fn login_storm(url: String, stop: Arc<AtomicBool>) -> anyhow::Result<String> {
    let counts: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
    let mut tasks = Vec::new();
    for client in 0..16 {
        let (url, stop, counts) = (url.clone(), stop.clone(), counts.clone());
        let http = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(STORM_ADDRESS))
            .build()?;
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let answer = http
                    .get(format!("{url}/token"))
                    .query(&[("service", "slipway")])
                    .basic_auth(format!("intruder-{client}-{n}"), Some("guess"))
                    .send()
                    .await;
                let slot = match answer.map(|a| a.status().as_u16()) {
                    Ok(401) => 0,
                    Ok(429) => 1,
                    _ => 2,
                };
                counts[slot].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let [unauthorized, limited, other] = counts.each_ref().map(|c| c.load(Ordering::Relaxed));
    Ok(format!(
        "{} wrong logins: {unauthorized} answered 401, {limited} 429, {other} otherwise",
        unauthorized + limited + other
    ))
}

/// A logged-in learner (`learner2`) starting uploads of 64 MiB in 1 MiB chunks and abandoning each, up to 1 GiB
/// in all (the collector removes abandoned uploads after `--upload-grace`).
async fn upload_spam(url: String, stop: Arc<AtomicBool>) -> anyhow::Result<String> {
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .get(format!("{url}/token"))
        .query(&[
            ("service", "slipway"),
            ("scope", "repository:learner2/junk:pull,push"),
        ])
        .basic_auth("learner2", Some("pw-two"))
        .send()
        .await?
        .json()
        .await?;
    let bearer = format!("Bearer {}", token["token"].as_str().context("no token")?);
    let chunk = bytes::Bytes::from(vec![0x5a; 1 << 20]);
    let (mut sent, mut uploads, mut refused) = (0u64, 0, None);
    'uploads: while !stop.load(Ordering::Relaxed) && sent < 1 << 30 {
        let started = http
            .post(format!("{url}/v2/learner2/junk/blobs/uploads/"))
            .header("authorization", &bearer)
            .send()
            .await?;
        uploads += 1;
        let mut location = location(&url, &started)?;
        for _ in 0..64 {
            let answer = http
                .patch(&location)
                .header("authorization", &bearer)
                .header("content-type", "application/octet-stream")
                .body(chunk.clone())
                .send()
                .await?;
            if !answer.status().is_success() {
                refused = Some(format!("{}: {}", answer.status(), answer.text().await?));
                break 'uploads;
            }
            sent += chunk.len() as u64;
            location = self::location(&url, &answer)?;
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    let end = refused.map_or_else(|| "then stopped".to_string(), |r| format!("then refused: {r}"));
    Ok(format!("{} MiB in {uploads} uploads, {end}", sent >> 20))
}

/// The upload's next URL from its `Location` header.
fn location(base: &str, answer: &reqwest::Response) -> anyhow::Result<String> {
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .with_context(|| format!("no Location in a {} answer", answer.status()))?;
    Ok(if location.starts_with("http") {
        location.to_string()
    } else {
        format!("{base}{location}")
    })
}
