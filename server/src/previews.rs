//! The preview listener: containers' web apps are served on a port of their own, hence an origin of their own,
//! never the app's (a container's page on the app's origin could read the learner's workspace in IndexedDB or
//! register a service worker over the app). Each container is reached by its unguessable preview token, handed to
//! its owner only: `http://HOST:PREVIEW_PORT/p/TOKEN/PORT/path` (`slipway::api::paths::preview`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

/// `slipway serve` flags for the preview origin and for who may frame the embed.
#[derive(Debug, Clone, clap::Args)]
pub struct PreviewArgs {
    /// Address of the preview listener, which serves containers' web apps on an origin of their own. Default: the
    /// app's address with the next port (any free port when that one is taken, or when `--addr` asks for port 0);
    /// `/api/info` tells the page which.
    #[arg(long, value_name = "ADDR", env = "SLIPWAY_PREVIEW_ADDR")]
    pub preview_addr: Option<SocketAddr>,
    /// The host name (`preview.example.org`), `host:port` or origin (`https://preview.example.org`) the page
    /// reaches previews by, for a public deployment behind a reverse proxy. Default: the app's host name with the
    /// preview port. Never the app's own origin.
    #[arg(long, value_name = "NAME", env = "SLIPWAY_PREVIEW_HOST")]
    pub preview_host: Option<String>,
    /// An origin that may frame `/embed` (repeatable, e.g. `https://docs.example.org`). Default: any site.
    #[arg(long = "embed-ancestor", value_name = "ORIGIN", value_delimiter = ',')]
    pub embed_ancestors: Vec<String>,
}

impl PreviewArgs {
    /// What `/api/info` tells the page, for the listener bound at `addr`.
    pub fn info(&self, addr: SocketAddr) -> slipway::api::PreviewInfo {
        slipway::api::PreviewInfo {
            port: addr.port(),
            host: self.preview_host.clone(),
        }
    }
}

/// Bind the preview listener: `--preview-addr`, else the app's next port, else any free port.
pub async fn bind(args: &PreviewArgs, app: SocketAddr) -> anyhow::Result<TcpListener> {
    if let Some(addr) = args.preview_addr {
        return TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for previews on {addr}"));
    }
    let mut next = app;
    next.set_port(if app.port() == 0 {
        0
    } else {
        app.port().wrapping_add(1)
    });
    if next.port() != 0 {
        match TcpListener::bind(next).await {
            Ok(listener) => return Ok(listener),
            Err(e) => tracing::warn!(addr = %next, error = %e, "preview port taken: using any free port"),
        }
    }
    next.set_port(0);
    TcpListener::bind(next)
        .await
        .with_context(|| format!("cannot listen for previews on {next}"))
}

/// Serve previews until the process ends. Without a runner there is no container to show: every path is 404.
pub fn spawn(
    listener: TcpListener,
    runner: Option<Arc<crate::runner::Runner>>,
    limits: crate::connections::ConnectionLimits,
) {
    let router = match runner {
        Some(runner) => crate::runner::proxy::preview_router(runner),
        None => axum::Router::new().fallback(|| async { axum::http::StatusCode::NOT_FOUND }),
    };
    tokio::spawn(crate::connections::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
}
