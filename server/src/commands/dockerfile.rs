//! `slipway parse` and `slipway lint`: the Dockerfile front end on the command line.
//!
//! Exit codes: 0 clean; 1 the Dockerfile is rejected, or a check fails the build (an error, or a warning
//! under `# check=error=true`); 2 the input cannot be read.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use slipway::dockerfile::ignore::Dockerignore;
use slipway::dockerfile::lint::{self, LintOptions};
use slipway::dockerfile::{parse_with_args, render};

/// Arguments of `slipway parse`.
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Print the documented JSON format instead of text.
    #[arg(long)]
    pub json: bool,
    /// The Dockerfile, or `-` for standard input.
    pub file: PathBuf,
}

/// Arguments of `slipway lint`.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Print the documented JSON format instead of text.
    #[arg(long)]
    pub json: bool,
    /// A build arg, `NAME=VALUE` (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// The stage to build (default: the last one).
    #[arg(long)]
    pub target: Option<String>,
    /// The .dockerignore to check COPY/ADD against (default: `.dockerignore` next to FILE).
    #[arg(long, value_name = "PATH")]
    pub ignore_file: Option<PathBuf>,
    /// The Dockerfile, or `-` for standard input.
    pub file: PathBuf,
}

fn read_input(file: &Path) -> std::io::Result<String> {
    if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(file)
    }
}

fn display_name(file: &Path) -> String {
    if file == Path::new("-") {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    }
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let text = serde_json::to_string_pretty(v)?;
    quiet_pipe(writeln!(out, "{text}"))
}

/// A closed pipe (`slipway parse --json f | head`) is not an error.
fn quiet_pipe(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// `slipway parse`: returns the process exit code.
pub fn parse(args: &ParseArgs) -> anyhow::Result<i32> {
    let name = display_name(&args.file);
    let src = match read_input(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("slipway: cannot read {name}: {e}");
            return Ok(2);
        }
    };
    match parse_with_args(&src, &BTreeMap::new()) {
        Ok(df) => {
            if args.json {
                print_json(&render::parse_json(&df))?;
            } else {
                quiet_pipe(write!(std::io::stdout().lock(), "{}", render::parse_text(&df)))?;
            }
            Ok(0)
        }
        Err(e) => {
            report_error(&name, &e, args.json)?;
            Ok(1)
        }
    }
}

fn report_error(name: &str, e: &slipway::dockerfile::Error, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(&render::error_json(e))?;
    }
    eprintln!("{name}:{}", render::error_text(e));
    Ok(())
}

/// `slipway lint`: returns the process exit code.
pub fn lint(args: &LintArgs) -> anyhow::Result<i32> {
    let name = display_name(&args.file);
    let src = match read_input(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("slipway: cannot read {name}: {e}");
            return Ok(2);
        }
    };
    let mut build_args = BTreeMap::new();
    for a in &args.build_args {
        let (k, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
        build_args.insert(k.to_string(), v.to_string());
    }
    let ignore_path = args.ignore_file.clone().or_else(|| {
        (args.file != Path::new("-"))
            .then(|| args.file.parent().unwrap_or(Path::new(".")).join(".dockerignore"))
            .filter(|p| p.is_file())
    });
    let dockerignore = match ignore_path {
        Some(p) => match std::fs::read_to_string(&p) {
            Ok(t) => Some(Dockerignore::parse(&t)),
            Err(e) => {
                eprintln!("slipway: cannot read {}: {e}", p.display());
                return Ok(2);
            }
        },
        None => None,
    };
    let opts = LintOptions {
        build_args,
        target: args.target.clone(),
        dockerignore,
        ..LintOptions::default()
    };
    let report = match lint::lint(&src, &opts) {
        Ok(r) => r,
        Err(e) => {
            report_error(&name, &e, args.json)?;
            return Ok(1);
        }
    };
    if args.json {
        print_json(&render::lint_json(&report))?;
    } else {
        let mut text = String::new();
        for d in &report.diagnostics {
            text.push_str(&format!(
                "{name}:{}\n    {}\n",
                render::diagnostic_text(d),
                d.explanation
            ));
        }
        if report.fails() {
            text.push_str(&format!("{name}: build would fail\n"));
        }
        quiet_pipe(write!(std::io::stdout().lock(), "{text}"))?;
    }
    Ok(i32::from(report.fails()))
}
