//! Volumes through the real `slipway docker`, a real server and real runc (issue 16): a named volume keeps its
//! data across containers and goes with `docker volume rm` (refused while a container uses it); an empty volume
//! gets a copy of what the image has at its path (named, and the anonymous one of the image's `VOLUME`, which
//! `--rm` and `rm -v` remove); volumes count against the session's quota; host paths stay refused; afterwards no
//! mount or process is left.

use std::path::Path;

use anyhow::{ensure, Result};

use crate::commands::Cli;
use crate::networks::leftovers;
use crate::support::server::{with_busybox_in_registry, Server};
use crate::support::TempDir;

/// The session's volume names (`docker volume ls -q`).
fn volume_names(cli: &Cli) -> Result<Vec<String>> {
    Ok(cli
        .ok(&["volume", "ls", "-q"])?
        .lines()
        .map(str::to_string)
        .collect())
}

#[test]
fn named_and_anonymous_volumes_keep_data_copy_up_and_count_in_the_quota() -> Result<()> {
    use crate::support::prerequisite::{available, runner_missing, RUNNER_FIX};
    if !available("runner", runner_missing(), RUNNER_FIX) {
        return Ok(());
    }
    let data = TempDir::new("volumes");
    with_busybox_in_registry(&data)?;
    let server = Server::start_in(data, Path::new("/nonexistent"), &["--session-quota", "8388608"])?;
    let a = Cli::new(&server)?;
    a.ok(&["pull", "-q", "busybox"])?;

    assert_eq!(a.ok(&["volume", "create", "data"])?, "data\n");
    a.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f",
    ])?;
    assert_eq!(
        a.ok(&["run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/f"])?,
        "kept\n"
    );
    let read_only = a.docker(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=data,dst=/d,readonly",
        "busybox",
        "touch",
        "/d/x",
    ])?;
    ensure!(
        read_only.code != 0 && read_only.err.contains("Read-only file system"),
        "{read_only:?}"
    );
    let holder = a.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-v",
        "data:/data",
        "busybox",
        "sleep",
        "300",
    ])?;
    a.fails(
        &["volume", "rm", "data"],
        1,
        &format!(
            "Error response from daemon: remove data: volume is in use - [{}]\n",
            holder.trim()
        ),
    )?;
    a.ok(&["rm", "-f", "holder"])?;
    ensure!(
        a.ok(&["volume", "ls"])?.contains("local     data\n"),
        "docker volume ls"
    );
    let inspected: serde_json::Value = serde_json::from_str(&a.ok(&["volume", "inspect", "data"])?)?;
    assert_eq!(
        (inspected[0]["Name"].as_str(), inspected[0]["Driver"].as_str()),
        (Some("data"), Some("local"))
    );
    assert_eq!(a.ok(&["volume", "rm", "data"])?, "data\n");
    assert_eq!(
        a.ok(&["run", "--rm", "-v", "data:/data", "busybox", "ls", "/data"])?,
        "",
        "a new, empty volume"
    );
    assert_eq!(a.ok(&["volume", "rm", "data"])?, "data\n");
    a.fails(
        &["volume", "rm", "data"],
        1,
        "Error response from daemon: get data: no such volume\n",
    )?;

    copy_up_from_the_image(&a)?;

    let host = a.docker(&["run", "--rm", "-v", "/etc:/host-etc", "busybox", "true"])?;
    ensure!(
        host.code == 125 && host.err.contains("bind mounts of host paths are refused here"),
        "{host:?}"
    );

    // 9 MiB written into a volume: the next container with a volume is refused at the 8 MiB quota.
    a.ok(&[
        "run",
        "--rm",
        "-v",
        "big:/big",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/big/f",
        "bs=1048576",
        "count=9",
    ])?;
    let over = a.docker(&["run", "--rm", "-v", "big:/big", "busybox", "true"])?;
    ensure!(
        over.code == 125 && over.err.contains("disk quota is spent"),
        "{over:?}"
    );
    assert_eq!(a.ok(&["volume", "rm", "big"])?, "big\n");
    a.ok(&["run", "--rm", "-v", "small:/s", "busybox", "true"])?;
    assert_eq!(
        a.ok(&["volume", "prune", "-af"])?,
        "Deleted Volumes:\nsmall\n\nTotal reclaimed space: 0B\n"
    );

    let b = Cli::new(&server)?;
    ensure!(volume_names(&b)?.is_empty(), "another session sees no volume");
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}

