//! Published ports without NAT. In host mode (`slipway serve --ports host`) a TCP listener on the host's loopback
//! whose connections are opened from inside the container's network namespace (a short-lived thread `setns`es
//! into it, connects, and hands the socket back). In shared mode (`--ports shared`) a published port is the
//! session's own: recorded per owner, no listener on the machine, the app reached through its preview.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use slipway::api::{PortMapping, PortsMode};

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
/// `--max-published-ports`): in host mode every published port is a host listener a stranger holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPolicy {
    pub max_per_container: usize,
    /// Host ports given out, both for `-p HOST:CONTAINER` and for `-p CONTAINER` (a free one is picked here).
    /// Host mode only: a shared-mode port binds nothing.
    pub range: RangeInclusive<u16>,
    /// Ports inside the range never given out: the server's own listening port. Host mode only.
    pub reserved: Vec<u16>,
    /// Machine ports (host) or each session's own (shared).
    pub mode: PortsMode,
    /// Shared mode: the ports each session holds.
    pub owned: OwnedPorts,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        PublishPolicy {
            max_per_container: 16,
            range: 1024..=65535,
            reserved: Vec::new(),
            mode: PortsMode::Host,
            owned: OwnedPorts::default(),
        }
    }
}

/// Where shared mode's `-p CONTAINER` picks the session's port: docker's ephemeral range, lowest free first.
pub const SHARED_EPHEMERAL: RangeInclusive<u16> = 32768..=60999;

/// Shared mode's table of published ports: `(owner, port)` for every port a running container of the owner (the
/// session) publishes. Two owners never collide; one owner publishing a port twice does, as on docker.
#[derive(Debug, Clone, Default)]
pub struct OwnedPorts(Arc<Mutex<HashSet<(String, u16)>>>);

/// One table is equal only to itself (clones share it).
impl PartialEq for OwnedPorts {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OwnedPorts {}

impl OwnedPorts {
    /// Take `port` for `owner` (0: the lowest port of [`SHARED_EPHEMERAL`] the owner does not hold); None when
    /// the owner holds it already (or, for 0, holds every port of the range).
    pub fn take(&self, owner: &str, port: u16) -> Option<u16> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let port = match port {
            0 => SHARED_EPHEMERAL
                .clone()
                .find(|&p| !held.contains(&(owner.to_string(), p)))?,
            port => port,
        };
        held.insert((owner.to_string(), port)).then_some(port)
    }

    pub fn release(&self, owner: &str, port: u16) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.remove(&(owner.to_string(), port));
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
    /// docker 28's words when the port is taken (moby's port allocator, wrapped by the bridge driver).
    #[error(
        "failed to set up container networking: driver failed programming external connectivity on endpoint \
         {name} ({id}): Bind for {ip}:{port} failed: port is already allocated"
    )]
    Allocated {
        name: String,
        id: String,
        ip: &'static str,
        port: u16,
    },
}

