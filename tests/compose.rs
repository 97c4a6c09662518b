//! The Compose golden corpus: each folder of tests/golden/compose is a project (its files), the line typed
//! (`command`, default `docker compose config`), the environment Compose runs in (`env`, KEY=VALUE lines) and
//! what the interpreter prints (`expected.txt`: stdout, then `--- stderr` and stderr if any, then `--- exit N`).
//! The expected outputs follow Docker Compose v2's `config` output (key order, long forms, defaults filled, `$$`
//! written back). `SLIPWAY_BLESS=1` rewrites them from the current output, to review in the diff.

use std::collections::BTreeMap;
use std::path::Path;

use slipway::cli::compose;
use slipway::cli::interpret::plan_line;
use slipway::cli::outcome::{Outcome, Step};

const SPECIAL: [&str; 3] = ["command", "env", "expected.txt"];

fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_tree(root, &path, out);
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !SPECIAL.contains(&rel.as_str()) {
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

fn run_case(dir: &Path) -> String {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut files = BTreeMap::new();
    read_tree(dir, dir, &mut files);
    let line =
        std::fs::read_to_string(dir.join("command")).unwrap_or_else(|_| "docker compose config".into());
    let env: BTreeMap<String, String> = std::fs::read_to_string(dir.join("env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let outcome = match plan_line(line.trim()) {
        Step::Compose(inv) => compose::run(&inv, &files, &env, &format!("/home/learner/{name}")),
        Step::Done(outcome) => outcome,
        other => panic!("{name}: {line} is not a compose line: {other:?}"),
    };
    shown(&outcome)
}

fn shown(outcome: &Outcome) -> String {
    let mut out = outcome.stdout.clone();
    if !outcome.stderr.is_empty() {
        out.push_str("--- stderr\n");
        out.push_str(&outcome.stderr);
    }
    out.push_str(&format!("--- exit {}\n", outcome.exit_code));
    out
}

#[test]
fn compose_golden_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/compose");
    let bless = std::env::var("SLIPWAY_BLESS").is_ok_and(|v| v == "1");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "the corpus is in {}", root.display());
    let mut failed = Vec::new();
    for dir in dirs {
        let got = run_case(&dir);
        let expected_path = dir.join("expected.txt");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != want {
            failed.push(format!("{}:\n--- want\n{want}--- got\n{got}", dir.display()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
