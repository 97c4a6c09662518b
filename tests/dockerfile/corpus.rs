//! Real projects' Dockerfiles as Debian ships them (Rust's CI images, charliecloud's examples, Ansible's test
//! images, ...) and, as a group of their own, the edge-case fixtures of openshift/imagebuilder: each must parse and
//! show exactly the BuildKit warnings derived from BuildKit's rule code (`tests/golden/dockerfile-corpus/README.md`).
//! The Dockerfiles are never in this tree: `scripts/dockerfile-corpus.sh` (run by `scripts/test.sh`) downloads the
//! Debian packages and extracts them into a cache outside the clone; this tree holds each one's provenance
//! (package, path, upstream, licence, sha256) and expected outcome.
//! `UPDATE_GOLDEN=1` rewrites the expected `lint.txt` / `error.txt` files (review the diff against BuildKit's code).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use slipway::dockerfile::lint::{self, rules, LintOptions};
use slipway::dockerfile::{parse_with_args, render};

/// The variable naming the cache `scripts/dockerfile-corpus.sh` fills (the same default there).
const CACHE_VAR: &str = "SLIPWAY_DOCKERFILE_CORPUS";
const FETCH: &str =
    "run `scripts/dockerfile-corpus.sh` (scripts/test.sh does) to download the Debian packages";

fn expected_root(group: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/dockerfile-corpus")
        .join(group)
}

/// The extracted packages; without them the test fails and says what to run (it never skips).
fn cache() -> PathBuf {
    let dir = std::env::var_os(CACHE_VAR).map_or_else(
        || PathBuf::from("/var/tmp/slipway-dockerfile-corpus"),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the Dockerfile corpus cache {} is missing: {FETCH}",
        dir.display()
    );
    dir
}

fn cases(group: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(expected_root(group))
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

/// The Dockerfile's bytes from the cache, checked against the sha256 PROVENANCE names.
fn dockerfile(cache: &Path, name: &str, provenance: &str) -> Result<String, String> {
    let package = field(provenance, "package");
    let version = std::fs::read_to_string(cache.join(package).join("version")).map_err(|_| {
        format!(
            "{name}: Debian's {package} is not in {}: {FETCH}",
            cache.display()
        )
    })?;
    let version = version.trim();
    let path = field(provenance, "path");
    let file = cache
        .join(package)
        .join("root")
        .join(path.trim_start_matches('/'));
    let bytes = std::fs::read(&file).map_err(|_| {
        format!(
            "{name}: Debian's {package} {version} has no {path} (the package changed; PROVENANCE names {})",
            field(provenance, "version")
        )
    })?;
    let sha = format!("{:x}", Sha256::digest(&bytes));
    if sha != field(provenance, "sha256") {
        return Err(format!(
            "{name}: {path} differs from the bytes PROVENANCE names (sha256 {sha}): Debian's {package} changed \
             (version {version} found, PROVENANCE names {})",
            field(provenance, "version")
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{name}: {path} is not UTF-8"))
}

fn check_case(cache: &Path, case: &Path, update: bool) -> Option<String> {
    let name = case.file_name()?.to_string_lossy().to_string();
    let provenance = std::fs::read_to_string(case.join("PROVENANCE")).expect("PROVENANCE");
    for key in ["upstream", "licence"] {
        field(&provenance, key);
    }
    let src = match dockerfile(cache, &name, &provenance) {
        Ok(src) => src,
        Err(e) => return Some(e),
    };
    let (file, got) = outcome(&src);
    let path = case.join(file);
    if update {
        let other = if file == "lint.txt" {
            "error.txt"
        } else {
            "lint.txt"
        };
        let _ = std::fs::remove_file(case.join(other));
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

/// Checks every case of one group (a folder of `tests/golden/dockerfile-corpus`), at least `min` of them.
fn check_group(group: &str, min: usize) {
    let cache = cache();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases(group);
    assert!(
        cases.len() >= min,
        "the {group} corpus has {} Dockerfiles",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(&cache, c, update))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {group} corpus files differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn real_dockerfiles_parse_and_warn_as_buildkit_does() {
    check_group("projects", 60);
}

#[test]
fn imagebuilder_fixtures_parse_and_warn_as_buildkit_does() {
    check_group("imagebuilder", 20);
}
