//! The terminal pane's state as a reducer: the line editor while the prompt is up, the command in flight (and
//! Ctrl-C for it), the questions it asks (`docker login`'s Username and Password), keys typed ahead while it
//! runs, a container's TTY while attached. Each action leaves the text for xterm.js in an output buffer and
//! says what the caller must start ([`Effect`]); nothing here touches the page.

use std::collections::VecDeque;

use super::line_editor::{decode, split_paste, Edit, Key, LineEditor, BRACKETED_PASTE_ON};
use slipway::cli::context::Stream;
use slipway::cli::interpret::plan_line;
use slipway::cli::outcome::{Outcome, Step};

pub use slipway::cli::outcome::INTERRUPTED;

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
    /// The command in flight stops its own work at Ctrl-C (attached `docker compose up`): each Ctrl-C is echoed
    /// and handed to it, and what it prints then is shown.
    catches_interrupt: bool,
    /// Lines pasted, or typed while a command ran, still to run one after another as each command ends (a
    /// shell reads them in turn); a question the command asks takes the first one, as a terminal's input
    /// queue would give it.
    lines_ahead: VecDeque<String>,
    /// The unfinished line after them: it goes on the prompt once the lines before it ran.
    line_ahead: String,
    /// The running command asked for a line (`Username: `); the keys answer it until Enter.
    question: Option<Question>,
    /// Rows printed since the running command started, and the row of each keyed status line among them.
    printed_rows: usize,
    keyed: Vec<(String, usize)>,
    cols: usize,
    rows: usize,
    output: String,
    /// Class notices that came while a command ran: shown when it ends, before the prompt.
    notices_ahead: Vec<String>,
}

