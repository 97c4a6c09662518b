//! The syntax layer: lines, parser directives, comments, continuations and heredocs, turned into one node per
//! instruction with spans on the keyword, every flag and every argument (BuildKit's `parser.Parse`).

use serde::Serialize;

use super::error::Error;
use super::line_parsers::{self as lp, Json, Shape, Tok};
use super::span::{LineIndex, Span};

use super::heredoc::heredocs_from_line;
pub use super::heredoc::{parse_heredoc, Heredoc, HeredocError};

/// A parser directive (`# syntax=`, `# escape=`, `# check=`) at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub span: Span,
}

/// A comment line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub text: String,
    pub span: Span,
}

/// One flag or argument as it stands in the syntax tree (quotes are removed later, by word expansion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Word {
    pub value: String,
    pub span: Span,
}

/// One instruction of the syntax tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The keyword as written (BuildKit compares it case-insensitively).
    pub keyword: Word,
    /// Flags as written, e.g. `--from=build` (quotes removed).
    pub flags: Vec<Word>,
    /// Arguments as BuildKit's parser leaves them. ENV and LABEL have (key, value, separator) triples.
    pub args: Vec<Word>,
    /// The instruction behind ONBUILD.
    pub sub: Option<Box<Node>>,
    /// The arguments were a JSON array (exec form).
    pub json: bool,
    pub heredocs: Vec<Heredoc>,
    /// The logical line: continuation lines joined, comments dropped.
    pub original: String,
    /// From the keyword to the end of the last line (heredocs included).
    pub span: Span,
    pub start_line: usize,
    pub end_line: usize,
    /// Comment lines right before the instruction.
    pub comments: Vec<String>,
    /// Where BuildKit warns about empty lines inside the instruction's continuation: its last continuation
    /// line (heredoc bodies not counted), one entry at most.
    pub empty_continuations: Vec<Span>,
}

impl Node {
    /// Lower-case keyword.
    pub fn command(&self) -> String {
        self.keyword.value.to_ascii_lowercase()
    }
}

/// The whole file at the syntax level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyntaxTree {
    pub escape: char,
    pub directives: Vec<Directive>,
    pub comments: Vec<Comment>,
    pub nodes: Vec<Node>,
}

impl SyntaxTree {
    /// The value of a parser directive, if present.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }
}

/// A logical line: text plus the source offsets its pieces came from.
struct Logical {
    text: String,
    /// (offset in `text`, offset in the source) where each piece starts.
    pieces: Vec<(usize, usize)>,
}

impl Logical {
    fn push(&mut self, s: &str, src_off: usize) {
        self.pieces.push((self.text.len(), src_off));
        self.text.push_str(s);
    }
    /// The source offset of byte `i` of the text (`end_fallback` past the end).
    fn src(&self, i: usize, end_fallback: usize) -> usize {
        if i >= self.text.len() {
            return end_fallback;
        }
        let k = match self.pieces.binary_search_by_key(&i, |p| p.0) {
            Ok(k) => k,
            Err(k) => k - 1,
        };
        let (t, s) = self.pieces[k];
        s + (i - t)
    }
}

struct DirectiveState {
    done: bool,
    escape: char,
    found: Vec<Directive>,
}

/// Go's `\s`: `[\t\n\f\r ]`.
fn is_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ')
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, returning name, value and the value's byte offset.
pub(crate) fn match_directive(line: &str) -> Option<(&str, &str, usize)> {
    let rest = line.strip_prefix('#')?;
    let r = rest.trim_start_matches(is_go_space);
    let name_len = r
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(r.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let name = &r[..name_len];
    let r = r[name_len..].trim_start_matches(is_go_space).strip_prefix('=')?;
    if r.is_empty() {
        return None;
    }
    let v = r.trim_start_matches(is_go_space);
    let value = if v.is_empty() {
        // `\s*` gives back one character so that `.+?` matches something.
        &r[r.len() - r.chars().last().map_or(0, char::len_utf8)..]
    } else {
        v.trim_end_matches(is_go_space)
    };
    let offset = value.as_ptr() as usize - line.as_ptr() as usize;
    Some((name, value, offset))
}

impl DirectiveState {
    fn check(&mut self, line: &str, line_off: usize, idx: &LineIndex) -> Result<(), Error> {
        if self.done {
            return Ok(());
        }
        let Some((name, value, voff)) = match_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        let span = idx.span(line_off, line_off + line.len());
        if self.found.iter().any(|d| d.name == name) {
            return Err(Error::DuplicateDirective { name, span });
        }
        if name == "escape" {
            self.escape = match value {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(Error::InvalidEscape {
                        token: value.to_string(),
                        span: idx.span(line_off + voff, line_off + voff + value.len()),
                    })
                }
            };
        }
        self.found.push(Directive {
            name,
            value: value.to_string(),
            span,
        });
        Ok(())
    }
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(raw: &str) -> bool {
    trim_newline(raw).trim_start().starts_with('#')
}

/// BuildKit's continuation regex `([^E])E[ \t]*$|^E[ \t]*$`: the line without the escape, and whether it ended.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    if let Some(before) = t.strip_suffix(escape) {
        if before.is_empty() || !before.ends_with(escape) {
            return (before, false);
        }
    }
    (line, true)
}

