//! `docker cp` (issue 17) natively through the real `slipway docker` against a real server with real runc, and
//! typed in the page's terminal: both directions, running and stopped containers, `-L`, a tar on stdout, and
//! the paths a hostile container or learner would use to get out of the container's root or the project.
//! Expected texts: docker 28's client (docker/cli `cli/command/container/cp.go`; moby's `archive.CopyTo`,
//! `PrepareArchiveCopy` for the local errors) and dockerd's `containerFileNotFound` (`daemon/errors.go`).

use std::path::Path;

use anyhow::{ensure, Result};

use crate::commands::{server, Cli};
use crate::support::browser::Browser;
use crate::support::server::dist_dir;
use crate::support::TempDir;
use crate::terminal_keys::{keys, ENTER};

/// The container makes a folder with a file, a link that climbs above its root, and sleeps.
const SCRIPT: &str = "mkdir -p /app/sub && echo one > /app/sub/one.txt && \
     ln -s ../../../../../../../.. /app/up && ln -s sub/one.txt /app/link && sleep 300";

#[test]
fn docker_cp_copies_both_ways_and_stays_inside_the_container_and_the_project() -> Result<()> {
    let Some(server) = server("cp-both-ways", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    let project = TempDir::new("cp-project");
    let here = project.path();
    std::fs::write(here.join("app.py"), "print('hi')\n")?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&["run", "-d", "--name", "web", "busybox", "sh", "-c", SCRIPT])?;
    wait_for_file(&cli, here, "web:/app/link")?;

    // Into the container, then out again under another name; diff sees the new file.
    let into = cli.docker_in(here, &["cp", "app.py", "web:/app/"])?;
    ensure!(into.code == 0 && into.err.is_empty(), "{into:?}");
    let back = cli.docker_in(here, &["cp", "web:/app/app.py", "./back.py"])?;
    ensure!(
        back.code == 0 && back.out.is_empty() && back.err.is_empty(),
        "no summary without a terminal: {back:?}"
    );
    assert_eq!(std::fs::read_to_string(here.join("back.py"))?, "print('hi')\n");
    ensure!(cli.ok(&["diff", "web"])?.contains("A /app/app.py\n"));

    // The runtime's /etc/hostname as the container sees it: its short id.
    let id = cli.ok(&["inspect", "-f", "{{.Id}}", "web"])?;
    cli.ok_in(here, &["cp", "web:/etc/hostname", "./x"])?;
    assert_eq!(
        std::fs::read_to_string(here.join("x"))?,
        format!("{}\n", &id[..12])
    );

    // A folder: into a new name, then into an existing folder under its own name; `/.` copies the contents.
    cli.ok_in(here, &["cp", "web:/app/sub", "copy"])?;
    assert_eq!(std::fs::read_to_string(here.join("copy/one.txt"))?, "one\n");
    cli.ok_in(here, &["cp", "web:/app/sub", "copy"])?;
    ensure!(here.join("copy/sub/one.txt").is_file());
    std::fs::create_dir(here.join("flat"))?;
    cli.ok_in(here, &["cp", "web:/app/sub/.", "flat"])?;
    ensure!(here.join("flat/one.txt").is_file());

    // A link is copied as a link; -L copies what it points to, under the link's name.
    cli.ok_in(here, &["cp", "web:/app/link", "l1"])?;
    ensure!(std::fs::symlink_metadata(here.join("l1"))?
        .file_type()
        .is_symlink());
    cli.ok_in(here, &["cp", "-L", "web:/app/link", "l2"])?;
    assert_eq!(std::fs::read_to_string(here.join("l2"))?, "one\n");

    // A tar on stdout.
    let tar = cli.docker_in(here, &["cp", "web:/app/sub/one.txt", "-"])?;
    ensure!(
        tar.code == 0 && tar.out.starts_with("one.txt") && tar.out.contains("one\n"),
        "{tar:?}"
    );

    // docker's errors.
    cli.fails_in(
        here,
        &["cp", "web:/nope", "y"],
        1,
        "Error response from daemon: Could not find the file /nope in container web\n",
    )?;
    cli.fails_in(
        here,
        &["cp", "web:/etc/hostname", "new/"],
        1,
        "no such directory\n",
    )?;
    cli.fails_in(
        here,
        &["cp", "web:/app/sub", "app.py"],
        1,
        "cannot copy directory\n",
    )?;
    cli.fails_in(
        here,
        &["cp", "nothere", "web:/app/"],
        1,
        &format!("lstat {}/nothere: no such file or directory\n", here.display()),
    )?;
    cli.fails_in(
        here,
        &["cp", "web:/a", "web:/b"],
        1,
        "copying between containers is not supported\n",
    )?;
    cli.fails_in(
        here,
        &["cp", "a", "b"],
        1,
        "must specify at least one container source\n",
    )?;
    cli.fails_in(
        here,
        &["cp", "ghost:/etc/hostname", "z"],
        1,
        "Error response from daemon: No such container: ghost\n",
    )?;

    // A link that climbs above the container's root stays inside it: the project's app.py, on the host, is not
    // reached through it, with or without -L.
    let through = format!("web:/app/up{}/app.py", here.display());
    let missing = format!(
        "Error response from daemon: Could not find the file /app/up{}/app.py in container web\n",
        here.display()
    );
    cli.fails_in(here, &["cp", &through, "stolen"], 1, &missing)?;
    cli.fails_in(here, &["cp", "-L", &through, "stolen"], 1, &missing)?;
    ensure!(!here.join("stolen").exists());
    // And the project: nothing lands above it.
    let out = cli.docker_in(here, &["cp", "web:/etc/hostname", "../above"])?;
    ensure!(out.code == 1 && out.err.contains("leaves the project"), "{out:?}");
    ensure!(!here.join("../above").exists());

    // docker export: the whole root filesystem as a tar, into a project file or on stdout (not a terminal here).
    cli.ok_in(here, &["export", "-o", "rootfs.tar", "web"])?;
    let names = tar_names(&std::fs::read(here.join("rootfs.tar"))?)?;
    for name in ["bin/busybox", "app/sub/one.txt", "app/app.py", "etc/hostname"] {
        ensure!(
            names.iter().any(|n| n.trim_end_matches('/') == name),
            "{name} in {names:?}"
        );
    }
    let piped = cli.docker_in(here, &["export", "web"])?;
    ensure!(
        piped.code == 0 && piped.out.contains("bin/busybox"),
        "export to a pipe: {piped:?}"
    );
    cli.fails_in(
        here,
        &["export", "-o", "x.tar", "ghost"],
        1,
        "Error response from daemon: No such container: ghost\n",
    )?;

    // A stopped container (the link above would keep `web` from starting again: the layer unpacker refuses it):
    // copied into and out of; started again, it finds the file.
    cli.ok(&["run", "--name", "still", "busybox", "mkdir", "/app"])?;
    cli.ok_in(here, &["cp", "app.py", "still:/app/again.py"])?;
    cli.ok_in(here, &["cp", "still:/app/again.py", "again.py"])?;
    assert_eq!(std::fs::read_to_string(here.join("again.py"))?, "print('hi')\n");
    assert_eq!(cli.ok(&["start", "still"])?, "still\n");
    assert_eq!(cli.ok(&["diff", "still"])?, "A /app\nA /app/again.py\n");
    Ok(())
}

