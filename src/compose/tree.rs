//! The YAML of a compose file as a small tree in which every key and value keeps its file, line and column
//! (read with `marked-yaml`), so that every later stage (interpolation, merge, validation) can point at the text.

use marked_yaml::{LoadError, Node as Yaml};

use super::error::{ComposeError, Pos};

/// One value of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// A mapping's entry: its key (with where the key is written) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; `plain` is false when it was quoted (a quoted `"8080"` stays a string, a quoted
    /// `"null"` is not null).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

impl Node {
    pub fn scalar(pos: Pos, text: impl Into<String>) -> Node {
        Node {
            pos,
            value: Value::Scalar {
                text: text.into(),
                plain: false,
            },
        }
    }

    /// A YAML null: `~`, `null`, or nothing after the colon.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|e| e.key == key).map(|e| &e.node)
    }

    /// What the value is, in the schema's words (`must be a string`).
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Map(_) => "mapping",
            Value::Seq(_) => "list",
            Value::Scalar { .. } if self.is_null() => "null",
            Value::Scalar { .. } => "scalar",
        }
    }
}

/// Parse one file (`file` is its index in the project's list of files, kept in every position).
pub fn parse(file: usize, name: &str, text: &str) -> Result<Node, ComposeError> {
    if text.trim().is_empty() {
        return Err(ComposeError::at(
            Pos::new(file, 1, 1),
            format!("empty compose file: {name}"),
        ));
    }
    if text.len() > MAX_FILE_BYTES {
        return Err(ComposeError::at(
            Pos::new(file, 1, 1),
            format!(
                "{name} is larger than {} KiB: a compose file this big is refused here",
                MAX_FILE_BYTES >> 10
            ),
        ));
    }
    if let Some(line) = too_deep(text) {
        return Err(ComposeError::at(
            Pos::new(file, line, 1),
            format!("yaml: line {line}: nested deeper than {MAX_FLOW_DEPTH} levels: refused here"),
        ));
    }
    let options = marked_yaml::LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    match marked_yaml::parse_yaml_with_options(file, text, options) {
        Ok(node) => Ok(convert(&node)),
        Err(e) => Err(load_error(file, &e)),
    }
}

/// Compose files are small: bigger ones are refused before parsing (the page checks on every keystroke).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Flow collections (`[[[...`) nested deeper than this are refused before parsing: the tree is walked (and
/// dropped) recursively, and the page's stack is small. Block nesting needs a line's indentation per level, so
/// [`MAX_FILE_BYTES`] bounds it (to about 1,400 levels).
pub const MAX_FLOW_DEPTH: usize = 64;

/// The line where flow nesting goes past [`MAX_FLOW_DEPTH`], if it does (quotes and comments skipped).
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        let mut quote = None;
        let mut previous = ' ';
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if previous.is_whitespace() => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Some(i + 1);
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
    }
    None
}

fn marker_pos(m: Option<&marked_yaml::Marker>, file: usize) -> Pos {
    m.map(|m| Pos::new(file, m.line(), m.column()))
        .unwrap_or_else(|| Pos::new(file, 1, 1))
}

fn convert(node: &Yaml) -> Node {
    let file = node.span().start().map(|m| m.source()).unwrap_or(0);
    let pos = marker_pos(node.span().start(), file);
    let value = match node {
        Yaml::Scalar(s) => Value::Scalar {
            text: s.as_str().to_string(),
            plain: s.may_coerce(),
        },
        Yaml::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        Yaml::Mapping(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Entry {
                    key: k.as_str().to_string(),
                    key_pos: marker_pos(k.span().start(), file),
                    node: convert(v),
                })
                .collect(),
        ),
    };
    Node { pos, value }
}

/// The YAML reader's errors in the words Compose (go-yaml) uses: `yaml: line 3: mapping values are not allowed in
/// this context`.
fn load_error(file: usize, e: &LoadError) -> ComposeError {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => (Some(m), "Top-level object must be a mapping".to_string()),
        LoadError::TopLevelMustBeSequence(m) => (Some(m), "Top-level object must be a mapping".to_string()),
        LoadError::UnexpectedAnchor(m) => (
            Some(m),
            "YAML anchors and aliases are not supported here: write the value out".to_string(),
        ),
        LoadError::MappingKeyMustBeScalar(m) => (Some(m), "mapping keys must be strings".to_string()),
        LoadError::UnexpectedTag(m) => (Some(m), "YAML tags (!tag) are not supported here".to_string()),
        // go-yaml names the problem only: `did not find expected key`, not `while parsing a block mapping, ...`.
        LoadError::ScanError(m, scan) => {
            let info = scan.info();
            let problem = match info.strip_prefix("while ") {
                Some(rest) => rest.split_once(", ").map(|(_, p)| p).unwrap_or(info),
                None => info,
            };
            (Some(m), problem.to_string())
        }
        LoadError::DuplicateKey(inner) => (
            inner.key.span().start(),
            format!("mapping key \"{}\" already defined", inner.key.as_str()),
        ),
    };
    let pos = marker_pos(marker, file);
    ComposeError::at(pos, format!("yaml: line {}: {message}", pos.line))
}
