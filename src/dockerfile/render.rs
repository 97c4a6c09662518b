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
