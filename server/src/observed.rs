//! What the runner saw a session's commands do, told to whoever listens (classroom mode's progress,
//! `classroom::progress_watch`). Its own module, below both: the runner calls [`step_ended`] without knowing the
//! classroom, which reads the runner.

use std::sync::{Arc, OnceLock};

/// One thing the server ran for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A RUN step of a build ended.
    Step {
        /// The step's command line (`RUN` left out).
        command: String,
        exit_code: i32,
        /// The end of its output.
        tail: String,
    },
}

type Sink = Arc<dyn Fn(&str, Seen) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Send what the server sees to `sink` (`session token`, what): the first listener of the process keeps it.
pub fn listen(sink: Sink) {
    let _ = SINK.set(sink);
}

/// How much of a failed step's output is kept: its last lines, as the build shows them.
const TAIL_BYTES: usize = 400;

/// A RUN step of `session` ended (`args`: the container's argument vector, the shell's `-c` script last).
pub fn step_ended(session: &str, args: &[String], exit_code: i32, output: &str) {
    let Some(sink) = SINK.get() else {
        return;
    };
    let command = args.last().cloned().unwrap_or_default();
    let mut start = output.len().saturating_sub(TAIL_BYTES);
    while !output.is_char_boundary(start) {
        start += 1;
    }
    let tail = output[start..].trim().to_string();
    sink(
        session,
        Seen::Step {
            command,
            exit_code,
            tail,
        },
    );
}
