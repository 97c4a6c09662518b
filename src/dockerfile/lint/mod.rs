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
    /// Reads `skip=A,B;error=true`.
    pub fn parse(value: &str) -> CheckConfig {
        let mut c = CheckConfig::default();
        for part in value.split(';') {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            match k.trim().to_ascii_lowercase().as_str() {
                "skip" => {
                    for r in v.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                        if r.eq_ignore_ascii_case("all") {
                            c.skip_all = true;
                        } else {
                            c.skip.insert(r.to_string());
                        }
                    }
                }
                "error" => c.error = v.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
        c
    }

    fn enabled(&self, rule: &str) -> bool {
        !self.skip_all && !self.skip.contains(rule)
    }
}

/// The outcome of checking a Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub check: CheckConfig,
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
    out: Vec<Diagnostic>,
}

impl Sink<'_> {
    pub(crate) fn report(&mut self, rule: &'static str, span: Span, message: String) {
        if !self.config.enabled(rule) {
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
    let config = df
        .syntax
        .directive("check")
        .map(CheckConfig::parse)
        .unwrap_or_default();
    let mut sink = Sink {
        config: &config,
        out: Vec::new(),
    };
    buildkit::run(df, opts, &mut sink);
    learner::run(df, opts, &mut sink);
    let mut diagnostics = sink.out;
    diagnostics.sort_by_key(|d| (d.span.start, d.rule));
    Report {
        diagnostics,
        check: config,
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
        Err(e) => {
            let span = e.span();
            vec![Diagnostic {
                rule: "ParseError",
                severity: Severity::Error,
                line: span.line,
                column: span.column,
                span,
                message: e.to_string(),
                explanation: "BuildKit rejects this Dockerfile before building anything.",
                url: None,
            }]
        }
    }
}
