//! `slipway serve --runtime crun`: where crun cannot run containers (this machine kind: cgroup v1 hybrid) the server
//! stops at start and says why, instead of serving without containers; on any other host it serves with crun.

use std::path::Path;
use std::process::Command;

use crate::support::server::{slipway_bin, Server};
use crate::support::TempDir;

fn cgroups_are_hybrid() -> bool {
    Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
        && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

#[tokio::test]
async fn crun_asked_for_by_name_serves_where_it_works_and_stops_the_server_with_the_reason_where_not() {
    crate::registry::require_tool("crun", "crun");
    if !cgroups_are_hybrid() {
        let server = Server::start_with(Path::new("/nonexistent"), &["--runtime", "crun"]).unwrap();
        let info: serde_json::Value = reqwest::get(format!("{}/api/info", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(info.to_string().contains("crun"), "{info}");
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
