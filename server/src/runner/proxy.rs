//! The preview proxy: `slipway::api::paths::CONTAINER_PROXY_PATH` forwards HTTP (and WebSocket upgrades) to
//! `127.0.0.1:port` inside the container's network namespace, so the page can show the learner's web app.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;

use super::lifecycle::Status;
use super::network::connect_in_netns;
use super::{Runner, RunnerError};

fn bad_gateway(why: impl std::fmt::Display) -> Response {
    let body = slipway::api::ErrorBody::new(format!("proxy: {why}"));
    (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response()
}

pub async fn proxy_root(
    State(r): State<Arc<Runner>>,
    Path((id, port)): Path<(String, u16)>,
    req: Request,
) -> Result<Response, RunnerError> {
    forward(r, id, port, String::new(), req).await
}

pub async fn proxy_path(
    State(r): State<Arc<Runner>>,
    Path((id, port, path)): Path<(String, u16, String)>,
    req: Request,
) -> Result<Response, RunnerError> {
    forward(r, id, port, path, req).await
}

async fn forward(
    r: Arc<Runner>,
    id: String,
    port: u16,
    path: String,
    mut req: Request,
) -> Result<Response, RunnerError> {
    let session = crate::registry::local::session_token(req.headers()).unwrap_or_default();
    let c = r.get_in(Some(&session), &id)?;
    let state = c.state();
    let (Status::Running, Some(pid)) = (state.status, state.pid) else {
        return Err(RunnerError::Conflict(format!(
            "container {} is not running",
            c.name
        )));
    };
    let stream = match connect_in_netns(PathBuf::from(format!("/proc/{pid}/ns/net")), port).await {
        Ok(s) => s,
        Err(e) => {
            return Ok(bad_gateway(format!(
                "nothing answers on port {port} in the container: {e}"
            )))
        }
    };
    let (mut sender, conn) =
        match hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(e) => return Ok(bad_gateway(e)),
        };
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let path_and_query = match req.uri().query() {
        Some(q) => format!("/{path}?{q}"),
        None => format!("/{path}"),
    };
    let client_upgrade = hyper::upgrade::on(&mut req);
    let (mut parts, body) = req.into_parts();
    parts.uri = Uri::try_from(path_and_query).map_err(|e| RunnerError::Conflict(e.to_string()))?;
    parts
        .headers
        .insert(header::HOST, header::HeaderValue::from_static("localhost"));
    let upstream_req = hyper::Request::from_parts(parts, body);
    let mut resp = match sender.send_request(upstream_req).await {
        Ok(resp) => resp,
        Err(e) => return Ok(bad_gateway(e)),
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        let upstream_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            if let (Ok(client), Ok(upstream)) = (client_upgrade.await, upstream_upgrade.await) {
                let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(upstream))
                    .await;
            }
        });
    }
    Ok(resp.map(Body::new))
}
