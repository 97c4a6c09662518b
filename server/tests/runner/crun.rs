//! `slipway serve --runtime crun`: where crun cannot run containers (this machine kind: cgroup v1 hybrid) the server
//! stops at start and says why, instead of serving without containers; on any other host it serves with crun.

use std::path::Path;

use crate::support::server::{serve_refusal, Server};

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
    let stderr = serve_refusal(&["--addr", "127.0.0.1:0", "--runtime", "crun"]);
    assert!(
        stderr.contains("--runtime crun: crun does not support this host's cgroup hybrid layout"),
        "{stderr}"
    );
    assert!(stderr.contains("/sys/fs/cgroup/unified"), "{stderr}");
}
