//! `slipway serve --runtime crun` where crun cannot run containers: the server stops at start and says why,
//! instead of serving without containers. (On a cgroup v2 host crun is usable and this test has nothing to show.)

use std::path::Path;
use std::process::Command;

use crate::support::server::slipway_bin;
use crate::support::TempDir;

#[test]
fn an_unusable_runtime_asked_for_by_name_stops_the_server_with_the_reason() {
    let hybrid = Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
        && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if !hybrid {
        eprintln!("SKIPPED crun refusal test: this host's cgroups are not hybrid, crun may run here");
        return;
    }
    let data = TempDir::new("crun-refused");
    let out = Command::new(slipway_bin())
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--runtime",
            "crun",
            "--dist",
            "/nonexistent",
        ])
        .arg("--data")
        .arg(data.path())
        .arg("--runner-dir")
        .arg(data.path().join("runner"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "served with an unusable runtime: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("slipway listening on"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--runtime crun: crun does not support this host's cgroup hybrid layout"),
        "{stderr}"
    );
    assert!(stderr.contains("/sys/fs/cgroup/unified"), "{stderr}");
}
