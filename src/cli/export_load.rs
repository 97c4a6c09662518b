//! `docker export [-o FILE] CONTAINER` (docker/cli `cli/command/container/export.go`): the container's whole
//! root filesystem as a tar, into a file of the project or (natively) on stdout; never onto a terminal.

use super::context::CommandContext;
use super::cp::local_path;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::Companion;
use crate::layer::{FileTree, Meta};
use crate::registry::Transport;

/// docker's refusal when the tar would land on a terminal (`export.go`, as `docker save` says it).
pub const TO_A_TERMINAL: &str = "cowardly refusing to save to a terminal. Use the -o flag or redirect";

pub async fn export<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match export_to(ctx, &inv.args[0], inv.flags.value(Flag::OUTPUT)).await {
        Ok(()) => Outcome::default(),
        Err(message) => Outcome::failure(format!("{message}\n"), 1),
    }
}

async fn export_to<T: Transport>(
    ctx: &CommandContext<'_, T>,
    container: &str,
    output: Option<&str>,
) -> Result<(), String> {
    let Some(files) = ctx.files else {
        return Err(
            "docker export needs the project's files: run it in the page's terminal or with slipway docker"
                .into(),
        );
    };
    // A terminal (the page's, or a native one): docker refuses before asking the daemon.
    if output.is_none() && ctx.status.is_some() {
        return Err(TO_A_TERMINAL.into());
    }
    let tar = Companion::new(ctx.transport, ctx.base)
        .export(container)
        .await
        .map_err(|e| e.to_string())?;
    let Some(output) = output else {
        return files.stdout_tar(&tar);
    };
    let path = local_path(&files.root(), output)?;
    let (dir, name) = match path.rel.rsplit_once('/') {
        Some((dir, name)) => (dir.to_string(), name.to_string()),
        None => (String::new(), path.rel.clone()),
    };
    if name.is_empty() || files.kind(&path.rel) == Some(true) {
        return Err(format!("open {}: is a directory", path.shown));
    }
    if files.kind(&dir) != Some(true) {
        return Err(format!("open {}: no such file or directory", path.shown));
    }
    let mut tree = FileTree::new();
    tree.insert_file(&name, tar, Meta::root(0o644))
        .map_err(|e| e.to_string())?;
    files.write(&dir, &tree)
}
