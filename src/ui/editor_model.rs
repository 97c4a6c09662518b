//! The Dockerfile editor's state as a plain reducer (tested natively): the text, its diagnostics, per-line
//! gutter markers, highlighted and underlined line segments, and the outline of stages and instructions.

use crate::dockerfile::lint::{self, Diagnostic, LintOptions, Severity};
use crate::dockerfile::{instructions::KEYWORDS, parse, Dockerfile};

/// One entry of the outline: a stage (depth 0) or an instruction (depth 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineItem {
    pub line: usize,
    pub depth: u8,
    pub label: String,
}

/// What the editor shows.
#[derive(Debug, Clone, PartialEq)]
pub struct EditorState {
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
    pub outline: Vec<OutlineItem>,
    /// The line the learner asked to jump to (from the diagnostics list or the outline).
    pub jump_to: Option<usize>,
    /// How long the last parse + check took, in milliseconds, when a clock was available (the browser's).
    pub check_ms: Option<f64>,
}

/// What can happen in the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorAction {
    Edit(String),
    JumpTo(usize),
}

impl EditorState {
    pub fn new(text: &str) -> Self {
        let mut s = EditorState {
            text: String::new(),
            diagnostics: Vec::new(),
            outline: Vec::new(),
            jump_to: None,
            check_ms: None,
        };
        s.set_text(text);
        s
    }

    /// Parses and checks once; the diagnostics and the outline come from the same parse.
    fn set_text(&mut self, text: &str) {
        self.text = text.to_string();
        match parse(text) {
            Ok(df) => {
                self.diagnostics = lint::check(&df, &LintOptions::default()).diagnostics;
                self.outline = outline(&df);
            }
            Err(e) => {
                self.diagnostics = vec![lint::error_diagnostic(&e)];
                self.outline = Vec::new();
            }
        }
    }

    pub fn reduce(mut self, action: EditorAction) -> Self {
        match action {
            EditorAction::Edit(text) => {
                self.set_text(&text);
                self.jump_to = None;
            }
            EditorAction::JumpTo(line) => self.jump_to = Some(line),
        }
        self
    }

    /// Number of lines the gutter shows (at least one).
    pub fn line_count(&self) -> usize {
        self.text.split('\n').count().max(1)
    }

    /// The most severe diagnostic starting on `line`, for the gutter marker.
    pub fn marker(&self, line: usize) -> Option<Severity> {
        self.diagnostics
            .iter()
            .filter(|d| d.line == line)
            .map(|d| d.severity)
            .min()
    }

    /// Hover text for `line`: every message of the diagnostics that cover it.
    pub fn hover(&self, line: usize) -> String {
        self.diagnostics
            .iter()
            .filter(|d| d.span.line <= line && line <= d.span.end_line.max(d.span.line))
            .map(|d| format!("{} [{}]: {}", d.severity, d.rule, d.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Byte offset where 1-based `line` starts.
    pub fn line_offset(&self, line: usize) -> usize {
        self.text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum()
    }

    /// The same offset in UTF-16 code units (what a textarea's selection uses).
    pub fn line_offset_utf16(&self, line: usize) -> u32 {
        let off = self.line_offset(line).min(self.text.len());
        u32::try_from(self.text[..off].encode_utf16().count()).unwrap_or(u32::MAX)
    }

    /// The highlighted, underlined segments of every line.
    pub fn lines(&self) -> Vec<Vec<Segment>> {
        let mut continued = false;
        let mut in_heredoc: Option<String> = None;
        self.text
            .split('\n')
            .enumerate()
            .map(|(i, l)| {
                let toks = highlight_line(l, &mut continued, &mut in_heredoc);
                underline(l, i + 1, toks, &self.diagnostics)
            })
            .collect()
    }
}

/// Token classes of the highlighter (CSS classes `tok-...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Plain,
    Keyword,
    Flag,
    String,
    Variable,
    Comment,
    Heredoc,
}

impl Tok {
    pub fn class(self) -> &'static str {
        match self {
            Tok::Plain => "tok-plain",
            Tok::Keyword => "tok-keyword",
            Tok::Flag => "tok-flag",
            Tok::String => "tok-string",
            Tok::Variable => "tok-variable",
            Tok::Comment => "tok-comment",
            Tok::Heredoc => "tok-heredoc",
        }
    }
}

/// A run of text with one token class and, if a diagnostic covers it, its severity and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub tok: Tok,
    pub severity: Option<Severity>,
    pub message: Option<String>,
}

