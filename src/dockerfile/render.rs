//! Output formats shared by `slipway parse|lint`, the golden tests and the editor: a readable text form and
//! the documented JSON form (see `docs/dockerfile.md`).

use serde_json::{json, Value};

use super::dump::dump_node;
use super::lint::{Diagnostic, Report};
use super::shell::go_quote;
use super::syntax::Word;
use super::{Dockerfile, Error};

/// The parse result as text: directives, one line per instruction (BuildKit's dump form), heredocs, stages.
pub fn parse_text(df: &Dockerfile) -> String {
    let mut out = String::new();
    for d in &df.syntax.directives {
        out.push_str(&format!("directive {}={}\n", d.name, d.value));
    }
    for n in &df.syntax.nodes {
        out.push_str(&format!("{:>4}  {}\n", n.start_line, dump_node(n)));
        for h in &n.heredocs {
            out.push_str(&format!(
                "      heredoc {} fd={} expand={} chomp={} {}\n",
                h.name,
                h.fd,
                h.expand,
                h.chomp,
                go_quote(&h.content)
            ));
        }
    }
    let unused = df
        .stages
        .target(None)
        .map(|t| df.stages.unused(t))
        .unwrap_or_default();
    for s in &df.stages.stages {
        let needs: Vec<String> = s
            .deps
            .iter()
            .map(|e| {
                format!(
                    "{}({})",
                    e.stage,
                    serde_json::to_value(e.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                )
            })
            .collect();
        out.push_str(&format!(
            "stage {} {} from {}{}{}\n",
            s.index,
            s.name.as_deref().unwrap_or("-"),
            s.base_expanded,
            if needs.is_empty() {
                String::new()
            } else {
                format!(" needs {}", needs.join(" "))
            },
            if unused.contains(&s.index) {
                " (unused by the last stage)"
            } else {
                ""
            }
        ));
    }
    out
}

fn span_json(w: &Word) -> Value {
    json!({ "value": w.value, "span": w.span })
}

/// The parse result as JSON: `{ escape, directives, instructions, stages }`.
pub fn parse_json(df: &Dockerfile) -> Value {
    let instructions: Vec<Value> = df
        .syntax
        .nodes
        .iter()
        .zip(&df.commands)
        .map(|(n, c)| {
            let flags: Vec<Value> = n
                .flags
                .iter()
                .map(|f| {
                    let body = f.value.trim_start_matches("--");
                    let (name, value) = match body.split_once('=') {
                        Some((k, v)) => (k, Some(v)),
                        None => (body, None),
                    };
                    json!({ "name": name, "value": value, "span": f.span })
                })
                .collect();
            json!({
                "keyword": c.keyword,
                "line": n.start_line,
                "end_line": n.end_line,
                "span": n.span,
                "flags": flags,
                "args": n.args.iter().map(span_json).collect::<Vec<_>>(),
                "json": n.json,
                "heredocs": n.heredocs,
                "sub": n.sub.as_ref().map(|s| json!({
                    "keyword": s.keyword.value.to_ascii_uppercase(),
                    "flags": s.flags.iter().map(span_json).collect::<Vec<_>>(),
                    "args": s.args.iter().map(span_json).collect::<Vec<_>>(),
                    "json": s.json,
                })),
                "instruction": c.instruction,
            })
        })
        .collect();
    let stages: Vec<Value> = df
        .stages
        .stages
        .iter()
        .map(|s| {
            json!({
                "index": s.index,
                "name": s.name,
                "base": s.base,
                "base_expanded": s.base_expanded,
                "base_stage": s.base_stage,
                "line": s.line,
                "needs": s.deps,
            })
        })
        .collect();
    json!({
        "escape": df.syntax.escape.to_string(),
        "directives": df.syntax.directives,
        "instructions": instructions,
        "stages": stages,
    })
}

/// One diagnostic as `LINE:COL severity Rule: message`.
pub fn diagnostic_text(d: &Diagnostic) -> String {
    format!("{}:{} {} {}: {}", d.line, d.column, d.severity, d.rule, d.message)
}

/// Lint results as text, one diagnostic per line with its explanation indented below.
pub fn lint_text(report: &Report) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        out.push_str(&diagnostic_text(d));
        out.push_str("\n    ");
        out.push_str(d.explanation);
        out.push('\n');
    }
    if report.fails() {
        if report.check.error
            && !report
                .diagnostics
                .iter()
                .any(|d| d.severity == super::lint::Severity::Error)
        {
            out.push_str("build fails: check=error=true turns these warnings into errors\n");
        } else {
            out.push_str("build fails\n");
        }
    }
    out
}

/// Lint results as JSON: `{ diagnostics: [{rule, severity, line, column, ...}], fails }`.
pub fn lint_json(report: &Report) -> Value {
    let diagnostics: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "rule": d.rule,
                "severity": d.severity,
                "line": d.line,
                "column": d.column,
                "end_line": d.span.end_line,
                "end_column": d.span.end_column,
                "message": d.message,
                "explanation": d.explanation,
                "url": d.url,
            })
        })
        .collect();
    json!({ "diagnostics": diagnostics, "fails": report.fails() })
}

