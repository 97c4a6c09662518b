//! The interpreter's dispatch: [`plan_line`] parses a terminal line and answers what needs no backend (help,
//! version, errors) or names the backend a command runs on; [`run_command`] runs a companion command. Every front
//! end (the page's terminal, `slipway docker`, the tests) goes through these two.

use super::context::CommandContext;
use super::outcome::{Outcome, Step};
use super::parse::{parse, Invocation, Parsed};
use super::spec::{Backend, CommandId, Flag};
use super::words::split_words;
use super::{
    attach, catalog, changes, commit, compose, containers, help, image_info, images, inspect_kinds, login,
    manage, ports, resources, system, transfer,
};
use crate::registry::transport::Transport;

/// Interpret one line typed at the prompt. Only `docker ...` lines are commands here.
pub fn plan_line(line: &str) -> Step {
    match split_words(line) {
        Ok(words) => plan_words(&words),
        Err(e) => Step::Done(Outcome::failure(format!("slipway: {e}"), 2)),
    }
}

/// Interpret a command already split into words (`["docker", "images"]`), as `slipway docker` receives it.
pub fn plan_words(words: &[String]) -> Step {
    match words.first().map(String::as_str) {
        None => return Step::Done(Outcome::default()),
        Some("docker") => {}
        Some(other) => {
            return Step::Done(Outcome::failure(
                format!("slipway: {other}: command not found (this terminal runs docker commands: try 'docker --help')"),
                127,
            ))
        }
    }
    let inv = match parse(words) {
        Err(e) => return Step::Done(Outcome::failure(e.to_string(), e.exit_code())),
        Ok(Parsed::Help(None)) => return Step::Done(Outcome::success(help::overview())),
        Ok(Parsed::Help(Some(command))) => return Step::Done(Outcome::success(help::command_help(command))),
        Ok(Parsed::Version) => {
            return Step::Done(Outcome::success(format!(
                "Docker version (Slipway {})",
                crate::VERSION
            )))
        }
        Ok(Parsed::Run(inv)) => inv,
    };
    if attach::attaches(&inv) {
        return Step::Attach(inv);
    }
    match (inv.command.backend, inv.command.id) {
        (Backend::Companion, _) => Step::Companion(inv),
        // docker's version document needs the server's figures; the plain text is the interpreter's own.
        (_, CommandId::Version) if inv.flags.value(Flag::FORMAT).is_some() => Step::Companion(inv),
        (_, CommandId::Build) => Step::Build(inv),
        (_, CommandId::Compose) => compose::plan(inv),
        (_, CommandId::Version) => Step::Done(Outcome::success(format!(
            "Client:\n Version:    Slipway {}\n",
            crate::VERSION
        ))),
        // The page saves into a download before it plans a line (`cli::offline::plan_save`); natively the
        // companion's copy of the image is written into a file.
        (_, CommandId::ImageSave) => Step::Companion(inv),
        _ => Step::Done(Outcome::failure(
            format!(
                "slipway: 'docker {}' is understood but not available yet: it needs the workspace's terminal work, \
                 which is not built yet",
                inv.typed.join(" ")
            ),
            1,
        )),
    }
}

