//! Build checks: BuildKit's rules by their names, honouring `# check=skip=...` and `# check=error=true`,
//! plus learner rules that explain the tutorial's lessons. Each diagnostic has a severity, the rule name,
//! a span, a one-line message and a short explanation.

mod buildkit;
mod learner;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use rules::{Rule, Severity, RULES};

use super::ignore::Dockerignore;
use super::shell::go_quote;
use super::span::Span;
use super::{Dockerfile, Error};

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub span: Span,
    pub message: String,
    pub explanation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What the checks may know beyond the Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    pub build_args: BTreeMap<String, String>,
    /// `--target`; the last stage when `None`.
    pub target: Option<String>,
    /// The build context's `.dockerignore`.
    pub dockerignore: Option<Dockerignore>,
    /// Platforms of base images as pulled (`image -> "linux/amd64"`), when a build knows them.
    pub base_platforms: BTreeMap<String, String>,
    /// The platform the build targets (default linux/amd64).
    pub target_platform: Option<String>,
}

/// The `# check=` directive: which rules to skip and whether warnings fail the build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckConfig {
    pub skip_all: bool,
    pub skip: BTreeSet<String>,
    pub error: bool,
}

impl CheckConfig {
    /// Reads `skip=A,B;error=true` as BuildKit's `linter.ParseLintOptions` does: at most three `;` parts (a
    /// fourth stays in the third), each `key=value` with the key as written (`skip`, `error`, `experimental`;
    /// Slipway has no experimental rules, so that one is read and changes nothing), `skip=all` only as the whole
    /// value, `error` a Go `strconv.ParseBool`. The error is BuildKit's, without the `failed to parse check
    /// options: ` its caller adds.
    pub fn parse(value: &str) -> Result<CheckConfig, String> {
        let mut c = CheckConfig::default();
        let value = value.trim();
        if value.is_empty() {
            return Ok(c);
        }
        for part in value.splitn(3, ';') {
            let Some((k, v)) = part.split_once('=') else {
                return Err(format!("invalid check option {}", go_quote(part)));
            };
            match k.trim() {
                "skip" if v.trim() == "all" => c.skip_all = true,
                "skip" => c.skip = v.split(',').map(|r| r.trim().to_string()).collect(),
                "experimental" => {}
                "error" => {
                    c.error = match v.trim() {
                        "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                        "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                        other => {
                            return Err(format!(
                            "failed to parse check option {}: strconv.ParseBool: parsing {}: invalid syntax",
                            go_quote(part),
                            go_quote(other)
                        ))
                        }
                    }
                }
                k => return Err(format!("invalid check option {}", go_quote(k))),
            }
        }
        Ok(c)
    }

    /// The file's `# check=` directive, or BuildKit's `failed to parse check options: ...` (its
    /// `newRuleLinter`, before any stage is evaluated), at the directive.
    pub fn of(df: &Dockerfile) -> Result<CheckConfig, Error> {
        let Some(d) = df.syntax.directives.iter().find(|d| d.name == "check") else {
            return Ok(CheckConfig::default());
        };
        CheckConfig::parse(&d.value)
            .map_err(|e| Error::syntax(format!("failed to parse check options: {e}"), d.span))
    }

    fn enabled(&self, rule: &str) -> bool {
        !self.skip_all && !self.skip.contains(rule)
    }
}

/// The outcome of checking a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The findings, and the error BuildKit stops on (if any) as a `ParseError` diagnostic.
    pub diagnostics: Vec<Diagnostic>,
    pub check: CheckConfig,
    /// The error BuildKit stops on once it evaluates the stages ([`super::evaluate`]).
    #[serde(skip)]
    pub error: Option<Error>,
}

impl Report {
    /// Whether a build would fail: an error, or a warning under `check=error=true`.
    pub fn fails(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error || (self.check.error && d.severity == Severity::Warning))
    }
}

