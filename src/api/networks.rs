//! User networks: `/api/networks` (`docker network create|ls|inspect|rm|connect|disconnect|prune`) and what a
//! container's inspect shows of its endpoints (`docs/networks.md`).

use serde::{Deserialize, Serialize};

use super::{paths, Companion, CompanionError};
use crate::registry::{Method, Transport};

/// The network a container joins when `docker run` names none: Docker's default bridge. Here it is the
/// container's own network namespace with loopback only (plus slirp4netns when the operator turned outbound on):
/// containers on it do not see each other, as on a Docker host where inter-container traffic is off.
pub const DEFAULT_NETWORK: &str = "bridge";
/// `--network none`: loopback only, never any outbound network.
pub const NO_NETWORK: &str = "none";

/// The body of `POST /api/networks` (`docker network create`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkCreate {
    pub name: String,
    /// `--driver`: only `bridge` (the default) is offered.
    pub driver: Option<String>,
    /// `--subnet 10.1.0.0/24`: else the first of Docker's pools (172.18.0.0/16 ...) the session does not use.
    pub subnet: Option<String>,
    /// `--gateway`: else the subnet's first address.
    pub gateway: Option<String>,
    /// `--internal`: accepted; a user network never reaches outside here anyway.
    pub internal: bool,
}

/// The answer to `POST /api/networks`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkCreated {
    pub id: String,
    pub name: String,
}

/// One container on a network, as the network's inspect lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkEndpoint {
    pub container_id: String,
    pub name: String,
    /// `172.18.0.2/16`.
    pub ipv4_address: String,
    pub mac_address: String,
    pub aliases: Vec<String>,
}

/// A network: a row of `GET /api/networks` and the answer of `GET /api/networks/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created: u64,
    /// `bridge`, or `null` for `none`.
    pub driver: String,
    /// Empty for the predefined `bridge` and `none`, which have no shared subnet here.
    pub subnet: String,
    pub gateway: String,
    pub internal: bool,
    /// Only a user network lists its containers (the predefined ones have no shared segment).
    pub containers: Vec<NetworkEndpoint>,
}

/// The body of `POST /api/networks/{id}/connect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConnect {
    pub container: String,
    /// `--alias`: more names the container answers to on this network.
    pub aliases: Vec<String>,
}

/// The body of `POST /api/networks/{id}/disconnect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkDisconnect {
    pub container: String,
    pub force: bool,
}

/// The answer to `POST /api/networks/prune`: the names of the removed networks.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkPruneAnswer {
    pub networks_deleted: Vec<String>,
}

/// A container's place on one network, as its inspect shows it (`NetworkSettings.Networks.NAME`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContainerEndpoint {
    pub network: String,
    pub network_id: String,
    /// Empty when the container is not running (Docker shows no address then either).
    pub ip_address: String,
    pub prefix_len: u8,
    pub gateway: String,
    pub mac_address: String,
    pub aliases: Vec<String>,
    /// The names the embedded DNS answers for it: its name, its short id and the aliases.
    pub dns_names: Vec<String>,
}

impl<T: Transport> Companion<'_, T> {
    /// `POST /api/networks`.
    pub async fn create_network(&self, request: &NetworkCreate) -> Result<NetworkCreated, CompanionError> {
        self.json(Method::Post, paths::NETWORKS, Some(request)).await
    }

    /// `GET /api/networks`: the predefined networks and the session's own.
    pub async fn networks(&self) -> Result<Vec<NetworkInfo>, CompanionError> {
        self.json(Method::Get, paths::NETWORKS, None::<&()>).await
    }

    /// `GET /api/networks/{id}`: by name, full id or unique id prefix.
    pub async fn network(&self, id: &str) -> Result<NetworkInfo, CompanionError> {
        self.json(Method::Get, &paths::network(id), None::<&()>).await
    }

    /// `DELETE /api/networks/{id}`.
    pub async fn remove_network(&self, id: &str) -> Result<(), CompanionError> {
        self.call(Method::Delete, &paths::network(id)).await
    }

    /// `POST /api/networks/{id}/connect`.
    pub async fn connect_network(&self, id: &str, request: &NetworkConnect) -> Result<(), CompanionError> {
        self.json::<serde::de::IgnoredAny>(Method::Post, &paths::network_connect(id), Some(request))
            .await
            .map(drop)
    }

    /// `POST /api/networks/{id}/disconnect`.
    pub async fn disconnect_network(
        &self,
        id: &str,
        request: &NetworkDisconnect,
    ) -> Result<(), CompanionError> {
        self.json::<serde::de::IgnoredAny>(Method::Post, &paths::network_disconnect(id), Some(request))
            .await
            .map(drop)
    }

    /// `POST /api/networks/prune`.
    pub async fn prune_networks(&self) -> Result<NetworkPruneAnswer, CompanionError> {
        self.json(Method::Post, paths::NETWORKS_PRUNE, None::<&()>).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn network_types_round_trip_and_refuse_misspelt_fields() {
        round_trip(&NetworkCreate {
            name: "app".into(),
            subnet: Some("10.1.0.0/24".into()),
            ..NetworkCreate::default()
        });
        round_trip(&NetworkInfo {
            id: "ab".into(),
            name: "app".into(),
            created: 1,
            driver: "bridge".into(),
            subnet: "172.18.0.0/16".into(),
            gateway: "172.18.0.1".into(),
            internal: false,
            containers: vec![NetworkEndpoint {
                container_id: "cd".into(),
                name: "web".into(),
                ipv4_address: "172.18.0.2/16".into(),
                mac_address: "02:42:ac:12:00:02".into(),
                aliases: vec!["www".into()],
            }],
        });
        round_trip(&NetworkConnect {
            container: "web".into(),
            aliases: vec!["www".into()],
        });
        round_trip(&ContainerEndpoint {
            network: "app".into(),
            ip_address: "172.18.0.2".into(),
            prefix_len: 16,
            ..ContainerEndpoint::default()
        });
        let refused = serde_json::from_str::<NetworkCreate>(r#"{"name":"a","subnte":"x"}"#).unwrap_err();
        assert!(
            refused.to_string().contains("unknown field `subnte`"),
            "{refused}"
        );
    }
}
