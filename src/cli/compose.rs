//! `docker compose`: its flags (`-f`, `-p`, `--profile`, `--env-file`), its subcommands (the table's
//! `COMPOSE_COMMANDS`), and `config` run on the project's files (the page's file tree, or the directory natively).
//! `up`, `down`, `ps` (`cli::compose_up`), `logs` (`cli::compose_logs`), `stop`, `start`, `restart`
//! (`cli::compose_manage`) and `ls` (`cli::compose_project`) run on the companion ([`run_project`]); the other
//! subcommands are understood and refused until they are built (docs/compose.md).

use std::collections::BTreeMap;

use super::attach::AttachTarget;
use super::compose_build::{self, ImageBuilder};
use super::context::CommandContext;
use super::help;
use super::outcome::{Outcome, Step};
use super::parse::{parse_command, Invocation, Parsed};
use super::spec::{CommandId, CommandSpec, Flag, COMPOSE_COMMANDS};
use super::{
    compose_attach, compose_exec, compose_logs, compose_manage, compose_project, compose_run, compose_up,
};
use crate::compose::project::{load, Loaded, Options, ProjectFiles};
use crate::compose::render::config_yaml;
use crate::registry::Transport;

/// `docker compose` with no subcommand.
fn usage() -> String {
    let mut out = String::from("\nUsage:  docker compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker\n\n");
    out.push_str(
        &help::command_help(CommandSpec::of(CommandId::Compose))
            .lines()
            .skip(5)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    out.push_str("\n\nCommands:\n");
    for command in COMPOSE_COMMANDS {
        for name in command.names() {
            out.push_str(&format!("  {:10} {}\n", name[1], command.summary));
        }
    }
    out.push_str("\nRun 'docker compose COMMAND --help' for more information on a command.\n");
    out
}

/// The subcommand of a `docker compose` invocation, parsed (its `global` flags are compose's own), or what to
/// print instead (help, an unknown subcommand, a flag error, a subcommand not built yet).
pub(crate) fn subcommand(inv: &Invocation) -> Result<Invocation, Outcome> {
    let Some(word) = inv.args.first() else {
        return Err(Outcome::success(usage()));
    };
    let found = COMPOSE_COMMANDS
        .iter()
        .find_map(|c| c.names().find(|n| n[1] == word.as_str()).map(|n| (c, n.to_vec())));
    let Some((command, typed)) = found else {
        return Err(Outcome::failure(
            format!("unknown docker command: \"compose {word}\"\n"),
            1,
        ));
    };
    match parse_command(inv.flags.clone(), command, typed, &inv.args[1..]) {
        Ok(Parsed::Run(sub)) => Ok(sub),
        Ok(Parsed::Help(Some(c))) => Err(Outcome::success(help::command_help(c))),
        Ok(_) => Err(Outcome::success(usage())),
        Err(e) => Err(Outcome::failure(e.to_string(), e.exit_code())),
    }
}

/// What a `docker compose` line needs: an answer now, or the project's files ([`run`]).
pub fn plan(inv: Invocation) -> Step {
    match subcommand(&inv) {
        Ok(_) => Step::Compose(inv),
        Err(outcome) => Step::Done(outcome),
    }
}

/// Whether a `docker compose` line runs containers (`up`, `down`, `ps`, `logs`, `ls`, ...): it needs the
/// companion, `config` does not.
pub fn needs_companion(inv: &Invocation) -> bool {
    subcommand(inv).is_ok_and(|sub| sub.command.id != CommandId::ComposeConfig)
}

/// Whether a `docker compose` line attaches the terminal to a process (`exec` and `run` without `-d`): the
/// page runs it with [`attach_project`], as it runs `docker exec -it` and `docker run -it`.
pub fn attaches(inv: &Invocation) -> bool {
    subcommand(inv).is_ok_and(|sub| sub_attaches(&sub))
}

fn sub_attaches(sub: &Invocation) -> bool {
    matches!(sub.command.id, CommandId::ComposeExec | CommandId::ComposeRun)
        && !sub.flags.is_set(Flag::DETACH)
}

/// Whether the process a line [`attaches`] to has a TTY (`exec` and `run` without `-T`): without one the
/// terminal turns its `\n` into `\r\n` itself.
pub fn attach_tty(inv: &Invocation) -> bool {
    subcommand(inv).is_ok_and(|sub| !sub.flags.is_set(Flag::NO_TTY))
}

/// Start what a line that [`attaches`] runs, on the project's `files` against the companion of `ctx` (what `run`
/// builds first by `builder`): where the terminal attaches to it, or what to print instead.
pub async fn attach_project<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    files: &dyn ProjectFiles,
    env: &BTreeMap<String, String>,
    working_dir: &str,
    builder: Option<&dyn compose_build::ImageBuilder>,
) -> Result<AttachTarget, Outcome> {
    let (sub, loaded) = loaded(inv, files, env, working_dir)?;
    match sub.command.id {
        CommandId::ComposeRun => compose_run::attached(ctx, &sub, &loaded, builder).await,
        _ => compose_exec::attached(ctx, &sub, &loaded.project).await,
    }
}

