//! Running a terminal line: parse it, answer what needs no backend (help, version, errors), and name what a
//! command still needs when its backend is not available.

use super::help;
use super::parse::{parse, Parsed};
use super::words::split_words;

/// What a command printed and how it ended, like a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl Outcome {
    fn ok(stdout: String) -> Self {
        Outcome {
            stdout,
            stderr: String::new(),
            exit_code: 0,
        }
    }

    fn fail(stderr: String, exit_code: i32) -> Self {
        Outcome {
            stdout: String::new(),
            stderr,
            exit_code,
        }
    }
}

/// Interpret one line typed at the prompt. Only `docker ...` lines are commands here.
pub fn interpret_line(line: &str) -> Outcome {
    let words = match split_words(line) {
        Ok(words) => words,
        Err(e) => return Outcome::fail(format!("slipway: {e}"), 2),
    };
    match words.first().map(String::as_str) {
        None => return Outcome::default(),
        Some("docker") => {}
        Some(other) => {
            return Outcome::fail(
                format!("slipway: {other}: command not found (this terminal runs docker commands: try 'docker --help')"),
                127,
            )
        }
    }
    match parse(&words) {
        Err(e) => Outcome::fail(e.to_string(), e.exit_code()),
        Ok(Parsed::Help(None)) => Outcome::ok(help::overview()),
        Ok(Parsed::Help(Some(command))) => Outcome::ok(help::command_help(command)),
        Ok(Parsed::Version) => Outcome::ok(format!("Docker version (Slipway {})", crate::VERSION)),
        Ok(Parsed::Run(inv)) => {
            let needs = match inv.command.path {
                ["build"]
                | ["image", "ls"]
                | ["image", "rm"]
                | ["image", "inspect"]
                | ["image", "history"]
                | ["image", "tag"]
                | ["image", "save"] => "the image builder",
                ["image", "push"] | ["image", "pull"] | ["login"] | ["logout"] => "the registry client",
                ["version"] => {
                    return Outcome::ok(format!("Client:\n Version:    Slipway {}\n", crate::VERSION))
                }
                _ => "the container runner",
            };
            Outcome::fail(
                format!(
                    "slipway: 'docker {}' is understood but not available yet: it needs {needs}, which is not built yet",
                    inv.typed.join(" ")
                ),
                1,
            )
        }
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
    fn commands_without_a_backend_say_what_they_need() {
        let out = interpret_line("docker build -t user/app:v1 .");
        assert_eq!(out.exit_code, 1);
        assert!(out.stderr.contains("needs the image builder"), "{}", out.stderr);
        assert!(interpret_line("docker push user/app:v1")
            .stderr
            .contains("the registry client"));
    }
}
