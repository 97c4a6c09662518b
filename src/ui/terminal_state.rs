//! The terminal pane's state as a reducer: the line editor while the prompt is up, the command in flight (and
//! Ctrl-C for it), a container's TTY while attached. Each action leaves the text for xterm.js in an output
//! buffer and says what the caller must start ([`Effect`]); nothing here touches the page.

use std::collections::VecDeque;

use super::line_editor::{decode, split_paste, Edit, Key, LineEditor, BRACKETED_PASTE_ON};
use crate::cli::context::Stream;
use crate::cli::interpret::{plan_line, Outcome, Step};

/// The exit code of a command stopped by Ctrl-C, as a shell reports SIGINT (128 + 2).
pub const INTERRUPTED: i32 = 130;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalState {
    pub editor: LineEditor,
    /// A command is running; its output arrives with `Finished`.
    pub busy: bool,
    /// The line of the command in flight.
    running: Option<String>,
    /// Commands that finished, with their exit codes, oldest first (lesson checks read them).
    pub finished: Vec<(String, i32)>,
    /// `docker run -it`: the terminal belongs to this container until it exits.
    pub attached: Option<String>,
    /// Ctrl-C was pressed for the command in flight; its answer is no longer shown.
    interrupted: bool,
    /// A paste's lines still to run, one after another as each command ends (a shell reads them in turn).
    pasted: VecDeque<String>,
    /// The paste's unfinished last line: it goes on the prompt once the lines before it ran.
    paste_rest: String,
    /// Rows printed since the running command started, and the row of each keyed status line among them.
    printed_rows: usize,
    keyed: Vec<(String, usize)>,
    cols: usize,
    rows: usize,
    output: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalAction {
    /// What xterm.js read from the keyboard (or a paste), as its `onData` gives it.
    Input(String),
    /// A command put on the line from outside (a lesson's "Type it" button).
    Prefill(String),
    /// Tab's answer for the text before the cursor, and the choices when there are several.
    Completed { before: String, choices: Vec<String> },
    /// The terminal's size in cells changed.
    Resize { cols: u16, rows: u16 },
    /// A line the running command printed as it went (pull and push progress).
    Progress(Stream, String),
    /// A layer's status line (`abc123: Pushing [==>  ] 1MB/3MB`): it replaces the running command's earlier line
    /// with the same key, as docker redraws a layer's line on a terminal.
    Status {
        stream: Stream,
        key: String,
        line: String,
    },
    /// The running command ended.
    Finished(Outcome),
    /// The running `docker run -it` started container NAME; its TTY now owns the terminal.
    Attached(String),
    /// The attached container exited (or the connection ended): the prompt comes back.
    Detached(Outcome),
}

/// What the caller must do after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Run the submitted line's command (a build, a companion command, or an attach).
    Run(Step),
    /// Complete this text (the line up to the cursor) and answer with `Completed`.
    Complete(String),
    /// Ctrl-C while a command runs: stop it (and its foreground container), then answer with `Finished`.
    Cancel,
    /// Keys for the attached container's TTY, unchanged (Ctrl-C is its `\x03`).
    ToContainer(String),
    /// `docker save`: the page makes the download (or answers docker's error), then says how it went
    /// (`Finished`).
    Save(Result<crate::cli::offline::SaveRequest, Outcome>),
}

impl Default for TerminalState {
    fn default() -> Self {
        TerminalState::with_history(Vec::new())
    }
}

impl TerminalState {
    /// A fresh terminal with history from an earlier visit; its output starts with the first prompt.
    pub fn with_history(history: Vec<String>) -> Self {
        let mut state = TerminalState {
            editor: LineEditor::with_history(history),
            busy: false,
            running: None,
            finished: Vec::new(),
            attached: None,
            interrupted: false,
            pasted: VecDeque::new(),
            paste_rest: String::new(),
            printed_rows: 0,
            keyed: Vec::new(),
            cols: 80,
            rows: 24,
            output: BRACKETED_PASTE_ON.to_string(),
        };
        state.editor.prompt();
        state
    }

    /// What to write to xterm.js since the last call.
    pub fn take_output(&mut self) -> String {
        self.write("");
        std::mem::take(&mut self.output)
    }

    /// Text for the terminal after what the line editor wrote so far (its output comes first).
    fn write(&mut self, text: &str) {
        let edited = self.editor.take_output();
        self.output.push_str(&edited);
        self.output.push_str(text);
    }

