//! What running a command produced (its output and exit code, like a process) and what a typed line still
//! needs before it can run: the interpreter's result types, shared by every front end and every command.

use super::parse::Invocation;

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
    /// `docker compose`: needs the project's files (`cli::compose::run`).
    Compose(Invocation),
}
