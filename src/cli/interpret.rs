//! Running a terminal line: parse it, answer what needs no backend (help, version, errors), and name what a
//! command still needs when its backend is not available.

use super::containers;
use super::help;
use super::parse::{parse, Invocation, Parsed};
use super::words::split_words;
use crate::registry::transport::Transport;

/// The exit code of a command stopped by Ctrl-C, as a shell reports SIGINT (128 + 2).
pub const INTERRUPTED: i32 = 130;

/// What a command printed and how it ended, like a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl Outcome {
    pub fn success(stdout: String) -> Self {
        Outcome {
            stdout,
            stderr: String::new(),
            exit_code: 0,
        }
    }

    pub fn failure(stderr: String, exit_code: i32) -> Self {
        Outcome {
            stdout: String::new(),
            stderr,
            exit_code,
        }
    }
}

/// What a line needs: an answer now, or a call to the companion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Done(Outcome),
    /// A container command, answered by the companion's container API.
    Companion(Invocation),
    /// `docker build`: needs the project's files as its context (`cli::build::build`).
    Build(Invocation),
    /// `docker run -it` (or `-i`, `-t`) and `docker exec`: the companion starts the process
    /// (`cli::attach::start`), then the caller attaches the terminal to it over the attach WebSocket instead of
    /// waiting for its output.
    Attach(Invocation),
}

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
    let needs = match inv.command.path {
        ["container", "run"] | ["container", "exec"] if super::attach::attaches(&inv) => {
            return Step::Attach(inv)
        }
        ["container", "run"]
        | ["container", "exec"]
        | ["container", "ls"]
        | ["container", "logs"]
        | ["container", "stop"]
        | ["container", "kill"]
        | ["container", "rm"] => return Step::Companion(inv),
        ["version"] => {
            return Step::Done(Outcome::success(format!(
                "Client:\n Version:    Slipway {}\n",
                crate::VERSION
            )))
        }
        ["build"] => return Step::Build(inv),
        ["image", "ls"]
        | ["image", "rm"]
        | ["image", "inspect"]
        | ["image", "history"]
        | ["image", "tag"]
        | ["image", "push"]
        | ["image", "pull"]
        | ["login"]
        | ["logout"]
        | ["system", "df"] => return Step::Companion(inv),
        ["image", "save"] => {
            return Step::Done(Outcome::failure(
                "slipway: 'docker save' runs in the Slipway page's terminal (a browser download); on the command \
                 line use `slipway build --output type=docker,dest=FILE`\n"
                    .into(),
                1,
            ))
        }
        _ => "the workspace's terminal work",
    };
    Step::Done(Outcome::failure(
        format!(
            "slipway: 'docker {}' is understood but not available yet: it needs {needs}, which is not built yet",
            inv.typed.join(" ")
        ),
        1,
    ))
}

/// Answer a line without a companion: container commands say that they need one.
pub fn interpret_line(line: &str) -> Outcome {
    match plan_line(line) {
        Step::Done(outcome) => outcome,
        Step::Companion(inv) | Step::Build(inv) | Step::Attach(inv) => Outcome::failure(
            format!(
                "slipway: 'docker {}' needs the Slipway companion server",
                inv.typed.join(" ")
            ),
            1,
        ),
    }
}

/// Run a container command against the companion at `base` ("" = the page's own origin).
pub async fn run_on_companion<T: Transport>(
    transport: &T,
    base: &str,
    inv: &Invocation,
    now: u64,
) -> Outcome {
    match inv.command.path {
        ["container", "run"] => containers::run(transport, base, inv, None).await,
        ["container", "ls"] => containers::ps(transport, base, inv, now).await,
        ["container", "logs"] => containers::logs(transport, base, inv, None).await,
        _ => containers::each_container(transport, base, inv).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_version_and_errors_need_no_backend() {
        assert!(interpret_line("docker --help").stdout.contains("Commands:"));
        assert!(interpret_line("docker run --help")
            .stdout
            .contains("Usage:  docker container run"));
        let typo = interpret_line("docker biuld");
        assert_eq!(typo.exit_code, 1);
        assert!(
            typo.stderr.contains("Did you mean this?\n\tbuild"),
            "{}",
            typo.stderr
        );
        assert_eq!(interpret_line("").exit_code, 0);
        assert_eq!(interpret_line("ls -l").exit_code, 127);
        assert_eq!(interpret_line("docker run 'x").exit_code, 2);
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
    fn commands_without_a_backend_say_what_they_need() {
        let out = interpret_line("docker build -t user/app:v1 .");
        assert_eq!(out.exit_code, 1);
        assert!(
            out.stderr.contains("needs the Slipway companion"),
            "{}",
            out.stderr
        );
        assert!(interpret_line("docker push user/app:v1")
            .stderr
            .contains("needs the Slipway companion"));
    }
}
