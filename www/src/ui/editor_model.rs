//! The Dockerfile editor's state as a plain reducer (tested natively): the text, its diagnostics (and where
//! CodeMirror draws them), the outline of stages and instructions, and the line to jump to.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use slipway::dockerfile::lint::{self, Diagnostic, LintOptions};
use slipway::dockerfile::{parse, Dockerfile};

/// One entry of the outline: a stage (depth 0) or an instruction (depth 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlineItem {
    pub line: usize,
    pub depth: u8,
    pub label: String,
}

/// One problem as the editor lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub line: usize,
    pub column: usize,
    /// `error`, `warning` or `info`.
    pub severity: String,
    pub rule: String,
    pub message: String,
    pub explanation: String,
}

/// The check of a Dockerfile, as the engine answers it (`engine_api::export::LINT`): the diagnostics, where
/// CodeMirror draws them, and the outline, all from one parse.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DockerfileCheck {
    pub diagnostics: Vec<Listed>,
    pub marks: Vec<CodeMark>,
    pub outline: Vec<OutlineItem>,
}

impl DockerfileCheck {
    /// Parse and check `text` once.
    pub fn of(text: &str) -> Self {
        let (diagnostics, outline) = match parse(text) {
            Ok(df) => (
                lint::check(&df, &LintOptions::default()).diagnostics,
                outline(&df),
            ),
            Err(e) => (vec![lint::error_diagnostic(&e)], Vec::new()),
        };
        DockerfileCheck {
            marks: code_marks(text, &diagnostics),
            diagnostics: diagnostics
                .into_iter()
                .map(|d| Listed {
                    line: d.line,
                    column: d.column,
                    severity: d.severity.to_string(),
                    rule: d.rule.to_string(),
                    message: d.message,
                    explanation: d.explanation.to_string(),
                })
                .collect(),
            outline,
        }
    }
}

/// What the editor shows.
#[derive(Debug, Clone, PartialEq)]
pub struct EditorState {
    pub text: String,
    pub diagnostics: Vec<Listed>,
    /// The diagnostics placed for CodeMirror, computed with them (so the timed check includes it).
    pub marks: Rc<Vec<CodeMark>>,
    pub outline: Vec<OutlineItem>,
    /// The line the learner asked to jump to (from the diagnostics list or the outline).
    pub jump_to: Option<Jump>,
    /// How long the last parse + check took, in milliseconds, when a clock was available (the browser's).
    pub check_ms: Option<f64>,
    /// Whether the text was checked (in the page: the engine may not have loaded yet).
    pub checked: bool,
}

/// A request to move the cursor to `line`; `seq` tells a second click on the same line from the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jump {
    pub line: usize,
    pub seq: u32,
}

impl Jump {
    /// A jump to `line` after `previous` (a second click on the same line moves the cursor again).
    pub fn after(previous: Option<Jump>, line: usize) -> Jump {
        let seq = previous.map_or(0, |j| j.seq.wrapping_add(1));
        Jump { line, seq }
    }
}

/// What can happen in the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorAction {
    Edit(String),
    JumpTo(usize),
    /// Check the text again (the engine has loaded).
    Recheck,
}

impl EditorState {
    /// The state of `text` checked here (natively; the page asks its engine: [`EditorState::with_check`]).
    pub fn new(text: &str) -> Self {
        Self::with_check(text.to_string(), Some(DockerfileCheck::of(text)), None)
    }

    /// The state of `text` with its check (`None`: not checked yet). Built from the new text alone: nothing of
    /// a previous text, diagnostics or outline is copied (Yew's reducer holds the old state behind an `Rc`, so
    /// taking it by value would clone all of it on every keystroke only to throw it away).
    pub fn with_check(text: String, check: Option<DockerfileCheck>, jump_to: Option<Jump>) -> Self {
        let checked = check.is_some();
        let check = check.unwrap_or_default();
        EditorState {
            text,
            diagnostics: check.diagnostics,
            marks: Rc::new(check.marks),
            outline: check.outline,
            jump_to,
            check_ms: None,
            checked,
        }
    }

    /// The state after the learner's edit, checked here.
    pub fn edited(&self, text: String) -> Self {
        let check = DockerfileCheck::of(&text);
        Self::with_check(text, Some(check), self.jump_to)
    }

