//! Published ports without NAT: a TCP listener on the host's loopback whose connections are opened from inside
//! the container's network namespace (a short-lived thread `setns`es into it, connects, and hands the socket back).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::ops::RangeInclusive;
use std::path::PathBuf;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Connect to 127.0.0.1:`port` inside the network namespace at `netns` (e.g. `/proc/PID/ns/net`).
pub async fn connect_in_netns(netns: PathBuf, port: u16) -> io::Result<TcpStream> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("netns-connect".into())
        .spawn(move || {
            let result = (|| -> io::Result<StdTcpStream> {
                let ns = std::fs::File::open(&netns)?;
                // Only this thread moves; it ends right after, so no other work runs in the container's netns.
                move_into_link_name_space(std::os::fd::AsFd::as_fd(&ns), Some(LinkNameSpaceType::Network))?;
                let stream = StdTcpStream::connect_timeout(
                    &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                    std::time::Duration::from_secs(5),
                )?;
                stream.set_nonblocking(true)?;
                Ok(stream)
            })();
            let _ = tx.send(result);
        })?;
    let stream = rx.await.map_err(|_| io::Error::other("netns thread died"))??;
    TcpStream::from_std(stream)
}

/// Which host ports containers may publish, and how many each (`slipway serve --published-port-range`,
/// `--max-published-ports`): every published port is a host listener a stranger holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPolicy {
    pub max_per_container: usize,
    /// Host ports given out, both for `-p HOST:CONTAINER` and for `-p CONTAINER` (a free one is picked here).
    pub range: RangeInclusive<u16>,
    /// Ports inside the range never given out: the server's own listening port.
    pub reserved: Vec<u16>,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        PublishPolicy {
            max_per_container: 16,
            range: 1024..=65535,
            reserved: Vec::new(),
        }
    }
}

/// A `-p` request this server refuses (answered with 400, before any listener is opened).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PublishError {
    #[error("too many published ports: {asked} requested, this server allows at most {limit} per container")]
    TooMany { asked: usize, limit: usize },
    #[error("host port {port} is outside the range this server publishes on ({low}-{high})")]
    OutsideRange { port: u16, low: u16, high: u16 },
    #[error("host port {port} is reserved by the server")]
    Reserved { port: u16 },
}

impl PublishPolicy {
    /// Refuse more ports than allowed, and host ports outside the range or reserved (0 = pick one later).
    pub fn check(&self, host_ports: impl ExactSizeIterator<Item = u16>) -> Result<(), PublishError> {
        if host_ports.len() > self.max_per_container {
            return Err(PublishError::TooMany {
                asked: host_ports.len(),
                limit: self.max_per_container,
            });
        }
        for port in host_ports.filter(|&p| p != 0) {
            if !self.range.contains(&port) {
                return Err(PublishError::OutsideRange {
                    port,
                    low: *self.range.start(),
                    high: *self.range.end(),
                });
            }
            if self.reserved.contains(&port) {
                return Err(PublishError::Reserved { port });
            }
        }
        Ok(())
    }

    /// Bind `127.0.0.1:host`, or for 0 the first free port of the range from a random start (the OS's own pick
    /// could fall outside the range).
    fn bind(&self, host: u16) -> io::Result<StdTcpListener> {
        if host != 0 {
            return StdTcpListener::bind((Ipv4Addr::LOCALHOST, host));
        }
        let (low, high) = (u32::from(*self.range.start()), u32::from(*self.range.end()));
        let size = high - low + 1;
        let start = u32::from_str_radix(&super::random_id()[..8], 16).unwrap_or(0) % size;
        for offset in 0..size {
            let port = u16::try_from(low + (start + offset) % size).expect("inside a u16 range");
            if self.reserved.contains(&port) {
                continue;
            }
            match StdTcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
                Ok(listener) => return Ok(listener),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("no free host port left in {low}-{high}"),
        ))
    }
}

/// A published port: the listener task forwarding host `127.0.0.1:host` to the container's `container` port.
#[derive(Debug)]
pub struct Publisher {
    pub host: u16,
    pub container: u16,
    task: JoinHandle<()>,
}

impl Publisher {
    /// Bind `127.0.0.1:host` (0 = a free port of the policy's range) and forward each connection into `netns`.
    pub fn start(policy: &PublishPolicy, host: u16, container: u16, netns: PathBuf) -> io::Result<Publisher> {
        let listener = policy.bind(host)?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let host = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let netns = netns.clone();
                tokio::spawn(async move {
                    match connect_in_netns(netns, container).await {
                        Ok(mut outbound) => {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                        Err(e) => tracing::debug!(port = container, error = %e, "port proxy: connect failed"),
                    }
                });
            }
        });
        Ok(Publisher {
            host,
            container,
            task,
        })
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_port_and_ports_outside_the_range_are_refused() {
        let policy = PublishPolicy {
            max_per_container: 2,
            range: 5000..=5009,
            reserved: vec![5005],
        };
        assert_eq!(policy.check([0, 5009].into_iter()), Ok(()));
        assert_eq!(
            policy.check([5005].into_iter()),
            Err(PublishError::Reserved { port: 5005 })
        );
        assert_eq!(
            policy.check([4999].into_iter()),
            Err(PublishError::OutsideRange {
                port: 4999,
                low: 5000,
                high: 5009
            })
        );
        assert_eq!(
            policy.check([0, 0, 0].into_iter()),
            Err(PublishError::TooMany { asked: 3, limit: 2 })
        );
    }

    #[test]
    fn a_random_port_skips_the_reserved_one() {
        let free = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        // A two-port range whose other port is reserved: every pick must be `port`.
        let (range, reserved) = match port.checked_add(1) {
            Some(next) => (port..=next, next),
            None => (port - 1..=port, port - 1),
        };
        let policy = PublishPolicy {
            max_per_container: 1,
            range,
            reserved: vec![reserved],
        };
        for _ in 0..8 {
            let listener = policy.bind(0).unwrap();
            assert_eq!(listener.local_addr().unwrap().port(), port);
        }
    }
}
