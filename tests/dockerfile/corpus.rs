//! Real projects' Dockerfiles (official images, Compose samples): each must parse and show exactly the
//! BuildKit warnings derived from BuildKit's rule code (`tests/golden/dockerfile-corpus/README.md`).
//! The Dockerfiles are read from `../shared/conformance/dockerfile-corpus` (never copied here); this tree holds
//! each one's provenance (repository, path, commit, licence, sha256) and expected warnings.
//! `UPDATE_GOLDEN=1` rewrites the expected `lint.txt` files (review the diff: they must match BuildKit's code).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use slipway::dockerfile::lint::{self, rules, LintOptions};
use slipway::dockerfile::{parse_with_args, render};

fn expected_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dockerfile-corpus")
}

/// The Dockerfiles beside the clone; without them the test fails and says where they belong.
fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/dockerfile-corpus");
    let missing = (!dir.is_dir()).then(|| format!("the Dockerfile corpus is not at {}", dir.display()));
    let fix = "Put the `shared` folder (with conformance/dockerfile-corpus) beside the clone";
    crate::support::prerequisite::available("dockerfile-corpus", missing, fix).then_some(dir)
}

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(expected_root())
        .expect("corpus expectations directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("PROVENANCE").is_file())
        .collect();
    v.sort();
    v
}

fn field<'a>(provenance: &'a str, key: &str) -> &'a str {
    provenance
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("PROVENANCE lacks {key}"))
}

/// What the file gives: `lint.txt` with BuildKit's warnings only (the learner rules are Slipway's own), one
/// `LINE Rule: message` line each; or `error.txt` when the file does not parse (BuildKit rejects it too).
fn outcome(src: &str) -> (&'static str, String) {
    match parse_with_args(src, &Default::default()) {
        Err(e) => ("error.txt", render::error_text(&e) + "\n"),
        Ok(df) => {
            let report = lint::check(&df, &LintOptions::default());
            let lines = report
                .diagnostics
                .iter()
                .filter(|d| d.rule == "ParseError" || rules::rule(d.rule).is_some_and(|r| r.buildkit))
                .map(|d| format!("{} {}: {}\n", d.line, d.rule, d.message))
                .collect();
            ("lint.txt", lines)
        }
    }
}

fn check_case(corpus: &Path, case: &Path, update: bool) -> Option<String> {
    let name = case.file_name()?.to_string_lossy().to_string();
    let provenance = std::fs::read_to_string(case.join("PROVENANCE")).expect("PROVENANCE");
    for key in ["repository", "path", "commit", "licence"] {
        field(&provenance, key);
    }
    let Ok(src) = std::fs::read_to_string(corpus.join(&name).join("Dockerfile")) else {
        return Some(format!("{name}: no Dockerfile in {}", corpus.display()));
    };
    let sha = format!("{:x}", Sha256::digest(src.as_bytes()));
    if sha != field(&provenance, "sha256") {
        return Some(format!(
            "{name}: the Dockerfile is not the version PROVENANCE names (sha256 {sha})"
        ));
    }
    let (file, got) = outcome(&src);
    let path = case.join(file);
    if update {
        std::fs::write(&path, &got).expect("write the expected outcome");
        return None;
    }
    let Ok(want) = std::fs::read_to_string(&path) else {
        return Some(format!(
            "{name}: produced {file} (BuildKit's outcome is the other one):\n{got}"
        ));
    };
    (want != got).then(|| format!("{name} {file}:\n--- want (BuildKit)\n{want}--- got\n{got}"))
}

#[test]
fn real_dockerfiles_parse_and_warn_as_buildkit_does() {
    let Some(corpus) = corpus() else { return };
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases();
    assert!(cases.len() >= 30, "the corpus has {} Dockerfiles", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(&corpus, c, update))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus files differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