/// Parses a Dockerfile into its syntax tree.
pub fn parse(src: &str) -> Result<SyntaxTree, Error> {
    let idx = LineIndex::new(src);
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut off = 0;
    for l in src.split_inclusive('\n') {
        lines.push((off, l));
        off += l.len();
    }
    let mut dirs = DirectiveState {
        done: false,
        escape: '\\',
        found: Vec::new(),
    };
    // At most one node per line; sized up front (and shrunk at the end) because a `Node` is large and
    // growing the vector by doubling would copy every node again.
    let mut nodes = Vec::with_capacity(lines.len());
    let mut comments = Vec::new();
    let mut pending_comments: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (mut base, mut raw) = lines[i];
        if i == 0 {
            if let Some(r) = raw.strip_prefix('\u{feff}') {
                raw = r;
                base += 3;
            }
        }
        if is_comment(raw) {
            let comment = comment_at(raw, base, &idx);
            if comment.text.is_empty() {
                pending_comments.clear();
            } else {
                pending_comments.push(comment.text.clone());
            }
            comments.push(comment);
        }
        let t = trim_newline(raw);
        let stripped = t.trim_start();
        let soff = base + (t.len() - stripped.len());
        dirs.check(stripped, soff, &idx)?;
        let processed = if stripped.starts_with('#') { "" } else { stripped };
        i += 1;
        let start_line = i;
        let (seg, mut eol) = trim_continuation(processed, dirs.escape);
        if eol && seg.is_empty() {
            continue;
        }
        let mut logical = Logical {
            text: String::with_capacity(processed.len()),
            pieces: Vec::with_capacity(2),
        };
        logical.push(seg, soff);
        let mut last_end = soff + processed.len();
        let mut empty_lines = Vec::new();
        while !eol && i < lines.len() {
            let (lbase, lraw) = lines[i];
            let lt = trim_newline(lraw);
            dirs.check(lt, lbase, &idx)?;
            i += 1;
            if is_comment(lraw) {
                continue;
            }
            let lp = if lt.starts_with('#') { "" } else { lt };
            if lp.trim_start().is_empty() {
                empty_lines.push(idx.line_span(i));
                continue;
            }
            let (seg, e) = trim_continuation(lp, dirs.escape);
            eol = e;
            logical.push(seg, lbase);
            last_end = lbase + lp.len();
        }
        let end_src = last_end;
        let to_span = |a: usize, b: usize| {
            let s = logical.src(a, end_src);
            let e = if b > a {
                logical.src(b - 1, end_src.saturating_sub(1)) + 1
            } else {
                s
            };
            idx.span(s, e)
        };
        let mut node = node_from_line(&logical.text, 0, dirs.escape, &to_span, 0)
            .map_err(|e| at_start_line(e, start_line, lines[start_line - 1].0))?;
        // BuildKit warns once per instruction, at its last continuation line.
        if !empty_lines.is_empty() {
            node.empty_continuations = vec![idx.line_span(i)];
        }
        node.comments = std::mem::take(&mut pending_comments);
        let mut end_line = i;
        let mut span_end = end_src;
        if can_contain_heredoc(&node) {
            span_end = read_heredocs(&mut node, &logical.text, &lines, &mut i, end_src, src, &idx)?;
            end_line = i;
        }
        node.original = logical.text;
        node.start_line = start_line;
        node.end_line = end_line;
        if let Some(sub) = node.sub.as_mut() {
            sub.start_line = start_line;
            sub.end_line = end_line;
            sub.heredocs = node.heredocs.clone();
        }
        node.span = idx.span(node.keyword.span.start, span_end.max(node.keyword.span.end));
        nodes.push(node);
    }
    nodes.shrink_to_fit();
    if nodes.is_empty() {
        return Err(Error::Empty {
            span: idx.span(src.len(), src.len()),
        });
    }
    Ok(SyntaxTree {
        escape: dirs.escape,
        directives: dirs.found,
        comments,
        nodes,
    })
}

