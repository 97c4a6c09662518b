//! Errors of the Dockerfile front end: each carries the span it is about and, where it helps, a suggestion.

use thiserror::Error;

use super::span::Span;

/// Everything the parser, the typed layer and the expander can reject.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    #[error("file with no instructions")]
    Empty { span: Span },
    #[error("only one {name} parser directive can be used")]
    DuplicateDirective { name: String, span: Span },
    #[error("invalid escape token '{token}' does not match ` or \\")]
    InvalidEscape { token: String, span: Span },
    #[error("unterminated heredoc")]
    UnterminatedHeredoc { span: Span },
    #[error("{message}")]
    Syntax { message: String, span: Span },
    #[error("unknown instruction: {keyword}{}", did_you_mean(suggestion))]
    UnknownInstruction {
        keyword: String,
        suggestion: Option<String>,
        span: Span,
    },
    #[error("unknown flag: {flag}{}", did_you_mean(suggestion))]
    UnknownFlag {
        flag: String,
        suggestion: Option<String>,
        span: Span,
    },
    #[error("{message}")]
    Flag { message: String, span: Span },
    #[error("{message}")]
    Instruction { message: String, span: Span },
    #[error("{message}")]
    Expansion { message: String, span: Span },
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean {s}?)"),
        None => String::new(),
    }
}

impl Error {
    /// Where the error is.
    pub fn span(&self) -> Span {
        *self.clone().span_mut()
    }

    fn span_mut(&mut self) -> &mut Span {
        match self {
            Error::Empty { span }
            | Error::DuplicateDirective { span, .. }
            | Error::InvalidEscape { span, .. }
            | Error::UnterminatedHeredoc { span }
            | Error::Syntax { span, .. }
            | Error::UnknownInstruction { span, .. }
            | Error::UnknownFlag { span, .. }
            | Error::Flag { span, .. }
            | Error::Instruction { span, .. }
            | Error::Expansion { span, .. } => span,
        }
    }

    /// The same error at another place.
    pub(crate) fn with_span(mut self, to: Span) -> Self {
        *self.span_mut() = to;
        self
    }

    /// The 1-based line the error starts on.
    pub fn line(&self) -> usize {
        self.span().line
    }

    /// The suggested replacement, for unknown instructions and flags.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            Error::UnknownInstruction { suggestion, .. } | Error::UnknownFlag { suggestion, .. } => {
                suggestion.as_deref()
            }
            _ => None,
        }
    }

    pub(crate) fn syntax(message: impl Into<String>, span: Span) -> Self {
        Error::Syntax {
            message: message.into(),
            span,
        }
    }

    pub(crate) fn instruction(message: impl Into<String>, span: Span) -> Self {
        Error::Instruction {
            message: message.into(),
            span,
        }
    }
}

/// Closest candidate to `word` by edit distance (case-insensitive), if close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = levenshtein(&lower, &c.to_ascii_lowercase(), true);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (word.chars().count() / 3).max(1) + usize::from(word.chars().count() > 4);
    (d > 0 && d <= limit).then(|| c.to_string())
}

/// BuildKit's `suggest.Search` (`util/suggest`), used for unknown instructions: the first candidate at a
/// Levenshtein distance under 3 that no later one beats (none when a candidate matches exactly); without
/// `case_sensitive` compared in lower case and returned in upper case for an all upper-case word, else lower case.
pub fn buildkit_suggestion<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    case_sensitive: bool,
) -> Option<String> {
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let val = fold(word);
    let mut best: Option<(usize, String)> = None;
    for c in candidates {
        let opt = fold(c);
        if opt == val {
            return None;
        }
        let d = levenshtein(&val, &opt, false);
        if d < best.as_ref().map_or(3, |(bd, _)| *bd) {
            best = Some((d, opt));
        }
    }
    let (_, m) = best?;
    Some(
        if case_sensitive || word != word.to_uppercase() || word == word.to_lowercase() {
            m
        } else {
            m.to_uppercase()
        },
    )
}

/// Edit distance; with `transpositions`, swapping two neighbours counts as one edit (optimal string alignment).
fn levenshtein(a: &str, b: &str, transpositions: bool) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[(i - 1) * w + j] + 1)
                    .min(d[i * w + j - 1] + 1)
                    .min(d[(i - 1) * w + j - 1] + cost);
                if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let words = ["FROM", "RUN", "COPY", "WORKDIR"];
        assert_eq!(suggest("FORM", words).as_deref(), Some("FROM"));
        assert_eq!(suggest("cpy", words).as_deref(), Some("COPY"));
        assert_eq!(suggest("WORKDIRR", words).as_deref(), Some("WORKDIR"));
        assert_eq!(suggest("BANANA", words), None);
        assert_eq!(suggest("FROM", words), None);
    }

    /// Cases read in BuildKit's `util/suggest/error.go`: distance under 3, casing of the word, no transpositions.
    #[test]
    fn buildkit_suggestions_follow_util_suggest() {
        let words = ["FROM", "RUN", "ADD", "COPY", "USER", "WORKDIR"];
        let s = |w: &str| buildkit_suggestion(w, words, false);
        assert_eq!(s("WORKDIRR").as_deref(), Some("WORKDIR"));
        assert_eq!(s("FORM").as_deref(), Some("FROM"));
        assert_eq!(s("form").as_deref(), Some("from"));
        assert_eq!(s("Form").as_deref(), Some("from"));
        assert_eq!(s("useradd"), None, "distance 3 is too far");
        assert_eq!(
            s("cd").as_deref(),
            Some("add"),
            "distance 2 suggests, whatever the length"
        );
        assert_eq!(s("run"), None);
        assert_eq!(buildkit_suggestion("Run", ["run"], true).as_deref(), Some("run"));
    }
}
