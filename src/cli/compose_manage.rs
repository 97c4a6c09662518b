//! `docker compose stop`, `start` and `restart`: the project's containers (found by their labels), in the
//! order Compose takes them (dependencies first to start and restart, dependents first to stop), with Compose's progress
//! lines (`[+] Stopping 2/2`, ` ✔ Container app-web-1  Stopped`). See docs/compose.md.

use super::compose_project::{members, Member};
use super::compose_up::{failed, ordered, Progress};
use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::api::{Companion, ContainerStatus, RestartQuery, StopQuery};
use crate::compose::model::Project;
use crate::registry::Transport;

/// `-t, --timeout N` as Compose reads it (pflag's words for a value that is no number).
pub(super) fn timeout(inv: &Invocation) -> Result<Option<u64>, Outcome> {
    let Some(text) = inv.flags.value(Flag::TIMEOUT) else {
        return Ok(None);
    };
    text.parse().map(Some).map_err(|_| {
        Outcome::failure(
            format!("invalid argument \"{text}\" for \"-t, --timeout\" flag: strconv.ParseInt: parsing \"{text}\": invalid syntax\n"),
            1,
        )
    })
}

/// The services a line names, each checked against the project (`no such service: x`, as Compose says).
pub(super) fn named_services(project: &Project, inv: &Invocation) -> Result<Vec<String>, Outcome> {
    match inv.args.iter().find(|s| !project.services.contains_key(*s)) {
        Some(unknown) => Err(Outcome::failure(format!("no such service: {unknown}\n"), 1)),
        None => Ok(inv.args.clone()),
    }
}

/// The project's (not one-off) containers of the services `inv` names (all without names), dependencies
/// first.
pub(super) async fn selected<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    inv: &Invocation,
) -> Result<Vec<Member>, Outcome> {
    let named = named_services(project, inv)?;
    let all = members(companion, &project.name)
        .await
        .map_err(|e| Outcome::failure(format!("{e}\n"), 1))?;
    let mut out = Vec::new();
    for service in ordered(project, &[]) {
        if !named.is_empty() && !named.contains(&service.name) {
            continue;
        }
        let mut mine: Vec<Member> = all
            .iter()
            .filter(|m| !m.oneoff && m.service == service.name)
            .cloned()
            .collect();
        mine.sort_by_key(|m| m.number);
        out.extend(mine);
    }
    Ok(out)
}

/// `docker compose stop|start|restart [-t N] [SERVICE...]`.
pub async fn manage<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
) -> Outcome {
    let t = match timeout(inv) {
        Ok(t) => t,
        Err(outcome) => return outcome,
    };
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut targets = match selected(&companion, project, inv).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let id = inv.command.id;
    let title = match id {
        CommandId::ComposeStop => "Stopping",
        CommandId::ComposeRestart => "Restarting",
        _ => "Running",
    };
    if id == CommandId::ComposeStop {
        // Dependents first, as Compose stops them.
        targets.reverse();
    }
    let mut progress = Progress {
        title,
        ..Progress::default()
    };
    for m in &targets {
        let (row, name) = (&m.row, format!("Container {}", m.row.name));
        let done = match id {
            CommandId::ComposeStop if row.status != ContainerStatus::Running => Ok("Stopped"),
            CommandId::ComposeStop => companion
                .stop(&row.id, &StopQuery { t })
                .await
                .map(|()| "Stopped"),
            CommandId::ComposeStart if row.status == ContainerStatus::Running => Ok("Running"),
            CommandId::ComposeStart => companion.start(&row.id).await.map(|()| "Started"),
            _ => companion
                .restart(&row.id, &RestartQuery { t })
                .await
                .map(|()| "Started"),
        };
        match done {
            Ok(state) => progress.done(name, state),
            Err(e) => return failed(&progress, e.to_string()),
        }
    }
    Outcome {
        stderr: progress.render(),
        ..Outcome::default()
    }
}
