//! `docker network create|ls|inspect|rm|connect|disconnect|prune` against the companion's `/api/networks`, with
//! docker 28's output (docker/cli `cli/command/network/*.go`) and what `docker inspect` shows of a container's
//! networks (`NetworkSettings.Networks`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::context::{CommandContext, Printer, Stream};
use super::format::tabwrite;
use super::inspect::Node;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::api::{Companion, CompanionError, NetworkConnect, NetworkCreate, NetworkDisconnect, NetworkInfo};
use crate::image::rfc3339;
use crate::registry::Transport;

/// Run one of the `docker network` commands.
pub async fn network<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    match inv.command.id {
        CommandId::NetworkCreate => create(&companion, inv).await,
        CommandId::NetworkLs => ls(&companion, inv).await,
        CommandId::NetworkInspect => inspect(&companion, inv).await,
        CommandId::NetworkRm => rm(&companion, inv).await,
        CommandId::NetworkConnect | CommandId::NetworkDisconnect => connect(&companion, inv).await,
        _ => prune(ctx, inv).await,
    }
}

fn failed(e: &CompanionError) -> Outcome {
    Outcome::failure(format!("{e}\n"), 1)
}

/// `docker network create [--driver bridge] [--subnet CIDR] [--gateway IP] [--internal] NAME`: the new id.
async fn create<T: Transport>(companion: &Companion<'_, T>, inv: &Invocation) -> Outcome {
    let value = |flag: Flag| inv.flags.value(flag).map(str::to_string);
    let request = NetworkCreate {
        name: inv.args[0].clone(),
        driver: value(Flag::DRIVER),
        subnet: value(Flag::SUBNET),
        gateway: value(Flag::GATEWAY),
        internal: inv.flags.is_set(Flag::INTERNAL),
    };
    match companion.create_network(&request).await {
        Ok(created) => Outcome::success(format!("{}\n", created.id)),
        Err(e) => failed(&e),
    }
}

/// `docker network ls [-q] [--no-trunc]`: docker's table, sorted by name.
async fn ls<T: Transport>(companion: &Companion<'_, T>, inv: &Invocation) -> Outcome {
    let mut networks = match companion.networks().await {
        Ok(networks) => networks,
        Err(e) => return failed(&e),
    };
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    let full = inv.flags.is_set(Flag::NO_TRUNC);
    let id = |n: &NetworkInfo| {
        if full {
            n.id.clone()
        } else {
            n.id.chars().take(12).collect()
        }
    };
    if inv.flags.is_set(Flag::QUIET) {
        return Outcome::success(networks.iter().map(|n| format!("{}\n", id(n))).collect());
    }
    let mut rows = vec![["NETWORK ID", "NAME", "DRIVER", "SCOPE"]
        .map(String::from)
        .to_vec()];
    rows.extend(
        networks
            .iter()
            .map(|n| vec![id(n), n.name.clone(), n.driver.clone(), "local".into()]),
    );
    Outcome::success(tabwrite(&rows))
}

/// `docker network rm NETWORK...`: each name as typed; errors after, exit code 1.
async fn rm<T: Transport>(companion: &Companion<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Outcome::default();
    for name in &inv.args {
        super::objects::record(&mut out, name, companion.remove_network(name).await);
    }
    out
}

/// `docker network connect [--alias A] NETWORK CONTAINER`, `docker network disconnect NETWORK CONTAINER`: silent.
async fn connect<T: Transport>(companion: &Companion<'_, T>, inv: &Invocation) -> Outcome {
    let (network, container) = (&inv.args[0], inv.args[1].clone());
    let done = match inv.command.id {
        CommandId::NetworkConnect => {
            let aliases = inv.flags.values(Flag::ALIAS).to_vec();
            let request = NetworkConnect { container, aliases };
            companion.connect_network(network, &request).await
        }
        _ => {
            let force = inv.flags.is_set(Flag::FORCE);
            let request = NetworkDisconnect { container, force };
            companion.disconnect_network(network, &request).await
        }
    };
    match done {
        Ok(()) => Outcome::default(),
        Err(e) => failed(&e),
    }
}

