//! Network namespaces the server owns, and work done inside one: a short-lived thread moves into the namespace
//! (only that thread), does the work (binds a socket, runs `ip -batch`, whose process is forked from that thread
//! and so starts in the namespace) and ends. Nothing here touches the host's own namespace: no host interface,
//! route or firewall rule is ever made or changed.
//!
//! A network's namespace is held by an open file only (no bind mount under `/run/netns`): when the server ends,
//! however it ends, the kernel drops the namespace with its bridge, veth ends and sockets. A server killed with
//! SIGKILL leaves nothing of its networks behind.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// Where a namespace is: one the server holds open, or a container's (`/proc/PID/ns/net`).
#[derive(Debug)]
pub enum Netns {
    Held(File),
    Path(PathBuf),
}

impl Netns {
    /// A new, empty network namespace (loopback only, down), held by this value.
    pub fn create() -> io::Result<Netns> {
        let made = std::thread::Builder::new()
            .name("netns-create".into())
            .spawn(|| -> io::Result<File> {
                // Safe for a thread of its own: CLONE_NEWNET alone shares nothing the rest of the process relies
                // on (rustix deprecated the safe `unshare` only for CLONE_FILES/CLONE_FS), and the thread ends
                // right after opening its new namespace.
                #[allow(deprecated)]
                rustix::thread::unshare(rustix::thread::UnshareFlags::NEWNET).map_err(io::Error::from)?;
                File::open("/proc/thread-self/ns/net")
            })?
            .join()
            .map_err(|_| io::Error::other("the netns thread panicked"))??;
        Ok(Netns::Held(made))
    }

    /// The container's namespace: its init process's.
    pub fn of_pid(pid: i32) -> Netns {
        Netns::Path(PathBuf::from(format!("/proc/{pid}/ns/net")))
    }

    fn open(&self) -> io::Result<File> {
        match self {
            Netns::Held(file) => file.try_clone(),
            Netns::Path(path) => File::open(path),
        }
    }

    /// Run `job` on a thread of its own inside this namespace; blocking until it is done.
    pub fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let ns = self.open()?;
        std::thread::Builder::new()
            .name("netns-work".into())
            .spawn(move || {
                // Only this thread moves; it ends right after, so no other work runs in the namespace.
                move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
                job()
            })?
            .join()
            .map_err(|_| io::Error::other("the netns thread panicked"))?
    }

    /// `ip -batch -` inside this namespace with `commands` (one a line).
    pub fn ip(&self, commands: String) -> io::Result<()> {
        self.run(move || ip_batch(&commands))
    }
}

/// iproute2's `ip`, as Debian installs it.
fn ip_binary() -> &'static str {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .unwrap_or("ip")
}

/// Run `ip -batch -` in the calling thread's network namespace; its error output on failure.
fn ip_batch(commands: &str) -> io::Result<()> {
    let mut child = Command::new(ip_binary())
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(commands.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if output.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "ip: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_namespace_is_not_the_hosts_and_gets_a_bridge_the_host_never_sees() {
        let ns = Netns::create().unwrap();
        ns.ip("link set lo up\nlink add slipway-t0 type bridge\n".into())
            .unwrap();
        let inside = ns
            .run(|| std::fs::read_to_string("/proc/thread-self/net/dev"))
            .unwrap();
        assert!(inside.contains("slipway-t0"), "{inside}");
        let host = std::fs::read_to_string("/proc/self/net/dev").unwrap();
        assert!(
            !host.contains("slipway-t0"),
            "the host's namespace changed: {host}"
        );
        let error = ns.ip("link add slipway-t0 type bridge\n".into()).unwrap_err();
        assert!(error.to_string().contains("ip:"), "{error}");
    }
}
