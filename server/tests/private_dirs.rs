//! The runner's state is the server's and the containers' only: a container's overlay rootfs (`c/ID/rootfs`),
//! volumes' data and everything else below the runner's directory are out of other host users' reach (the
//! runner's directory, `c/` and the volumes' directories are `root:<containers' root group>` 0710), while
//! containers, non-root `--user`s and `-v` volumes work as before. Through the real binary with real runc; the
//! other host user is `nobody` (65534), as `runuser -u nobody` would run it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::commands::{server, Cli};

/// `args` run as the host user nobody: `runuser -u nobody -- ARGS` (its own groups only).
fn as_nobody(args: &[&Path]) -> Result<Output> {
    let output = Command::new("runuser")
        .args(["-u", "nobody", "--"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("runuser (util-linux)")?;
    Ok(output)
}

fn denied(output: &Output) -> bool {
    !output.status.success() && String::from_utf8_lossy(&output.stderr).contains("Permission denied")
}

/// The only entry of `dir` (a session's hashed directory).
fn only_entry(dir: &Path) -> Result<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.flatten().map(|e| e.path()).collect();
    ensure!(entries.len() == 1, "{entries:?} in {}", dir.display());
    Ok(entries.remove(0))
}

#[test]
fn another_host_user_reads_neither_container_rootfs_nor_volumes_and_containers_still_work() -> Result<()> {
    let Some(server) = server("private-dirs", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    let script = "echo secret > /data/s && echo rootfs > /r && echo ready && sleep 300";
    let id = cli.ok(&[
        "run",
        "-d",
        "--name",
        "keep",
        "-v",
        "vol:/data",
        "busybox",
        "sh",
        "-c",
        script,
    ])?;
    let id = id.trim();
    let start = Instant::now();
    while !cli.ok(&["logs", "keep"])?.contains("ready") {
        ensure!(
            start.elapsed() < Duration::from_secs(30),
            "the container never wrote its files"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let runner = server.data.path().join("runner");
    let rootfs_file = runner.join("c").join(&id[..16]).join("rootfs/r");
    let volumes = runner.join("volumes");
    let owner = only_entry(&volumes)?;
    let volume_file = owner.join("vol/_data/s");
    // The server (root) reads them: they are where the test looks.
    assert_eq!(std::fs::read_to_string(&rootfs_file)?, "rootfs\n");
    assert_eq!(std::fs::read_to_string(&volume_file)?, "secret\n");

    // root:<the containers' root (host uid/gid 100000 with the default user namespace)> 0710.
    for dir in [&runner, &runner.join("c"), &volumes, &owner, &owner.join("vol")] {
        let meta = std::fs::metadata(dir)?;
        ensure!(
            meta.mode() & 0o7777 == 0o710 && meta.uid() == 0 && meta.gid() == 100_000,
            "{} is {:o} {}:{}",
            dir.display(),
            meta.mode() & 0o7777,
            meta.uid(),
            meta.gid()
        );
    }
    let cat = Path::new("cat");
    let ls = Path::new("ls");
    for file in [&rootfs_file, &volume_file] {
        let read = as_nobody(&[cat, file])?;
        ensure!(denied(&read), "nobody reads {}: {read:?}", file.display());
    }
    for dir in [&runner, &runner.join("c"), &volumes] {
        let listed = as_nobody(&[ls, dir])?;
        ensure!(denied(&listed), "nobody lists {}: {listed:?}", dir.display());
    }

    // Containers still reach their rootfs and volumes, as root and as other users in them.
    for user in ["0", "1000", "65534"] {
        let out = cli.ok(&[
            "run",
            "--rm",
            "--user",
            user,
            "-v",
            "vol:/data",
            "busybox",
            "cat",
            "/data/s",
        ])?;
        ensure!(out == "secret\n", "--user {user}: {out:?}");
    }
    let out = cli.ok(&[
        "run",
        "--rm",
        "-v",
        "/fresh",
        "busybox",
        "sh",
        "-c",
        "echo new > /fresh/f && cat /fresh/f",
    ])?;
    ensure!(out == "new\n", "an anonymous volume: {out:?}");
    cli.ok(&["rm", "-f", "keep"]).context("rm")?;
    Ok(())
}