    /// The cursor asked to `line`.
    pub fn jumped(mut self, line: usize) -> Self {
        self.jump_to = Some(Jump::after(self.jump_to, line));
        self
    }

    pub fn reduce(self, action: EditorAction) -> Self {
        match action {
            EditorAction::Edit(text) => self.edited(text),
            EditorAction::Recheck => self.edited(self.text.clone()),
            EditorAction::JumpTo(line) => self.jumped(line),
        }
    }
}

/// Where CodeMirror draws each diagnostic: UTF-16 offsets into the text (what JavaScript strings count).
fn code_marks(text: &str, diagnostics: &[Diagnostic]) -> Vec<CodeMark> {
    if diagnostics.is_empty() {
        return Vec::new(); // no need to index the text's lines
    }
    let starts = line_starts_utf16(text);
    let lines: Vec<&str> = text.split('\n').collect();
    // 1-based (line, column in characters) → UTF-16 offset; past the end clamps to the line's end.
    let offset = |line: usize, column: usize| -> u32 {
        let Some(text) = lines.get(line.saturating_sub(1)) else {
            return starts.last().copied().unwrap_or(0);
        };
        let within: usize = text
            .chars()
            .take(column.saturating_sub(1))
            .map(char::len_utf16)
            .sum();
        starts[line.saturating_sub(1)] + u32::try_from(within).unwrap_or(u32::MAX)
    };
    diagnostics
        .iter()
        .map(|d| {
            let from = offset(d.span.line.max(1), d.span.column.max(1));
            let end_line = d.span.end_line.max(d.span.line);
            let to = offset(end_line.max(1), d.span.end_column.max(1));
            CodeMark {
                from,
                // A diagnostic at a point still underlines one character.
                to: if to > from { to } else { from + 1 },
                severity: d.severity.to_string(),
                rule: d.rule.to_string(),
                message: d.message.clone(),
                explanation: d.explanation.to_string(),
            }
        })
        .collect()
}

/// A diagnostic as CodeMirror's lint extension draws it (`www/js/editor.js` reads these fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMark {
    pub from: u32,
    pub to: u32,
    pub severity: String,
    pub rule: String,
    pub message: String,
    pub explanation: String,
}

/// The UTF-16 offset where each line starts, plus the text's length at the end.
fn line_starts_utf16(text: &str) -> Vec<u32> {
    let mut starts = vec![0u32];
    let mut at = 0u32;
    for c in text.chars() {
        at += c.len_utf16() as u32;
        if c == '\n' {
            starts.push(at);
        }
    }
    starts.push(at);
    starts
}

/// Stages and their instructions.
pub fn outline(df: &Dockerfile) -> Vec<OutlineItem> {
    let mut out = Vec::with_capacity(df.commands.len());
    let nodes = &df.syntax.nodes;
    // Commands and syntax nodes are both in file order: one cursor walks the nodes once (a search from the
    // start for each command was quadratic: ~50 million comparisons on a 10,000-line file).
    let mut next_node = 0;
    for c in &df.commands {
        if let slipway::dockerfile::instructions::Instruction::From(f) = &c.instruction {
            let name = f
                .name
                .as_ref()
                .map_or(String::new(), |n| format!(" AS {}", n.value));
            out.push(OutlineItem {
                line: c.line,
                depth: 0,
                label: format!("FROM {}{name}", f.image.value),
            });
        } else {
            while nodes.get(next_node).is_some_and(|n| n.start_line < c.line) {
                next_node += 1;
            }
            let first = nodes
                .get(next_node)
                .filter(|n| n.start_line == c.line)
                .or_else(|| nodes.iter().find(|n| n.start_line == c.line));
            let summary = first.map_or_else(String::new, |n| {
                summary_of(n.args.iter().map(|a| a.value.as_str()), 40)
            });
            out.push(OutlineItem {
                line: c.line,
                depth: u8::from(!df.stages.stages.is_empty()),
                label: format!("{} {summary}", c.keyword),
            });
        }
    }
    out
}

