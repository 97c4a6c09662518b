//! `docker volume create|ls|inspect|rm|prune` against the companion's `/api/volumes`, with docker 28's output
//! (docker/cli `cli/command/volume/*.go`). The `-v`/`--mount` flags are in [`super::mounts`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::context::{CommandContext, Printer, Stream};
use super::format::{human_size, tabwrite};
use super::inspect::Node;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::api::{Companion, VolumeCreate, VolumeInfo, VolumePruneQuery};
use crate::image::rfc3339;
use crate::registry::Transport;

/// Run one of the `docker volume` commands.
pub async fn volume<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    match inv.command.id {
        CommandId::VolumeCreate => {
            let name = inv.args.first().cloned().unwrap_or_default();
            match companion.create_volume(&VolumeCreate { name }).await {
                Ok(v) => Outcome::success(format!("{}\n", v.name)),
                Err(e) => Outcome::failure(format!("{e}\n"), 1),
            }
        }
        CommandId::VolumeLs => ls(&companion, inv).await,
        CommandId::VolumeInspect => inspect(&companion, inv).await,
        CommandId::VolumeRm => {
            let mut out = Outcome::default();
            for name in &inv.args {
                super::objects::record(&mut out, name, companion.remove_volume(name).await);
            }
            out
        }
        _ => prune(ctx, inv).await,
    }
}

async fn ls<T: Transport>(companion: &Companion<'_, T>, inv: &Invocation) -> Outcome {
    let volumes = match companion.volumes().await {
        Ok(volumes) => volumes,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    if inv.flags.is_set(Flag::QUIET) {
        return Outcome::success(volumes.iter().map(|v| format!("{}\n", v.name)).collect());
    }
    let mut rows = vec![vec!["DRIVER".to_string(), "VOLUME NAME".to_string()]];
    rows.extend(volumes.iter().map(|v| vec!["local".to_string(), v.name.clone()]));
    Outcome::success(tabwrite(&rows))
}

/// `docker volume prune [-a] [-f]`: anonymous volumes no container uses (all unused ones with `-a`).
async fn prune<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let all = inv.flags.is_set(Flag::ALL);
    let warning = match all {
        true => "WARNING! This will remove all local volumes not used by at least one container.",
        false => "WARNING! This will remove anonymous local volumes not used by at least one container.",
    };
    if let Err(code) = super::manage::confirmed(ctx, inv, &mut out, warning).await {
        out.outcome.exit_code = code;
        return out.done();
    }
    match Companion::new(ctx.transport, ctx.base)
        .prune_volumes(&VolumePruneQuery { all })
        .await
    {
        Ok(report) => {
            if !report.volumes_deleted.is_empty() {
                out.line(Stream::Stdout, "Deleted Volumes:");
                for name in &report.volumes_deleted {
                    out.line(Stream::Stdout, name);
                }
                out.line(Stream::Stdout, "");
            }
            let total = format!("Total reclaimed space: {}", human_size(report.space_reclaimed));
            out.line(Stream::Stdout, &total);
            out.done()
        }
        Err(e) => out.fail(&e.to_string(), 1),
    }
}

async fn inspect<'a, T: Transport>(companion: &'a Companion<'_, T>, inv: &'a Invocation) -> Outcome {
    let fetch = |name: &'a str| async move { companion.volume(name).await.map(|o| volume_node(&o)) };
    super::objects::inspect_each(&inv.args, inv.flags.value(Flag::FORMAT), "volume", fetch).await
}

/// docker's volume object (`docker volume inspect`, `docker inspect`).
pub fn volume_node(volume: &VolumeInfo) -> Node {
    Node::of(&VolumeObject::of(volume))
}

/// docker's volume object, its fields in docker's order. The mount point is Docker's usual path, nominal here:
/// the server's own paths are not shown to learners.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VolumeObject {
    created_at: String,
    driver: &'static str,
    labels: BTreeMap<String, String>,
    mountpoint: String,
    name: String,
    options: Option<BTreeMap<String, String>>,
    scope: &'static str,
}

impl VolumeObject {
    fn of(v: &VolumeInfo) -> VolumeObject {
        let mut labels = BTreeMap::new();
        if v.anonymous {
            labels.insert("com.docker.volume.anonymous".to_string(), String::new());
        }
        VolumeObject {
            created_at: rfc3339(v.created),
            driver: "local",
            labels,
            mountpoint: format!("/var/lib/docker/volumes/{}/_data", v.name),
            name: v.name.clone(),
            options: None,
            scope: "local",
        }
    }
}
