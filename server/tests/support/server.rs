//! Starts the real `slipway serve` binary on a free loopback port and stops it with SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use super::{repo_root, TempDir};

/// The `slipway` binary cargo built for these tests, or `$SLIPWAY_BIN` (scripts/bench.sh measures the debug build).
pub fn slipway_bin() -> PathBuf {
    std::env::var_os("SLIPWAY_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_slipway")), PathBuf::from)
}

/// The web app Trunk built; tests that need the page fail loudly without it.
pub fn dist_dir() -> PathBuf {
    let dist = repo_root().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} has no index.html: run `trunk build --release` first (scripts/test.sh does)",
        dist.display()
    );
    dist
}

pub struct Server {
    child: Child,
    pub url: String,
    pub data: TempDir,
}

impl Server {
    /// `slipway serve` with a fresh data dir and the built app.
    pub fn start() -> anyhow::Result<Server> {
        Self::start_with(&dist_dir(), &[])
    }

    pub fn start_with(dist: &Path, extra_args: &[&str]) -> anyhow::Result<Server> {
        Self::start_in(TempDir::new("data"), dist, extra_args)
    }

    /// `slipway serve` on a prepared data dir (e.g. with base images in it). Each server gets its own runner
    /// dir, so parallel tests never see (or clean up) each other's containers.
    pub fn start_in(data: TempDir, dist: &Path, extra_args: &[&str]) -> anyhow::Result<Server> {
        Self::start_on("127.0.0.1:0", data, dist, extra_args)
    }

    /// [`Server::start_in`] listening on `addr` (`host:port`), e.g. where a stopped server listened: the same
    /// URL with other data, as after the operator wiped it.
    pub fn start_on(addr: &str, data: TempDir, dist: &Path, extra_args: &[&str]) -> anyhow::Result<Server> {
        let mut child = Command::new(slipway_bin())
            .args(["serve", "--addr", addr, "--data"])
            .arg(data.path())
            .arg("--dist")
            .arg(dist)
            .arg("--runner-dir")
            .arg(data.path().join("runner"))
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawn slipway serve")?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("slipway listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                bail!("slipway serve did not print its address within 30 s");
            }
        };
        Ok(Server { child, url, data })
    }

    /// A session this server issued (`POST /api/sessions`), for requests that act for one.
    pub fn session(&self) -> anyhow::Result<String> {
        issue_session(&self.url)
    }

    /// An HTTP client whose every request carries a session this server issued.
    pub fn session_client(&self) -> anyhow::Result<reqwest::Client> {
        session_client(&self.url)
    }

    /// The server's process id (to find the helpers it started).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash or the OOM killer would: the server cleans up nothing. Returns its data dir, for a
    /// server started again on it.
    pub fn crash(mut self) -> anyhow::Result<TempDir> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(std::mem::replace(&mut self.data, TempDir::new("crashed")))
    }

    /// SIGTERM, then wait: returns the exit status so tests can check graceful shutdown.
    pub fn stop(self) -> anyhow::Result<std::process::ExitStatus> {
        self.stop_keeping_data().map(|(status, _)| status)
    }

    /// [`Server::stop`], keeping the data dir (to check what the server left in it).
    pub fn stop_keeping_data(mut self) -> anyhow::Result<(std::process::ExitStatus, TempDir)> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait()? {
                return Ok((status, std::mem::replace(&mut self.data, TempDir::new("stopped"))));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("slipway did not exit within 5 s of SIGTERM")
    }
}

