//! Golden corpus: `tests/golden/dockerfile/<case>/` holds a `Dockerfile` (and optionally `.dockerignore`,
//! `build-args` with KEY=VALUE lines, `target`), and the expected `lint.txt`, `parse.txt` or `error.txt`.
//! `UPDATE_GOLDEN=1 cargo test` rewrites the expected files (review the diff before committing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slipway::dockerfile::ignore::Dockerignore;
use slipway::dockerfile::lint::{self, LintOptions};
use slipway::dockerfile::{parse_with_args, render};

fn cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dockerfile");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("golden corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn options(case: &Path) -> LintOptions {
    let build_args: BTreeMap<String, String> = read(&case.join("build-args"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LintOptions {
        build_args,
        target: read(&case.join("target")).map(|t| t.trim().to_string()),
        dockerignore: read(&case.join(".dockerignore")).map(|t| Dockerignore::parse(&t)),
        ..LintOptions::default()
    }
}

/// What the case produces: (file name, content) pairs.
fn outputs(case: &Path) -> Vec<(&'static str, String)> {
    let src = read(&case.join("Dockerfile")).expect("Dockerfile");
    let opts = options(case);
    match parse_with_args(&src, &opts.build_args) {
        Err(e) => vec![("error.txt", render::error_text(&e) + "\n")],
        Ok(df) => {
            let mut out = vec![("lint.txt", render::lint_text(&lint::check(&df, &opts)))];
            let name = case.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with("parse-") || case.join("parse.txt").exists() {
                out.push(("parse.txt", render::parse_text(&df)));
            }
            out
        }
    }
}

#[test]
fn golden_cases_match() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases();
    assert!(cases.len() >= 50, "the golden corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        for (file, got) in outputs(case) {
            let path = case.join(file);
            if update {
                std::fs::write(&path, &got).expect("write golden file");
                continue;
            }
            match read(&path) {
                Some(want) if want == got => {}
                Some(want) => failures.push(format!("{}:\n--- want\n{want}--- got\n{got}", path.display())),
                None => failures.push(format!("{}: missing (got:\n{got})", path.display())),
            }
        }
        for stale in ["error.txt", "lint.txt"] {
            let produced = outputs(case).iter().any(|(f, _)| *f == stale);
            if !produced && case.join(stale).exists() && !update {
                failures.push(format!(
                    "{}: expected {stale} but the case produced something else",
                    case.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every rule has a case named after it that fires it and one that does not.
#[test]
fn every_rule_has_a_firing_and_a_quiet_case() {
    let cases = cases();
    for rule in lint::RULES {
        let name = rule.name;
        let fire = cases.iter().find(|c| {
            c.file_name()
                .is_some_and(|f| f.to_string_lossy() == format!("{name}-fires"))
        });
        let quiet = cases.iter().find(|c| {
            c.file_name()
                .is_some_and(|f| f.to_string_lossy() == format!("{name}-quiet"))
        });
        if name == "InvalidBaseImagePlatform" {
            continue; // needs the pulled image's platform; covered in tests/dockerfile/lint.rs
        }
        let (Some(fire), Some(quiet)) = (fire, quiet) else {
            panic!("rule {name} needs cases {name}-fires and {name}-quiet");
        };
        let fired = |c: &Path| {
            let src = read(&c.join("Dockerfile")).expect("Dockerfile");
            let opts = options(c);
            lint::lint(&src, &opts)
                .expect("parses")
                .diagnostics
                .iter()
                .any(|d| d.rule == name)
        };
        assert!(fired(fire), "{name}-fires does not fire {name}");
        assert!(!fired(quiet), "{name}-quiet fires {name}");
    }
}