/// Highlights one line; `continued` and `in_heredoc` carry the state between lines.
pub fn highlight_line(
    line: &str,
    continued: &mut bool,
    in_heredoc: &mut Option<String>,
) -> Vec<(usize, usize, Tok)> {
    if let Some(term) = in_heredoc.as_deref() {
        if line.trim_start_matches('\t').trim_end_matches('\r') == term {
            *in_heredoc = None;
        }
        return vec![(0, line.len(), Tok::Heredoc)];
    }
    let trimmed = line.trim_start();
    let lead = line.len() - trimmed.len();
    if trimmed.starts_with('#') {
        return vec![(0, line.len(), Tok::Comment)];
    }
    let mut out = Vec::new();
    let mut i = lead;
    if !*continued {
        let end = trimmed.find(char::is_whitespace).map_or(line.len(), |e| lead + e);
        let word = &line[lead..end];
        if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            out.push((lead, end, Tok::Keyword));
            i = end;
        }
    }
    let b = line.as_bytes();
    let mut plain_start = i;
    let flush = |out: &mut Vec<(usize, usize, Tok)>, from: usize, to: usize| {
        if to > from {
            out.push((from, to, Tok::Plain));
        }
    };
    while i < b.len() {
        let c = b[i];
        let start_of_word = i == 0 || b[i - 1].is_ascii_whitespace();
        let (end, tok) = if c == b'"' || c == b'\'' {
            let close = line[i + 1..].find(c as char).map_or(line.len(), |p| i + 2 + p);
            (close, Tok::String)
        } else if c == b'$' {
            let rest = &line[i + 1..];
            let len = if rest.starts_with('{') {
                rest.find('}').map_or(rest.len(), |p| p + 1)
            } else {
                rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                    .unwrap_or(rest.len())
            };
            (i + 1 + len, Tok::Variable)
        } else if c == b'-' && start_of_word && line[i..].starts_with("--") {
            (
                line[i..].find(char::is_whitespace).map_or(line.len(), |p| i + p),
                Tok::Flag,
            )
        } else if c == b'<' && start_of_word && line[i..].starts_with("<<") {
            let end = line[i..].find(char::is_whitespace).map_or(line.len(), |p| i + p);
            let word = line[i + 2..end]
                .trim_start_matches('-')
                .trim_matches(|ch| ch == '"' || ch == '\'');
            if !word.is_empty() {
                *in_heredoc = Some(word.to_string());
            }
            (end, Tok::Heredoc)
        } else {
            i += line[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        flush(&mut out, plain_start, i);
        out.push((i, end.min(line.len()), tok));
        i = end.min(line.len());
        plain_start = i;
    }
    flush(&mut out, plain_start, line.len());
    if lead > 0 && out.first().is_some_and(|t| t.0 > 0) {
        out.insert(0, (0, lead, Tok::Plain));
    }
    *continued = line.trim_end().ends_with('\\') || line.trim_end().ends_with('`');
    out
}

/// Cuts highlighted tokens at diagnostic boundaries so covered text can be underlined.
fn underline(line: &str, n: usize, toks: Vec<(usize, usize, Tok)>, diags: &[Diagnostic]) -> Vec<Segment> {
    // Byte ranges of this line covered by diagnostics (columns are 1-based characters).
    let col_to_byte = |col: usize| {
        line.char_indices()
            .nth(col.saturating_sub(1))
            .map_or(line.len(), |(b, _)| b)
    };
    let covers: Vec<(usize, usize, &Diagnostic)> = diags
        .iter()
        .filter(|d| d.span.line <= n && n <= d.span.end_line.max(d.span.line))
        .map(|d| {
            let s = if d.span.line == n {
                col_to_byte(d.span.column)
            } else {
                0
            };
            let mut e = if d.span.end_line == n {
                col_to_byte(d.span.end_column)
            } else {
                line.len()
            };
            if e <= s {
                e = (s + 1).min(line.len()).max(s);
            }
            (s, e, d)
        })
        .collect();
    let mut cuts: Vec<usize> = toks.iter().flat_map(|t| [t.0, t.1]).collect();
    for (s, e, _) in &covers {
        cuts.push(*s);
        cuts.push(*e);
    }
    cuts.push(0);
    cuts.push(line.len());
    cuts.retain(|c| *c <= line.len() && line.is_char_boundary(*c));
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| {
            let (a, z) = (w[0], w[1]);
            let tok = toks
                .iter()
                .find(|t| t.0 <= a && z <= t.1)
                .map_or(Tok::Plain, |t| t.2);
            let cover = covers
                .iter()
                .filter(|(s, e, _)| *s <= a && z <= *e)
                .min_by_key(|(_, _, d)| d.severity);
            Segment {
                text: line[a..z].to_string(),
                tok,
                severity: cover.map(|c| c.2.severity),
                message: cover.map(|c| c.2.message.clone()),
            }
        })
        .collect()
}

