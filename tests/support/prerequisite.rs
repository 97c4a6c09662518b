//! What a test needs from the machine. A missing piece fails the test and says how to get it: a test never
//! passes by skipping. The one way out is explicit and named: `SLIPWAY_TEST_OPT_OUT=runner,buildah` (a comma list
//! of the names below, or `all`) lets a developer on a machine without them run the rest; `scripts/test.sh` never
//! sets it, so CI runs every test.

/// The variable that lists the prerequisites a developer chose to go without.
pub const OPT_OUT_VAR: &str = "SLIPWAY_TEST_OPT_OUT";

/// Whether the test may run: `true` when nothing is missing. When `missing` says why the machine cannot run it,
/// the test fails with that reason and `fix`, unless `name` is opted out: then it says so on stderr (past the
/// harness's capture) and the caller returns.
#[must_use]
pub fn available(name: &str, missing: Option<String>, fix: &str) -> bool {
    let Some(why) = missing else {
        return true;
    };
    let opted_out = std::env::var(OPT_OUT_VAR)
        .unwrap_or_default()
        .split(',')
        .any(|n| n.trim() == name || n.trim() == "all");
    assert!(
        opted_out,
        "this test needs {name}: {why}. {fix} (or opt out with {OPT_OUT_VAR}={name})"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "NOT RUN ({OPT_OUT_VAR} names {name}): {why}");
    false
}

/// The prerequisites of every test that runs containers: root, runc, and the static busybox the test images are
/// made from.
pub fn runner_missing() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("it runs containers, which needs root".into());
    }
    if !on_path("runc") {
        return Some("runc is not installed".into());
    }
    if !std::path::Path::new("/bin/busybox").exists() {
        return Some("/bin/busybox (busybox-static) is not installed".into());
    }
    None
}

/// How to get what [`runner_missing`] lacks.
pub const RUNNER_FIX: &str =
    "Run the tests as root after `scripts/setup.sh --test` (it installs runc and busybox-static)";

/// Whether `tool` is an executable file in a directory of `PATH` (or the sbin directories root has).
pub fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(Into::into))
        .any(|dir| dir.join(tool).is_file())
}
