//! The HTTP server's connections, with bounds a stranger cannot hold open: request headers must arrive within a
//! deadline (hyper's `header_read_timeout`, which also ends kept-alive connections that sit idle), a request
//! body that stops arriving or a response the client stops reading ends the connection after an idle timeout,
//! and one client address may hold only so many connections at once (WebSockets included).
//!
//! `axum::serve` offers none of these (it builds hyper's connection without a timer), so this is its accept
//! loop with hyper's HTTP/1 builder configured, the client's address as axum's `ConnectInfo`, and the same
//! graceful shutdown.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The bounds every connection is served with (`slipway serve` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From the connection's start (or its previous response) to the end of a request's headers.
    pub header_timeout: Duration,
    /// How long a client may stall a transfer: send no more of a request body, or take no more of a response.
    pub idle_timeout: Duration,
    /// Connections one client address (an IPv6 /64) may hold open at once.
    pub per_client: usize,
}

/// The address a client is limited by: its IPv4 address, or the /64 an IPv6 client picks its addresses from.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        },
        v4 => v4,
    }
}

/// The client's address, when the request came through [`serve`]'s socket (in-process tests have none).
pub fn client_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// Extractor for [`client_address`].
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(&parts.extensions)))
    }
}

/// Open connections per client address; an entry goes when its last connection does.
#[derive(Debug)]
struct ClientConnections {
    per_client: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection: its count comes back when it is dropped (with the socket).
#[derive(Debug)]
struct ConnectionSlot {
    clients: Arc<ClientConnections>,
    key: IpAddr,
}

impl ClientConnections {
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<ConnectionSlot> {
        let key = client_key(address);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            clients: self.clone(),
            key,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// A client's socket, holding its slot, whose writes fail once the client has taken no byte for the idle
/// timeout (its receive window stays full: a slow reader holding a response, or a WebSocket, open).
struct LimitedStream {
    stream: TcpStream,
    idle_timeout: Duration,
    write_stall: Option<Pin<Box<Sleep>>>,
    _slot: ConnectionSlot,
}

impl LimitedStream {
    fn after_write<T>(&mut self, polled: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.write_stall = None;
            return polled;
        }
        let idle_timeout = self.idle_timeout;
        let stall = self
            .write_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle_timeout)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client took no data for {idle_timeout:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.after_write(polled, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.after_write(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.after_write(polled, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then let open requests finish (as `axum::serve`'s
/// graceful shutdown does).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    // The body timeout resets with every chunk: it ends uploads that stall, not uploads that are long.
    let app = tower::ServiceBuilder::new()
        .layer(RequestBodyTimeoutLayer::new(limits.idle_timeout))
        .service(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let clients = Arc::new(ClientConnections {
        per_client: limits.per_client,
        open: Mutex::new(HashMap::new()),
    });
    let stopping = CancellationToken::new();
    // Each connection holds a receiver; `closed()` resolves when the last one is gone.
    let (all_closed, connection_open) = tokio::sync::watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = clients.admit(peer.ip()) else {
            tracing::debug!(%peer, per_client = limits.per_client, "too many connections from one client: closed");
            continue;
        };
        let io = TokioIo::new(LimitedStream {
            stream,
            idle_timeout: limits.idle_timeout,
            write_stall: None,
            _slot: slot,
        });
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let (http, stopping, connection_open) = (http.clone(), stopping.clone(), connection_open.clone());
        tokio::spawn(async move {
            let mut connection = pin!(http.serve_connection(io, service).with_upgrades());
            let mut asked_to_stop = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                        break;
                    }
                    () = stopping.cancelled(), if !asked_to_stop => {
                        asked_to_stop = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(connection_open);
        });
    }
    drop(listener);
    stopping.cancel();
    drop(connection_open);
    all_closed.closed().await;
}

/// Connection-level errors belong to one client; others (out of file descriptors) pass with time, so wait a
/// moment instead of spinning.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_limited_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_gets_its_slots_back_as_its_connections_close() {
        let clients = Arc::new(ClientConnections {
            per_client: 2,
            open: Mutex::new(HashMap::new()),
        });
        let me: IpAddr = "192.0.2.1".parse().unwrap();
        let first = clients.admit(me).unwrap();
        let second = clients.admit(me).unwrap();
        assert!(clients.admit(me).is_none());
        assert!(
            clients.admit("192.0.2.2".parse().unwrap()).is_some(),
            "others are not held back"
        );
        drop(first);
        assert!(clients.admit(me).is_some());
        drop(second);
        assert!(
            clients.open.lock().unwrap().is_empty(),
            "no entry outlives its connections"
        );
    }
}