impl PublishPolicy {
    /// Refuse more ports than allowed, and (host mode) host ports outside the range or reserved (0 = pick one
    /// later). A shared-mode port binds nothing on the machine: any port is the learner's to choose.
    pub fn check(&self, host_ports: impl ExactSizeIterator<Item = u16>) -> Result<(), PublishError> {
        if host_ports.len() > self.max_per_container {
            return Err(PublishError::TooMany {
                asked: host_ports.len(),
                limit: self.max_per_container,
            });
        }
        if self.mode == PortsMode::Shared {
            return Ok(());
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

/// A published port: host mode's listener task forwarding host `127.0.0.1:host` to the container's `container`
/// port, or shared mode's hold on the owner's port `host`.
#[derive(Debug)]
pub struct Publisher {
    pub host: u16,
    pub container: u16,
    binding: Binding,
}

#[derive(Debug)]
enum Binding {
    Listener(JoinHandle<()>),
    Owned { table: OwnedPorts, owner: String },
}

impl Publisher {
    /// Publish `mapping` for container `c` whose network namespace is `netns`: host mode binds `127.0.0.1:host`
    /// (0 = a free port of the policy's range) and forwards each connection into `netns`; shared mode takes the
    /// port in the owner's table. A port already taken is docker's "port is already allocated".
    pub fn start(
        policy: &PublishPolicy,
        c: &super::Container,
        mapping: PortMapping,
        netns: PathBuf,
    ) -> Result<Publisher, super::RunnerError> {
        let PortMapping { host, container } = mapping;
        let allocated = || {
            super::RunnerError::Publish(PublishError::Allocated {
                name: c.name.clone(),
                id: c.id.clone(),
                ip: policy.mode.host_ip(),
                port: host,
            })
        };
        let no_free_port = |e: io::Error| super::io_ctx(format!("publishing port {host}"))(e);
        if policy.mode == PortsMode::Shared {
            let taken = policy.owned.take(&c.session, host).ok_or_else(|| match host {
                0 => no_free_port(io::Error::new(io::ErrorKind::AddrInUse, "no free port left")),
                _ => allocated(),
            })?;
            return Ok(Publisher {
                host: taken,
                container,
                binding: Binding::Owned {
                    table: policy.owned.clone(),
                    owner: c.session.clone(),
                },
            });
        }
        let listener = policy.bind(host).map_err(|e| match e.kind() {
            io::ErrorKind::AddrInUse if host != 0 => allocated(),
            _ => no_free_port(e),
        })?;
        let (host, task) = forward(listener, container, netns).map_err(no_free_port)?;
        Ok(Publisher {
            host,
            container,
            binding: Binding::Listener(task),
        })
    }

    /// The port as the protocol shows it.
    pub fn mapping(&self) -> PortMapping {
        PortMapping {
            host: self.host,
            container: self.container,
        }
    }

    /// How a container's ports are published: shared when any is an owner's port.
    pub fn mode_of(publishers: &[Publisher]) -> PortsMode {
        match publishers
            .iter()
            .any(|p| matches!(p.binding, Binding::Owned { .. }))
        {
            true => PortsMode::Shared,
            false => PortsMode::Host,
        }
    }
}

/// Accept on `listener` and forward each connection to `container` inside `netns`; returns the bound port.
fn forward(listener: StdTcpListener, container: u16, netns: PathBuf) -> io::Result<(u16, JoinHandle<()>)> {
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
    Ok((host, task))
}

impl Drop for Publisher {
    fn drop(&mut self) {
        match &self.binding {
            Binding::Listener(task) => task.abort(),
            Binding::Owned { table, owner } => table.release(owner, self.host),
        }
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
            ..PublishPolicy::default()
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
            ..PublishPolicy::default()
        };
        for _ in 0..8 {
            let listener = policy.bind(0).unwrap();
            assert_eq!(listener.local_addr().unwrap().port(), port);
        }
    }

    #[test]
    fn shared_ports_are_each_owners_own() {
        let table = OwnedPorts::default();
        assert_eq!(table.take("a", 8000), Some(8000));
        assert_eq!(table.take("b", 8000), Some(8000), "another owner never collides");
        assert_eq!(
            table.take("a", 8000),
            None,
            "the same owner twice does, as on docker"
        );
        // `-p CONTAINER`: the owner's lowest free port of docker's ephemeral range.
        assert_eq!(table.take("a", 0), Some(32768));
        assert_eq!(table.take("a", 0), Some(32769));
        assert_eq!(table.take("b", 0), Some(32768));
        table.release("a", 8000);
        assert_eq!(
            table.take("a", 8000),
            Some(8000),
            "given back when its container stops"
        );
    }

    #[test]
    fn a_shared_port_may_be_any_port_but_not_more_than_the_limit() {
        let policy = PublishPolicy {
            max_per_container: 2,
            range: 5000..=5009,
            reserved: vec![5005],
            mode: PortsMode::Shared,
            ..PublishPolicy::default()
        };
        assert_eq!(policy.check([80, 5005].into_iter()), Ok(()));
        assert_eq!(
            policy.check([1, 2, 3].into_iter()),
            Err(PublishError::TooMany { asked: 3, limit: 2 })
        );
    }
}