    pub fn reduce(&mut self, action: TerminalAction) -> Vec<Effect> {
        match action {
            TerminalAction::Input(data) if self.attached.is_some() => {
                return vec![Effect::ToContainer(data)];
            }
            TerminalAction::Input(data) if self.busy => {
                // Keys typed while a command runs are dropped, except Ctrl-C.
                if decode(&data).contains(&Key::Interrupt) && !self.interrupted {
                    self.interrupted = true;
                    // As a shell's SIGINT flushes what was typed ahead: the rest of a paste does not run.
                    self.pasted.clear();
                    self.paste_rest.clear();
                    return vec![Effect::Cancel];
                }
            }
            TerminalAction::Input(data) => {
                let mut effects = Vec::new();
                for key in decode(&data) {
                    // A command started by an earlier key of the same data gets the rest (a pasted script).
                    if self.busy {
                        break;
                    }
                    if let Key::Paste(text) = &key {
                        let (lines, rest) = split_paste(text);
                        if !lines.is_empty() {
                            self.pasted.extend(lines);
                            self.paste_rest.push_str(&rest);
                            effects.extend(self.run_pasted());
                            continue;
                        }
                    }
                    match self.editor.apply(key) {
                        Edit::Submit(line) => effects.extend(self.submit(line)),
                        Edit::Complete(before) => effects.push(Effect::Complete(before)),
                        Edit::Interrupt => self.editor.prompt(),
                        Edit::Edited | Edit::ClearScreen | Edit::Nothing => {}
                    }
                }
                return effects;
            }
            TerminalAction::Prefill(line) if !self.busy => self.editor.set_line(&line),
            TerminalAction::Prefill(_) => {}
            TerminalAction::Completed { before, choices } if !self.busy => {
                self.editor.completed(&before, &choices)
            }
            TerminalAction::Completed { .. } => {}
            TerminalAction::Resize { cols, rows } => {
                self.cols = usize::from(cols).max(1);
                self.rows = usize::from(rows).max(1);
                self.editor.set_cols(self.cols);
            }
            TerminalAction::Progress(_, line) if !self.interrupted => self.print_line(&line),
            TerminalAction::Status { key, line, .. } if !self.interrupted => {
                let on_screen = self.keyed.iter().find(|(k, _)| *k == key).map(|&(_, at)| at);
                match on_screen.map(|at| self.printed_rows - at) {
                    // Still on the screen: up to its row, rewrite it, back down.
                    Some(up) if up < self.rows => {
                        let row = one_row(&line, self.cols);
                        self.write(&format!("\x1b[{up}A\r\x1b[2K{row}\r\x1b[{up}B"));
                    }
                    _ => {
                        self.keyed.retain(|(k, _)| *k != key);
                        self.keyed.push((key, self.printed_rows));
                        self.print_line(&one_row(&line, self.cols));
                    }
                }
            }
            TerminalAction::Progress(..) | TerminalAction::Status { .. } => {}
            TerminalAction::Attached(container) => self.attached = Some(container),
            TerminalAction::Detached(outcome) => {
                self.attached = None;
                // Whatever the container left (colours, a half line): plain text on a fresh row again.
                self.write("\x1b[0m\r\n");
                return self.finish(outcome);
            }
            TerminalAction::Finished(outcome) => return self.finish(outcome),
        }
        Vec::new()
    }

    /// Run the pasted lines in order until one starts a command (the rest wait for it to end); then the
    /// paste's unfinished text goes on the prompt.
    fn run_pasted(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        while !self.busy {
            let Some(line) = self.pasted.pop_front() else {
                let rest = std::mem::take(&mut self.paste_rest);
                if !rest.is_empty() {
                    self.editor.apply(Key::Paste(rest));
                }
                break;
            };
            // Echoed on the prompt as if typed, then Enter: what is on the line already comes first.
            self.editor.apply(Key::Paste(line));
            if let Edit::Submit(line) = self.editor.apply(Key::Enter) {
                effects.extend(self.submit(line));
            }
        }
        effects
    }

    fn submit(&mut self, line: String) -> Vec<Effect> {
        if line.trim() == "clear" {
            self.write("\x1b[H\x1b[2J\x1b[3J");
            self.editor.prompt();
            return Vec::new();
        }
        self.keyed.clear();
        self.printed_rows = 0;
        if let Some(save) = crate::cli::offline::plan_save(&line) {
            self.busy = true;
            self.interrupted = false;
            self.running = Some(line);
            return vec![Effect::Save(save)];
        }
        match plan_line(&line) {
            Step::Done(outcome) => {
                self.finished.push((line, outcome.exit_code));
                self.show(&outcome);
                self.editor.prompt();
                Vec::new()
            }
            step => {
                self.busy = true;
                self.interrupted = false;
                self.running = Some(line);
                vec![Effect::Run(step)]
            }
        }
    }

