//! `docker inspect NAME|ID...`: each name looked up in docker's order (docker/cli `cli/command/system/inspect.go`):
//! a container (the companion's inspect answer), an image (the local store), a network, a volume; printed by
//! [`super::inspect`].

use super::context::CommandContext;
use super::image_info::inspect_json;
use super::images::{find, list_local};
use super::inspect::{container_node, report, Node};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, CompanionError};
use crate::registry::Transport;

/// What one name is, for `docker inspect`.
enum Found {
    Object(Node),
    Missing(String),
}

/// The kinds `docker inspect` looks a name up as, in docker's order (docker/cli `cli/command/system/inspect.go`;
/// swarm's kinds and plugins have no place here).
const KINDS: &[&str] = &["container", "image", "network", "volume"];

/// What looking a name up as one kind gave: the object, none of that kind (what docker prints when the kind was
/// asked for; without `--type` it goes on to the next kind), or an error that ends the look-up.
enum Lookup {
    Object(Node),
    Absent(String),
    Failed(String),
}

fn absent_or_failed(e: CompanionError) -> Lookup {
    match e {
        CompanionError::Refused { status: 404, .. } => Lookup::Absent(e.to_string()),
        e => Lookup::Failed(e.to_string()),
    }
}

async fn look_up<T: Transport>(ctx: &CommandContext<'_, T>, name: &str, kind: &str) -> Lookup {
    let companion = Companion::new(ctx.transport, ctx.base);
    match kind {
        "container" => match companion.inspect(name).await {
            Ok(c) if c.config.is_some() => Lookup::Object(container_node(&c)),
            Ok(c) => Lookup::Failed(format!(
                "Error: the image of container {} is gone here: its configuration cannot be shown",
                c.summary.name
            )),
            Err(e) => absent_or_failed(e),
        },
        "image" => match find(ctx, name).await {
            Ok(found) => {
                let all = list_local(ctx).await.unwrap_or_default();
                Lookup::Object(Node::of(&inspect_json(&found, &all)))
            }
            Err(e) => Lookup::Absent(format!("Error: {e}")),
        },
        "network" => match companion.network(name).await {
            Ok(network) => Lookup::Object(super::networks::network_node(&network)),
            Err(e) => absent_or_failed(e),
        },
        _ => match companion.volume(name).await {
            Ok(volume) => Lookup::Object(super::volumes::volume_node(&volume)),
            Err(e) => absent_or_failed(e),
        },
    }
}

/// `name` looked up as `kind`, or as each kind in docker's order until one has it.
async fn inspect_one<T: Transport>(ctx: &CommandContext<'_, T>, name: &str, kind: Option<&str>) -> Found {
    for each in KINDS.iter().filter(|k| kind.is_none_or(|wanted| wanted == **k)) {
        match look_up(ctx, name, each).await {
            Lookup::Object(node) => return Found::Object(node),
            Lookup::Absent(_) if kind.is_none() => {}
            Lookup::Absent(error) | Lookup::Failed(error) => return Found::Missing(error),
        }
    }
    Found::Missing(format!("Error: No such object: {name}"))
}

/// `docker inspect [--type container|image|network|volume] [-f TEMPLATE] NAME|ID...`.
pub async fn inspect<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let kind = inv.flags.value(Flag::TYPE);
    if let Some(other) = kind.filter(|k| !KINDS.contains(k)) {
        return Outcome::failure(format!("{other:?} is not a valid value for --type\n"), 1);
    }
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for name in &inv.args {
        match inspect_one(ctx, name, kind).await {
            Found::Object(node) => objects.push(node),
            Found::Missing(error) => errors.push(error),
        }
    }
    report(&objects, errors, inv.flags.value(Flag::FORMAT))
}
