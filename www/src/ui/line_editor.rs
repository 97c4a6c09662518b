//! The prompt's line editor over xterm.js's input data, as a reducer: keys in, the edited line and the escape
//! sequences that redraw it out. Emacs-style keys as bash's readline has them (Ctrl-A/E/K/U/W, ←/→, Home/End),
//! ↑/↓ history, bracketed paste; Tab, Enter, Ctrl-C and Ctrl-L are handed to the caller.

/// What the prompt shows before the line.
pub const PROMPT: &str = "$ ";
/// The prompt's width in terminal cells.
const PROMPT_CELLS: usize = 2;
/// Switches the terminal's bracketed paste on: a paste then arrives as one [`Key::Paste`].
pub const BRACKETED_PASTE_ON: &str = "\x1b[?2004h";

/// One key (or one paste) decoded from the terminal's input data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Printable characters typed.
    Text(String),
    /// Text pasted between the bracketed-paste markers.
    Paste(String),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Up,
    Down,
    /// Ctrl-K: delete from the cursor to the end of the line.
    KillToEnd,
    /// Ctrl-U: delete from the start of the line to the cursor.
    KillToStart,
    /// Ctrl-W: delete the word before the cursor.
    KillWord,
    Tab,
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-L.
    ClearScreen,
    /// Ctrl-D.
    EndOfInput,
    /// A key the editor does not use (F-keys, Alt-letters, other controls).
    Other,
}

/// Split xterm's `onData` text into keys: escape sequences, control characters, runs of printable text.
pub fn decode(data: &str) -> Vec<Key> {
    const PASTE_START: &str = "\x1b[200~";
    const PASTE_END: &str = "\x1b[201~";
    let mut keys = Vec::new();
    let mut rest = data;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix(PASTE_START) {
            let (pasted, tail) = after.split_once(PASTE_END).unwrap_or((after, ""));
            keys.push(Key::Paste(pasted.to_string()));
            rest = tail;
            continue;
        }
        if c == '\x1b' {
            let (key, len) = escape_key(rest);
            keys.push(key);
            rest = &rest[len..];
            continue;
        }
        let key = match c {
            '\r' | '\n' => Key::Enter,
            '\x7f' | '\x08' => Key::Backspace,
            '\x01' => Key::Home,
            '\x02' => Key::Left,
            '\x03' => Key::Interrupt,
            '\x04' => Key::EndOfInput,
            '\x05' => Key::End,
            '\x06' => Key::Right,
            '\t' => Key::Tab,
            '\x0b' => Key::KillToEnd,
            '\x0c' => Key::ClearScreen,
            '\x0e' => Key::Down,
            '\x10' => Key::Up,
            '\x15' => Key::KillToStart,
            '\x17' => Key::KillWord,
            c if c.is_control() => Key::Other,
            _ => {
                let end = rest.find(|c: char| c.is_control()).unwrap_or(rest.len());
                let text = &rest[..end];
                match keys.last_mut() {
                    Some(Key::Text(before)) => before.push_str(text),
                    _ => keys.push(Key::Text(text.to_string())),
                }
                rest = &rest[end..];
                continue;
            }
        };
        keys.push(key);
        rest = &rest[c.len_utf8()..];
    }
    keys
}

/// The key an escape sequence at the start of `data` stands for, and its length in bytes.
fn escape_key(data: &str) -> (Key, usize) {
    let bytes = data.as_bytes();
    match bytes.get(1) {
        Some(b'[') => {
            // CSI: parameters, then one final byte in 0x40..=0x7e.
            let end = bytes[2..]
                .iter()
                .position(|b| (0x40..=0x7e).contains(b))
                .map_or(bytes.len(), |at| at + 3);
            let key = match &data[2..end] {
                "A" => Key::Up,
                "B" => Key::Down,
                "C" => Key::Right,
                "D" => Key::Left,
                "H" | "1~" | "7~" => Key::Home,
                "F" | "4~" | "8~" => Key::End,
                "3~" => Key::Delete,
                _ => Key::Other,
            };
            (key, end)
        }
        // SS3: the cursor keys in application mode.
        Some(b'O') if bytes.len() > 2 => {
            let key = match bytes[2] {
                b'A' => Key::Up,
                b'B' => Key::Down,
                b'C' => Key::Right,
                b'D' => Key::Left,
                b'H' => Key::Home,
                b'F' => Key::End,
                _ => Key::Other,
            };
            (key, 3)
        }
        // Alt+key: ESC then the key.
        Some(_) => (Key::Other, 1 + data[1..].chars().next().map_or(0, char::len_utf8)),
        None => (Key::Other, 1),
    }
}

