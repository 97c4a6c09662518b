//! The terminal pane's state as a reducer: screen lines, the input line, and history with ↑/↓.

use crate::cli::context::Stream;
use crate::cli::interpret::{plan_line, Outcome, Step};
use crate::cli::tty_screen::TtyScreen;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermLine {
    /// What the learner typed, shown after the prompt.
    Command(String),
    Stdout(String),
    Stderr(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TerminalState {
    pub lines: Vec<TermLine>,
    pub input: String,
    pub history: Vec<String>,
    /// Position while browsing history with ↑/↓; `None` when editing a new line.
    browsing: Option<usize>,
    /// A command is running on the companion; its output arrives with `Finished`.
    pub busy: bool,
    /// The line of the command in flight.
    running: Option<String>,
    /// Commands that finished, with their exit codes, oldest first (lesson checks read them).
    pub finished: Vec<(String, i32)>,
    /// `docker run -it`: the terminal belongs to this container until it exits.
    pub attached: Option<Attachment>,
    /// The running command's keyed lines (a layer's progress) and where each is on screen.
    keyed: Vec<(String, usize)>,
}

/// A container the terminal is attached to: its name and its TTY screen so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub container: String,
    pub screen: TtyScreen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalAction {
    Edit(String),
    Submit,
    HistoryPrevious,
    HistoryNext,
    /// A line the running command printed as it went (pull and push progress).
    Progress(Stream, String),
    /// A layer's status line (`abc123: Pushing [==>  ] 1MB/3MB`): it replaces the running command's earlier line
    /// with the same key, as docker redraws a layer's line on a terminal.
    Status {
        stream: Stream,
        key: String,
        line: String,
    },
    /// The companion answered the running command.
    Finished(Outcome),
    /// The running `docker run -it` started container NAME and the terminal now shows its TTY.
    Attached(String),
    /// Output of the attached container.
    TtyOutput(Vec<u8>),
    /// The attached container exited (or the connection ended): its screen stays, the prompt comes back.
    Detached(Outcome),
}

pub const PROMPT: &str = "$ ";

/// What a key pressed while attached sends to the container's TTY, as a terminal would: Enter is `\r`,
/// Backspace DEL, Ctrl-letter its control byte (Ctrl-C `\x03`, Ctrl-D `\x04`), arrows their escapes, a
/// printable key its text. `None`: the key sends nothing (Shift alone, F-keys).
pub fn key_input(key: &str, ctrl: bool) -> Option<Vec<u8>> {
    let bytes: &[u8] = match key {
        "Enter" => b"\r",
        "Backspace" => b"\x7f",
        "Tab" => b"\t",
        "Escape" => b"\x1b",
        "ArrowUp" => b"\x1b[A",
        "ArrowDown" => b"\x1b[B",
        "ArrowRight" => b"\x1b[C",
        "ArrowLeft" => b"\x1b[D",
        "Home" => b"\x1b[H",
        "End" => b"\x1b[F",
        "Delete" => b"\x1b[3~",
        _ => {
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            return Some(match c {
                c if ctrl && c.is_ascii_alphabetic() => vec![c.to_ascii_lowercase() as u8 - b'a' + 1],
                c => c.to_string().into_bytes(),
            });
        }
    };
    Some(bytes.to_vec())
}

impl TerminalState {
    /// A fresh screen with history from an earlier visit.
    pub fn with_history(history: Vec<String>) -> Self {
        TerminalState {
            history,
            ..Default::default()
        }
    }

    fn show(&mut self, outcome: Outcome) {
        if !outcome.stdout.is_empty() {
            self.lines
                .push(TermLine::Stdout(outcome.stdout.trim_end().to_string()));
        }
        if !outcome.stderr.is_empty() {
            self.lines
                .push(TermLine::Stderr(outcome.stderr.trim_end().to_string()));
        }
    }

    pub fn reduce(mut self, action: TerminalAction) -> Self {
        match action {
            TerminalAction::Edit(text) => {
                self.input = text;
                self.browsing = None;
            }
            TerminalAction::Submit => {
                let line = std::mem::take(&mut self.input);
                self.browsing = None;
                if !line.trim().is_empty() && self.history.last() != Some(&line) {
                    self.history.push(line.clone());
                }
                if line.trim() == "clear" {
                    self.lines.clear();
                    return self;
                }
                self.lines.push(TermLine::Command(line.clone()));
                self.keyed.clear();
                if crate::cli::offline::plan_save(&line).is_some() {
                    // `docker save`: the page makes the download, then says how it went (`Finished`).
                    self.busy = true;
                    self.running = Some(line);
                    return self;
                }
                match plan_line(&line) {
                    Step::Done(outcome) => {
                        self.finished.push((line, outcome.exit_code));
                        self.show(outcome);
                    }
                    Step::Companion(_) | Step::Build(_) | Step::Attach(_) => {
                        self.busy = true;
                        self.running = Some(line);
                    }
                }
            }
            TerminalAction::Progress(Stream::Stdout, line) => self.lines.push(TermLine::Stdout(line)),
            TerminalAction::Progress(Stream::Stderr, line) => self.lines.push(TermLine::Stderr(line)),
            TerminalAction::Status { stream, key, line } => {
                let line = match stream {
                    Stream::Stdout => TermLine::Stdout(line),
                    Stream::Stderr => TermLine::Stderr(line),
                };
                let on_screen = self.keyed.iter().find(|(k, _)| *k == key).map(|&(_, at)| at);
                match on_screen {
                    Some(at) if at < self.lines.len() => self.lines[at] = line,
                    _ => {
                        self.keyed.push((key, self.lines.len()));
                        self.lines.push(line);
                    }
                }
            }
            TerminalAction::Attached(container) => {
                self.attached = Some(Attachment {
                    container,
                    screen: TtyScreen::default(),
                })
            }
            TerminalAction::TtyOutput(bytes) => {
                if let Some(a) = self.attached.as_mut() {
                    a.screen.feed(&bytes);
                }
            }
            TerminalAction::Detached(outcome) => {
                if let Some(a) = self.attached.take() {
                    self.lines
                        .extend(a.screen.finished_lines().into_iter().map(TermLine::Stdout));
                }
                return self.reduce(TerminalAction::Finished(outcome));
            }
            TerminalAction::Finished(outcome) => {
                self.busy = false;
                if let Some(line) = self.running.take() {
                    self.finished.push((line, outcome.exit_code));
                }
                self.show(outcome);
            }
            TerminalAction::HistoryPrevious if !self.history.is_empty() => {
                let at = match self.browsing {
                    Some(i) => i.saturating_sub(1),
                    None => self.history.len() - 1,
                };
                self.browsing = Some(at);
                self.input = self.history[at].clone();
            }
            TerminalAction::HistoryNext => match self.browsing {
                Some(i) if i + 1 < self.history.len() => {
                    self.browsing = Some(i + 1);
                    self.input = self.history[i + 1].clone();
                }
                Some(_) => {
                    self.browsing = None;
                    self.input.clear();
                }
                None => {}
            },
            TerminalAction::HistoryPrevious => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(state: TerminalState, line: &str) -> TerminalState {
        state
            .reduce(TerminalAction::Edit(line.into()))
            .reduce(TerminalAction::Submit)
    }

    #[test]
    fn submitting_runs_the_interpreter_and_records_history() {
        let s = typed(TerminalState::default(), "docker biuld");
        assert_eq!(s.lines[0], TermLine::Command("docker biuld".into()));
        assert!(matches!(&s.lines[1], TermLine::Stderr(e) if e.contains("\tbuild")));
        assert_eq!(s.history, ["docker biuld"]);
        assert_eq!(s.finished, [("docker biuld".to_string(), 1)]);
        assert!(s.input.is_empty());
    }

    #[test]
    fn arrows_walk_history_and_back_to_an_empty_line() {
        let s = typed(typed(TerminalState::default(), "docker images"), "docker ps");
        let s = s.reduce(TerminalAction::HistoryPrevious);
        assert_eq!(s.input, "docker ps");
        let s = s
            .reduce(TerminalAction::HistoryPrevious)
            .reduce(TerminalAction::HistoryPrevious);
        assert_eq!(s.input, "docker images");
        let s = s.reduce(TerminalAction::HistoryNext);
        assert_eq!(s.input, "docker ps");
        let s = s.reduce(TerminalAction::HistoryNext);
        assert_eq!(s.input, "");
    }

    #[test]
    fn container_commands_wait_for_the_companion() {
        let s = typed(TerminalState::default(), "docker run busybox echo hi");
        assert!(s.busy);
        assert_eq!(s.lines, [TermLine::Command("docker run busybox echo hi".into())]);
        let s = s.reduce(TerminalAction::Finished(Outcome {
            stdout: "hi\n".into(),
            ..Default::default()
        }));
        assert!(!s.busy);
        assert_eq!(s.lines[1], TermLine::Stdout("hi".into()));
        assert_eq!(s.finished, [("docker run busybox echo hi".to_string(), 0)]);
    }

    #[test]
    fn progress_lines_show_while_a_command_runs() {
        let s = typed(TerminalState::default(), "docker pull busybox");
        assert!(s.busy);
        let s = s.reduce(TerminalAction::Progress(
            Stream::Stdout,
            "abc: Pull complete".into(),
        ));
        assert!(s.busy);
        assert_eq!(s.lines[1], TermLine::Stdout("abc: Pull complete".into()));
        let s = s.reduce(TerminalAction::Finished(Outcome::success(
            "docker.io/library/busybox:latest\n".into(),
        )));
        assert!(!s.busy);
        assert_eq!(s.lines.len(), 3);
    }

    #[test]
    fn a_layers_status_replaces_its_earlier_line_in_place() {
        let status = |key: &str, line: &str| TerminalAction::Status {
            stream: Stream::Stdout,
            key: key.into(),
            line: line.into(),
        };
        let s = typed(TerminalState::default(), "docker push learner1/app")
            .reduce(TerminalAction::Progress(
                Stream::Stdout,
                "The push refers to repository [docker.io/learner1/app]".into(),
            ))
            .reduce(status("aaa", "aaa: Pushing [=>   ] 1MB/3MB"))
            .reduce(status("bbb", "bbb: Layer already exists"))
            .reduce(status("aaa", "aaa: Pushing [===> ] 2MB/3MB"));
        assert_eq!(s.lines.len(), 4);
        assert_eq!(
            s.lines[2],
            TermLine::Stdout("aaa: Pushing [===> ] 2MB/3MB".into())
        );
        let s = s.reduce(status("aaa", "aaa: Pushed"));
        assert_eq!(
            s.lines[1..],
            [
                TermLine::Stdout("The push refers to repository [docker.io/learner1/app]".into()),
                TermLine::Stdout("aaa: Pushed".into()),
                TermLine::Stdout("bbb: Layer already exists".into()),
            ]
        );
        // The next command's layer with the same id gets a line of its own.
        let s = typed(s, "docker push learner1/app").reduce(status("aaa", "aaa: Layer already exists"));
        assert_eq!(s.lines.len(), 6);
        assert_eq!(s.lines[5], TermLine::Stdout("aaa: Layer already exists".into()));
    }

    #[test]
    fn an_interactive_run_shows_the_containers_screen_until_it_exits() {
        let s = typed(TerminalState::default(), "docker run -it busybox sh");
        assert!(s.busy && s.attached.is_none());
        let s = s
            .reduce(TerminalAction::Attached("eager_turing".into()))
            .reduce(TerminalAction::TtyOutput(b"/ # echo hi\r\nhi\r\n/ # ".to_vec()));
        let attached = s.attached.as_ref().expect("attached");
        assert_eq!(attached.container, "eager_turing");
        assert_eq!(attached.screen.lines(), ["/ # echo hi", "hi", "/ #"]);
        assert!(s.busy);
        let s = s
            .reduce(TerminalAction::TtyOutput(b"exit\r\n".to_vec()))
            .reduce(TerminalAction::Detached(Outcome::failure(String::new(), 0)));
        assert!(!s.busy && s.attached.is_none());
        assert_eq!(
            s.lines[1..],
            ["/ # echo hi", "hi", "/ # exit"].map(|l| TermLine::Stdout(l.into()))
        );
        assert_eq!(s.finished, [("docker run -it busybox sh".to_string(), 0)]);
    }

    #[test]
    fn keys_become_terminal_bytes() {
        assert_eq!(key_input("Enter", false).unwrap(), b"\r");
        assert_eq!(key_input("Backspace", false).unwrap(), b"\x7f");
        assert_eq!(key_input("c", true).unwrap(), b"\x03");
        assert_eq!(key_input("D", true).unwrap(), b"\x04");
        assert_eq!(key_input("é", false).unwrap(), "é".as_bytes());
        assert_eq!(key_input(" ", false).unwrap(), b" ");
        assert_eq!(key_input("ArrowUp", false).unwrap(), b"\x1b[A");
        assert_eq!(key_input("Shift", false), None);
    }

    #[test]
    fn clear_empties_the_screen() {
        let s = typed(typed(TerminalState::default(), "docker --help"), "clear");
        assert!(s.lines.is_empty());
    }
}