/// The entry names of a tar.
fn tar_names(tar: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in tar::Archive::new(tar).entries()? {
        names.push(String::from_utf8_lossy(&entry?.path_bytes()).into_owned());
    }
    Ok(names)
}

/// Until `what` can be copied out (the container has made it).
fn wait_for_file(cli: &Cli, dir: &Path, what: &str) -> Result<()> {
    for _ in 0..100 {
        if cli.docker_in(dir, &["cp", what, "-"])?.code == 0 {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    anyhow::bail!("{what} never appeared")
}

impl Cli<'_> {
    fn ok_in(&self, dir: &Path, args: &[&str]) -> Result<String> {
        let ran = self.docker_in(dir, args)?;
        ensure!(ran.code == 0, "docker {}: {ran:?}", args.join(" "));
        Ok(ran.out)
    }

    fn fails_in(&self, dir: &Path, args: &[&str], code: i32, stderr: &str) -> Result<()> {
        let ran = self.docker_in(dir, args)?;
        ensure!(
            ran.code == code && ran.err == stderr,
            "docker {}: wanted {code} and {stderr:?}, got {ran:?}",
            args.join(" ")
        );
        Ok(())
    }
}

/// In the page: `docker cp` typed in the terminal prints docker's summary, and the copied file appears in the
/// file tree; a project file goes into the container the other way.
#[tokio::test]
async fn docker_cp_in_the_page_puts_the_file_in_the_tree() -> Result<()> {
    let Some(server) = server("cp-page", &dist_dir())? else {
        return Ok(());
    };
    let url = server.url.clone();
    let browser = Browser::start().await?;
    browser
        .run(
            "docker_cp_in_the_page_puts_the_file_in_the_tree",
            |page| async move {
                page.goto(&url).await?;
                page.terminal_command("docker run -d --name web busybox sleep 300", "")
                    .await?;
                // One 512-byte header, one block of data, the 1 KiB end: docker counts the tar it received.
                let said = page
                    .terminal_command(
                        "docker cp web:/etc/hostname ./copied-hostname",
                        "Successfully copied",
                    )
                    .await?;
                ensure!(
                    said.contains("Successfully copied 2.05kB to /project/copied-hostname\n"),
                    "{said}"
                );
                page.by_name("Open copied-hostname").await?;
                page.terminal_command(
                    "docker cp copied-hostname web:/tmp/",
                    "Successfully copied 2.05kB to web:/tmp/",
                )
                .await?;
                page.terminal_command("docker diff web", "A /tmp/copied-hostname")
                    .await?;
                page.terminal_command("docker export -o web.tar web", "").await?;
                page.by_name("Open web.tar").await?;
                keys(&page, &format!("docker export web{ENTER}")).await?;
                page.wait_for_text(
                    "Terminal output",
                    "docker's refusal to write a tar to a terminal",
                    |t| t.contains("cowardly refusing to save to a terminal. Use the -o flag or redirect"),
                )
                .await?;
                keys(&page, &format!("docker cp web:/etc/hostname -{ENTER}")).await?;
                page.wait_for_text("Terminal output", "the refusal of a tar on the terminal", |t| {
                    t.contains("which this terminal cannot")
                })
                .await?;
                Ok(())
            },
        )
        .await
}