    /// The command in flight ended: its answer, a new prompt, and the next pasted line if any.
    fn finish(&mut self, outcome: Outcome) -> Vec<Effect> {
        if !self.busy {
            return Vec::new();
        }
        self.busy = false;
        let exit_code = if self.interrupted {
            // Docker prints nothing more after ^C; the shell's `$?` says how it ended.
            self.write("^C\r\n");
            INTERRUPTED
        } else {
            self.show(&outcome);
            outcome.exit_code
        };
        self.interrupted = false;
        if let Some(line) = self.running.take() {
            self.finished.push((line, exit_code));
        }
        self.editor.prompt();
        self.run_pasted()
    }

    fn show(&mut self, outcome: &Outcome) {
        for text in [&outcome.stdout, &outcome.stderr] {
            for line in text.lines() {
                self.print_line(line);
            }
        }
    }

    fn print_line(&mut self, line: &str) {
        self.write(line);
        self.write("\r\n");
        self.printed_rows += line.chars().count().max(1).div_ceil(self.cols);
    }
}

/// A status line cut to the terminal's width: one that wrapped could not be redrawn in place.
fn one_row(line: &str, cols: usize) -> String {
    line.chars().take(cols.saturating_sub(1).max(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(state: &mut TerminalState, line: &str) -> Vec<Effect> {
        state.take_output();
        state.reduce(TerminalAction::Input(format!("{line}\r")))
    }

    #[test]
    fn the_first_prompt_turns_bracketed_paste_on() {
        let mut s = TerminalState::default();
        assert_eq!(s.take_output(), "\x1b[?2004h\r\x1b[K\r\x1b[J$ \r\x1b[2C");
    }

    #[test]
    fn submitting_runs_the_interpreter_and_records_history() {
        let mut s = TerminalState::default();
        assert!(typed(&mut s, "docker biuld").is_empty());
        let out = s.take_output();
        assert!(
            out.contains("$ docker biuld\r\x1b[14C\r\ndocker: unknown command"),
            "{out:?}"
        );
        assert!(out.contains("\tbuild\r\n"), "{out:?}");
        assert!(out.ends_with("$ \r\x1b[2C"), "{out:?}");
        assert_eq!(s.editor.history, ["docker biuld"]);
        assert_eq!(s.finished, [("docker biuld".to_string(), 1)]);
    }

    #[test]
    fn container_commands_wait_for_the_companion() {
        let mut s = TerminalState::default();
        let effects = typed(&mut s, "docker run busybox echo hi");
        assert!(matches!(&effects[..], [Effect::Run(Step::Companion(_))]));
        assert!(s.busy);
        // Typing while it runs goes nowhere.
        assert!(s.reduce(TerminalAction::Input("ls\r".into())).is_empty());
        s.take_output();
        s.reduce(TerminalAction::Finished(Outcome::success("hi\n".into())));
        assert!(!s.busy);
        assert_eq!(s.take_output(), "hi\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C");
        assert_eq!(s.finished, [("docker run busybox echo hi".to_string(), 0)]);
        assert_eq!(s.editor.line(), "");
    }

    #[test]
    fn ctrl_c_cancels_the_running_command_once_and_ends_it_with_130() {
        let mut s = TerminalState::default();
        typed(&mut s, "docker run busybox sleep 600");
        assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
        assert!(s.reduce(TerminalAction::Input("\x03".into())).is_empty());
        s.take_output();
        // What the stopped command still reports is not shown: the prompt comes back after ^C.
        s.reduce(TerminalAction::Progress(Stream::Stdout, "late".into()));
        s.reduce(TerminalAction::Finished(Outcome::failure("stopped".into(), 137)));
        assert_eq!(s.take_output(), "^C\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C");
        assert_eq!(
            s.finished,
            [("docker run busybox sleep 600".to_string(), INTERRUPTED)]
        );
        // Ctrl-C at the prompt drops the line.
        s.reduce(TerminalAction::Input("docker ps\x03".into()));
        assert!(s
            .take_output()
            .ends_with("$ docker ps\r\x1b[11C^C\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C"));
        assert_eq!(s.finished.len(), 1);
    }

    #[test]
    fn a_layers_status_is_redrawn_on_its_row() {
        let status = |key: &str, line: &str| TerminalAction::Status {
            stream: Stream::Stdout,
            key: key.into(),
            line: line.into(),
        };
        let mut s = TerminalState::default();
        typed(&mut s, "docker push learner1/app");
        s.reduce(TerminalAction::Progress(
            Stream::Stdout,
            "The push refers to".into(),
        ));
        s.reduce(status("aaa", "aaa: Pushing [=>   ] 1MB/3MB"));
        s.reduce(status("bbb", "bbb: Layer already exists"));
        s.take_output();
        s.reduce(status("aaa", "aaa: Pushed"));
        assert_eq!(s.take_output(), "\x1b[2A\r\x1b[2Kaaa: Pushed\r\x1b[2B");
        // Scrolled off the screen: printed again below.
        s.reduce(TerminalAction::Resize { cols: 80, rows: 2 });
        s.reduce(status("aaa", "aaa: Pushed"));
        assert_eq!(s.take_output(), "aaa: Pushed\r\n");
    }

    #[test]
    fn an_interactive_run_hands_keys_to_the_container_until_it_exits() {
        let mut s = TerminalState::default();
        assert!(matches!(
            &typed(&mut s, "docker run -it busybox sh")[..],
            [Effect::Run(Step::Attach(_))]
        ));
        s.reduce(TerminalAction::Attached("eager_turing".into()));
        assert_eq!(
            s.reduce(TerminalAction::Input("\x03\x1b[A".into())),
            [Effect::ToContainer("\x03\x1b[A".into())]
        );
        s.take_output();
        s.reduce(TerminalAction::Detached(Outcome::failure(String::new(), 3)));
        assert!(!s.busy && s.attached.is_none());
        assert_eq!(s.take_output(), "\x1b[0m\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C");
        assert_eq!(s.finished, [("docker run -it busybox sh".to_string(), 3)]);
    }

    #[test]
    fn prefill_and_completion_edit_the_line() {
        let mut s = TerminalState::default();
        s.reduce(TerminalAction::Prefill("docker version".into()));
        assert_eq!(s.editor.line(), "docker version");
        s.reduce(TerminalAction::Input("\x15docker ver".into()));
        assert_eq!(
            s.reduce(TerminalAction::Input("\t".into())),
            [Effect::Complete("docker ver".into())]
        );
        s.reduce(TerminalAction::Completed {
            before: "docker version ".into(),
            choices: vec![],
        });
        assert_eq!(s.editor.line(), "docker version ");
    }

    #[test]
    fn a_pasted_script_runs_line_by_line_as_each_command_ends() {
        let mut s = TerminalState::default();
        s.reduce(TerminalAction::Input("docker ".into()));
        let effects = s.reduce(TerminalAction::Input(
            "\x1b[200~run \\\n  busybox echo one\ndocker biuld\ndocker run busybox echo two\ndocker p\x1b[201~"
                .into(),
        ));
        // What was typed before the paste joins its first line; the first command runs, the rest wait.
        let [Effect::Run(Step::Companion(first))] = &effects[..] else {
            panic!("{effects:?}");
        };
        assert_eq!(first.args, ["busybox", "echo", "one"]);
        assert_eq!(s.editor.history, ["docker run   busybox echo one"]);
        s.take_output();
        let effects = s.reduce(TerminalAction::Finished(Outcome::success("one\n".into())));
        // `docker biuld` answers at once; the next container command starts.
        let [Effect::Run(Step::Companion(third))] = &effects[..] else {
            panic!("{effects:?}");
        };
        assert_eq!(third.args, ["busybox", "echo", "two"]);
        let out = s.take_output();
        assert!(
            out.contains("one\r\n") && out.contains("$ docker biuld"),
            "{out:?}"
        );
        assert!(out.contains("docker: unknown command"), "{out:?}");
        assert!(s
            .reduce(TerminalAction::Finished(Outcome::success("two\n".into())))
            .is_empty());
        // The unfinished last line waits on the prompt.
        assert_eq!(s.editor.line(), "docker p");
        let codes: Vec<i32> = s.finished.iter().map(|(_, code)| *code).collect();
        assert_eq!(codes, [0, 1, 0]);
    }

    #[test]
    fn ctrl_c_drops_the_rest_of_a_paste() {
        let mut s = TerminalState::default();
        s.reduce(TerminalAction::Input(
            "\x1b[200~docker run busybox sleep 600\ndocker ps\nrest\x1b[201~".into(),
        ));
        assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
        assert!(s
            .reduce(TerminalAction::Finished(Outcome::failure(String::new(), 137)))
            .is_empty());
        assert_eq!(s.editor.line(), "");
        assert_eq!(s.finished.len(), 1);
    }

    #[test]
    fn clear_empties_the_screen_and_scrollback() {
        let mut s = TerminalState::default();
        typed(&mut s, "docker --help");
        typed(&mut s, "clear");
        assert!(s.take_output().contains("\x1b[H\x1b[2J\x1b[3J"));
        assert_eq!(s.editor.history, ["docker --help", "clear"]);
    }
}