/// A question the running command asked, and the answer typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Question {
    /// Whether the answer shows as it is typed (not for a password).
    echo: bool,
    answer: String,
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
    /// The running command asks for a line: show `text`, read the answer (hidden unless `echo`) and give it
    /// back with [`Effect::Answer`].
    Ask { text: String, echo: bool },
    /// The running command ended.
    Finished(Outcome),
    /// The running `docker run -it` started container NAME; its TTY now owns the terminal.
    Attached(String),
    /// The running command handles Ctrl-C itself (attached `docker compose up` stops its containers).
    CatchesInterrupt,
    /// The attached container exited (or the connection ended): the prompt comes back.
    Detached(Outcome),
    /// A class notice (the teacher's broadcast, an idle warning, ...): a marked line above the prompt, never
    /// inside a running command's output (it waits for the command to end).
    Notice(String),
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
    /// The line that answers the running command's question ([`TerminalAction::Ask`]).
    Answer(String),
    /// Keys for the attached container's TTY, unchanged (Ctrl-C is its `\x03`).
    ToContainer(String),
    /// `docker save`: the page writes the project's file (or answers docker's error), then says how it went
    /// (`Finished`).
    Save(Result<slipway::cli::offline::SaveRequest, Outcome>),
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
            catches_interrupt: false,
            lines_ahead: VecDeque::new(),
            line_ahead: String::new(),
            question: None,
            printed_rows: 0,
            keyed: Vec::new(),
            cols: 80,
            rows: 24,
            output: BRACKETED_PASTE_ON.to_string(),
            notices_ahead: Vec::new(),
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
            TerminalAction::Input(data) => {
                let mut effects = Vec::new();
                for key in decode(&data) {
                    // A command started by an earlier key of the same data makes the rest type-ahead.
                    let answer = if self.busy {
                        self.key_while_busy(key)
                    } else {
                        self.key_at_prompt(key)
                    };
                    effects.extend(answer);
                }
                return effects;
            }
            TerminalAction::Prefill(line) if !self.busy => self.editor.set_line(&line),
            // It goes on the prompt once the command ends, as what was typed ahead does.
            TerminalAction::Prefill(line) if self.question.is_none() => self.line_ahead = line,
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
            TerminalAction::Attached(container) => {
                self.attached = Some(container);
                // Keys typed while it started are its input, as a terminal's input queue would give them.
                let mut typed: String = self.lines_ahead.drain(..).map(|line| line + "\r").collect();
                typed.push_str(&std::mem::take(&mut self.line_ahead));
                if !typed.is_empty() {
                    return vec![Effect::ToContainer(typed)];
                }
            }
            TerminalAction::Detached(outcome) => {
                self.attached = None;
                // Whatever the container left (colours, a half line): plain text on a fresh row again.
                self.write("\x1b[0m\r\n");
                return self.finish(outcome);
            }
            TerminalAction::Ask { text, echo } if self.busy && !self.interrupted => {
                return self.ask(&text, echo)
            }
            TerminalAction::Ask { .. } => {}
            TerminalAction::Finished(outcome) => return self.finish(outcome),
            TerminalAction::CatchesInterrupt => self.catches_interrupt = self.busy,
            TerminalAction::Notice(text) if self.busy || self.attached.is_some() => {
                self.notices_ahead.push(text)
            }
            TerminalAction::Notice(text) => {
                // The prompt's row gives way to the notice, and is drawn again under it.
                self.write("\r\x1b[K");
                self.write(&notice_line(&text));
                self.editor.prompt();
            }
        }
        Vec::new()
    }

    /// A key while the prompt is up: the line editor's, or a paste's lines to run in turn.
    fn key_at_prompt(&mut self, key: Key) -> Vec<Effect> {
        if let Key::Paste(text) = &key {
            let (lines, rest) = split_paste(text);
            if !lines.is_empty() {
                self.lines_ahead.extend(lines);
                self.line_ahead.push_str(&rest);
                return self.run_ahead();
            }
        }
        match self.editor.apply(key) {
            Edit::Submit(line) => self.submit(line),
            Edit::Complete(before) => vec![Effect::Complete(before)],
            Edit::Interrupt => {
                self.editor.prompt();
                Vec::new()
            }
            Edit::Edited | Edit::ClearScreen | Edit::Nothing => Vec::new(),
        }
    }

    /// A key while a command runs: Ctrl-C stops it, a question takes the keys, the rest is typed ahead.
    fn key_while_busy(&mut self, key: Key) -> Vec<Effect> {
        if key == Key::Interrupt && self.catches_interrupt {
            self.lines_ahead.clear();
            self.line_ahead.clear();
            // The terminal's echo; the command's answer follows on the same row (`^CGracefully stopping...`).
            self.write("^C");
            return vec![Effect::Cancel];
        }
        if key == Key::Interrupt {
            if self.interrupted {
                return Vec::new();
            }
            self.interrupted = true;
            self.question = None;
            // As a shell's SIGINT flushes what was typed before it (the rest of a paste); keys after it are kept.
            self.lines_ahead.clear();
            self.line_ahead.clear();
            // The terminal echoes ^C at once; docker prints nothing more, the prompt follows when it has ended.
            self.write("^C\r\n");
            self.printed_rows += 1;
            return vec![Effect::Cancel];
        }
        if self.question.is_some() {
            return self.key_for_question(key);
        }
        // Typed ahead: echoed as a terminal echoes it, kept for when the command ends.
        match key {
            Key::Text(text) => {
                self.write(&text);
                self.line_ahead.push_str(&text);
            }
            Key::Paste(text) => {
                let (lines, rest) = split_paste(&text);
                for line in lines {
                    self.write(&line);
                    self.write("\r\n");
                    self.printed_rows += 1;
                    let line = std::mem::take(&mut self.line_ahead) + &line;
                    self.lines_ahead.push_back(line);
                }
                self.write(&rest);
                self.line_ahead.push_str(&rest);
            }
            Key::Enter => {
                self.write("\r\n");
                self.printed_rows += 1;
                let line = std::mem::take(&mut self.line_ahead);
                self.lines_ahead.push_back(line);
            }
            Key::Backspace if self.line_ahead.pop().is_some() => self.write("\x08 \x08"),
            Key::KillToStart => self.line_ahead.clear(),
            _ => {}
        }
        Vec::new()
    }

    /// The command asked for a line: what was typed ahead answers first, else the keys from now on do.
    fn ask(&mut self, text: &str, echo: bool) -> Vec<Effect> {
        self.write(text);
        if let Some(line) = self.lines_ahead.pop_front() {
            if echo {
                self.write(&line);
            }
            return self.answer(Question { echo, answer: line });
        }
        let answer = std::mem::take(&mut self.line_ahead);
        if echo {
            self.write(&answer);
        }
        self.question = Some(Question { echo, answer });
        Vec::new()
    }

    /// A key typed in answer to a question: a terminal's cooked line (Backspace and Ctrl-U edit it).
    fn key_for_question(&mut self, key: Key) -> Vec<Effect> {
        let Some(mut question) = self.question.take() else {
            return Vec::new();
        };
        let echoed = match key {
            Key::Text(text) => {
                question.answer.push_str(&text);
                text
            }
            // A pasted answer: its first line answers; further lines are typed ahead.
            Key::Paste(text) => match text.split_once(['\r', '\n']) {
                None => {
                    question.answer.push_str(&text);
                    text
                }
                Some((first, more)) => {
                    question.answer.push_str(first);
                    if question.echo {
                        self.write(first);
                    }
                    let (lines, rest) = split_paste(more.trim_start_matches('\n'));
                    let effects = self.answer(question);
                    self.lines_ahead.extend(lines);
                    self.line_ahead.push_str(&rest);
                    return effects;
                }
            },
            Key::Backspace if question.answer.pop().is_some() => "\x08 \x08".to_string(),
            Key::KillToStart => {
                let erased = question.answer.chars().count();
                question.answer.clear();
                "\x08 \x08".repeat(erased)
            }
            Key::Enter => return self.answer(question),
            _ => String::new(),
        };
        if question.echo {
            self.write(&echoed);
        }
        self.question = Some(question);
        Vec::new()
    }

    /// The question is answered: a fresh row (the terminal's echo of Enter, or docker's newline after a hidden
    /// password), and the answer for the command.
    fn answer(&mut self, question: Question) -> Vec<Effect> {
        self.question = None;
        self.write("\r\n");
        self.printed_rows += 1;
        vec![Effect::Answer(question.answer)]
    }

    /// Run the lines pasted or typed ahead in order until one starts a command (the rest wait for it to end);
    /// then the unfinished text after them goes on the prompt.
    fn run_ahead(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        while !self.busy {
            let Some(line) = self.lines_ahead.pop_front() else {
                let rest = std::mem::take(&mut self.line_ahead);
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

    /// The line of the command in flight.
    pub fn running(&self) -> Option<&str> {
        self.running.as_deref()
    }

    fn submit(&mut self, line: String) -> Vec<Effect> {
        if line.trim() == "clear" {
            self.write("\x1b[H\x1b[2J\x1b[3J");
            self.editor.prompt();
            return Vec::new();
        }
        self.keyed.clear();
        self.printed_rows = 0;
        if let Some(save) = slipway::cli::offline::plan_save(&line) {
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

    /// The command in flight ended: its answer, a new prompt, and the next line pasted or typed ahead if any.
    fn finish(&mut self, outcome: Outcome) -> Vec<Effect> {
        if !self.busy {
            return Vec::new();
        }
        self.busy = false;
        self.catches_interrupt = false;
        self.question = None;
        let exit_code = if self.interrupted {
            // Docker prints nothing more after ^C (echoed when pressed); the shell's `$?` says how it ended.
            INTERRUPTED
        } else {
            self.show(&outcome);
            outcome.exit_code
        };
        self.interrupted = false;
        if let Some(line) = self.running.take() {
            self.finished.push((line, exit_code));
        }
        for text in std::mem::take(&mut self.notices_ahead) {
            self.write(&notice_line(&text));
        }
        self.editor.prompt();
        self.run_ahead()
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

/// The marker that starts a class notice's line: reverse video on screen, words for a screen reader.
pub const NOTICE_MARK: &str = "[class notice]";

/// A class notice as the terminal shows it: marked, on a row of its own.
fn notice_line(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    format!("\x1b[1;7m{NOTICE_MARK}\x1b[0m \x1b[1m{text}\x1b[0m\r\n")
}

/// A status line cut to the terminal's width: one that wrapped could not be redrawn in place.
fn one_row(line: &str, cols: usize) -> String {
    line.chars().take(cols.saturating_sub(1).max(1)).collect()
}

#[cfg(test)]
#[path = "terminal_state_tests.rs"]
mod tests;