/// The first `max_chars` characters of the words joined by spaces, without joining the words past them (a
/// RUN with a long heredoc would otherwise be copied whole for a 40-character label).
fn summary_of<'a>(words: impl Iterator<Item = &'a str>, max_chars: usize) -> String {
    let mut out = String::new();
    let mut room = max_chars;
    for (i, word) in words.enumerate() {
        for piece in [if i == 0 { "" } else { " " }, word] {
            let cut = piece.char_indices().nth(room).map_or(piece.len(), |(at, _)| at);
            out.push_str(&piece[..cut]);
            room -= piece[..cut].chars().count();
            if room == 0 {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_gets_an_error_mark_on_its_word_and_goes_away_when_fixed() {
        let s = EditorState::new("FROM alpine:3.19\nRUNN echo hi\nUSER app\n");
        let marks = s.marks.clone();
        let typo = marks
            .iter()
            .find(|m| {
                m.message
                    .contains("unknown instruction: RUNN (did you mean RUN?)")
            })
            .expect("the typo's diagnostic");
        assert_eq!(typo.severity, "error");
        assert_eq!(&s.text[typo.from as usize..typo.to as usize], "RUNN");
        let s = s.reduce(EditorAction::Edit(
            "FROM alpine:3.19\nRUN echo hi\nUSER app\n".into(),
        ));
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
        assert!(s.marks.is_empty());
        assert_eq!(s.outline.len(), 3);
    }

    #[test]
    fn marks_count_utf16_units_like_javascript() {
        // "é" is one UTF-16 unit (two bytes), "😀" two units (four bytes): RUNN starts at unit 13, byte 16.
        let text = "FROM a\n# é😀\nRUNN x\n";
        let s = EditorState::new(text);
        let typo = s.marks[0].clone();
        let utf16: Vec<u16> = text.encode_utf16().collect();
        let marked = String::from_utf16(&utf16[typo.from as usize..typo.to as usize]).unwrap();
        assert_eq!(marked, "RUNN");
        assert_eq!(line_starts_utf16(text), vec![0, 7, 13, 20, 20]);
    }

    #[test]
    fn outline_labels_are_cut_at_40_characters() {
        assert_eq!(summary_of(["echo", "hi"].into_iter(), 40), "echo hi");
        assert_eq!(summary_of(["ab", "cd"].into_iter(), 4), "ab c");
        assert_eq!(summary_of(["ab", "cd"].into_iter(), 3), "ab ");
        assert_eq!(summary_of(["é😀x"].into_iter(), 2), "é😀");
        let s = EditorState::new(&format!("FROM a\nRUN {}\n", "x".repeat(100)));
        assert_eq!(s.outline[1].label, format!("RUN {}", "x".repeat(40)));
    }

    #[test]
    fn an_edit_keeps_the_jump_and_replaces_the_rest() {
        let s = EditorState::new("FROM a:1\nRUNN x\n").reduce(EditorAction::JumpTo(2));
        let s = s.reduce(EditorAction::Edit("FROM a:1\nRUN x\nUSER app\n".into()));
        assert_eq!(s.jump_to.map(|j| j.line), Some(2));
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
        assert_eq!(s.outline.len(), 3);
    }

    #[test]
    fn the_check_crosses_to_the_page_as_json_unchanged() {
        let check = DockerfileCheck::of("FROM a:1\nRUNN x\n");
        let json = serde_json::to_string(&check).unwrap();
        let back: DockerfileCheck = serde_json::from_str(&json).unwrap();
        assert_eq!(back, check);
        let s = EditorState::with_check("FROM a:1\nRUNN x\n".into(), Some(back), None);
        assert!(s.diagnostics[0].message.contains("RUNN"), "{:?}", s.diagnostics);
        assert!(s.checked && !EditorState::with_check(String::new(), None, None).checked);
    }

    #[test]
    fn jumping_asks_again_for_the_same_line() {
        let s = EditorState::new("FROM a\nRUN x\n");
        let once = s.reduce(EditorAction::JumpTo(2));
        let twice = once.clone().reduce(EditorAction::JumpTo(2));
        assert_eq!(once.jump_to.map(|j| j.line), Some(2));
        assert_ne!(
            once.jump_to, twice.jump_to,
            "a second click must move the cursor again"
        );
    }
}