/// A paste split as a shell reads it: the complete lines (each ended by a line break) to run in order, and the
/// unfinished text after the last break, left on the prompt. A `\` before a line break continues the line.
pub fn split_paste(text: &str) -> (Vec<String>, String) {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let joined = unified.replace("\\\n", "");
    let mut lines: Vec<String> = joined.split('\n').map(str::to_string).collect();
    let rest = lines.pop().unwrap_or_default();
    (lines, rest)
}

/// What the caller does after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// The line changed or the cursor moved; the redraw is in the output.
    Edited,
    /// Enter: the line to run (the cursor is already on the next row).
    Submit(String),
    /// Tab: complete the text before the cursor ([`LineEditor::completed`] puts the answer in).
    Complete(String),
    /// Ctrl-C: the line was dropped (`^C` printed); the caller shows a new prompt.
    Interrupt,
    /// Ctrl-L: the screen was cleared and the line redrawn at the top.
    ClearScreen,
    /// The key changed nothing.
    Nothing,
}

/// The line being typed, its cursor, history, and what must be written to the terminal to show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEditor {
    line: Vec<char>,
    /// Position in `line`, in characters.
    cursor: usize,
    pub history: Vec<String>,
    /// Position while browsing history with ↑/↓; `None` when editing a new line.
    browsing: Option<usize>,
    /// The new line that ↑ left, given back by ↓ past the newest entry.
    draft: Vec<char>,
    /// The terminal's width in cells.
    cols: usize,
    /// How many rows below the prompt's row the cursor was drawn (a long line wraps).
    cursor_row: usize,
    /// Escape sequences and text for the terminal, taken by [`LineEditor::take_output`].
    output: String,
}

impl Default for LineEditor {
    fn default() -> Self {
        LineEditor::with_history(Vec::new())
    }
}

impl LineEditor {
    pub fn with_history(history: Vec<String>) -> Self {
        LineEditor {
            line: Vec::new(),
            cursor: 0,
            history,
            browsing: None,
            draft: Vec::new(),
            cols: 80,
            cursor_row: 0,
            output: String::new(),
        }
    }

