//! `slipway parse` and `slipway lint`, run as the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::support::repo_root;
use crate::support::server::slipway_bin;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(slipway_bin())
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn slipway");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().expect("wait for slipway")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn parse_json_lists_instructions_directives_and_stages() {
    let src = "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nCOPY --from=build --chmod=755 a \\\n  /b\nFROM scratch\nCOPY --from=build /out /app\n";
    let out = run(&["parse", "--json", "-"], Some(src));
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let ins = v["instructions"].as_array().expect("instructions array");
    assert_eq!(ins.len(), 4);
    assert_eq!(ins[1]["keyword"], "COPY");
    assert_eq!(ins[1]["line"], 3);
    assert_eq!(ins[1]["end_line"], 4);
    assert_eq!(ins[1]["flags"][0]["name"], "from");
    assert_eq!(ins[1]["flags"][0]["value"], "build");
    assert_eq!(ins[1]["args"][1]["value"], "/b");
    assert_eq!(ins[1]["args"][1]["span"]["line"], 4);
    assert_eq!(ins[1]["args"][1]["span"]["column"], 3);
    assert_eq!(v["directives"][0]["name"], "syntax");
    assert_eq!(v["directives"][0]["value"], "docker/dockerfile:1");
    assert_eq!(v["stages"][0]["name"], "build");
    assert_eq!(v["stages"][1]["needs"][0]["stage"], 0);
    assert_eq!(v["stages"][1]["needs"][0]["kind"], "copy-from");
}

#[test]
fn parse_text_from_a_file() {
    let out = run(
        &["parse", "tests/golden/dockerfile/parse-seed-tutorial/Dockerfile"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("   4  run \"pip install --no-cache-dir -r requirements.txt\""),
        "{stdout}"
    );
    assert!(stdout.contains("stage 0 - from python:3.12-slim"), "{stdout}");
}

#[test]
fn rejected_dockerfile_exits_1_with_line_and_suggestion() {
    let out = run(
        &["parse", "-"],
        Some("FROM alpine:3.19\nRUN true\nCOPPY . /app\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("<stdin>:3:1 error: unknown instruction: COPPY (did you mean COPY?)"),
        "{err}"
    );
    let out = run(
        &["lint", "--json", "-"],
        Some("FROM alpine:3.19\nCOPY --chwon=app a b\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON error on stdout");
    assert_eq!(v["error"]["line"], 2);
    assert_eq!(v["error"]["suggestion"], "chown");
}

#[test]
fn lint_exit_codes_follow_severity_and_check_error() {
    let clean = "FROM alpine:3.19\nUSER app\nCMD [\"sh\"]\n";
    let out = run(&["lint", "-"], Some(clean));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());

    let warns = "FROM alpine:3.19\nUSER app\nCMD sh\n";
    let out = run(&["lint", "-"], Some(warns));
    assert_eq!(out.status.code(), Some(0), "warnings alone do not fail");
    assert!(text(&out.stdout).contains("<stdin>:3:5 warning JSONArgsRecommended:"));

    let strict = format!("# check=error=true\n{warns}");
    let out = run(&["lint", "--json", "-"], Some(&strict));
    assert_eq!(out.status.code(), Some(1), "check=error=true fails on warnings");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let d = &v["diagnostics"][0];
    assert_eq!(d["rule"], "JSONArgsRecommended");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["line"], 4);
    assert_eq!(d["column"], 5);
    assert!(d["message"]
        .as_str()
        .is_some_and(|m| m.contains("JSON arguments recommended for CMD")));
    assert_eq!(v["fails"], true);
}

#[test]
fn lint_reads_the_dockerignore_next_to_the_file() {
    let out = run(
        &["lint", "tests/golden/dockerfile/CopyIgnoredFile-fires/Dockerfile"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("CopyIgnoredFile: Attempting to Copy file \"secrets.env\""));
}

#[test]
fn unreadable_input_exits_2() {
    let out = run(&["lint", "/nonexistent/Dockerfile"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
}