/// An image whose `VOLUME /seed` holds a file: a named volume mounted there gets a copy, and so does the
/// anonymous volume `docker run` makes for it, which `--rm` and `rm -v` remove.
fn copy_up_from_the_image(a: &Cli) -> Result<()> {
    let context = TempDir::new("volumes-context");
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM busybox\nRUN mkdir -p /seed && echo from-the-image > /seed/hello\nVOLUME /seed\n",
    )?;
    let dir = context.path().to_string_lossy().into_owned();
    a.ok(&["build", "-q", "-t", "seeded", &dir])?;
    a.ok(&["run", "--rm", "-v", "seeded-data:/seed", "seeded", "true"])?;
    let copied = a.ok(&[
        "run",
        "--rm",
        "-v",
        "seeded-data:/other",
        "busybox",
        "cat",
        "/other/hello",
    ])?;
    assert_eq!(
        copied, "from-the-image\n",
        "the named volume got the image's files"
    );
    assert_eq!(a.ok(&["volume", "rm", "seeded-data"])?, "seeded-data\n");

    let before = volume_names(a)?;
    assert_eq!(
        a.ok(&["run", "--rm", "seeded", "cat", "/seed/hello"])?,
        "from-the-image\n"
    );
    assert_eq!(volume_names(a)?, before, "--rm removed the anonymous volume");
    a.ok(&[
        "run",
        "--name",
        "s1",
        "seeded",
        "sh",
        "-c",
        "echo more >> /seed/hello",
    ])?;
    let made: Vec<String> = volume_names(a)?
        .into_iter()
        .filter(|v| !before.contains(v))
        .collect();
    ensure!(
        made.len() == 1 && made[0].len() == 64,
        "one anonymous volume: {made:?}"
    );
    let inspected: serde_json::Value = serde_json::from_str(&a.ok(&["volume", "inspect", &made[0]])?)?;
    ensure!(
        inspected[0]["Labels"]
            .get("com.docker.volume.anonymous")
            .is_some(),
        "{inspected}"
    );
    assert_eq!(a.ok(&["rm", "-v", "s1"])?, "s1\n");
    assert_eq!(volume_names(a)?, before, "rm -v removed it");
    Ok(())
}

/// `docker inspect`'s `Mounts`, `HostConfig.Binds` and `HostConfig.Mounts` of a container made with `-v` and
/// `--mount`, through the real server (which names the anonymous volume and keeps the flags as typed): moby's
/// `container.MountPoint` and `mount.Mount` fields, as dockerd 28 fills them (`Mode` `z` for a named local
/// volume given no mode, `ro` as typed, empty for an anonymous one).
#[test]
fn inspect_shows_mounts_binds_and_host_config_mounts_as_docker_does() -> Result<()> {
    let Some(server) = crate::commands::server("inspect-mounts", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&[
        "create",
        "--name",
        "m",
        "-v",
        "data:/data",
        "-v",
        "logs:/logs:ro",
        "-v",
        "/cache",
        "--mount",
        "type=volume,src=db,dst=/db,readonly",
        "busybox",
        "true",
    ])?;
    let binds = cli.ok(&["inspect", "-f", "{{json .HostConfig.Binds}}", "m"])?;
    assert_eq!(binds, "[\"data:/data\",\"logs:/logs:ro\"]\n");
    let mounts = cli.ok(&["inspect", "-f", "{{json .HostConfig.Mounts}}", "m"])?;
    assert_eq!(
        mounts,
        "[{\"Type\":\"volume\",\"Source\":\"db\",\"Target\":\"/db\",\"ReadOnly\":true}]\n"
    );
    let points: serde_json::Value =
        serde_json::from_str(&cli.ok(&["inspect", "-f", "{{json .Mounts}}", "m"])?)?;
    let anonymous = points[2]["Name"].as_str().unwrap_or_default().to_string();
    ensure!(anonymous.len() == 64, "{points}");
    let point = |name: &str, destination: &str, mode: &str, rw: bool| {
        serde_json::json!({
            "Type": "volume", "Name": name, "Source": format!("/var/lib/docker/volumes/{name}/_data"),
            "Destination": destination, "Driver": "local", "Mode": mode, "RW": rw, "Propagation": ""
        })
    };
    assert_eq!(
        points,
        serde_json::json!([
            point("data", "/data", "z", true),
            point("logs", "/logs", "ro", false),
            point(&anonymous, "/cache", "", true),
            point("db", "/db", "z", false),
        ])
    );
    // Without mounts: `Binds` null, no `HostConfig.Mounts`, `Mounts` empty.
    cli.ok(&["create", "--name", "bare", "busybox", "true"])?;
    let bare = cli.ok(&["inspect", "bare"])?;
    let bare: serde_json::Value = serde_json::from_str(&bare)?;
    ensure!(
        bare[0]["HostConfig"]["Binds"].is_null()
            && bare[0]["HostConfig"].get("Mounts").is_none()
            && bare[0]["Mounts"] == serde_json::json!([]),
        "{bare}"
    );
    Ok(())
}
