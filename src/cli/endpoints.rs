//! What `docker inspect` shows of a container's networks (`NetworkSettings.Networks`), docker's field names
//! and order.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::ContainerEndpoint;

/// A container's place on a network as `docker inspect` shows it (`NetworkSettings.Networks.NAME`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<()>,
    links: Option<()>,
    aliases: Option<Vec<String>>,
    mac_address: String,
    #[serde(rename = "NetworkID")]
    network_id: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    gateway: String,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: u8,
    #[serde(rename = "DNSNames")]
    dns_names: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    networks: BTreeMap<String, EndpointSettings>,
}

/// `NetworkSettings` of a container: its user networks, else the one it was created on (`bridge`, `none`) with
/// no address (it has only its own loopback here).
pub fn network_settings(endpoints: &[ContainerEndpoint], created_on: Option<&str>) -> NetworkSettings {
    let mut networks: BTreeMap<String, EndpointSettings> = endpoints
        .iter()
        .map(|e| {
            let settings = EndpointSettings {
                ipam_config: None,
                links: None,
                aliases: (!e.aliases.is_empty()).then(|| e.aliases.clone()),
                mac_address: e.mac_address.clone(),
                network_id: e.network_id.clone(),
                endpoint_id: String::new(),
                gateway: e.gateway.clone(),
                ip_address: e.ip_address.clone(),
                ip_prefix_len: e.prefix_len,
                dns_names: Some(e.dns_names.clone()),
            };
            (e.network.clone(), settings)
        })
        .collect();
    if networks.is_empty() {
        let name = created_on.unwrap_or(crate::api::DEFAULT_NETWORK).to_string();
        let settings = EndpointSettings {
            ipam_config: None,
            links: None,
            aliases: None,
            mac_address: String::new(),
            network_id: String::new(),
            endpoint_id: String::new(),
            gateway: String::new(),
            ip_address: String::new(),
            ip_prefix_len: 0,
            dns_names: None,
        };
        networks.insert(name, settings);
    }
    NetworkSettings { networks }
}
