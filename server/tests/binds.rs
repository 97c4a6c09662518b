//! Binds of the project's own files (issue 16): `docker run -v ./src:/app`, a file bind, absolute paths under the
//! project, `--mount type=bind` and a compose service's `- .:/code`, natively through the real `slipway docker`
//! (the working directory is the project) against a real server with real runc, and typed in the page's terminal
//! (the page's file tree is the project). Writes never reach the project (binds are read-only, a plain `-v`
//! says so), host paths outside the project stay refused, the blob counts in the session's quota, another
//! session cannot mount it by digest, and once the containers go no mount, process or unpacked directory stays.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use slipway::api::{CreateContainer, ProjectBind, RunOptions, VolumeMount};

use crate::commands::{created_id, Cli};
use crate::networks::leftovers;
use crate::support::server::{dist_dir, with_busybox_in_registry, Server};
use crate::support::TempDir;

/// `n` bytes gzip cannot shrink (xorshift), so the blob is as large as the file.
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A request with the session `token` to the server's API: `(status, body)`.
fn api(server: &Server, token: &str, post: Option<&CreateContainer>, path: &str) -> Result<(u16, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let url = format!("{}{path}", server.url);
        let request = match post {
            Some(body) => client.post(url).json(body),
            None => client.get(url),
        };
        let answer = request.header(slipway::api::SESSION_HEADER, token).send().await?;
        Ok((answer.status().as_u16(), answer.text().await?))
    })
}

