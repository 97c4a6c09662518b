//! Heredoc markers (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`) as BuildKit finds them: the instruction line is
//! split by the shell lexer with raw quotes and escapes, and each word is matched against `[fd]<<[-]WORD`.

use serde::Serialize;

use super::shell::{ExpandError, Lexer, NoVars};
use super::span::Span;

/// A here-document attached to RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter word, quotes removed.
    pub name: String,
    /// The file descriptor written before `<<` (0 when absent).
    pub fd: u32,
    /// Whether the content is subject to expansion (the delimiter was not quoted).
    pub expand: bool,
    /// `<<-`: leading tabs are removed from the content and the terminator.
    pub chomp: bool,
    /// The lines between the instruction and the terminator, line breaks included.
    pub content: String,
    /// The content and terminator lines.
    pub span: Span,
}

/// Why a heredoc marker could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeredocError {
    #[error(transparent)]
    Lex(#[from] ExpandError),
    /// Lexing the word with and without raw quotes gave different word counts (BuildKit checks the same).
    #[error("internal lexing of heredoc produced inconsistent results: {0}")]
    Inconsistent(String),
}

/// Heredoc markers in a logical line (BuildKit's `heredocsFromLine`).
pub(crate) fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, HeredocError> {
    if !line.contains("<<") {
        return Ok(Vec::new());
    }
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset_env = true;
    let words = lex.process_words(line, &NoVars).unwrap_or_default();
    let mut out = Vec::new();
    for w in words {
        if let Some(doc) = parse_heredoc(&w)? {
            out.push(doc);
        }
    }
    Ok(out)
}

/// Reads `[fd]<<[-]WORD` (BuildKit's `ParseHeredoc`); `Ok(None)` when `src` is not a heredoc marker.
pub fn parse_heredoc(src: &str) -> Result<Option<Heredoc>, HeredocError> {
    let digits = src.len() - src.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(after) = src[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let fd = src[..digits].parse::<u32>().unwrap_or(0);
    let mut lex = Lexer::new('\\');
    lex.skip_unset_env = true;
    let words = lex.process_words(rest, &NoVars)?;
    if words.len() != 1 {
        return Ok(None);
    }
    lex.raw_quotes = true;
    let raw = lex.process_words(rest, &NoVars)?;
    if raw.len() != words.len() {
        return Err(HeredocError::Inconsistent(rest.to_owned()));
    }
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    Ok(Some(Heredoc {
        expand: quotes(&words[0]) == quotes(&raw[0]),
        name: words[0].clone(),
        fd,
        chomp,
        content: String::new(),
        span: Span::default(),
    }))
}