/// `docker network prune [-f]`: after the question, the names removed.
async fn prune<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let warning = "WARNING! This will remove all custom networks not used by at least one container.";
    if let Err(code) = super::manage::confirmed(ctx, inv, &mut out, warning).await {
        out.outcome.exit_code = code;
        return out.done();
    }
    match Companion::new(ctx.transport, ctx.base).prune_networks().await {
        Ok(report) if report.networks_deleted.is_empty() => out.done(),
        Ok(report) => {
            out.line(Stream::Stdout, "Deleted Networks:");
            for name in &report.networks_deleted {
                out.line(Stream::Stdout, name);
            }
            out.done()
        }
        Err(e) => out.fail(&e.to_string(), 1),
    }
}

/// `docker network inspect [-f TEMPLATE] NETWORK...`.
async fn inspect<'a, T: Transport>(companion: &'a Companion<'_, T>, inv: &'a Invocation) -> Outcome {
    let fetch = |name: &'a str| async move { companion.network(name).await.map(|o| network_node(&o)) };
    super::objects::inspect_each(&inv.args, inv.flags.value(Flag::FORMAT), "network", fetch).await
}

/// docker's network object (`docker network inspect`, `docker inspect`).
pub fn network_node(network: &NetworkInfo) -> Node {
    Node::of(&NetworkObject::of(network))
}

/// docker's network object, its fields in docker's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkObject {
    name: String,
    id: String,
    created: String,
    scope: &'static str,
    driver: String,
    #[serde(rename = "EnableIPv4")]
    enable_ipv4: bool,
    #[serde(rename = "EnableIPv6")]
    enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    ipam: Ipam,
    internal: bool,
    attachable: bool,
    ingress: bool,
    config_from: ConfigFrom,
    config_only: bool,
    containers: BTreeMap<String, EndpointObject>,
    options: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Ipam {
    driver: &'static str,
    options: BTreeMap<String, String>,
    config: Vec<IpamConfig>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct IpamConfig {
    subnet: String,
    gateway: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigFrom {
    network: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointObject {
    name: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    mac_address: String,
    #[serde(rename = "IPv4Address")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    ipv6_address: String,
}

impl NetworkObject {
    fn of(n: &NetworkInfo) -> NetworkObject {
        let config = match n.subnet.is_empty() {
            true => Vec::new(),
            false => vec![IpamConfig {
                subnet: n.subnet.clone(),
                gateway: n.gateway.clone(),
            }],
        };
        NetworkObject {
            name: n.name.clone(),
            id: n.id.clone(),
            created: rfc3339(n.created),
            scope: "local",
            driver: n.driver.clone(),
            enable_ipv4: n.driver != "null",
            enable_ipv6: false,
            ipam: Ipam {
                driver: "default",
                options: BTreeMap::new(),
                config,
            },
            internal: n.internal,
            attachable: false,
            ingress: false,
            config_from: ConfigFrom {
                network: String::new(),
            },
            config_only: false,
            containers: n
                .containers
                .iter()
                .map(|e| {
                    let object = EndpointObject {
                        name: e.name.clone(),
                        endpoint_id: String::new(),
                        mac_address: e.mac_address.clone(),
                        ipv4_address: e.ipv4_address.clone(),
                        ipv6_address: String::new(),
                    };
                    (e.container_id.clone(), object)
                })
                .collect(),
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::image_info::docker_json;
    use super::super::inspect::render;
    use super::*;

    #[test]
    fn the_network_object_has_dockers_fields_in_order() {
        let info = NetworkInfo {
            id: "ab".repeat(32),
            name: "app".into(),
            created: 0,
            driver: "bridge".into(),
            subnet: "172.18.0.0/16".into(),
            gateway: "172.18.0.1".into(),
            internal: false,
            containers: vec![crate::api::NetworkEndpoint {
                container_id: "cd".repeat(32),
                name: "web".into(),
                ipv4_address: "172.18.0.2/16".into(),
                mac_address: "02:42:ac:12:00:02".into(),
                aliases: vec![],
            }],
        };
        let node = Node::of(&NetworkObject::of(&info));
        let text = docker_json(&node);
        let at = |key: &str| text.find(key).unwrap_or_else(|| panic!("{key} missing: {text}"));
        assert!(
            at("\"Name\"") < at("\"Id\"") && at("\"IPAM\"") < at("\"Internal\""),
            "{text}"
        );
        assert!(text.contains("\"IPv4Address\": \"172.18.0.2/16\""), "{text}");
        assert_eq!(render("{{.Driver}}", &node).unwrap(), "bridge");
    }
}
