//! A container's TTY output turned into plain screen lines for the page's terminal: carriage returns,
//! backspaces and the line-editing escapes a shell prompt uses (erase line, cursor left/right) are applied;
//! colours, titles and other escapes are dropped.

/// The most lines kept: older ones scroll away, as in a terminal's scrollback.
const SCROLLBACK: usize = 2000;

/// Where the escape-sequence parser is between two bytes (a sequence may be split across chunks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Esc,
    /// After `ESC [`: the parameters so far.
    Csi(String),
    /// After `ESC ]` (a title or other OS command), until BEL or `ESC \`.
    Osc,
}

/// The screen of one attached session: lines of text and the cursor's column on the last line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtyScreen {
    lines: Vec<Vec<char>>,
    col: usize,
    escape: Escape,
    /// The start of a UTF-8 character cut off at the end of the last chunk.
    partial: Vec<u8>,
}

impl Default for TtyScreen {
    fn default() -> Self {
        TtyScreen {
            lines: vec![Vec::new()],
            col: 0,
            escape: Escape::None,
            partial: Vec::new(),
        }
    }
}

impl TtyScreen {
    /// Apply a chunk of output, as the attach WebSocket delivers it.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut data = std::mem::take(&mut self.partial);
        data.extend_from_slice(bytes);
        let mut rest = data.as_slice();
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    text.chars().for_each(|c| self.put(c));
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    std::str::from_utf8(valid)
                        .unwrap_or_default()
                        .chars()
                        .for_each(|c| self.put(c));
                    match e.error_len() {
                        // Cut off mid-character: the next chunk completes it.
                        None => {
                            self.partial = after.to_vec();
                            break;
                        }
                        Some(bad) => {
                            self.put(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                    }
                }
            }
        }
    }

    /// The screen's lines, trailing blanks trimmed; the last one is where the cursor is (the shell's prompt).
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| l.iter().collect::<String>().trim_end().to_string())
            .collect()
    }

    /// The lines to keep once the session ended: without the empty line the cursor left after the last output.
    pub fn finished_lines(&self) -> Vec<String> {
        let mut lines = self.lines();
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    fn line(&mut self) -> &mut Vec<char> {
        self.lines.last_mut().expect("a screen always has a line")
    }

    fn put(&mut self, c: char) {
        match std::mem::take(&mut self.escape) {
            Escape::None => self.plain(c),
            Escape::Esc => {
                self.escape = match c {
                    '[' => Escape::Csi(String::new()),
                    ']' => Escape::Osc,
                    // Two-character escapes (ESC 7, ESC =, ESC \ ending an OS command) change nothing we show.
                    _ => Escape::None,
                }
            }
            Escape::Csi(mut params) => {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    self.csi(&params, c);
                } else {
                    params.push(c);
                    self.escape = Escape::Csi(params);
                }
            }
            Escape::Osc => {
                self.escape = match c {
                    '\u{7}' => Escape::None,
                    '\u{1b}' => Escape::Esc,
                    _ => Escape::Osc,
                }
            }
        }
    }

    fn plain(&mut self, c: char) {
        match c {
            '\u{1b}' => self.escape = Escape::Esc,
            '\r' => self.col = 0,
            '\n' => {
                self.lines.push(Vec::new());
                self.col = 0;
                if self.lines.len() > SCROLLBACK {
                    self.lines.remove(0);
                }
            }
            '\u{8}' => self.col = self.col.saturating_sub(1),
            '\t' => {
                let next = (self.col / 8 + 1) * 8;
                while self.col < next {
                    self.write(' ');
                }
            }
            c if c.is_control() => {}
            c => self.write(c),
        }
    }

    /// Write at the cursor, overwriting what is there (a shell redraws its line this way).
    fn write(&mut self, c: char) {
        let col = self.col;
        let line = self.line();
        if line.len() < col {
            line.resize(col, ' ');
        }
        if col < line.len() {
            line[col] = c;
        } else {
            line.push(c);
        }
        self.col += 1;
    }

    /// `ESC [ params final`: the cursor and erase commands of line editing; everything else (colours with
    /// `m`, cursor queries, full-screen moves) is dropped.
    fn csi(&mut self, params: &str, command: char) {
        let n = params
            .trim_start_matches('?')
            .split(';')
            .next()
            .and_then(|p| p.parse::<usize>().ok());
        let col = self.col;
        match command {
            'K' => {
                let line = self.line();
                match n.unwrap_or(0) {
                    0 => line.truncate(col),
                    1 => line.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                    _ => line.clear(),
                }
            }
            'C' => self.col += n.unwrap_or(1).max(1),
            'D' => self.col = col.saturating_sub(n.unwrap_or(1).max(1)),
            'G' => self.col = n.unwrap_or(1).max(1) - 1,
            'P' => {
                let line = self.line();
                let end = (col + n.unwrap_or(1).max(1)).min(line.len());
                if col < end {
                    line.drain(col..end);
                }
            }
            '@' => {
                let line = self.line();
                if col <= line.len() {
                    for _ in 0..n.unwrap_or(1).max(1) {
                        line.insert(col, ' ');
                    }
                }
            }
            'J' if n == Some(2) => {
                self.lines = vec![Vec::new()];
                self.col = 0;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(chunks: &[&[u8]]) -> TtyScreen {
        let mut s = TtyScreen::default();
        chunks.iter().for_each(|c| s.feed(c));
        s
    }

    #[test]
    fn a_shell_session_reads_cleanly() {
        // What busybox sh sends for `echo hi` typed at its prompt, with a colour and a cursor query.
        let s = screen(&[
            b"\x1b[6n/ # ",
            b"e",
            b"cho hi",
            b"\r\n",
            b"hi\r\n\x1b[1;34m/ # \x1b[0m",
        ]);
        assert_eq!(s.lines(), ["/ # echo hi", "hi", "/ #"]);
        assert_eq!(s.finished_lines(), ["/ # echo hi", "hi", "/ #"]);
    }

    #[test]
    fn backspace_and_line_redraws_overwrite() {
        // The learner typed `ecjo`, erased two characters and typed `ho`: the shell moves back and erases.
        let s = screen(&[b"$ ecjo\x08 \x08\x08 \x08ho\r\n"]);
        assert_eq!(s.lines()[0], "$ echo");
        let s = screen(&[b"$ hello\r$ \x1b[Kbye\x1b[2D\x1b[1P"]);
        assert_eq!(s.lines(), ["$ be"]);
        let s = screen(&[b"abc\x1b[2G\x1b[2@X"]);
        assert_eq!(s.lines(), ["aX bc"]);
    }

    #[test]
    fn split_characters_and_sequences_survive_chunk_edges() {
        let s = screen(&[b"caf\xc3", b"\xa9 \x1b[3", b"1mred\x1b]0;title\x07!\n"]);
        assert_eq!(s.lines(), ["café red!", ""]);
        assert_eq!(s.finished_lines(), ["café red!"]);
        let s = screen(&[b"a\xffb\tc"]);
        assert_eq!(s.lines(), ["a\u{fffd}b     c"]);
    }

    #[test]
    fn clear_screen_and_scrollback_bound_the_lines() {
        let s = screen(&[b"old\r\n\x1b[H\x1b[2Jnew"]);
        assert_eq!(s.lines(), ["new"]);
        let many = "x\n".repeat(SCROLLBACK + 10);
        assert_eq!(screen(&[many.as_bytes()]).lines().len(), SCROLLBACK);
    }
}