#[test]
fn project_binds_mount_read_only_count_in_the_quota_and_leave_nothing() -> Result<()> {
    use crate::support::prerequisite::{available, runner_missing, RUNNER_FIX};
    if !available("runner", runner_missing(), RUNNER_FIX) {
        return Ok(());
    }
    let data = TempDir::new("binds");
    with_busybox_in_registry(&data)?;
    let args = ["--session-quota", "8388608", "--layer-grace", "1"];
    let server = Server::start_in(data, Path::new("/nonexistent"), &args)?;
    let a = Cli::new(&server)?;
    a.ok(&["pull", "-q", "busybox"])?;
    let project = TempDir::new("binds-project");
    let dir = project.path();
    std::fs::create_dir_all(dir.join("src/deep"))?;
    std::fs::write(dir.join("src/x"), "from the project\n")?;
    std::fs::write(dir.join("src/deep/y"), "deeper\n")?;
    std::fs::write(dir.join("notes.txt"), "a single file\n")?;

    let ran = a.docker_in(
        dir,
        &["run", "--rm", "-v", "./src:/app", "busybox", "cat", "/app/x"],
    )?;
    ensure!(ran.code == 0 && ran.out == "from the project\n", "{ran:?}");
    ensure!(
        ran.err
            .contains("./src is bound read-only at /app: a container's writes would not come back"),
        "a plain -v says once that the bind is read-only: {ran:?}"
    );
    let written = a.docker_in(
        dir,
        &[
            "run",
            "--rm",
            "-v",
            "./src:/app:ro",
            "busybox",
            "touch",
            "/app/new",
        ],
    )?;
    ensure!(
        written.code != 0 && written.err.contains("Read-only file system") && !dir.join("src/new").exists(),
        "{written:?}"
    );
    let absolute = format!("{}/src/deep:/d", dir.display());
    assert_eq!(
        a.docker_in(dir, &["run", "--rm", "-v", &absolute, "busybox", "cat", "/d/y"])?
            .out,
        "deeper\n"
    );
    let file = a.docker_in(
        dir,
        &[
            "run",
            "--rm",
            "-v",
            "./notes.txt:/etc/notes:ro",
            "busybox",
            "cat",
            "/etc/notes",
        ],
    )?;
    ensure!(file.code == 0 && file.out == "a single file\n", "{file:?}");
    let mount = "type=bind,source=./src,target=/m,readonly";
    let mounted = a.docker_in(dir, &["run", "--rm", "--mount", mount, "busybox", "ls", "/m"])?;
    ensure!(mounted.code == 0 && mounted.out == "deep\nx\n", "{mounted:?}");

    let writable = a.docker_in(dir, &["run", "--rm", "-v", "./src:/app:rw", "busybox", "true"])?;
    ensure!(
        writable.code == 125
            && writable
                .err
                .contains("binds of the project's files are read-only here"),
        "{writable:?}"
    );
    for outside in ["/etc:/host-etc", "../:/up", "./src/../..:/up"] {
        let host = a.docker_in(dir, &["run", "--rm", "-v", outside, "busybox", "true"])?;
        ensure!(
            host.code == 125 && host.err.contains("bind mounts of host paths are refused here"),
            "{outside}: {host:?}"
        );
    }
    let missing = a.docker_in(dir, &["run", "--rm", "-v", "./nope:/x", "busybox", "true"])?;
    ensure!(
        missing.code == 125 && missing.err.contains("bind source path does not exist"),
        "{missing:?}"
    );

    // 9 MiB that gzip cannot shrink: the blob is refused at the session's 8 MiB quota, before any container.
    std::fs::create_dir(dir.join("big"))?;
    std::fs::write(dir.join("big/noise"), noise(9 << 20))?;
    let over = a.docker_in(dir, &["run", "--rm", "-v", "./big:/b:ro", "busybox", "true"])?;
    ensure!(over.code == 125 && over.err.contains("quota"), "{over:?}");
    std::fs::remove_dir_all(dir.join("big"))?;

    another_session_cannot_mount_the_blob(&server, dir)?;
    binds_are_the_servers_alone_and_any_container_user_reads_them(&a, &server, dir)?;
    compose_binds_the_project_directory(&a, dir)?;

    // The unpacked directories go once no container uses them (the layer grace is 1 s here).
    let layers = server.data.path().join("runner/layers");
    let started = Instant::now();
    loop {
        let left: Vec<String> = std::fs::read_dir(&layers)?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let busybox = 1;
        if left.len() <= busybox {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "unpacked binds left: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left behind: {left:?}");
    Ok(())
}

/// A session's container with a bind; the same create request by the API works for that session and is
/// refused for another, as for an unknown digest.
fn another_session_cannot_mount_the_blob(server: &Server, dir: &Path) -> Result<()> {
    let owner = Cli::new(server)?;
    let created = owner.docker_in(dir, &["create", "-v", "./src:/app:ro", "busybox", "true"])?;
    let id = created_id(&created.out).with_context(|| format!("{created:?}"))?;
    let (status, body) = api(
        server,
        owner.session(),
        None,
        &slipway::api::paths::container(&id),
    )?;
    ensure!(status == 200, "{status} {body}");
    let inspected: slipway::api::ContainerInspect = serde_json::from_str(&body)?;
    let bind: ProjectBind = inspected.options.volumes[0].bind.clone().context("the bind")?;
    ensure!(bind.digest.starts_with("sha256:") && !bind.file, "{bind:?}");
    let request = CreateContainer {
        image: "busybox".into(),
        options: RunOptions {
            cmd: vec!["true".into()],
            volumes: vec![VolumeMount {
                source: "./src".into(),
                target: "/app".into(),
                read_only: true,
                bind: Some(bind),
            }],
            ..RunOptions::default()
        },
    };
    let (status, body) = api(
        server,
        owner.session(),
        Some(&request),
        slipway::api::paths::CONTAINERS,
    )?;
    ensure!(status == 201, "the owner names its own blob: {status} {body}");
    let second: slipway::api::Created = serde_json::from_str(&body)?;
    let (status, body) = api(
        server,
        &server.session()?,
        Some(&request),
        slipway::api::paths::CONTAINERS,
    )?;
    ensure!(
        status == 400 && body.contains("are not in the session's store"),
        "{status} {body}"
    );
    let removed = owner.docker_in(dir, &["rm", "-f", &id, &second.id])?;
    ensure!(removed.code == 0, "{removed:?}");
    Ok(())
}

/// The unpacked project is out of other host users' reach (the layer store is 0700), while a container's
/// non-root user still reads it through the bind.
fn binds_are_the_servers_alone_and_any_container_user_reads_them(
    a: &Cli,
    server: &Server,
    dir: &Path,
) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    for user in ["1000", "1000:1000", "nobody"] {
        let ran = a.docker_in(
            dir,
            &[
                "run",
                "--rm",
                "--user",
                user,
                "-v",
                "./src:/app",
                "busybox",
                "cat",
                "/app/x",
                "/app/deep/y",
            ],
        )?;
        ensure!(
            ran.code == 0 && ran.out == "from the project\ndeeper\n",
            "--user {user}: {ran:?}"
        );
    }
    let created = a.docker_in(dir, &["create", "-v", "./src:/app:ro", "busybox", "true"])?;
    let id = created_id(&created.out).with_context(|| format!("{created:?}"))?;
    let runner = server.data.path().join("runner");
    let layers = runner.join("layers");
    let mode = std::fs::metadata(&layers)?.permissions().mode() & 0o777;
    ensure!(mode == 0o700, "the layer store is {mode:o}");
    let unpacked = std::fs::read_dir(&layers)?
        .flatten()
        .map(|e| e.path().join("x"))
        .find(|x| std::fs::read(x).is_ok_and(|text| text == b"from the project\n"))
        .context("the bind's unpacked directory")?;
    // Another host user (nobody: 65534) can neither list the runner's directory (0710, its group the
    // containers' root) nor read the project's files below it.
    let as_nobody = |args: &[&std::ffi::OsStr]| -> Result<std::process::Output> {
        let mut command = Command::new(args[0]);
        command
            .args(&args[1..])
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::null());
        Ok(command.output()?)
    };
    let listed = as_nobody(&["ls".as_ref(), runner.as_os_str()])?;
    ensure!(
        !listed.status.success() && String::from_utf8_lossy(&listed.stderr).contains("Permission denied"),
        "nobody lists {}: {listed:?}",
        runner.display()
    );
    let read = as_nobody(&["cat".as_ref(), unpacked.as_os_str()])?;
    ensure!(
        !read.status.success() && String::from_utf8_lossy(&read.stderr).contains("Permission denied"),
        "nobody reads {}: {read:?}",
        unpacked.display()
    );
    ensure!(a.docker(&["rm", &id])?.code == 0);
    Ok(())
}

