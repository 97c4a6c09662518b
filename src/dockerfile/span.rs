//! Source positions: byte ranges with 1-based line and column numbers, for every node the parser produces.

use std::cell::Cell;

use serde::Serialize;

/// A range of the source text. `start..end` are byte offsets; lines and columns are 1-based, columns count
/// characters (not bytes) from the start of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// Maps byte offsets of one source text to lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
    /// Whether each line is pure ASCII (its columns are byte offsets then).
    ascii: Vec<bool>,
    /// The 0-based line of the last lookup: the parser asks for offsets in nearly increasing order, so the
    /// answer is almost always this line or the next one, without a binary search over every line start.
    last_line: Cell<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        let ascii = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let e = starts.get(i + 1).copied().unwrap_or(src.len());
                src.as_bytes()[s..e].is_ascii()
            })
            .collect();
        LineIndex {
            src,
            starts,
            ascii,
            last_line: Cell::new(0),
        }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.src, offset.min(self.src.len()));
        let line = self.line_of(offset);
        let start = self.starts[line];
        let column = if self.ascii[line] {
            offset - start + 1
        } else {
            self.src[start..offset].chars().count() + 1
        };
        (line + 1, column)
    }

    /// The 0-based line holding `offset` (at most `src.len()`).
    fn line_of(&self, offset: usize) -> usize {
        let starts_line =
            |l: usize| self.starts[l] <= offset && self.starts.get(l + 1).is_none_or(|&next| offset < next);
        let hint = self.last_line.get();
        let line = if starts_line(hint) {
            hint
        } else if hint + 1 < self.starts.len() && starts_line(hint + 1) {
            hint + 1
        } else {
            match self.starts.binary_search(&offset) {
                Ok(i) => i,
                Err(i) => i - 1,
            }
        };
        self.last_line.set(line);
        line
    }

    /// The span of `start..end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let end = end.max(start);
        let (line, column) = self.position(start);
        let (end_line, end_column) = self.position(end);
        Span {
            start,
            end,
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// Byte offset where 1-based `line` starts (the end of the text for lines past the end).
    pub fn line_start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.src.len())
    }

    /// The span of a whole 1-based line, without its line break.
    pub fn line_span(&self, line: usize) -> Span {
        let start = self.line_start(line);
        let mut end = self.line_start(line + 1);
        let bytes = self.src.as_bytes();
        while end > start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        self.span(start, end)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let idx = LineIndex::new("ab\nc\u{e9}d\n");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(6), (2, 3));
        let s = idx.line_span(2);
        assert_eq!((s.start, s.end, s.end_column), (3, 7, 4));
    }

    #[test]
    fn lookups_in_any_order_agree_with_a_fresh_index() {
        let src = "FROM a\n\nRUN b \\\n  c\n\u{e9}t\u{e9}\nEND";
        let idx = LineIndex::new(src);
        let offsets: Vec<usize> = (0..=src.len())
            .chain((0..=src.len()).rev())
            .chain([3, 20, 1, 15, 0])
            .collect();
        for off in offsets {
            assert_eq!(
                idx.position(off),
                LineIndex::new(src).position(off),
                "offset {off}"
            );
        }
    }
}