/// BuildKit reports an instruction's error at its first line, also when that holds only the escape character
/// (`line_start` is where that line starts).
fn at_start_line(e: Error, start_line: usize, line_start: usize) -> Error {
    let span = e.span();
    if span.line <= start_line {
        return e;
    }
    e.with_span(Span {
        start: line_start,
        line: start_line,
        column: 1,
        ..span
    })
}

/// A comment line starting at `base`, its text without the `#` and the spaces around it.
fn comment_at(raw: &str, base: usize, idx: &LineIndex) -> Comment {
    let t = trim_newline(raw);
    let lead = t.len() - t.trim_start().len();
    Comment {
        text: t.trim_start()[1..].trim().to_string(),
        span: idx.span(base + lead, base + t.len()),
    }
}

/// Reads the bodies of the heredocs `text` opens (`<<EOF`), from `lines[*i]` on, into `node`; returns where
/// the node's span ends (after the last terminator).
fn read_heredocs(
    node: &mut Node,
    text: &str,
    lines: &[(usize, &str)],
    i: &mut usize,
    end_src: usize,
    src: &str,
    idx: &LineIndex,
) -> Result<usize, Error> {
    let mut span_end = end_src;
    let docs = heredocs_from_line(text)
        .map_err(|e| Error::syntax(e.to_string(), idx.span(node.keyword.span.start, end_src)))?;
    for mut doc in docs {
        let content_start = lines.get(*i).map_or(src.len(), |l| l.0);
        let mut terminated = false;
        while *i < lines.len() {
            let (lbase, lraw) = lines[*i];
            *i += 1;
            let mut candidate = trim_newline(lraw);
            if doc.chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == doc.name {
                terminated = true;
                span_end = lbase + trim_newline(lraw).len();
                break;
            }
            doc.content.push_str(lraw);
            span_end = lbase + lraw.len();
        }
        if !terminated {
            return Err(Error::UnterminatedHeredoc {
                span: idx.span(node.keyword.span.start, src.len()),
            });
        }
        doc.span = idx.span(content_start, span_end);
        node.heredocs.push(doc);
    }
    Ok(span_end)
}

type SpanFn<'a> = dyn Fn(usize, usize) -> Span + 'a;

fn word(t: Tok, span: &SpanFn) -> Word {
    Word {
        span: span(t.start, t.end),
        value: t.value,
    }
}

/// One instruction from its logical line (BuildKit's `newNodeFromLine`).
fn node_from_line(line: &str, off: usize, escape: char, span: &SpanFn, depth: usize) -> Result<Node, Error> {
    let (kw, flags, rest, rest_off) = lp::split_command(line, off);
    let lower = kw.value.to_ascii_lowercase();
    let mut json = false;
    let mut sub = None;
    let at = |t: &Tok| span(t.start, t.end);
    let whole = span(kw.start, off + line.len());
    let err = |m: String| Error::syntax(m, whole);
    let args: Vec<Tok> = match lp::shape_of(&lower) {
        Shape::Ignore => vec![Tok {
            value: String::new(),
            start: rest_off,
            end: rest_off,
        }],
        Shape::String => nonempty(rest, rest_off),
        Shape::Whitespace => {
            if rest.is_empty() {
                Vec::new()
            } else {
                lp::split_whitespace(rest, rest_off)
            }
        }
        Shape::NameOrNameVal => lp::parse_words(rest, rest_off, escape),
        Shape::Env | Shape::Label => {
            let key = if lower == "env" { "ENV" } else { "LABEL" };
            name_val(rest, rest_off, escape, key).map_err(|e| err(e.to_string()))?
        }
        Shape::MaybeJson => {
            if rest.is_empty() {
                Vec::new()
            } else {
                match lp::parse_json(rest, rest_off) {
                    Json::Array(t) => {
                        json = true;
                        t
                    }
                    Json::NotStringArray => return Err(err(NOT_STRING_ARRAY.into())),
                    Json::Shell => nonempty(rest, rest_off),
                }
            }
        }
        Shape::MaybeJsonToList => match lp::parse_json(rest, rest_off) {
            Json::Array(t) => {
                json = true;
                t
            }
            Json::NotStringArray => return Err(err(NOT_STRING_ARRAY.into())),
            Json::Shell if rest.is_empty() => Vec::new(),
            Json::Shell => lp::split_whitespace(rest, rest_off),
        },
        Shape::Health => {
            let sep = rest
                .char_indices()
                .find(|(_, c)| c.is_whitespace())
                .map_or(rest.len(), |(i, _)| i);
            if sep == 0 {
                Vec::new()
            } else {
                let after = &rest[sep..];
                let next = sep + (after.len() - after.trim_start().len());
                let mut v = vec![Tok {
                    value: rest[..sep].to_string(),
                    start: rest_off,
                    end: rest_off + sep,
                }];
                let cmd = &rest[next..];
                if !cmd.is_empty() {
                    match lp::parse_json(cmd, rest_off + next) {
                        Json::Array(t) => {
                            json = true;
                            v.extend(t);
                        }
                        Json::NotStringArray => return Err(err(NOT_STRING_ARRAY.into())),
                        Json::Shell => v.extend(nonempty(cmd, rest_off + next)),
                    }
                }
                v
            }
        }
        Shape::SubCommand => {
            if !rest.is_empty() {
                if depth >= 8 {
                    return Err(err("ONBUILD nested too deeply".into()));
                }
                let child = node_from_line(rest, rest_off, escape, span, depth + 1)?;
                sub = Some(Box::new(child));
            }
            Vec::new()
        }
    };
    Ok(Node {
        keyword: Word {
            span: at(&kw),
            value: kw.value,
        },
        flags: flags.into_iter().map(|t| word(t, span)).collect(),
        args: args.into_iter().map(|t| word(t, span)).collect(),
        sub,
        json,
        heredocs: Vec::new(),
        // The top-level caller moves its logical line in instead of copying it.
        original: if depth == 0 {
            String::new()
        } else {
            line.to_string()
        },
        span: whole,
        start_line: 0,
        end_line: 0,
        comments: Vec::new(),
        empty_continuations: Vec::new(),
    })
}

