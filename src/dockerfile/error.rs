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
    #[error("unknown flag: --{flag}{}", did_you_mean(suggestion))]
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

/// BuildKit's `suggest.Search`/`WrapError` (`util/suggest/error.go`), the one "did you mean" rule of the front
/// end: the first candidate at a Levenshtein distance under 3 that no later one beats (none when a candidate
/// matches exactly); without `case_sensitive` compared in lower case and returned in upper case for an all
/// upper-case word, else lower case. BuildKit passes `false` for instructions only; unknown flags
/// (`BFlags.Parse`), `--mount` keys, `--target` stages, UndefinedVar and UndefinedArgInFrom are case-sensitive.
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
        let d = levenshtein(&val, &opt);
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

/// Levenshtein distance in characters (`agext/levenshtein`'s default: insertions, deletions and substitutions
/// cost 1; a transposition is two edits).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diag + usize::from(ca != cb));
            diag = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Case-sensitive, as for flags, variables and stages: a different case is an edit.
        assert_eq!(buildkit_suggestion("FROM", ["from"], true), None);
        assert_eq!(
            buildkit_suggestion("From", ["from"], true).as_deref(),
            Some("from")
        );
        // Words of one or two letters: anything within two edits.
        assert_eq!(buildkit_suggestion("a", ["ab", "b"], true).as_deref(), Some("ab"));
        assert_eq!(
            buildkit_suggestion("x", ["APP_HOME", "A"], true).as_deref(),
            Some("A")
        );
        assert_eq!(
            buildkit_suggestion("ab", ["ba"], true).as_deref(),
            Some("ba"),
            "a swap is two edits"
        );
        assert_eq!(buildkit_suggestion("abc", ["bac"], true).as_deref(), Some("bac"));
        assert_eq!(
            buildkit_suggestion("abcd", ["badc"], true),
            None,
            "two swaps are four edits"
        );
    }
}