/// `docker compose up -d` of a service binding `.`, `./data` read-only and (long syntax) one file.
fn compose_binds_the_project_directory(a: &Cli, dir: &Path) -> Result<()> {
    std::fs::create_dir(dir.join("data"))?;
    std::fs::write(dir.join("data/one.txt"), "one\n")?;
    let compose = "services:\n  app:\n    image: busybox\n    command: [\"cat\", \"/code/src/x\", \"/data/one.txt\", \
                   \"/one.txt\"]\n    volumes:\n      - .:/code\n      - ./data:/data:ro\n      - type: bind\n        \
                   source: ./data/one.txt\n        target: /one.txt\n";
    std::fs::write(dir.join("compose.yaml"), compose)?;
    let up = a.docker_in(dir, &["compose", "-p", "binds", "up", "-d"])?;
    ensure!(up.code == 0, "{up:?}");
    ensure!(up.err.contains("is bound read-only at /code"), "{up:?}");
    let started = Instant::now();
    loop {
        let logs = a.docker_in(dir, &["logs", "binds-app-1"])?;
        if logs.out == "from the project\none\none\n" {
            break;
        }
        ensure!(started.elapsed() < Duration::from_secs(10), "{logs:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let down = a.docker_in(dir, &["compose", "-p", "binds", "down"])?;
    ensure!(down.code == 0, "{down:?}");
    Ok(())
}

/// In the page: the seed lesson's project bound into a container lists its files.
#[tokio::test]
async fn the_pages_project_binds_into_a_container() -> Result<()> {
    let Some(server) = crate::commands::server("binds-page", &dist_dir())? else {
        return Ok(());
    };
    let name = "the_pages_project_binds_into_a_container";
    crate::support::browser::on_the_page(name, &server.url, |page| async move {
        let listed = page
            .terminal_command("docker run --rm -v ./:/app busybox ls /app", "app.py")
            .await?;
        ensure!(
            listed.contains("Dockerfile") && listed.contains("requirements.txt"),
            "{listed}"
        );
        ensure!(listed.contains("is bound read-only at /app"), "{listed}");
        Ok(())
    })
    .await
}
