//! BuildKit's own parser corpus, read from `../shared/conformance/buildkit-parser` (never copied here).

use std::path::PathBuf;

use slipway::dockerfile::{dump, syntax};

/// The corpus beside the clone; without it the test fails and says where it belongs.
fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/buildkit-parser");
    let missing = (!dir.is_dir()).then(|| format!("BuildKit's parser corpus is not at {}", dir.display()));
    let fix = "Put the `shared` folder (with conformance/buildkit-parser) beside the clone";
    crate::support::prerequisite::available("buildkit-corpus", missing, fix).then_some(dir)
}

fn cases(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

#[test]
fn buildkit_testfiles_match_their_results() {
    let Some(root) = corpus() else { return };
    let cases = cases(&root.join("testfiles"));
    assert_eq!(cases.len(), 33, "the corpus has 33 positive cases");
    let mut failures = Vec::new();
    for case in &cases {
        let src = std::fs::read_to_string(case.join("Dockerfile")).expect("Dockerfile");
        let expected = std::fs::read_to_string(case.join("result")).expect("result");
        let name = case.file_name().unwrap_or_default().to_string_lossy().to_string();
        match syntax::parse(&src) {
            Ok(tree) => {
                let got = dump::dump(&tree);
                let want: Vec<&str> = expected.lines().map(str::trim_end).collect();
                let got_lines: Vec<&str> = got.lines().map(str::trim_end).collect();
                if want != got_lines {
                    failures.push(format!(
                        "{name}:\n--- want\n{}\n--- got\n{}",
                        want.join("\n"),
                        got
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}: rejected: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn buildkit_negative_testfiles_are_rejected() {
    let Some(root) = corpus() else { return };
    let cases = cases(&root.join("testfiles-negative"));
    assert_eq!(cases.len(), 4, "the corpus has 4 negative cases");
    for case in &cases {
        let src = std::fs::read_to_string(case.join("Dockerfile")).expect("Dockerfile");
        let result = syntax::parse(&src);
        assert!(result.is_err(), "{} was accepted: {:?}", case.display(), result);
    }
}
