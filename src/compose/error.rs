//! Where a problem is (file, line, column) and what Compose says about it.

use serde::Serialize;

/// A place in one of the project's compose files: `file` indexes `Project::files`; line and column are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
pub struct Pos {
    pub file: usize,
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const fn new(file: usize, line: usize, column: usize) -> Pos {
        Pos { file, line, column }
    }
}

/// A compose file Compose would refuse, in Compose's words, with where it is when there is a place to point at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ComposeError {
    pub pos: Option<Pos>,
    pub message: String,
}

impl ComposeError {
    pub fn at(pos: Pos, message: impl Into<String>) -> ComposeError {
        ComposeError {
            pos: Some(pos),
            message: message.into(),
        }
    }

    pub fn new(message: impl Into<String>) -> ComposeError {
        ComposeError {
            pos: None,
            message: message.into(),
        }
    }

    /// `compose.yaml:4:5: services.web Additional property foo is not allowed`, naming files by `names`.
    pub fn render(&self, names: &[String]) -> String {
        match self.pos {
            Some(p) => format!(
                "{}:{}:{}: {}",
                names.get(p.file).map(String::as_str).unwrap_or("compose.yaml"),
                p.line,
                p.column,
                self.message
            ),
            None => self.message.clone(),
        }
    }
}