/// Run a `docker compose` line [`plan`] handed over, on the project's `files`, without a companion: `config`
/// (the subcommands that run containers say they need one). `env` is the environment Compose runs in (none in
/// the page); `working_dir` is the project directory as shown (`/project` in the page).
pub fn run(
    inv: &Invocation,
    files: &dyn ProjectFiles,
    env: &BTreeMap<String, String>,
    working_dir: &str,
) -> Outcome {
    match loaded(inv, files, env, working_dir) {
        Ok((sub, _)) if sub.command.id != CommandId::ComposeConfig => Outcome::failure(
            format!(
                "slipway: 'docker compose {}' runs the project's containers: it needs the Slipway companion\n",
                sub.typed.get(1).copied().unwrap_or_default()
            ),
            1,
        ),
        Ok((sub, loaded)) => config_outcome(&sub, &loaded),
        Err(outcome) => outcome,
    }
}

/// Run a `docker compose` line [`plan`] handed over, on the project's `files`, against the companion of `ctx`:
/// `ls` from the labels alone, the others on the project's files, `config` as well. Nothing is built (a line
/// that needs a build says so): [`run_project_building`] builds.
pub async fn run_project<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    files: &dyn ProjectFiles,
    env: &BTreeMap<String, String>,
    working_dir: &str,
) -> Outcome {
    run_project_building(ctx, inv, files, (env, working_dir), None).await
}

