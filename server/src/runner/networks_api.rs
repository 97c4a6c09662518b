//! The network routes under `/api/networks` (`docs/networks.md`), and the runner's side of a container's
//! networks: joined at create, plugged at start, unplugged at exit, forgotten at removal.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use sha2::Digest;
use slipway::api::{self, paths, NetworkInfo, DEFAULT_NETWORK, NO_NETWORK};

use crate::api_json::ApiJson;

use super::networks::{Choice, NetworkError};
use super::{io_ctx, Container, Runner, RunnerError, Status};

type ApiResult<T> = Result<T, RunnerError>;

pub fn routes() -> Router<Arc<Runner>> {
    Router::new()
        .route(paths::NETWORKS, get(list).post(create))
        .route(paths::NETWORKS_PRUNE, post(prune))
        .route(paths::NETWORK, get(inspect).delete(remove))
        .route(paths::NETWORK_CONNECT, post(connect))
        .route(paths::NETWORK_DISCONNECT, post(disconnect))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `bridge` and `none` as `docker network ls` shows them: an id of their own per session, no subnet.
fn predefined(session: &str, name: &str) -> NetworkInfo {
    let digest = sha2::Sha256::digest(format!("{session}\0{name}").as_bytes());
    NetworkInfo {
        id: digest.iter().map(|b| format!("{b:02x}")).collect(),
        name: name.to_string(),
        created: 0,
        driver: if name == NO_NETWORK { "null" } else { "bridge" }.into(),
        subnet: String::new(),
        gateway: String::new(),
        internal: false,
        containers: Vec::new(),
    }
}

async fn list(State(r): State<Arc<Runner>>, headers: HeaderMap) -> Json<Vec<NetworkInfo>> {
    let session = session(&headers);
    let mut rows = vec![
        predefined(&session, DEFAULT_NETWORK),
        predefined(&session, NO_NETWORK),
    ];
    rows.extend(r.networks.list(&session));
    Json(rows)
}

async fn create(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<api::NetworkCreate>,
) -> ApiResult<(StatusCode, Json<api::NetworkCreated>)> {
    let (session, owner) = (session(&headers), session(&headers));
    let this = r.clone();
    // A namespace, `ip` and two binds: blocking work, off the async workers.
    let network = tokio::task::spawn_blocking(move || this.networks.create(&session, &request, now()))
        .await
        .map_err(|e| io_ctx("network task")(std::io::Error::other(e)))??;
    r.network_event(&owner, "create", (&network.id, &network.name), None);
    Ok((
        StatusCode::CREATED,
        Json(api::NetworkCreated {
            id: network.id.clone(),
            name: network.name.clone(),
        }),
    ))
}

async fn inspect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<NetworkInfo>> {
    let session = session(&headers);
    let predefined_ids = [DEFAULT_NETWORK, NO_NETWORK].map(|n| predefined(&session, n));
    if let Some(p) = predefined_ids.into_iter().find(|p| p.name == id || p.id == id) {
        return Ok(Json(p));
    }
    Ok(Json(r.networks.get(&session, &id)?.info()))
}

async fn remove(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let session = session(&headers);
    // Looked up first for its event, but `remove`'s error comes first (`bridge` is pre-defined, not unknown).
    let network = r.networks.get(&session, &id);
    r.networks.remove(&session, &id)?;
    if let Ok(network) = network {
        r.network_event(&session, "destroy", (&network.id, &network.name), None);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn prune(State(r): State<Arc<Runner>>, headers: HeaderMap) -> Json<api::NetworkPruneAnswer> {
    let session = session(&headers);
    let pruned = r.networks.prune(&session);
    // dockerd's `NetworksPrune` deletes each through `deleteNetwork`, which logs its `destroy`.
    for (id, name) in &pruned {
        r.network_event(&session, "destroy", (id, name), None);
    }
    Json(api::NetworkPruneAnswer {
        networks_deleted: pruned.into_iter().map(|(_, name)| name).collect(),
    })
}

async fn connect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::NetworkConnect>,
) -> ApiResult<Json<()>> {
    let session = session(&headers);
    let network = r.networks.get(&session, &id)?;
    let c = r.get_in(Some(&session), &request.container)?;
    let name = r.name_of(&c);
    let endpoint = r.networks.join(
        &network,
        (&c.id, &name),
        &request.aliases,
        &c.dir.join("etc"),
        &hostname(&c),
    )?;
    let pid = c.state().pid.filter(|_| c.state().status == Status::Running);
    if let Some(pid) = pid {
        let (this, network2, c2) = (r.clone(), network.clone(), c.clone());
        let plugged = tokio::task::spawn_blocking(move || this.networks.plug(&network2, &endpoint, pid))
            .await
            .map_err(|e| io_ctx("network task")(std::io::Error::other(e)))?;
        if let Err(e) = plugged {
            let _ = r.networks.leave(&network, &c2.id, &name);
            return Err(e.into());
        }
    }
    // dockerd's `ConnectToNetwork` logs `connect` for a running container only: a stopped one connects at start.
    if pid.is_some() {
        r.network_event(&session, "connect", (&network.id, &network.name), Some(&c.id));
    }
    Ok(Json(()))
}

async fn disconnect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<api::NetworkDisconnect>,
) -> ApiResult<Json<()>> {
    let session = session(&headers);
    let network = r.networks.get(&session, &id)?;
    let c = r.get_in(Some(&session), &request.container)?;
    let name = r.name_of(&c);
    let (this, ids) = (
        r.clone(),
        (network.id.clone(), network.name.clone(), c.id.clone()),
    );
    tokio::task::spawn_blocking(move || this.networks.leave(&network, &c.id, &name))
        .await
        .map_err(|e| io_ctx("network task")(std::io::Error::other(e)))??;
    r.network_event(&session, "disconnect", (&ids.0, &ids.1), Some(&ids.2));
    Ok(Json(()))
}

/// The caller's session (checked live by the session gate before any handler runs).
fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

/// The container's host name: `--hostname`, else its short id (as the runner names it).
fn hostname(c: &Container) -> String {
    c.opts.hostname.clone().unwrap_or_else(|| c.id[..12].to_string())
}

impl Runner {
    /// What `--network` and `--network-alias` ask for, checked before anything is unpacked or made.
    pub(crate) fn network_choice(&self, opts: &api::RunOptions) -> Result<Choice, NetworkError> {
        self.networks
            .choose(&opts.session, opts.network.as_deref(), &opts.network_aliases)
    }

    /// A new container (in the table) joins the user network it was created on, if any.
    pub(crate) fn join_network(&self, c: &Container, choice: &Choice) -> Result<(), NetworkError> {
        if let Choice::User(network) = choice {
            let aliases = &c.opts.network_aliases;
            self.networks.join(
                network,
                (&c.id, &c.name),
                aliases,
                &c.dir.join("etc"),
                &hostname(c),
            )?;
        }
        Ok(())
    }

    /// The container's process exists (`pid`, not started yet): plug its networks.
    pub(crate) async fn plug_networks(self: &Arc<Self>, c: &Container, pid: i32) -> Result<(), RunnerError> {
        let (this, id) = (self.clone(), c.id.clone());
        tokio::task::spawn_blocking(move || this.networks.plug_all(&id, pid))
            .await
            .map_err(|e| io_ctx("network task")(std::io::Error::other(e)))??;
        Ok(())
    }

    /// `connect` (at start) or `disconnect` (at exit) of each network the container is on, as dockerd's
    /// `connectToNetwork` and `releaseNetwork` log them: its user networks, else the default `bridge` (a
    /// container of `--network none` is on none here). A RUN step's container makes none.
    pub(crate) fn container_networks_event(&self, c: &Container, action: &str) {
        if c.image == super::lifecycle::BUILD_STEP_IMAGE || c.opts.network.as_deref() == Some(NO_NETWORK) {
            return;
        }
        let on: Vec<(String, String)> = self
            .networks
            .endpoints_of(&c.id)
            .iter()
            .map(|(n, _)| (n.id.clone(), n.name.clone()))
            .collect();
        if on.is_empty() {
            let bridge = predefined(&c.session, DEFAULT_NETWORK);
            self.network_event(&c.session, action, (&bridge.id, &bridge.name), Some(&c.id));
        }
        for (id, name) in &on {
            self.network_event(&c.session, action, (id, name), Some(&c.id));
        }
    }

    /// Whether the container gets slirp4netns's outbound network: the operator turned it on and the container
    /// did not ask for `--network none`.
    pub(crate) fn wants_outbound(&self, c: &Container) -> bool {
        self.config.network.is_outbound() && c.opts.network.as_deref() != Some(NO_NETWORK)
    }
}