/// Collects diagnostics for enabled rules.
pub(crate) struct Sink<'a> {
    config: &'a CheckConfig,
    /// The `# check=` comment right before the instruction being checked, where BuildKit honours one
    /// (`WithMergedConfigFromComments`): the rules it skips are skipped too.
    local: Option<CheckConfig>,
    out: Vec<Diagnostic>,
}

impl Sink<'_> {
    /// Checks the next findings with the `# check=` among `comments` (the first one counts) merged in.
    pub(crate) fn scope(&mut self, comments: &[String]) {
        self.local = comments.iter().find_map(|c| {
            let line = format!("#{c}");
            let (name, value, _) = super::syntax::match_directive(&line)?;
            name.eq_ignore_ascii_case("check")
                .then(|| CheckConfig::parse(value.split(' ').next().unwrap_or_default()).ok())
                .flatten()
        });
    }

    /// Back to the file's `# check=` directive alone.
    pub(crate) fn unscope(&mut self) {
        self.local = None;
    }

    pub(crate) fn report(&mut self, rule: &'static str, span: Span, message: String) {
        if !self.config.enabled(rule) || self.local.as_ref().is_some_and(|l| !l.enabled(rule)) {
            return;
        }
        let Some(r) = rules::rule(rule) else { return };
        self.out.push(Diagnostic {
            rule: r.name,
            severity: r.severity,
            line: span.line,
            column: span.column,
            span,
            message,
            explanation: r.explanation,
            url: rules::url(r),
        });
    }
}

/// Runs every check on a parsed Dockerfile.
pub fn check(df: &Dockerfile, opts: &LintOptions) -> Report {
    let config = match CheckConfig::of(df) {
        Ok(config) => config,
        // BuildKit fails before it checks anything.
        Err(e) => {
            return Report {
                diagnostics: vec![error_diagnostic(&e)],
                check: CheckConfig::default(),
                error: Some(e),
            }
        }
    };
    let mut sink = Sink {
        config: &config,
        local: None,
        out: Vec::new(),
    };
    buildkit::run(df, opts, &mut sink);
    learner::run(df, opts, &mut sink);
    let mut diagnostics = sink.out;
    for d in &mut diagnostics {
        at_instruction_start(d, &df.syntax.nodes);
    }
    let error = super::evaluate(df, &opts.build_args).err();
    diagnostics.extend(error.iter().map(error_diagnostic));
    diagnostics.sort_by_key(|d| (d.span.start, d.rule));
    Report {
        diagnostics,
        check: config,
        error,
    }
}

/// BuildKit places a finding at the whole instruction, so its line is the instruction's first line (earlier
/// than the word's when the instruction spans lines or starts on a line holding only the escape character).
/// The span stays on the word, for editors. NoEmptyContinuation has its own line (the last continuation line).
fn at_instruction_start(d: &mut Diagnostic, nodes: &[super::syntax::Node]) {
    if d.rule == "NoEmptyContinuation" {
        return;
    }
    let at = nodes.partition_point(|n| n.span.start <= d.span.start);
    let Some(node) = at.checked_sub(1).and_then(|i| nodes.get(i)) else {
        return;
    };
    if node.start_line < d.line {
        d.line = node.start_line;
        d.column = 1;
    }
}

/// Parses and checks `src`.
pub fn lint(src: &str, opts: &LintOptions) -> Result<Report, Error> {
    let df = super::parse_with_args(src, &opts.build_args)?;
    Ok(check(&df, opts))
}

/// For editors: the diagnostics of `src`, with a parse error as an error diagnostic.
pub fn diagnose(src: &str, opts: &LintOptions) -> Vec<Diagnostic> {
    match lint(src, opts) {
        Ok(r) => r.diagnostics,
        Err(e) => vec![error_diagnostic(&e)],
    }
}

/// A rejected Dockerfile as a diagnostic (rule `ParseError`).
pub fn error_diagnostic(e: &Error) -> Diagnostic {
    let span = e.span();
    Diagnostic {
        rule: "ParseError",
        severity: Severity::Error,
        line: span.line,
        column: span.column,
        span,
        message: e.to_string(),
        explanation: "BuildKit rejects this Dockerfile before building anything.",
        url: None,
    }
}