/// [`run_project`], with `builder` running the `docker build` lines of `build`, `up --build` and `up` when an
/// image is missing (`cli::compose_build`).
pub async fn run_project_building<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    files: &dyn ProjectFiles,
    (env, working_dir): (&BTreeMap<String, String>, &str),
    builder: Option<&dyn ImageBuilder>,
) -> Outcome {
    // `ls` lists every project of the session from its containers' labels: no compose file is read.
    if let Ok(sub) = subcommand(inv).map_err(drop) {
        if sub.command.id == CommandId::ComposeLs {
            return compose_project::ls(ctx, &sub).await;
        }
    }
    let (sub, loaded) = match loaded(inv, files, env, working_dir) {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let project = &loaded.project;
    if let Err(e) = compose_up::ProgressMode::of(&sub, ctx.status.is_some()) {
        return Outcome::failure(format!("{e}\n"), 1);
    }
    let mut warned = warnings(&loaded.warnings);
    let mut outcome = match sub.command.id {
        CommandId::ComposeUp => {
            let mut built = compose_build::before_up(ctx, &sub, project, builder).await;
            if built.exit_code == 0 {
                // On a terminal `up` draws its block as it goes: what comes before it is shown now.
                built.stderr.insert_str(0, &std::mem::take(&mut warned));
                compose_up::show_first(ctx, &mut built);
                warned = std::mem::take(&mut built.stderr);
            }
            then(built, compose_attach::up(ctx, &sub, &loaded)).await
        }
        CommandId::ComposeDown => match sub.flags.value(Flag::RMI) {
            Some(rmi) => {
                let down = compose_up::down(ctx, &sub, project).await;
                then(down, compose_build::remove_images(ctx, &sub, project, rmi)).await
            }
            None => compose_up::down(ctx, &sub, project).await,
        },
        CommandId::ComposeBuild => {
            let mode = compose_up::ProgressMode::of_line(ctx, &sub);
            compose_build::build(project, &sub, builder, mode).await
        }
        CommandId::ComposePull => compose_build::pull(ctx, &sub, project).await,
        CommandId::ComposePush => compose_build::push(ctx, &sub, project).await,
        CommandId::ComposePs => compose_up::ps(ctx, &sub, project).await,
        CommandId::ComposeLogs => compose_logs::logs(ctx, &sub, project).await,
        CommandId::ComposeStop | CommandId::ComposeStart | CommandId::ComposeRestart => {
            compose_manage::manage(ctx, &sub, project).await
        }
        CommandId::ComposeExec | CommandId::ComposeRun if sub_attaches(&sub) => Outcome::failure(
            format!(
                "slipway: 'docker {}' attaches to the container: attached sessions run in the Slipway page's \
                 terminal only; here, run it detached (-d)\n",
                sub.typed.join(" ")
            ),
            1,
        ),
        CommandId::ComposeExec => compose_exec::detached(ctx, &sub, project).await,
        CommandId::ComposeTop => compose_exec::top(ctx, &sub, project).await,
        CommandId::ComposeRun => {
            let built = compose_run::build_first(ctx, &sub, project, builder).await;
            then(built, compose_run::detached(ctx, &sub, &loaded)).await
        }
        _ => return config_outcome(&sub, &loaded),
    };
    outcome.stderr.insert_str(0, &warned);
    outcome
}

/// `first`, then (when it worked) what `next` prints after it.
async fn then(first: Outcome, next: impl std::future::Future<Output = Outcome>) -> Outcome {
    if first.exit_code != 0 {
        return first;
    }
    let mut outcome = next.await;
    outcome.stdout.insert_str(0, &first.stdout);
    outcome.stderr.insert_str(0, &first.stderr);
    outcome
}

/// The subcommand and the project it runs on, or what to print instead (help, a file Compose refuses).
fn loaded(
    inv: &Invocation,
    files: &dyn ProjectFiles,
    env: &BTreeMap<String, String>,
    working_dir: &str,
) -> Result<(Invocation, Loaded), Outcome> {
    let sub = subcommand(inv)?;
    let compose = &sub.global;
    let split = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    };
    // `config web` keeps only the named services (and what they need); `up web` starts them with theirs.
    let services = match sub.command.id {
        CommandId::ComposeConfig
        | CommandId::ComposeUp
        | CommandId::ComposeBuild
        | CommandId::ComposePull
        | CommandId::ComposePush => sub.args.clone(),
        // `run web` enables the service it runs (and what it needs), as Compose's `toProject` does.
        CommandId::ComposeRun => sub.args[..1].to_vec(),
        _ => Vec::new(),
    };
    let opts = Options {
        files: compose.values(Flag::FILE).to_vec(),
        project_name: compose.value(Flag::PROJECT_NAME).map(str::to_string),
        profiles: split(compose.values(Flag::PROFILE)),
        env: env.clone(),
        working_dir: working_dir.to_string(),
        env_files: compose.values(Flag::ENV_FILE).to_vec(),
        services,
        lenient_variables: false,
    };
    match load(files, &opts) {
        Ok(loaded) => Ok((sub, loaded)),
        Err(failure) => {
            let mut stderr = warnings(&failure.warnings);
            stderr.push_str(&failure.render());
            stderr.push('\n');
            Err(Outcome::failure(stderr, 1))
        }
    }
}

fn config_outcome(sub: &Invocation, loaded: &Loaded) -> Outcome {
    let mut outcome = Outcome::success(config(sub, loaded));
    outcome.stderr = warnings(&loaded.warnings);
    outcome
}

/// Compose's warnings as it prints them (`WARN[0000] The "X" variable is not set...`).
fn warnings(list: &[String]) -> String {
    list.iter().map(|w| format!("WARN[0000] {w}\n")).collect()
}

