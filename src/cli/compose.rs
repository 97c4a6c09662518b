//! `docker compose`: its flags (`-f`, `-p`, `--profile`, `--env-file`), its subcommands (the table's
//! `COMPOSE_COMMANDS`), and `config` run on the project's files (the page's file tree, or the directory natively).
//! `up`, `down`, `ps` (`cli::compose_up`), `logs` (`cli::compose_logs`), `stop`, `start`, `restart`
//! (`cli::compose_manage`) and `ls` (`cli::compose_project`) run on the companion ([`run_project`]); the other
//! subcommands are understood and refused until they are built (docs/compose.md).

use std::collections::BTreeMap;

use super::context::CommandContext;
use super::help;
use super::outcome::{Outcome, Step};
use super::parse::{parse_command, Invocation, Parsed};
use super::spec::{Backend, CommandId, CommandSpec, Flag, COMPOSE_COMMANDS};
use super::{compose_attach, compose_logs, compose_manage, compose_project, compose_up};
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
fn subcommand(inv: &Invocation) -> Result<Invocation, Outcome> {
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
    if command.backend == Backend::NotYet {
        return Err(Outcome::failure(
            format!(
                "slipway: 'docker compose {word}' is understood but not available yet: 'docker compose up -d', \
                 'down', 'ps', 'logs', 'stop', 'start', 'restart' and 'ls' run a project here, and \
                 'docker compose config' shows it as Compose reads it\n"
            ),
            1,
        ));
    }
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
/// `ls` from the labels alone, the others on the project's files, `config` as well.
pub async fn run_project<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    files: &dyn ProjectFiles,
    env: &BTreeMap<String, String>,
    working_dir: &str,
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
    let mut outcome = match sub.command.id {
        CommandId::ComposeUp => compose_attach::up(ctx, &sub, &loaded).await,
        CommandId::ComposeDown => compose_up::down(ctx, &sub, project).await,
        CommandId::ComposePs => compose_up::ps(ctx, &sub, project).await,
        CommandId::ComposeLogs => compose_logs::logs(ctx, &sub, project).await,
        CommandId::ComposeStop | CommandId::ComposeStart | CommandId::ComposeRestart => {
            compose_manage::manage(ctx, &sub, project).await
        }
        _ => return config_outcome(&sub, &loaded),
    };
    outcome.stderr.insert_str(0, &warnings(&loaded.warnings));
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
        CommandId::ComposeConfig | CommandId::ComposeUp => sub.args.clone(),
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
        let later = answer("docker compose build");
        assert_eq!(later.exit_code, 1);
        says(
            &later.stderr,
            "'docker compose build' is understood but not available yet",
        );
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