/// Run a command [`plan_line`] handed to the companion.
pub async fn run_command<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match inv.command.id {
        CommandId::ContainerRun => transfer::run_pulling_first(ctx, inv).await,
        CommandId::ContainerLs => containers::ps(ctx.transport, ctx.base, inv, ctx.now).await,
        CommandId::ContainerLogs => containers::logs(ctx.transport, ctx.base, inv, ctx.progress).await,
        CommandId::ContainerStop | CommandId::ContainerKill | CommandId::ContainerRm => {
            containers::each_container(ctx.transport, ctx.base, inv).await
        }
        CommandId::ContainerExec => attach::exec_detached(ctx, inv).await,
        CommandId::ContainerCreate => transfer::create_pulling_first(ctx, inv).await,
        CommandId::ContainerStart => manage::start(ctx, inv).await,
        CommandId::ContainerWait => manage::wait(ctx, inv).await,
        CommandId::ContainerRename => manage::rename(ctx, inv).await,
        CommandId::ContainerPause | CommandId::ContainerUnpause => manage::pause(ctx, inv).await,
        CommandId::ContainerTop => manage::top(ctx, inv).await,
        CommandId::ContainerPrune => manage::container_prune(ctx, inv).await,
        CommandId::ContainerRestart => changes::restart(ctx, inv).await,
        CommandId::ContainerDiff => changes::diff(ctx, inv).await,
        CommandId::SystemInfo => system::info(ctx, inv).await,
        CommandId::SystemEvents => super::events::events(ctx, inv).await,
        CommandId::Version => system::version(ctx, inv).await,
        CommandId::ContextLs => system::context_ls(ctx, inv),
        CommandId::ContainerStats => resources::stats(ctx, inv).await,
        CommandId::ContainerUpdate => resources::update(ctx, inv).await,
        CommandId::SystemPrune => manage::system_prune(ctx, inv).await,
        CommandId::Search => catalog::search(ctx, inv).await,
        CommandId::ManifestInspect => catalog::manifest_inspect(ctx, inv).await,
        CommandId::ContainerCommit => commit::commit(ctx, inv).await,
        CommandId::ContainerCp => super::cp::cp(ctx, inv).await,
        CommandId::ContainerExport => super::export_load::export(ctx, inv).await,
        CommandId::ImageLoad => super::load::load(ctx, inv).await,
        CommandId::ImageSave => super::export_load::save(ctx, inv).await,
        CommandId::ImagePrune => manage::image_prune(ctx, inv).await,
        CommandId::Inspect => inspect_kinds::inspect(ctx, inv).await,
        CommandId::ContainerPort => ports::port(ctx.transport, ctx.base, inv).await,
        CommandId::Login => login::login(ctx, inv).await,
        CommandId::Logout => login::logout(ctx, inv),
        CommandId::ImagePull => transfer::pull(ctx, inv).await,
        CommandId::ImagePush => transfer::push(ctx, inv).await,
        CommandId::ImageLs => images::list(ctx, inv).await,
        CommandId::ImageTag => images::tag(ctx, inv).await,
        CommandId::ImageRm => images::remove(ctx, inv).await,
        CommandId::ImageInspect => image_info::inspect(ctx, inv).await,
        CommandId::ImageHistory => image_info::history(ctx, inv).await,
        CommandId::SystemDf => image_info::system_df(ctx, inv).await,
        CommandId::NetworkCreate
        | CommandId::NetworkLs
        | CommandId::NetworkInspect
        | CommandId::NetworkRm
        | CommandId::NetworkConnect
        | CommandId::NetworkDisconnect
        | CommandId::NetworkPrune => super::networks::network(ctx, inv).await,
        CommandId::VolumeCreate
        | CommandId::VolumeLs
        | CommandId::VolumeInspect
        | CommandId::VolumeRm
        | CommandId::VolumePrune => super::volumes::volume(ctx, inv).await,
        _ => Outcome::failure(
            format!(
                "slipway: 'docker {}' is not available in this terminal yet",
                inv.typed.join(" ")
            ),
            1,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a line answers without any backend; a line that needs one is named by its step instead.
    fn answer(line: &str) -> Outcome {
        match plan_line(line) {
            Step::Done(outcome) => outcome,
            other => panic!("{line}: answered without a backend? {other:?}"),
        }
    }

    #[test]
    fn help_version_and_errors_need_no_backend() {
        assert!(answer("docker --help").stdout.contains("Commands:"));
        assert!(answer("docker run --help")
            .stdout
            .contains("Usage:  docker container run"));
        let typo = answer("docker biuld");
        assert_eq!(typo.exit_code, 1);
        assert!(
            typo.stderr.contains("Did you mean this?\n\tbuild"),
            "{}",
            typo.stderr
        );
        assert_eq!(answer("").exit_code, 0);
        assert_eq!(answer("ls -l").exit_code, 127);
        assert_eq!(answer("docker run 'x").exit_code, 2);
    }

    #[test]
    fn interactive_runs_attach_and_detached_ones_do_not() {
        for line in [
            "docker run -it busybox sh",
            "docker run -i busybox sh",
            "docker run -t busybox",
            "docker run --rm -it busybox",
        ] {
            assert!(matches!(plan_line(line), Step::Attach(_)), "{line}");
        }
        assert!(matches!(plan_line("docker exec -it web sh"), Step::Attach(_)));
        assert!(matches!(plan_line("docker exec web ls /"), Step::Attach(_)));
        for line in [
            "docker run -dit busybox sh",
            "docker run busybox echo hi",
            "docker exec -d web touch /x",
        ] {
            assert!(matches!(plan_line(line), Step::Companion(_)), "{line}");
        }
    }

    #[test]
    fn the_lifecycle_commands_go_to_the_companion_with_dockers_flags() {
        for line in [
            "docker create --name web -p 8000:8000 busybox sleep 1",
            "docker container create -it busybox sh",
            "docker start -a web",
            "docker wait web other",
            "docker rename web web2",
            "docker pause web",
            "docker container unpause web",
            "docker top web -ef",
            "docker container prune -f",
            "docker image prune -af",
            "docker inspect -f '{{.State.Status}}' web",
            "docker inspect --type image busybox",
        ] {
            assert!(matches!(plan_line(line), Step::Companion(_)), "{line}");
        }
        let detached = answer("docker create -d busybox");
        assert_eq!(detached.exit_code, 125, "docker create has no -d");
        assert!(
            detached.stderr.starts_with("unknown shorthand flag: 'd' in -d"),
            "{}",
            detached.stderr
        );
        let stdin = answer("docker start -i web");
        assert_eq!(stdin.exit_code, 125);
        assert!(
            stdin.stderr.starts_with("unsupported flag: ") && stdin.stderr.contains("docker run -it"),
            "{}",
            stdin.stderr
        );
        assert_eq!(answer("docker rename web").exit_code, 1);
        assert!(answer("docker container prune --help")
            .stdout
            .contains("Remove all stopped containers"));
    }

    #[test]
    fn commands_with_a_backend_are_handed_to_it() {
        assert!(matches!(
            plan_line("docker build -t user/app:v1 ."),
            Step::Build(_)
        ));
        for line in [
            "docker push user/app:v1",
            "docker images",
            "docker ps",
            "docker login",
        ] {
            assert!(matches!(plan_line(line), Step::Companion(_)), "{line}");
        }
    }
}