impl Drop for Server {
    /// SIGTERM first, so the server removes its containers, mounts and cgroups; SIGKILL only if it hangs.
    fn drop(&mut self) {
        // Already stopped (`stop`, `crash`): nothing to signal.
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..200 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `slipway ARGS...` to completion; a failure quotes its stderr.
fn slipway_ok(args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let out = Command::new(slipway_bin()).args(args).output()?;
    if !out.status.success() {
        bail!(
            "slipway {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// `slipway base-images --data DIR busybox`: the busybox image from Debian's busybox-static, as an OCI layout
/// the server finds under `DIR/base-images/`.
pub fn with_busybox(data: &TempDir) -> anyhow::Result<()> {
    slipway_ok(&[
        "base-images".as_ref(),
        "--data".as_ref(),
        data.path().as_os_str(),
        "busybox".as_ref(),
    ])
}

/// When busybox-static shipped `/bin/busybox` (dpkg keeps the .deb's file times): the busybox base image's
/// `created`, in seconds since the epoch.
pub fn busybox_package_time() -> anyhow::Result<u64> {
    let out = Command::new("dpkg-query")
        .args(["-L", "busybox-static"])
        .output()?;
    if !out.status.success() {
        bail!("busybox-static is not installed: apt-get install busybox-static");
    }
    let listing = String::from_utf8(out.stdout)?;
    let binary = listing
        .lines()
        .find(|l| l.ends_with("bin/busybox"))
        .context("no bin/busybox in busybox-static")?;
    let modified = std::fs::metadata(binary)?.modified()?;
    Ok(modified.duration_since(std::time::UNIX_EPOCH)?.as_secs())
}

/// [`with_busybox`], then `slipway import` of that layout into the registry as `library/busybox:latest`, so
/// `docker pull busybox` finds it (as it will once `slipway serve` imports base images itself).
pub fn with_busybox_in_registry(data: &TempDir) -> anyhow::Result<()> {
    with_busybox(data)?;
    let layout = data.path().join("base-images/busybox");
    slipway_ok(&[
        "import".as_ref(),
        "--data".as_ref(),
        data.path().as_os_str(),
        layout.as_os_str(),
        "--as".as_ref(),
        "busybox:latest".as_ref(),
    ])
}

/// A users file with `learner1` / `pw-one` and `learner2` / `pw-two`, hashed by `slipway hash-password`.
pub fn users_file(dir: &Path) -> anyhow::Result<PathBuf> {
    users_file_with(dir, &[("learner1", "pw-one"), ("learner2", "pw-two")])
}

/// A users file at `DIR/users` with these `(user, password)` pairs, hashed by `slipway hash-password`.
pub fn users_file_with(dir: &Path, users: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    let mut lines = String::from("# classroom\n");
    for (user, password) in users {
        let mut child = Command::new(slipway_bin())
            .arg("hash-password")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        writeln!(child.stdin.take().context("stdin")?, "{password}")?;
        let output = child.wait_with_output()?;
        let hash = String::from_utf8(output.stdout)?;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        lines.push_str(&format!("{user}:{}", hash));
    }
    let path = dir.join("users");
    std::fs::write(&path, lines)?;
    Ok(path)
}

/// `python:3.11-slim` (debootstrap with python3, a few minutes the first time) built once per machine into a cache
/// outside the clone (`SLIPWAY_TEST_BASE_IMAGES`, default `/var/tmp/slipway-test-base-images-r3`), then copied as
/// an OCI layout under `DATA/base-images/python`, where the server imports it at start. The default names the
/// base-image recipe (`RECIPE` in `server/src/base_images/mod.rs`), so checkouts of different recipes on one
/// machine do not rebuild each other's cache in turn.
pub fn with_python(data: &TempDir) -> anyhow::Result<()> {
    with_base_image(data, "python")
}

/// [`with_python`] and `redis:7-bookworm` (also tagged `redis:7` and `redis:latest`), for the compose lesson.
pub fn with_python_and_redis(data: &TempDir) -> anyhow::Result<()> {
    with_base_image(data, "python")?;
    with_base_image(data, "redis")
}

/// The base image `name` (`python`, `redis`, ...) built once per machine into the cache [`with_python`]
/// describes, then copied under `DATA/base-images/NAME`.
pub fn with_base_image(data: &TempDir, name: &str) -> anyhow::Result<()> {
    let cache = std::env::var_os("SLIPWAY_TEST_BASE_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/slipway-test-base-images-r3"));
    let out = Command::new(slipway_bin())
        .args(["base-images", "--data"])
        .arg(&cache)
        .arg(name)
        .output()?;
    if !out.status.success() {
        bail!(
            "slipway base-images {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let target = data.path().join("base-images");
    std::fs::create_dir_all(&target)?;
    let copied = Command::new("cp")
        .arg("-a")
        .arg(cache.join("base-images").join(name))
        .arg(&target)
        .status()?;
    if !copied.success() {
        bail!("copying the {name} base image failed");
    }
    Ok(())
}

/// The built app served by a plain static file server (`python3 -m http.server` on loopback): the page with no
/// companion behind it. Killed on drop.
pub struct StaticServer {
    child: Child,
    pub url: String,
}

impl StaticServer {
    pub async fn start(dist: &Path) -> anyhow::Result<StaticServer> {
        let port = super::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dist)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("python3 -m http.server")?;
        let server = StaticServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if reqwest::get(&server.url).await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the static server on {} never answered", server.url)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `slipway serve ARGS` on a fresh data dir where the server must refuse to start: its stderr, after checking
/// that it exited with an error and never said it was listening.
pub fn serve_refusal(args: &[&str]) -> String {
    let data = TempDir::new("refused");
    let out = Command::new(slipway_bin())
        .args(["serve", "--dist", "/nonexistent", "--data"])
        .arg(data.path())
        .arg("--runner-dir")
        .arg(data.path().join("runner"))
        .args(args)
        .output()
        .expect("run slipway serve");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "slipway serve {args:?} started: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("slipway listening on"),
        "{stderr}"
    );
    stderr
}

/// A session issued by the companion at `base` (`http://127.0.0.1:PORT`): `POST /api/sessions` over a plain
/// socket (usable from sync and async tests alike), the token of its answer.
pub fn issue_session(base: &str) -> anyhow::Result<String> {
    use std::io::Read;
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let path = slipway::api::paths::SESSIONS;
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    anyhow::ensure!(head.contains(" 201 "), "{path} answered {head}\n{body}");
    let issued: slipway::api::SessionIssued = serde_json::from_str(body).context("the session answer")?;
    Ok(issued.token)
}

/// An HTTP client whose every request carries a session the companion at `base` issued.
pub fn session_client(base: &str) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(slipway::api::SESSION_HEADER, issue_session(base)?.parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).build()?)
}

/// The token of the session a test calls `name` on the companion at `base`, issued the first time and the same
/// after (kept for the test run, so clients may hold it as `&'static str`).
pub fn named_session(base: &str, name: &str) -> &'static str {
    static ISSUED: std::sync::Mutex<Vec<(String, &'static str)>> = std::sync::Mutex::new(Vec::new());
    let key = format!("{base} {name}");
    let mut issued = ISSUED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, token)) = issued.iter().find(|(k, _)| *k == key) {
        return token;
    }
    let token: &'static str = Box::leak(issue_session(base).expect("a session").into_boxed_str());
    issued.push((key, token));
    token
}

/// Polls the app published on `port` from the host until its page holds `text` (at most 120 s).
pub async fn until_app_answers(port: u16, text: &str) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    loop {
        if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/")).await {
            if response.text().await.is_ok_and(|body| body.contains(text)) {
                return Ok(());
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the app never answered on {port}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
