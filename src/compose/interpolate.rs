//! Variable interpolation as Compose does it: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?error}`, `${VAR?error}`, `${VAR:+replacement}`, `${VAR+replacement}`, defaults that interpolate in
//! turn, and `$$` for a literal `$`. Unset variables without a default become blank strings, with Compose's warning.

use std::collections::BTreeMap;

use super::error::ComposeError;
use super::tree::{Node, Value};

/// The variables interpolation reads (the environment, then `.env`) and the warnings it gives.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    pub values: BTreeMap<String, String>,
    /// `The "X" variable is not set. Defaulting to a blank string.`, once per variable.
    pub warnings: Vec<String>,
    /// The editor's check of a file alone: a required variable without a value is not an error (it may be set
    /// where Compose runs).
    pub lenient: bool,
}

impl Variables {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Variables {
            values,
            warnings: Vec::new(),
            lenient: false,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn warn_unset(&mut self, name: &str) {
        let warning = format!("The \"{name}\" variable is not set. Defaulting to a blank string.");
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }
}

/// Why a string could not be interpolated (the caller adds where: `error while interpolating services.web.image`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    #[error("required variable {name} is missing a value{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Required { name: String, message: String },
    #[error("invalid interpolation format: \"{0}\".\nYou may need to escape any $ with another $.")]
    Invalid(String),
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Defaults inside defaults (`${A:-${B:-...}}`) deeper than this are refused: interpolation recurses.
pub const MAX_NESTING: usize = 16;

/// Interpolate one string.
pub fn interpolate(text: &str, vars: &mut Variables) -> Result<String, InterpolationError> {
    interpolate_at(text, vars, 0)
}

fn interpolate_at(text: &str, vars: &mut Variables, depth: usize) -> Result<String, InterpolationError> {
    if depth > MAX_NESTING {
        return Err(InterpolationError::Invalid(text.to_string()));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let next = after.chars().next();
        match next {
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('{') => {
                let close =
                    matching_brace(after).ok_or_else(|| InterpolationError::Invalid(text.to_string()))?;
                let inner = &after[1..close];
                out.push_str(&braced(inner, text, vars, depth)?);
                rest = &after[close + 1..];
            }
            Some(c) if is_name_start(c) => {
                let end = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
                out.push_str(&lookup(&after[..end], vars));
                rest = &after[end..];
            }
            _ => return Err(InterpolationError::Invalid(text.to_string())),
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` that closes the `{` at the start of `s`, counting nested `${...}`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn lookup(name: &str, vars: &mut Variables) -> String {
    match vars.get(name) {
        Some(v) => v.to_string(),
        None => {
            vars.warn_unset(name);
            String::new()
        }
    }
}

/// `NAME`, `NAME:-default`, ...: the inside of `${...}`.
fn braced(
    inner: &str,
    whole: &str,
    vars: &mut Variables,
    depth: usize,
) -> Result<String, InterpolationError> {
    let end = inner.find(|c: char| !is_name_char(c)).unwrap_or(inner.len());
    let name = &inner[..end];
    if name.is_empty() || !name.starts_with(is_name_start) {
        return Err(InterpolationError::Invalid(whole.to_string()));
    }
    let op = &inner[end..];
    if op.is_empty() {
        return Ok(lookup(name, vars));
    }
    let value = vars.get(name).map(str::to_string);
    let (colon, op) = match op.strip_prefix(':') {
        Some(op) => (true, op),
        None => (false, op),
    };
    // With a colon, an empty value counts as unset.
    let set = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    let (kind, arg) = op.split_at(op.chars().next().map(char::len_utf8).unwrap_or(0));
    match kind {
        "-" if set => Ok(value.unwrap_or_default()),
        "-" => interpolate_at(arg, vars, depth + 1),
        "+" if set => interpolate_at(arg, vars, depth + 1),
        "+" => Ok(String::new()),
        "?" if set => Ok(value.unwrap_or_default()),
        "?" if vars.lenient => Ok(String::new()),
        "?" => Err(InterpolationError::Required {
            name: name.to_string(),
            message: interpolate_at(arg, vars, depth + 1)?,
        }),
        _ => Err(InterpolationError::Invalid(whole.to_string())),
    }
}

/// Interpolate every value of a file's tree (keys stay as written), naming the failing path as Compose does.
pub fn interpolate_tree(
    node: &mut Node,
    path: &mut Vec<String>,
    vars: &mut Variables,
) -> Result<(), ComposeError> {
    match &mut node.value {
        Value::Scalar { text, plain } => {
            if text.contains('$') {
                // What a variable gave is a string, even an empty one (not a YAML null).
                *plain = false;
                *text = interpolate(text, vars).map_err(|e| {
                    ComposeError::at(
                        node.pos,
                        format!("error while interpolating {}: {e}", path.join(".")),
                    )
                })?;
            }
        }
        Value::Seq(items) => {
            for item in items.iter_mut() {
                path.push("[]".to_string());
                interpolate_tree(item, path, vars)?;
                path.pop();
            }
        }
        Value::Map(entries) => {
            for entry in entries.iter_mut() {
                // Extensions (x-*) are Compose's own business: not interpolated.
                if entry.key.starts_with("x-") {
                    continue;
                }
                path.push(entry.key.clone());
                interpolate_tree(&mut entry.node, path, vars)?;
                path.pop();
            }
        }
    }
    Ok(())
}
