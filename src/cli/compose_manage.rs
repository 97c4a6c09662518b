//! `docker compose stop`, `start` and `restart`: the project's containers (found by their labels), in the
//! order Compose takes them (dependencies first to start and restart, dependents first to stop), with Compose's progress
//! lines (`[+] Stopping 2/2`, ` ✔ Container app-web-1  Stopped`). See docs/compose.md.

use super::compose_project::{members, Member};
use std::collections::BTreeSet;

use super::compose_up::{failed, ordered, Progress};
use super::compose_wait::{wait_for, Budget, Condition};
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
    of_services(companion, project, &named).await
}

/// The project's (not one-off) containers of `named` services (all without names), dependencies first.
async fn of_services<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    named: &[String],
) -> Result<Vec<Member>, Outcome> {
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

/// The services `restart` acts on, as Compose's `restart` picks them (`pkg/compose/restart.go`): the named
/// ones (all without names) and every service that depends on one of them with `restart: true`, and on those in
/// turn.
pub(super) fn with_restarted_dependents(project: &Project, named: &[String]) -> Vec<String> {
    if named.is_empty() {
        return Vec::new();
    }
    let mut out: BTreeSet<String> = named.iter().cloned().collect();
    loop {
        let more: Vec<String> = project
            .services
            .values()
            .filter(|s| !out.contains(&s.name))
            .filter(|s| s.depends_on.iter().any(|(d, dep)| dep.restart && out.contains(d)))
            .map(|s| s.name.clone())
            .collect();
        if more.is_empty() {
            return out.into_iter().collect();
        }
        out.extend(more);
    }
}

/// Before `service` restarts: the conditions of its `restart: true` dependencies restarted just before
/// (`service_healthy`, `service_completed_successfully`), as Compose's `restart` waits for them; else the
/// failing container and Compose's words.
async fn dependencies_ready<T: Transport>(
    companion: &Companion<'_, T>,
    project: &Project,
    service: &str,
    restarted: &BTreeSet<String>,
) -> Result<(), (String, String)> {
    let Some(config) = project.services.get(service) else {
        return Ok(());
    };
    for (dependency, d) in &config.depends_on {
        let condition = Condition::of_dependency(&d.condition);
        let (true, Some(condition), Some(dep)) = (
            d.restart && restarted.contains(dependency),
            condition,
            project.services.get(dependency),
        ) else {
            continue;
        };
        let name = dep.container_name(&project.name, 1);
        let mut budget = Budget::unlimited();
        wait_for(companion, &name, dependency, condition, &mut budget)
            .await
            .map_err(|why| (name, why))?;
    }
    Ok(())
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
    let id = inv.command.id;
    let mut named = match named_services(project, inv) {
        Ok(named) => named,
        Err(outcome) => return outcome,
    };
    if id == CommandId::ComposeRestart {
        named = with_restarted_dependents(project, &named);
    }
    let mut targets = match of_services(&companion, project, &named).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let title = match id {
        CommandId::ComposeStop => "Stopping",
        CommandId::ComposeRestart => "Restarting",
        _ => "Running",
    };
    if id == CommandId::ComposeStop {
        // Dependents first, as Compose stops them.
        targets.reverse();
    }
    let mut progress = Progress::at_the_end(ctx, inv, title);
    let mut restarted = BTreeSet::new();
    for m in &targets {
        let (row, name) = (&m.row, format!("Container {}", m.row.name));
        if id == CommandId::ComposeRestart {
            if let Err(e) = dependencies_ready(&companion, project, &m.service, &restarted).await {
                return super::compose_up::dependency_failed(&mut progress, e);
            }
            restarted.insert(m.service.clone());
        }
        // Compose's working event before each (`Stopping`, `Starting`, `Restarting`), seen in plain mode.
        match id {
            CommandId::ComposeStop if row.status == ContainerStatus::Running => {
                progress.set(name.clone(), "Stopping")
            }
            CommandId::ComposeStart if row.status != ContainerStatus::Running => {
                progress.set(name.clone(), "Starting")
            }
            CommandId::ComposeRestart => progress.set(name.clone(), "Restarting"),
            _ => {}
        }
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
            Ok(state) => progress.set(name, state),
            Err(e) => return failed(&progress, e.to_string()),
        }
    }
    Outcome {
        stderr: progress.render(),
        ..Outcome::default()
    }
}
