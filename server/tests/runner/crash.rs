//! A server killed with SIGKILL while a container runs leaves that container behind (its process, overlay
//! mounts, cgroups, runtime state, directory); the next server on the same runner dir removes all of it at start.

use std::path::Path;

use anyhow::{ensure, Result};

use crate::support::server::Server;

/// Mount points under `dir` (from this process's mount table, which the server shares).
fn mounts_below(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(dir.as_ref()))
        .map(str::to_string)
        .collect()
}

/// Processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<u32> {
    let wanted = argv.join("\0") + "\0";
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted.as_bytes()))
        .collect()
}

/// What the container `id` has on the host: a description per leftover.
fn leftovers(runner: &Path, id: &str, argv: &[&str]) -> Vec<String> {
    let mut left: Vec<String> = mounts_below(runner)
        .into_iter()
        .map(|m| format!("mount {m}"))
        .collect();
    left.extend(processes(argv).into_iter().map(|p| format!("process {p}")));
    // The container's own cgroup sits under its owner's (`slipway/o-*/ID`), which goes with it.
    for ctrl in ["memory", "pids", "cpu,cpuacct", "devices", "freezer"] {
        let slipway = Path::new("/sys/fs/cgroup").join(ctrl).join("slipway");
        for owner in std::fs::read_dir(&slipway).into_iter().flatten().flatten() {
            let cg = owner.path().join(id);
            if cg.exists() {
                left.push(format!("cgroup {}", cg.display()));
                left.push(format!("owner cgroup {}", owner.path().display()));
            }
        }
    }
    for dir in [runner.join("c").join(id), runner.join("runtime").join(id)] {
        if dir.exists() {
            left.push(format!("dir {}", dir.display()));
        }
    }
    left
}

#[tokio::test]
async fn a_server_killed_with_a_running_container_is_cleaned_up_by_the_next_start() -> Result<()> {
    let Some(server) = super::busybox_server("runner-crash", &[])? else {
        return Ok(());
    };
    // A command line no other test runs, to find the container's process among the host's.
    let argv = ["sleep", "4321"];
    let http = server.session_client()?;
    let created: serde_json::Value = http
        .post(format!("{}/api/containers?start=true", server.url))
        .json(&serde_json::json!({"image": "busybox", "cmd": argv}))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    ensure!(!id.is_empty(), "{created}");
    let runner = server.data.path().join("runner");
    // The runtime's init becomes `sleep` a moment after the start answered: wait for that state.
    let mut before = leftovers(&runner, &id, &argv);
    for _ in 0..100 {
        if before.iter().any(|l| l.starts_with("process")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        before = leftovers(&runner, &id, &argv);
    }
    ensure!(
        before.iter().any(|l| l.starts_with("process")) && before.iter().any(|l| l.starts_with("mount")),
        "the running container should show: {before:?}"
    );

    let data = server.crash()?;
    let orphaned = leftovers(&runner, &id, &argv);
    ensure!(
        orphaned.iter().any(|l| l.starts_with("process")),
        "SIGKILL of the server should leave the container running: {orphaned:?}"
    );

    let again = Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let left = leftovers(&runner, &id, &argv);
    ensure!(left.is_empty(), "left after the restart: {left:?}");
    let owners: Vec<&str> = before
        .iter()
        .filter_map(|l| l.strip_prefix("owner cgroup "))
        .collect();
    ensure!(
        !owners.is_empty(),
        "the container ran under its owner's cgroup: {before:?}"
    );
    for owner in owners {
        ensure!(
            !Path::new(owner).exists(),
            "the owner's cgroup {owner} is left after the restart"
        );
    }
    // The session survived the restart (docs/security.md), its container did not: it sees nothing left, and
    // neither does a new session.
    for http in [http, again.session_client()?] {
        let listed: serde_json::Value = http
            .get(format!("{}/api/containers?all=true", again.url))
            .send()
            .await?
            .json()
            .await?;
        ensure!(listed == serde_json::json!([]), "{listed}");
    }
    again.stop()?;
    Ok(())
}
