//! Output the way the docker CLI lays it out: tabwriter tables, go-units sizes and durations, Go times, and the
//! small part of Go templates `--format` needs (`{{.Field}}`, `{{json .}}`, `table ...`).

use std::collections::BTreeMap;

/// A table as Go's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)` writes docker's: every column but the last is
/// padded to its widest cell plus 3, at least 10 wide.
pub fn tabwrite(rows: &[Vec<String>]) -> String {
    tabwrite_min(rows, 10)
}

/// [`tabwrite`] with another minimum cell width (`docker top` writes with 20).
pub fn tabwrite_min(rows: &[Vec<String>], min_width: usize) -> String {
    tabwrite_padded(rows, min_width, 3)
}

/// [`tabwrite_min`] with another padding between columns (`docker compose top` writes with 2).
pub fn tabwrite_padded(rows: &[Vec<String>], min_width: usize, padding: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            let widest = rows
                .iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0);
            (widest + padding).max(min_width)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}", w = widths[c]));
                }
            }
            format!("{}\n", line.trim_end())
        })
        .collect()
}

// The one go-units size formatter lives below the builder, which prints sizes too.
pub use crate::image::units::{bytes_size, human_size, human_size_with_precision};

/// go-units `HumanDuration`: "Less than a second", "About a minute", "3 hours", "2 weeks", ...
pub fn human_duration(seconds: u64) -> String {
    let minutes = seconds / 60;
    // go-units rounds hours to the nearest one.
    let hours = (seconds + 1800) / 3600;
    match seconds {
        0 => "Less than a second".to_string(),
        1 => "1 second".to_string(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

/// Go's `time.Time.String()` in UTC: `2026-11-28 07:00:00 +0000 UTC`.
pub fn go_time(unix: i64) -> String {
    let text = crate::image::rfc3339(unix.max(0) as u64);
    format!("{} +0000 UTC", text.trim_end_matches('Z').replace('T', " "))
}

/// Go template text with each `{{action}}` (trimmed, `{{- -}}` too) replaced by what `eval(action, column)`
/// gives, `column` being where Go's errors place it; `unclosed` when an action has no `}}`.
pub fn fill_actions<E>(
    text: &str,
    unclosed: E,
    mut eval: impl FnMut(&str, usize) -> Result<String, E>,
) -> Result<String, E> {
    let mut out = String::new();
    let mut rest = text;
    let mut column = 0;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        column += open;
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(unclosed);
        };
        let action = after[..close].trim().trim_matches('-').trim();
        out.push_str(&eval(action, column + 2)?);
        column += close + 4;
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A `--format` value: a Go template over one row's fields, optionally a `table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub table: bool,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template: :1: unclosed action")]
    Unclosed,
    #[error(
        "template: :1:{column}: executing \"\" at <.{field}>: can't evaluate field {field} in type {kind}"
    )]
    UnknownField {
        column: usize,
        field: String,
        kind: &'static str,
    },
    #[error("template: :1: function {0:?} not defined")]
    UnknownFunction(String),
}

impl Template {
    /// `table {{.ID}}\t{{.Tag}}` or a plain template; `\t` and `\n` typed as two characters become tab and newline.
    pub fn parse(format: &str) -> Template {
        let format = format.replace("\\t", "\t").replace("\\n", "\n");
        match format.strip_prefix("table") {
            Some(rest) => Template {
                table: true,
                text: rest.trim_start().to_string(),
            },
            None => Template {
                table: false,
                text: format,
            },
        }
    }

    /// Fill the template from `fields`; `kind` names the row type in errors, as Go's would.
    pub fn render(
        &self,
        fields: &BTreeMap<&'static str, String>,
        kind: &'static str,
    ) -> Result<String, TemplateError> {
        fill_actions(&self.text, TemplateError::Unclosed, |action, column| {
            evaluate(action, fields, kind, column)
        })
    }

    /// The header row of a `table` template: each `{{.Field}}` becomes its column title.
    pub fn header(&self, titles: &BTreeMap<&'static str, &'static str>) -> String {
        let mut out = String::new();
        let mut rest = self.text.as_str();
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else { break };
            let field = after[..close].trim().trim_start_matches('.');
            out.push_str(titles.get(field).copied().unwrap_or(field));
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        out
    }
}

fn evaluate(
    action: &str,
    fields: &BTreeMap<&'static str, String>,
    kind: &'static str,
    column: usize,
) -> Result<String, TemplateError> {
    let lookup = |name: &str| {
        fields
            .get(name)
            .cloned()
            .ok_or_else(|| TemplateError::UnknownField {
                column,
                field: name.to_string(),
                kind,
            })
    };
    if action == "." {
        return Ok(format!("{fields:?}"));
    }
    if let Some(name) = action.strip_prefix('.') {
        return lookup(name);
    }
    match action.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["json", "."] => Ok(serde_json::to_string(fields).expect("strings serialize")),
        ["json", field] if field.starts_with('.') => {
            Ok(serde_json::to_string(&lookup(&field[1..])?).expect("a string serializes"))
        }
        [function, ..] => Err(TemplateError::UnknownFunction(function.to_string())),
        [] => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_like_tabwriter() {
        let rows = vec![
            vec!["REPOSITORY".into(), "TAG".into(), "SIZE".into()],
            vec!["busybox".into(), "latest".into(), "4.26MB".into()],
        ];
        assert_eq!(
            tabwrite(&rows),
            "REPOSITORY   TAG       SIZE\nbusybox      latest    4.26MB\n"
        );
    }

    #[test]
    fn durations_follow_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3600 * 5), "5 hours");
        assert_eq!(human_duration(86_400 * 3), "3 days");
        assert_eq!(human_duration(86_400 * 30), "4 weeks");
        assert_eq!(human_duration(86_400 * 200), "6 months");
        assert_eq!(human_duration(86_400 * 365 * 3), "3 years");
        assert_eq!(go_time(1_700_000_000), "2023-11-14 22:13:20 +0000 UTC");
    }

    #[test]
    fn templates_fill_fields_and_name_unknown_ones() {
        let fields = BTreeMap::from([
            ("Repository", "busybox".to_string()),
            ("Tag", "latest".to_string()),
        ]);
        let t = Template::parse("{{.Repository}}:{{.Tag}}");
        assert!(!t.table);
        assert_eq!(
            t.render(&fields, "formatter.imageContext").unwrap(),
            "busybox:latest"
        );
        let t = Template::parse("table {{.Repository}}\\t{{.Tag}}");
        assert!(t.table);
        let titles = BTreeMap::from([("Repository", "REPOSITORY"), ("Tag", "TAG")]);
        assert_eq!(t.header(&titles), "REPOSITORY\tTAG");
        assert_eq!(
            Template::parse("{{json .Tag}}").render(&fields, "x").unwrap(),
            "\"latest\""
        );
        let err = Template::parse("{{.Nope}}")
            .render(&fields, "formatter.imageContext")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type formatter.imageContext"
        );
    }
}
