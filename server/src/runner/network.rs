//! Published ports without NAT: a TCP listener on the host's loopback whose connections are opened from inside
//! the container's network namespace (a short-lived thread `setns`es into it, connects, and hands the socket back).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream as StdTcpStream};
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

/// A published port: the listener task forwarding host `127.0.0.1:host` to the container's `container` port.
#[derive(Debug)]
pub struct Publisher {
    pub host: u16,
    pub container: u16,
    task: JoinHandle<()>,
}

impl Publisher {
    /// Bind `127.0.0.1:host` (0 = any free port) and forward each connection into `netns`.
    pub async fn start(host: u16, container: u16, netns: PathBuf) -> io::Result<Publisher> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, host)).await?;
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