/// A rejected Dockerfile as text: `LINE:COL error: message`.
pub fn error_text(e: &Error) -> String {
    let s = e.span();
    format!("{}:{} error: {}", s.line, s.column, e)
}

/// A rejected Dockerfile as JSON: `{ error: { message, line, column, span, suggestion } }`.
pub fn error_json(e: &Error) -> Value {
    let s = e.span();
    json!({ "error": { "message": e.to_string(), "line": s.line, "column": s.column, "span": s, "suggestion": e.suggestion() } })
}

/// `docker build --check` as buildx prints it (`printResult` for `lint`, BuildKit's `LintResults.PrintTo` and
/// `errdefs.Source.Print`): stdout with the count and each BuildKit warning (learner rules are Slipway's own and
/// not shown), and the error text (after `ERROR: `) when BuildKit stops: an error in the Dockerfile, or
/// `check=error=true` with warnings. `src` is the Dockerfile as read, `filename` its name.
pub fn check_output(src: &str, filename: &str, df: &Dockerfile, report: &Report) -> CheckOutput {
    let nodes = &df.syntax.nodes;
    // The instruction a position belongs to: BuildKit's locations are whole instructions.
    let lines_of = |d_start: usize, line: usize, end_line: usize| {
        let at = nodes.partition_point(|n| n.span.start <= d_start);
        at.checked_sub(1)
            .and_then(|i| nodes.get(i))
            .filter(|n| d_start <= n.span.end)
            .map_or((line, end_line), |n| (n.start_line, n.end_line))
    };
    let mut warnings: Vec<(&Diagnostic, usize, usize)> = report
        .diagnostics
        .iter()
        .filter(|d| super::lint::rules::rule(d.rule).is_some_and(|r| r.buildkit))
        .map(|d| {
            let (start, end) = match d.rule {
                "NoEmptyContinuation" => (d.line, d.line),
                _ => lines_of(d.span.start, d.line, d.span.end_line),
            };
            (d, start, end)
        })
        .collect();
    warnings.sort_by_key(|w| w.1);
    let mut out = String::new();
    match warnings.len() {
        0 => {}
        1 => out.push_str("Check complete, 1 warning has been found!\n"),
        n => out.push_str(&format!("Check complete, {n} warnings have been found!\n")),
    }
    for (d, start, end) in &warnings {
        out.push_str(&format!("\nWARNING: {}", d.rule));
        if let Some(url) = &d.url {
            out.push_str(&format!(" - {url}"));
        }
        out.push_str(&format!("\n{}\n", d.message));
        out.push_str(&source_excerpt(src, filename, *start, *end));
    }
    let error = match &report.error {
        Some(e) => {
            let s = e.span();
            let (start, end) = lines_of(s.start, s.line, s.end_line);
            Some(format!("{e}\n{}", source_excerpt(src, filename, start, end)))
        }
        None if report.check.error && !warnings.is_empty() => {
            let mut rules: Vec<&str> = warnings.iter().map(|w| w.0.rule).collect();
            rules.sort_unstable();
            rules.dedup();
            Some(format!("lint violation found for rules: {}\n", rules.join(", ")))
        }
        None => None,
    };
    match (&error, warnings.is_empty()) {
        (Some(_), false) => out.push('\n'),
        (None, true) => out.push_str("Check complete, no warnings found.\n"),
        _ => {}
    }
    CheckOutput {
        stdout: out,
        error,
        warnings: warnings.len(),
    }
}

/// What `docker build --check` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutput {
    pub stdout: String,
    /// The text after `ERROR: ` (on stderr) when BuildKit stops.
    pub error: Option<String>,
    /// How many BuildKit warnings were printed.
    pub warnings: usize,
}

/// BuildKit's `errdefs.Source.Print`: `FILE:LINE`, then lines `start..=end` marked `>>>`, with two lines of
/// context around (four in all for a one-line range, split as the lines allow).
pub fn source_excerpt(src: &str, filename: &str, start: usize, end: usize) -> String {
    let lines: Vec<&str> = src.split('\n').collect();
    if start < 1 || start > lines.len() {
        return String::new();
    }
    let (marked_start, marked_end) = (start, end.clamp(start, lines.len()));
    let (mut from, mut to) = (marked_start, marked_end);
    let pad = if from == to { 4 } else { 2 };
    let mut p = 0;
    while p < pad {
        if from > 1 {
            from -= 1;
            p += 1;
        }
        if to != lines.len() {
            to += 1;
            p += 1;
        }
        p += 1;
    }
    let mut out = format!("{filename}:{marked_start}\n--------------------\n");
    for (i, line) in lines.iter().enumerate().take(to).skip(from - 1) {
        let n = i + 1;
        let mark = if (marked_start..=marked_end).contains(&n) {
            ">>>"
        } else {
            "   "
        };
        out.push_str(&format!(" {n:>3} | {mark} {line}\n"));
    }
    out.push_str("--------------------\n");
    out
}
