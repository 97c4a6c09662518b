//! `docker compose exec` and `top`. `exec`: a command in a running container of a service, found by the project's labels as
//! Compose finds it (`pkg/compose/containers.go`, `getSpecifiedContainer`), with a TTY unless `-T`. Attached, the
//! terminal connects to the process as for `docker exec -it` (`cli::attach`); with `-d` it only starts. See
//! docs/compose.md.

use super::attach::AttachTarget;
use super::compose_project::{members, Member};
use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{paths, Companion, ContainerStatus, ExecOptions, TopAnswer};
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
        Ok(path) => Ok(AttachTarget {
            container,
            path,
            quiet_detach: false,
        }),
        Err(e) => Err(Outcome::failure(format!("{e}\n"), 126)),
    }
}

/// `docker compose top [SERVICE...]`: one table of every running container's processes, as Compose's `runTop`
/// prints it (`cmd/compose/top.go`): `SERVICE`, `#` (the container's number), then `docker top`'s columns with
/// `CMD` last, containers by name, written with Go's tabwriter (at least 4 wide, 2 apart); nothing without
/// processes.
pub async fn top<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, project: &Project) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    let found = match members(&companion, &project.name).await {
        Ok(found) => found,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    let mut tables = Vec::new();
    for m in found
        .iter()
        .filter(|m| !m.oneoff && m.row.status == ContainerStatus::Running)
    {
        if !inv.args.is_empty() && !inv.args.contains(&m.service) {
            continue;
        }
        match companion.top(&m.row.id).await {
            Ok(answer) => tables.push((m.service.clone(), m.number, answer)),
            Err(e) => return Outcome::failure(format!("{e}\n"), 1),
        }
    }
    Outcome::success(top_table(&tables))
}

/// Compose's `collectTop` and `topPrint`: the columns in the order met, `CMD` moved last, `-` where a
/// container has no such column.
fn top_table(tables: &[(String, u64, TopAnswer)]) -> String {
    let mut header: Vec<String> = vec!["SERVICE".into(), "#".into()];
    for (_, _, answer) in tables {
        for title in &answer.titles {
            if !header.contains(title) {
                header.push(title.clone());
            }
        }
    }
    if let Some(at) = header.iter().position(|h| h == "CMD") {
        let cmd = header.remove(at);
        header.push(cmd);
    }
    let mut rows = vec![header.clone()];
    for (service, number, answer) in tables {
        for process in &answer.processes {
            let cell = |title: &String| match title.as_str() {
                "SERVICE" => service.clone(),
                "#" => number.to_string(),
                _ => answer
                    .titles
                    .iter()
                    .position(|t| t == title)
                    .and_then(|i| process.get(i).cloned())
                    .unwrap_or_else(|| "-".into()),
            };
            rows.push(header.iter().map(cell).collect());
        }
    }
    if rows.len() == 1 {
        return String::new();
    }
    super::format::tabwrite_padded(&rows, 4, 2)
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
    fn top_is_one_table_with_the_service_and_number_first_and_cmd_last() {
        let answer = |pids: &[&str]| TopAnswer {
            titles: ["UID", "PID", "CMD", "TIME"].map(String::from).to_vec(),
            processes: pids
                .iter()
                .map(|p| {
                    vec![
                        "root".into(),
                        p.to_string(),
                        "sleep 600".into(),
                        "00:00:00".into(),
                    ]
                })
                .collect(),
        };
        let tables = vec![
            ("db".to_string(), 1, answer(&["101"])),
            ("web".to_string(), 2, answer(&["202", "203"])),
        ];
        assert_eq!(
            top_table(&tables),
            "SERVICE  #   UID   PID  TIME      CMD\n\
             db       1   root  101  00:00:00  sleep 600\n\
             web      2   root  202  00:00:00  sleep 600\n\
             web      2   root  203  00:00:00  sleep 600\n"
        );
        assert_eq!(top_table(&[]), "");
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
