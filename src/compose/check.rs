//! Reading typed values out of the tree, the way Compose's schema checks them: each problem is collected (with
//! the path in Compose's words and the line and column) and reading goes on, so the editor shows them all.

use std::collections::BTreeMap;

use super::error::{ComposeError, Pos};
use super::tree::{Entry, Node, Value};

/// Collects the problems of one load.
#[derive(Debug, Default)]
pub struct Checker {
    pub errors: Vec<ComposeError>,
    /// The variables `environment: [FOO]` and `args: {FOO: null}` take their value from.
    pub env: BTreeMap<String, String>,
    /// Each file's directory inside the project ("" for the root), to resolve relative paths against.
    pub file_dirs: Vec<String>,
    /// The project directory as shown (`/project`).
    pub working_dir: String,
}

impl Checker {
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(ComposeError::at(pos, message));
    }

    /// `services.web Additional property foo is not allowed` for each key of `node` not in `allowed` (extensions,
    /// `x-*`, are allowed everywhere). `known` are keys Compose has but Slipway does not support yet.
    pub fn keys<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        known: &[&str],
    ) -> Vec<&'n Entry> {
        let Some(entries) = self.map(node, path) else {
            return Vec::new();
        };
        let mut kept = Vec::new();
        for entry in entries {
            if entry.key.starts_with("x-") {
                continue;
            }
            if allowed.contains(&entry.key.as_str()) {
                kept.push(entry);
            } else if known.contains(&entry.key.as_str()) {
                self.error(
                    entry.key_pos,
                    format!(
                        "{path}.{} is valid Compose but not supported by Slipway yet (see docs/compose.md)",
                        entry.key
                    ),
                );
            } else {
                self.error(
                    entry.key_pos,
                    format!("{path} Additional property {} is not allowed", entry.key),
                );
            }
        }
        kept
    }

    pub fn map<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Entry]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            _ if node.is_null() => Some(&[]),
            _ => {
                self.error(node.pos, format!("{path} must be a mapping"));
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        self.text(node, path, "a string")
    }

    /// A string, or a number written as one (`expose: - 3000`).
    pub fn string_or_number(&mut self, node: &Node, path: &str) -> Option<String> {
        self.text(node, path, "a string or number")
    }

    /// A scalar's text; anything else is refused as not being `what`.
    fn text(&mut self, node: &Node, path: &str, what: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                self.error(node.pos, format!("{path} must be {what}"));
                None
            }
        }
    }

    pub fn integer(&mut self, node: &Node, path: &str) -> Option<u64> {
        match node.as_str().and_then(|t| t.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => {
                self.error(node.pos, format!("{path} must be a integer"));
                None
            }
        }
    }

    pub fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.as_str() {
            Some("true" | "True" | "TRUE" | "yes" | "y" | "on") => Some(true),
            Some("false" | "False" | "FALSE" | "no" | "n" | "off") => Some(false),
            _ => {
                self.error(node.pos, format!("{path} must be a boolean"));
                None
            }
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) => items,
            _ => {
                self.error(node.pos, format!("{path} must be a list"));
                &[]
            }
        }
    }

    /// A list of strings (`profiles`, `aliases`).
    pub fn strings(&mut self, node: &Node, path: &str) -> Vec<String> {
        let items = self.list(node, path);
        items
            .iter()
            .filter_map(|item| self.string_or_number(item, path))
            .collect()
    }

    /// `command` and `entrypoint`: a string (split as a shell would) or a list.
    pub fn command(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        match &node.value {
            _ if node.is_null() => None,
            Value::Scalar { text, .. } => match shell_split(text) {
                Some(words) => Some(words),
                None => {
                    self.error(
                        node.pos,
                        format!("{path}: invalid command line string: unterminated quote"),
                    );
                    None
                }
            },
            Value::Seq(items) => Some(
                items
                    .iter()
                    .filter_map(|i| self.string_or_number(i, path))
                    .collect(),
            ),
            Value::Map(_) => {
                self.error(node.pos, format!("{path} must be a string or list"));
                None
            }
        }
    }

    /// `environment`, `labels`, `args`: a mapping, or a list of `KEY=VALUE` (`KEY` alone has no value).
    pub fn key_values(&mut self, node: &Node, path: &str) -> BTreeMap<String, Option<String>> {
        let mut out = BTreeMap::new();
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    let value = match &e.node.value {
                        _ if e.node.is_null() => None,
                        Value::Scalar { text, .. } => Some(text.clone()),
                        _ => {
                            self.error(
                                e.node.pos,
                                format!("{path}.{} must be a string, number, boolean or null", e.key),
                            );
                            continue;
                        }
                    };
                    out.insert(e.key.clone(), value);
                }
            }
            Value::Seq(items) => {
                for item in items {
                    if let Some(text) = self.string_or_number(item, path) {
                        match text.split_once('=') {
                            Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                            None => out.insert(text, None),
                        };
                    }
                }
            }
            _ if node.is_null() => {}
            Value::Scalar { .. } => self.error(node.pos, format!("{path} must be a mapping or list")),
        }
        out
    }

    /// A path of the project written in the file at `pos`, as shown (absolute under the working directory).
    pub fn project_path(&self, pos: Pos, path: &str) -> String {
        if path.starts_with('/') || path.starts_with('~') {
            return path.to_string();
        }
        let dir = self.file_dirs.get(pos.file).map(String::as_str).unwrap_or("");
        let joined = join(dir, path);
        if joined.starts_with('/') {
            joined
        } else if joined.is_empty() {
            self.working_dir.clone()
        } else {
            format!("{}/{joined}", self.working_dir.trim_end_matches('/'))
        }
    }
}

/// `a/./b/../c` -> `a/c`, without a leading slash (a path inside the project), resolved as `COPY` resolves
/// its destination.
pub fn normalize(path: &str) -> String {
    crate::layer::copy::resolve_dest(path, "")
}

/// `path` written in a file of folder `dir`: relative to the project's root, or absolute (a file named by an
/// absolute `-f` natively) when `dir` or `path` is.
pub fn join(dir: &str, path: &str) -> String {
    let absolute = path.starts_with('/') || (dir.starts_with('/') && !path.starts_with('~'));
    let joined = if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{dir}/{path}"))
    };
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Split a command line as Compose does (shell words: spaces separate, quotes group, `\` escapes).
pub fn shell_split(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' if in_word => {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            ' ' | '\t' | '\n' => {}
            '\\' => {
                word.push(chars.next()?);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}
