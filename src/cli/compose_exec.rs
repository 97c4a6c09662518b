//! `docker compose exec`: a command in a running container of a service, found by the project's labels as
//! Compose finds it (`pkg/compose/containers.go`, `getSpecifiedContainer`), with a TTY unless `-T`. Attached, the
//! terminal connects to the process as for `docker exec -it` (`cli::attach`); with `-d` it only starts. See
//! docs/compose.md.

use super::attach::AttachTarget;
use super::compose_project::{members, Member};
use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{paths, Companion, ContainerStatus, ExecOptions};
use crate::compose::model::Project;
use crate::registry::Transport;

/// `--index N` as pflag reads an int (`0`, the default, means "the first").
fn index(inv: &Invocation) -> Result<u64, Outcome> {
    let Some(text) = inv.flags.value(Flag::INDEX) else {
        return Ok(0);
    };
    text.parse().map_err(|_| {
        Outcome::failure(
            format!(
                "invalid argument \"{text}\" for \"--index\" flag: strconv.ParseInt: parsing \"{text}\": invalid \
                 syntax\n"
            ),
            1,
        )
    })
}

/// The running container of `service` that `compose exec` runs in: number `index` (any with `0`), the lowest
/// number first and a service's own container before a one-off, in Compose's words when there is none.
pub(super) fn target<'m>(found: &'m [Member], service: &str, index: u64) -> Result<&'m Member, String> {
    let mut running: Vec<&Member> = found
        .iter()
        .filter(|m| m.service == service && m.row.status == ContainerStatus::Running)
        .filter(|m| index == 0 || m.number == index)
        .collect();
    running.sort_by_key(|m| (m.number, m.oneoff));
    match running.first() {
        Some(m) => Ok(m),
        None if index > 0 => Err(format!("service {service:?} is not running container #{index}")),
        None => Err(format!("service {service:?} is not running")),
    }
}

/// What `POST /api/containers/{id}/exec` is asked for `compose exec [-T] [-e] [-u] [-w] SERVICE CMD...`: a TTY
/// unless `-T`, stdin open (Compose's hidden `-i` is on).
fn exec_options(inv: &Invocation) -> ExecOptions {
    let flags = &inv.flags;
    ExecOptions {
        cmd: inv.args[1..].to_vec(),
        tty: !flags.is_set(Flag::NO_TTY),
        interactive: true,
        env: flags.values(Flag::ENV).to_vec(),
        user: flags.value(Flag::USER).map(str::to_string),
        workdir: flags.value(Flag::WORKDIR).map(str::to_string),
    }
}

/// Start the process `compose exec` runs: its exec id and the container it runs in.
async fn start<T: Transport>(
    companion: &Companion<'_, T>,
    inv: &Invocation,
    project: &Project,
) -> Result<(String, String), Outcome> {
    let index = index(inv)?;
    let found = members(companion, &project.name)
        .await
        .map_err(|e| Outcome::failure(format!("{e}\n"), 1))?;
    let member =
        target(&found, &inv.args[0], index).map_err(|why| Outcome::failure(format!("{why}\n"), 1))?;
    let created = companion
        .exec(&member.row.id, &exec_options(inv))
        .await
        .map_err(|e| Outcome::failure(format!("Error response from daemon: {e}\n"), 1))?;
    Ok((created.id, member.row.name.clone()))
}

/// `docker compose exec -d ...`: the process started, nothing printed (as Compose).
pub async fn detached<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    match start(&companion, inv, project).await {
        Ok(_) => Outcome::default(),
        Err(failed) => failed,
    }
}

/// `docker compose exec ...` attached: the process started, and where the terminal attaches to it.
pub async fn attached<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
) -> Result<AttachTarget, Outcome> {
    let companion = Companion::new(ctx.transport, ctx.base);
    let (id, container) = start(&companion, inv, project).await?;
    target_of(&companion, &paths::exec_attach_ticket(&id), container).await
}

/// Where the terminal attaches to `container`'s process: the attach path with a fresh ticket from `ticket_path`.
pub(super) async fn target_of<T: Transport>(
    companion: &Companion<'_, T>,
    ticket_path: &str,
    container: String,
) -> Result<AttachTarget, Outcome> {
    match companion.attach_path(ticket_path).await {
        Ok(path) => Ok(AttachTarget { container, path }),
        Err(e) => Err(Outcome::failure(format!("{e}\n"), 126)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ContainerSummary;
    use crate::cli::interpret::plan_line;
    use crate::cli::outcome::Step;

    fn member(service: &str, number: u64, oneoff: bool, status: ContainerStatus) -> Member {
        let name = format!("app-{service}-{number}");
        Member {
            service: service.into(),
            number,
            oneoff,
            row: ContainerSummary {
                id: format!("{service}-{number}-{oneoff}"),
                ..crate::cli::compose_project::tests::row(&name, "app", status)
            },
        }
    }

    #[test]
    fn exec_runs_in_the_first_running_container_or_says_so_in_composes_words() {
        let found = vec![
            member("web", 2, false, ContainerStatus::Running),
            member("web", 1, true, ContainerStatus::Running),
            member("web", 1, false, ContainerStatus::Running),
            member("db", 1, false, ContainerStatus::Exited),
        ];
        let first = target(&found, "web", 0).unwrap();
        assert_eq!((first.number, first.oneoff), (1, false));
        assert_eq!(target(&found, "web", 2).unwrap().number, 2);
        assert_eq!(
            target(&found, "web", 3).unwrap_err(),
            "service \"web\" is not running container #3"
        );
        assert_eq!(
            target(&found, "db", 0).unwrap_err(),
            "service \"db\" is not running"
        );
        assert_eq!(
            target(&found, "nope", 0).unwrap_err(),
            "service \"nope\" is not running"
        );
    }

    #[test]
    fn exec_flags_as_compose_reads_them() {
        let Step::Compose(inv) =
            plan_line("docker compose exec -T -e A=1 -u 1000 -w /tmp --index 2 web sh -c 'exit 3'")
        else {
            panic!("not a compose line");
        };
        let sub = crate::cli::compose::subcommand(&inv).unwrap();
        let options = exec_options(&sub);
        assert_eq!(options.cmd, ["sh", "-c", "exit 3"]);
        assert!(!options.tty && options.interactive);
        assert_eq!(options.env, ["A=1"]);
        assert_eq!(options.user.as_deref(), Some("1000"));
        assert_eq!(options.workdir.as_deref(), Some("/tmp"));
        assert_eq!(index(&sub), Ok(2));
        let Step::Compose(inv) = plan_line("docker compose exec web ls -l") else {
            panic!("not a compose line");
        };
        let sub = crate::cli::compose::subcommand(&inv).unwrap();
        assert!(exec_options(&sub).tty);
        assert_eq!(exec_options(&sub).cmd, ["ls", "-l"]);
    }
}
