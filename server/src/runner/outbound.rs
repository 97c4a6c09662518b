//! Outbound network for containers (`slipway serve --container-network outbound`) on a host without NAT rules:
//! slirp4netns gives the container's own network namespace a `tap0` device whose packets it turns into ordinary
//! sockets of the server process (user-mode NAT, as rootless podman does). The container keeps its network
//! namespace, so published ports and the preview proxy work as with loopback only.
//!
//! What it opens, honestly: the container reaches whatever the host reaches (the internet, the host's own
//! non-loopback addresses, its LAN, a cloud metadata address). Only the host's loopback is shut off
//! (`--disable-host-loopback`), so the companion server and other containers' published ports stay out of reach.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How containers are networked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ContainerNetwork {
    /// Loopback only (the default): nothing leaves the container.
    #[default]
    None,
    /// Loopback plus outbound connections through slirp4netns (the binary given).
    Outbound { slirp4netns: PathBuf },
}

impl ContainerNetwork {
    pub fn is_outbound(&self) -> bool {
        matches!(self, ContainerNetwork::Outbound { .. })
    }
}

/// slirp4netns's address for the DNS forwarder it runs (it forwards to the host's resolvers).
pub const SLIRP_DNS: &str = "10.0.2.3";

/// The slirp4netns binary on this host, if it is installed.
pub fn find_slirp4netns() -> Option<PathBuf> {
    [
        "/usr/bin/slirp4netns",
        "/usr/local/bin/slirp4netns",
        "/bin/slirp4netns",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|path| path.is_file())
}

/// A slirp4netns process serving one container: [`Slirp::stop`] kills and reaps it; dropping it kills it too.
#[derive(Debug)]
pub struct Slirp {
    child: tokio::process::Child,
}

impl Slirp {
    /// Attach slirp4netns to the network namespace of `pid` and wait until the namespace has its default route.
    pub async fn start(binary: &Path, pid: i32) -> io::Result<Slirp> {
        let mut child = tokio::process::Command::new(binary)
            .args([
                "--configure",
                "--mtu=65520",
                "--disable-host-loopback",
                "--enable-sandbox",
                "--enable-seccomp",
            ])
            .arg(pid.to_string())
            .arg("tap0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let route = PathBuf::from(format!("/proc/{pid}/net/route"));
        for _ in 0..200 {
            if has_default_route(&route) {
                return Ok(Slirp { child });
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!("slirp4netns exited early ({status})")));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(io::Error::other("slirp4netns did not configure tap0 within 2 s"))
    }

    /// Kill slirp4netns and wait for it, so no zombie is left when the container is gone.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Whether `/proc/PID/net/route` lists a default route through `tap0`.
fn has_default_route(route: &Path) -> bool {
    std::fs::read_to_string(route).is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace();
            fields.next() == Some("tap0") && fields.next() == Some("00000000")
        })
    })
}