const NOT_STRING_ARRAY: &str = "when using JSON array syntax, arrays must be comprised of strings only";

fn nonempty(rest: &str, off: usize) -> Vec<Tok> {
    if rest.is_empty() {
        Vec::new()
    } else {
        vec![Tok {
            value: rest.to_string(),
            start: off,
            end: off + rest.len(),
        }]
    }
}

/// An ENV or LABEL line neither form reads.
#[derive(Debug, thiserror::Error)]
enum NameValError {
    /// The legacy `KEY name value` form without a value.
    #[error("{0} must have two arguments")]
    MissingValue(&'static str),
    /// A word of the `KEY a=b c=d` form without `=` (Go-quoted).
    #[error("Syntax error - can't find = in {0}. Must be of the form: name=value")]
    MissingEquals(String),
}

/// ENV and LABEL: legacy `KEY name value` or `KEY a=b c=d`, as (key, value, separator) triples.
fn name_val(rest: &str, off: usize, escape: char, key: &'static str) -> Result<Vec<Tok>, NameValError> {
    let words = lp::parse_words(rest, off, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.value.contains('=') {
        let Some(ws) = rest.find(lp::is_reg_ws) else {
            return Err(NameValError::MissingValue(key));
        };
        let after = &rest[ws..];
        let vstart = ws + (after.len() - after.trim_start_matches(lp::is_reg_ws).len());
        let end = off + rest.len();
        return Ok(vec![
            Tok {
                value: rest[..ws].to_string(),
                start: off,
                end: off + ws,
            },
            Tok {
                value: rest[vstart..].to_string(),
                start: off + vstart,
                end,
            },
            Tok {
                value: String::new(),
                start: end,
                end,
            },
        ]);
    }
    let mut out = Vec::with_capacity(words.len() * 3);
    for w in words {
        let Some((k, v)) = w.value.split_once('=') else {
            return Err(NameValError::MissingEquals(super::shell::go_quote(&w.value)));
        };
        let eq = w.start + k.len();
        out.push(Tok {
            value: k.to_string(),
            start: w.start,
            end: eq,
        });
        out.push(Tok {
            value: v.to_string(),
            start: (eq + 1).min(w.end),
            end: w.end,
        });
        out.push(Tok {
            value: "=".into(),
            start: eq,
            end: (eq + 1).min(w.end),
        });
    }
    Ok(out)
}

fn can_contain_heredoc(node: &Node) -> bool {
    let n = match &node.sub {
        Some(sub) if node.keyword.value.eq_ignore_ascii_case("onbuild") => sub,
        _ => node,
    };
    let k = &n.keyword.value;
    (k.eq_ignore_ascii_case("add") || k.eq_ignore_ascii_case("copy") || k.eq_ignore_ascii_case("run"))
        && !n.json
}