/// `config` and its listing flags.
fn config(sub: &Invocation, loaded: &Loaded) -> String {
    let project = &loaded.project;
    let enabled = || {
        project
            .services
            .values()
            .filter(|s| s.enabled(&project.active_profiles))
    };
    let lines = |names: Vec<String>| names.iter().map(|n| format!("{n}\n")).collect::<String>();
    if sub.flags.is_set(Flag::QUIET) {
        String::new()
    } else if sub.flags.is_set(Flag::SERVICES) {
        lines(enabled().map(|s| s.name.clone()).collect())
    } else if sub.flags.is_set(Flag::VOLUMES) {
        lines(project.volumes.keys().cloned().collect())
    } else if sub.flags.is_set(Flag::PROFILES) {
        let mut all: Vec<String> = project
            .services
            .values()
            .flat_map(|s| s.profiles.clone())
            .collect();
        all.sort();
        all.dedup();
        lines(all)
    } else if sub.flags.is_set(Flag::IMAGES) {
        lines(
            enabled()
                .map(|s| {
                    s.image
                        .clone()
                        .unwrap_or_else(|| format!("{}-{}", project.name, s.name))
                })
                .collect(),
        )
    } else {
        config_yaml(project)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::interpret::plan_line;

    fn answer(line: &str) -> Outcome {
        match plan_line(line) {
            Step::Done(outcome) => outcome,
            other => panic!("{line}: {other:?}"),
        }
    }

    /// `text` has `want` in it.
    fn says(text: &str, want: &str) {
        assert!(text.contains(want), "{want:?} is not in:\n{text}");
    }

    #[test]
    fn compose_lines_are_planned_with_composes_words() {
        let line = "docker compose -f a.yaml -p demo --profile x config --services";
        assert!(matches!(plan_line(line), Step::Compose(_)));
        assert!(matches!(plan_line("docker compose convert"), Step::Compose(_)));
        let usage = answer("docker compose").stdout;
        says(&usage, "Usage:  docker compose [OPTIONS] COMMAND");
        says(&usage, "-f, --file string");
        says(&usage, "  config     Parse, resolve");
        let help = answer("docker compose config --help").stdout;
        says(&help, "Usage:  docker compose config [OPTIONS] [SERVICE...]");
        assert!(matches!(plan_line("docker compose up -d"), Step::Compose(_)));
        assert!(matches!(
            plan_line("docker compose logs -f web"),
            Step::Compose(_)
        ));
        assert!(matches!(plan_line("docker compose top"), Step::Compose(_)));
        assert!(matches!(plan_line("docker compose build"), Step::Compose(_)));
        let unknown = answer("docker compose upp").stderr;
        assert_eq!(unknown, "unknown docker command: \"compose upp\"\n");
        let bad = answer("docker compose config --bogus");
        assert_eq!(bad.exit_code, 125);
        says(&bad.stderr, "unknown flag: --bogus");
        let json = answer("docker compose config --format json").stderr;
        says(&json, "the model is printed as YAML here");
        let dir = answer("docker compose --project-directory x config").stderr;
        says(&dir, "the project directory is the project's root here");
    }

    #[test]
    fn config_flags_list_what_they_name() {
        let mut files = BTreeMap::new();
        files.insert(
            "compose.yaml".to_string(),
            "services:\n  web:\n    build: .\n    depends_on: [db]\n  db:\n    image: postgres\n    volumes: [data:/d]\n  dbg:\n    image: busybox\n    profiles: [debug]\nvolumes:\n  data:\n".to_string(),
        );
        let run_line = |line: &str| match plan_line(line) {
            Step::Compose(inv) => run(&inv, &files, &BTreeMap::new(), "/project"),
            other => panic!("{line}: {other:?}"),
        };
        assert_eq!(run_line("docker compose config --services").stdout, "db\nweb\n");
        assert_eq!(
            run_line("docker compose --profile debug config --services").stdout,
            "db\ndbg\nweb\n"
        );
        assert_eq!(run_line("docker compose config --volumes").stdout, "data\n");
        assert_eq!(run_line("docker compose config --profiles").stdout, "debug\n");
        assert_eq!(
            run_line("docker compose config --images").stdout,
            "postgres\nproject-web\n"
        );
        assert_eq!(run_line("docker compose config -q"), Outcome::default());
        let only = run_line("docker compose config web").stdout;
        assert!(
            only.contains("  db:\n") && only.contains("  web:\n") && !only.contains("dbg"),
            "{only}"
        );
        assert_eq!(
            run_line("docker compose config nope").stderr,
            "no such service: nope\n"
        );
        assert_eq!(
            run_line("docker compose -p Demo config").stderr.lines().count(),
            1
        );
    }
}