/// Stages and their instructions.
pub fn outline(df: &Dockerfile) -> Vec<OutlineItem> {
    let mut out = Vec::new();
    for c in &df.commands {
        if let crate::dockerfile::instructions::Instruction::From(f) = &c.instruction {
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
            let first = df.syntax.nodes.iter().find(|n| n.start_line == c.line);
            let summary: String = first
                .map(|n| {
                    n.args
                        .iter()
                        .map(|a| a.value.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
                .chars()
                .take(40)
                .collect();
            out.push(OutlineItem {
                line: c.line,
                depth: u8::from(!df.stages.stages.is_empty()),
                label: format!("{} {summary}", c.keyword),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_gets_a_marker_an_underline_and_goes_away_when_fixed() {
        let s = EditorState::new("FROM alpine:3.19\nRUNN echo hi\nUSER app\n");
        assert_eq!(s.marker(2), Some(Severity::Error));
        assert!(s
            .hover(2)
            .contains("unknown instruction: RUNN (did you mean RUN?)"));
        let line2 = &s.lines()[1];
        assert!(line2
            .iter()
            .any(|seg| seg.text == "RUNN" && seg.severity == Some(Severity::Error)));
        let s = s.reduce(EditorAction::Edit(
            "FROM alpine:3.19\nRUN echo hi\nUSER app\n".into(),
        ));
        assert_eq!(s.marker(2), None);
        assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
        assert_eq!(s.outline.len(), 3);
    }

    #[test]
    fn highlighting_knows_keywords_flags_strings_variables_and_heredocs() {
        let s =
            EditorState::new("# hi\nCOPY --from=build \"a b\" $DEST\nRUN <<EOF\nRUN inside\nEOF\nCMD x\n");
        let lines = s.lines();
        assert_eq!(lines[0][0].tok, Tok::Comment);
        let toks: Vec<(String, Tok)> = lines[1].iter().map(|s| (s.text.clone(), s.tok)).collect();
        assert!(toks.contains(&("COPY".into(), Tok::Keyword)));
        assert!(toks.contains(&("--from=build".into(), Tok::Flag)));
        assert!(toks.contains(&("\"a b\"".into(), Tok::String)));
        assert!(toks.contains(&("$DEST".into(), Tok::Variable)));
        assert!(
            lines[3].iter().all(|s| s.tok == Tok::Heredoc),
            "heredoc body is not code"
        );
        assert_eq!(lines[5][0].tok, Tok::Keyword);
        let joined: String = lines[1].iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, "COPY --from=build \"a b\" $DEST");
    }

    #[test]
    fn jumping_uses_utf16_offsets() {
        let s = EditorState::new("FROM a\n# é😀\nRUN x\n");
        assert_eq!(s.line_offset(3), 16);
        assert_eq!(s.line_offset_utf16(3), 13);
        assert_eq!(s.reduce(EditorAction::JumpTo(3)).jump_to, Some(3));
    }
}