    pub fn line(&self) -> String {
        self.line.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// What to write to the terminal since the last call.
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.output)
    }

    /// The terminal was resized: it reflows the wrapped line, so the cursor's row follows the new width.
    pub fn set_cols(&mut self, cols: usize) {
        self.cols = cols.max(PROMPT_CELLS + 1);
        self.cursor_row = (PROMPT_CELLS + self.cursor) / self.cols;
    }

    /// Draw a fresh prompt with the current line at the cursor's position (the cursor is at a row's start).
    pub fn prompt(&mut self) {
        self.cursor_row = 0;
        self.output.push_str("\r\x1b[K");
        self.redraw();
    }

    /// Put `text` on the line (a lesson's "Type it"), the cursor at its end.
    pub fn set_line(&mut self, text: &str) {
        self.line = text.chars().filter(|c| !c.is_control()).collect();
        self.cursor = self.line.len();
        self.browsing = None;
        self.redraw();
    }

    /// Tab's answer: `before` replaces the text before the cursor; `choices`, when several, are listed under
    /// the line, as bash does, and the prompt is drawn again.
    pub fn completed(&mut self, before: &str, choices: &[String]) {
        let after = self.line[self.cursor..].to_vec();
        if !choices.is_empty() {
            self.move_to_end();
            self.output.push_str("\r\n");
            self.output.push_str(&choices.join("  "));
            self.output.push_str("\r\n");
            self.cursor_row = 0;
        }
        self.line = before.chars().collect();
        self.cursor = self.line.len();
        self.line.extend(after);
        self.redraw();
    }

    pub fn apply(&mut self, key: Key) -> Edit {
        match key {
            Key::Text(text) => return self.insert(text.chars().filter(|c| !c.is_control())),
            Key::Paste(text) => {
                // One line, as typed: a `\`-newline continuation joins, other line breaks become spaces. (The
                // terminal runs a paste's complete lines first: see [`split_paste`].)
                let joined = text.replace("\\\r\n", "").replace("\\\n", "");
                let flat: String = joined
                    .chars()
                    .map(|c| if c.is_whitespace() { ' ' } else { c })
                    .filter(|c| !c.is_control())
                    .collect();
                return self.insert(flat.trim_end().chars());
            }
            Key::Enter => {
                self.move_to_end();
                self.output.push_str("\r\n");
                self.cursor_row = 0;
                let line = self.line();
                self.line.clear();
                self.cursor = 0;
                self.browsing = None;
                self.draft.clear();
                if !line.trim().is_empty() && self.history.last() != Some(&line) {
                    self.history.push(line.clone());
                }
                return Edit::Submit(line);
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.line.remove(self.cursor);
            }
            Key::Delete | Key::EndOfInput if self.cursor < self.line.len() => {
                self.line.remove(self.cursor);
            }
            Key::Left if self.cursor > 0 => self.cursor -= 1,
            Key::Right if self.cursor < self.line.len() => self.cursor += 1,
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = self.line.len(),
            Key::KillToEnd => self.line.truncate(self.cursor),
            Key::KillToStart => {
                self.line.drain(..self.cursor);
                self.cursor = 0;
            }
            Key::KillWord => {
                // readline's unix-word-rubout: spaces before the cursor, then the word before them.
                let mut start = self.cursor;
                while start > 0 && self.line[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.line[start - 1] != ' ' {
                    start -= 1;
                }
                self.line.drain(start..self.cursor);
                self.cursor = start;
            }
            Key::Up => return self.history_previous(),
            Key::Down => return self.history_next(),
            Key::Tab => return Edit::Complete(self.line[..self.cursor].iter().collect()),
            Key::Interrupt => {
                self.move_to_end();
                self.output.push_str("^C\r\n");
                self.cursor_row = 0;
                self.line.clear();
                self.cursor = 0;
                self.browsing = None;
                return Edit::Interrupt;
            }
            Key::ClearScreen => {
                self.output.push_str("\x1b[H\x1b[2J\x1b[3J");
                self.cursor_row = 0;
                self.redraw();
                return Edit::ClearScreen;
            }
            _ => return Edit::Nothing,
        }
        self.redraw();
        Edit::Edited
    }

    fn insert(&mut self, chars: impl Iterator<Item = char>) -> Edit {
        let before = self.line.len();
        for c in chars {
            self.line.insert(self.cursor, c);
            self.cursor += 1;
        }
        if self.line.len() == before {
            return Edit::Nothing;
        }
        self.redraw();
        Edit::Edited
    }

    fn history_previous(&mut self) -> Edit {
        if self.history.is_empty() {
            return Edit::Nothing;
        }
        let at = match self.browsing {
            Some(i) => i.saturating_sub(1),
            None => {
                self.draft = self.line.clone();
                self.history.len() - 1
            }
        };
        self.browsing = Some(at);
        self.show(self.history[at].chars().collect());
        Edit::Edited
    }

    fn history_next(&mut self) -> Edit {
        match self.browsing {
            Some(i) if i + 1 < self.history.len() => {
                self.browsing = Some(i + 1);
                self.show(self.history[i + 1].chars().collect());
            }
            Some(_) => {
                self.browsing = None;
                let draft = std::mem::take(&mut self.draft);
                self.show(draft);
            }
            None => return Edit::Nothing,
        }
        Edit::Edited
    }

    fn show(&mut self, line: Vec<char>) {
        self.cursor = line.len();
        self.line = line;
        self.redraw();
    }

    /// Put the terminal's cursor after the line's last character.
    fn move_to_end(&mut self) {
        self.cursor = self.line.len();
        self.redraw();
    }

    /// Redraw prompt and line from the prompt's row, then place the cursor. A line longer than the terminal
    /// wraps; the cursor's row below the prompt is remembered to find the prompt again next time.
    fn redraw(&mut self) {
        let cols = self.cols;
        if self.cursor_row > 0 {
            self.output.push_str(&format!("\x1b[{}A", self.cursor_row));
        }
        self.output.push_str("\r\x1b[J");
        self.output.push_str(PROMPT);
        self.output.extend(self.line.iter());
        let end = PROMPT_CELLS + self.line.len();
        if end % cols == 0 {
            // The cursor waits at the last column until the next character: make it wrap now, so that rows
            // count the same way whatever comes next.
            self.output.push_str(" \r");
        }
        let target = PROMPT_CELLS + self.cursor;
        let (end_row, target_row, target_col) = (end / cols, target / cols, target % cols);
        if end_row > target_row {
            self.output.push_str(&format!("\x1b[{}A", end_row - target_row));
        }
        self.output.push('\r');
        if target_col > 0 {
            self.output.push_str(&format!("\x1b[{target_col}C"));
        }
        self.cursor_row = target_row;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(editor: &mut LineEditor, data: &str) -> Vec<Edit> {
        decode(data).into_iter().map(|k| editor.apply(k)).collect()
    }

    #[test]
    fn decodes_keys_escapes_and_pastes() {
        assert_eq!(
            decode("ab\x1b[D\x1b[3~\x7f\r\x03\x1bOH\x1b[1~\x1b[F\x0b\x15\x17\tx"),
            [
                Key::Text("ab".into()),
                Key::Left,
                Key::Delete,
                Key::Backspace,
                Key::Enter,
                Key::Interrupt,
                Key::Home,
                Key::Home,
                Key::End,
                Key::KillToEnd,
                Key::KillToStart,
                Key::KillWord,
                Key::Tab,
                Key::Text("x".into()),
            ]
        );
        assert_eq!(
            decode("\x1b[200~docker run \\\n  busybox\x1b[201~é"),
            [
                Key::Paste("docker run \\\n  busybox".into()),
                Key::Text("é".into())
            ]
        );
        assert_eq!(decode("\x1b[15~\x1bx\x1b"), [Key::Other, Key::Other, Key::Other]);
    }

    #[test]
    fn edits_in_the_middle_of_the_line() {
        let mut e = LineEditor::default();
        typed(&mut e, "docker imges");
        typed(&mut e, "\x1b[D\x1b[D\x1b[D");
        typed(&mut e, "a");
        assert_eq!(e.line(), "docker images");
        assert_eq!(e.cursor(), 10);
        typed(&mut e, "\x01");
        assert_eq!(e.cursor(), 0);
        typed(&mut e, "\x1b[3~\x1b[3~\x1b[3~\x1b[3~\x1b[3~\x1b[3~\x1b[3~");
        assert_eq!(e.line(), "images");
        typed(&mut e, "\x05 ls\x7f\x7f\x7f");
        assert_eq!(e.line(), "images");
        typed(&mut e, "\x1b[H\x1b[C\x1b[C\x0b");
        assert_eq!(e.line(), "im");
        typed(&mut e, "age ls -a\x17\x17");
        assert_eq!(e.line(), "image ");
        typed(&mut e, "\x02\x15");
        assert_eq!((e.line().as_str(), e.cursor()), (" ", 0));
    }

    #[test]
    fn enter_submits_and_records_history_once() {
        let mut e = LineEditor::default();
        assert_eq!(
            typed(&mut e, "docker ps\r"),
            [Edit::Edited, Edit::Submit("docker ps".into())]
        );
        typed(&mut e, "docker ps\r   \r");
        assert_eq!(e.history, ["docker ps"]);
        assert_eq!(e.line(), "");
        assert!(e.take_output().ends_with("\r\n"));
    }

    #[test]
    fn arrows_walk_history_and_give_back_the_draft() {
        let mut e = LineEditor::with_history(vec!["docker images".into(), "docker ps".into()]);
        typed(&mut e, "dock");
        typed(&mut e, "\x1b[A");
        assert_eq!(e.line(), "docker ps");
        typed(&mut e, "\x1b[A\x1b[A");
        assert_eq!(e.line(), "docker images");
        typed(&mut e, "\x1b[B");
        assert_eq!(e.line(), "docker ps");
        typed(&mut e, "\x1b[B");
        assert_eq!(e.line(), "dock");
        assert_eq!(typed(&mut e, "\x1b[B"), [Edit::Nothing]);
    }

    #[test]
    fn a_paste_is_one_line_with_continuations_joined() {
        let mut e = LineEditor::default();
        typed(
            &mut e,
            "\x1b[200~docker run \\\r\n  -p 8000:8000\nbusybox\n\x1b[201~",
        );
        assert_eq!(e.line(), "docker run   -p 8000:8000 busybox");
        assert!(e.history.is_empty());
    }

    #[test]
    fn a_paste_splits_into_lines_to_run_and_the_rest() {
        assert_eq!(
            split_paste("docker run \\\r\n  -p 8000:8000 busybox\r\ndocker ps\ndocker im"),
            (
                vec![
                    "docker run   -p 8000:8000 busybox".to_string(),
                    "docker ps".to_string()
                ],
                "docker im".to_string()
            )
        );
        assert_eq!(
            split_paste("docker ps\n"),
            (vec!["docker ps".to_string()], String::new())
        );
        assert_eq!(split_paste("docker ps"), (Vec::new(), "docker ps".to_string()));
    }

    #[test]
    fn tab_completes_the_text_before_the_cursor() {
        let mut e = LineEditor::default();
        typed(&mut e, "docker p -a\x1b[D\x1b[D\x1b[D");
        assert_eq!(typed(&mut e, "\t"), [Edit::Complete("docker p".into())]);
        e.take_output();
        e.completed("docker p", &["ps".into(), "pull".into(), "push".into()]);
        assert!(e
            .take_output()
            .contains("\r\nps  pull  push\r\n\r\x1b[J$ docker p -a"));
        e.completed("docker ps", &[]);
        assert_eq!((e.line().as_str(), e.cursor()), ("docker ps -a", 9));
    }

    #[test]
    fn ctrl_c_drops_the_line_and_ctrl_l_keeps_it() {
        let mut e = LineEditor::default();
        typed(&mut e, "docker rmi");
        assert_eq!(typed(&mut e, "\x0c"), [Edit::ClearScreen]);
        assert_eq!(e.line(), "docker rmi");
        assert!(e
            .take_output()
            .ends_with("\x1b[H\x1b[2J\x1b[3J\r\x1b[J$ docker rmi\r\x1b[12C"));
        assert_eq!(typed(&mut e, "\x03"), [Edit::Interrupt]);
        assert_eq!(e.line(), "");
        assert!(e.take_output().ends_with("$ docker rmi\r\x1b[12C^C\r\n"));
        assert!(e.history.is_empty());
    }

    #[test]
    fn a_line_longer_than_the_terminal_wraps_and_is_redrawn_from_its_first_row() {
        let mut e = LineEditor::default();
        e.set_cols(10);
        typed(&mut e, "0123456789abc");
        // "$ " + 13 characters = 15 cells: the cursor is on the second row, column 5.
        e.take_output();
        typed(&mut e, "\x01");
        assert_eq!(e.take_output(), "\x1b[1A\r\x1b[J$ 0123456789abc\x1b[1A\r\x1b[2C");
        typed(&mut e, "\x05\x7f\x7f\x7f\x7f\x7f");
        // Exactly one full row: the cursor is made to wrap so the next redraw finds the prompt.
        assert_eq!(e.take_output().rsplit("\x1b[J").next(), Some("$ 01234567 \r\r"));
        e.set_cols(80);
        typed(&mut e, "\x01");
        assert_eq!(e.take_output(), "\r\x1b[J$ 01234567\r\x1b[2C");
    }
}
