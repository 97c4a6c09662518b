//! The `.env` file as Compose reads it: `KEY=VALUE` lines, `export KEY=VALUE`, `#` comments (whole lines, or after
//! a space on an unquoted value), single quotes (literal), double quotes (escapes `\n`, `\t`, `\"`, `\\`, and
//! `${VAR}` interpolated), values that span lines inside quotes, and `KEY` alone (taken from the environment).

use std::collections::BTreeMap;

use super::interpolate::{interpolate, Variables};

/// A line of a `.env` file Compose would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to read {file}: line {line}: {message}")]
pub struct DotenvError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Parse `text` (named `file` in errors). Values interpolate from the variables defined above them, then `env`.
pub fn parse(
    file: &str,
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, DotenvError> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let error = |message: String| DotenvError {
            file: file.to_string(),
            line: number,
            message,
        };
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let (key, value) = match line.find('=') {
            Some(eq) => (line[..eq].trim(), Some(line[eq + 1..].trim_start())),
            None => (line.trim(), None),
        };
        if let Some(bad) = key
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(error(format!(
                "unexpected character \"{bad}\" in variable name \"{key}\""
            )));
        }
        if key.is_empty() {
            return Err(error("no variable name before '='".to_string()));
        }
        let Some(value) = value else {
            // `KEY` alone: the environment's value, if it has one.
            if let Some(v) = env.get(key) {
                out.insert(key.to_string(), v.clone());
            }
            continue;
        };
        let mut vars = Variables::new(
            env.iter()
                .chain(out.iter())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let value = match value.chars().next() {
            Some(q @ ('\'' | '"')) => {
                let mut text = value[1..].to_string();
                // A quoted value may go on over the next lines until its closing quote.
                while closing_quote(&text, q).is_none() && i < lines.len() {
                    text.push('\n');
                    text.push_str(lines[i]);
                    i += 1;
                }
                let end =
                    closing_quote(&text, q).ok_or_else(|| error(format!("unterminated quoted value {q}")))?;
                let inner = &text[..end];
                if q == '\'' {
                    inner.to_string()
                } else {
                    let unescaped = unescape(inner);
                    interpolate(&unescaped, &mut vars).map_err(|e| error(e.to_string()))?
                }
            }
            _ => {
                let bare = match value.find(" #") {
                    Some(c) => &value[..c],
                    None => value,
                };
                interpolate(bare.trim_end(), &mut vars).map_err(|e| error(e.to_string()))?
            }
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

/// Where the closing quote `q` is (a double-quoted value may escape it with `\`).
fn closing_quote(text: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if q == '"' && !escaped => escaped = true,
            c if c == q && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
