//! Layers: determinism, digests checked by `sha256sum`/`gzip -dc`, and what GNU tar reads back.

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};
use slipway::layer::{FileTree, LayerOptions, Meta};

use crate::support::TempDir;

fn run(cmd: &mut Command) -> Result<Vec<u8>> {
    let out = cmd.output().with_context(|| format!("spawning {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

fn sha256sum(path: &Path) -> Result<String> {
    let out = String::from_utf8(run(Command::new("sha256sum").arg(path))?)?;
    Ok(format!(
        "sha256:{}",
        out.split_whitespace().next().unwrap_or_default()
    ))
}

const LONG_DIR: &str =
    "a-directory-name-that-is-long-enough/and-another-one-to-pass-the-ustar-limit/of-a-hundred-bytes";

fn fixture() -> Result<FileTree> {
    let mut t = FileTree::new();
    t.insert_file("app/main.py", b"print('hello')\n".to_vec(), Meta::file())?;
    t.insert_file("app/run.sh", b"#!/bin/sh\necho hi\n".to_vec(), Meta::root(0o755))?;
    t.insert_file(
        "etc/owned",
        b"by 1000\n".to_vec(),
        Meta {
            mode: 0o600,
            uid: 1000,
            gid: 1000,
            mtime: None,
        },
    )?;
    t.insert_file(
        "big.bin",
        (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>(),
        Meta::file(),
    )?;
    t.insert_symlink("bin/python", "/usr/bin/python3", Meta::symlink())?;
    t.insert_file("usr/bin/python3", b"\x7fELF".to_vec(), Meta::root(0o755))?;
    // The link sorts before its target: the writer must put the data on the first name.
    t.insert_file("z-target", b"linked content\n".to_vec(), Meta::file())?;
    t.insert_hardlink("a-link", "z-target")?;
    t.insert_file(
        &format!("{LONG_DIR}/file-with-long-name.txt"),
        b"long\n".to_vec(),
        Meta::file(),
    )?;
    t.insert_symlink("long-link", &format!("/{LONG_DIR}/{LONG_DIR}"), Meta::symlink())?;
    t.insert_file("ünïcödé.txt", b"utf8\n".to_vec(), Meta::file())?;
    t.insert_dir("empty", Meta::root(0o1777))?;
    Ok(t)
}

#[test]
fn same_input_gives_identical_bytes() -> Result<()> {
    let opts = LayerOptions::default();
    let (a, ia) = fixture()?.to_layer(&opts)?;
    // The same files inserted in another order.
    let mut t = FileTree::new();
    let src = fixture()?;
    let mut entries: Vec<_> = src.iter().collect();
    entries.reverse();
    for (path, node) in entries {
        if !matches!(node, slipway::layer::Node::HardLink { .. }) {
            t.insert(path, node.clone())?;
        }
    }
    t.insert_hardlink("a-link", "z-target")?;
    let (b, ib) = t.to_layer(&opts)?;
    ensure!(a == b, "layers differ");
    ensure!(ia == ib);
    // A different fixed time changes the digest; SOURCE_DATE_EPOCH-style option.
    let (_, ic) = fixture()?.to_layer(&LayerOptions {
        mtime: 1_700_000_000,
        ..opts
    })?;
    ensure!(ic.diff_id != ia.diff_id);
    Ok(())
}

#[test]
fn digests_match_coreutils() -> Result<()> {
    let dir = TempDir::new("layer-digest");
    let (gz, info) = fixture()?.to_layer(&LayerOptions::default())?;
    let gz_path = dir.path().join("layer.tar.gz");
    std::fs::write(&gz_path, &gz)?;
    ensure!(sha256sum(&gz_path)? == info.digest.to_string(), "digest mismatch");
    ensure!(info.size == gz.len() as u64);
    let tar = run(Command::new("gzip").arg("-dc").arg(&gz_path))?;
    let tar_path = dir.path().join("layer.tar");
    std::fs::write(&tar_path, &tar)?;
    ensure!(
        sha256sum(&tar_path)? == info.diff_id.to_string(),
        "diff_id mismatch"
    );
    ensure!(info.tar_size == tar.len() as u64);
    Ok(())
}

#[test]
fn gnu_tar_lists_and_extracts_what_we_wrote() -> Result<()> {
    let dir = TempDir::new("layer-tar");
    let (gz, _) = fixture()?.to_layer(&LayerOptions::default())?;
    let gz_path = dir.path().join("layer.tar.gz");
    std::fs::write(&gz_path, &gz)?;

    let listing = String::from_utf8(run(Command::new("tar")
        .arg("--numeric-owner")
        .arg("-tvzf")
        .arg(&gz_path))?)?;
    let expect = [
        "-rw-r--r-- 0/0             15 1970-01-01 00:00 a-link",
        "hrw-r--r-- 0/0              0 1970-01-01 00:00 z-target link to a-link",
        "-rw------- 1000/1000        8 1970-01-01 00:00 etc/owned",
        "lrwxrwxrwx 0/0              0 1970-01-01 00:00 bin/python -> /usr/bin/python3",
        "drwxrwxrwt 0/0              0 1970-01-01 00:00 empty/",
        "-rwxr-xr-x 0/0             18 1970-01-01 00:00 app/run.sh",
    ];
    let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
    for line in expect {
        ensure!(
            listing.lines().any(|l| words(l) == words(line)),
            "missing {line:?} in\n{listing}"
        );
    }
    ensure!(
        listing.contains(&format!("{LONG_DIR}/file-with-long-name.txt")),
        "long name:\n{listing}"
    );
    ensure!(
        listing.contains(&format!("long-link -> /{LONG_DIR}/{LONG_DIR}")),
        "long link:\n{listing}"
    );
    ensure!(listing.contains("ünïcödé.txt"), "unicode name:\n{listing}");
    ensure!(
        !listing.contains("PaxHeaders"),
        "PAX headers must be read as headers:\n{listing}"
    );
    // Parents first: every entry's directory is listed before it.
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap_or(""))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let trimmed = name.trim_end_matches('/');
        if let Some(cut) = trimmed.rfind('/') {
            let parent = format!("{}/", &trimmed[..cut]);
            ensure!(
                names[..i].contains(&parent.as_str()),
                "{parent} not before {name}"
            );
        }
    }

    let out = dir.path().join("x");
    std::fs::create_dir(&out)?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&gz_path)
        .arg("-C")
        .arg(&out)
        .arg("--same-owner")
        .arg("-p"))?;
    ensure!(std::fs::read(out.join(LONG_DIR).join("file-with-long-name.txt"))? == b"long\n");
    ensure!(
        std::fs::read_link(out.join("long-link"))?.to_string_lossy() == format!("/{LONG_DIR}/{LONG_DIR}")
    );
    use std::os::unix::fs::MetadataExt;
    let a = std::fs::metadata(out.join("a-link"))?;
    let z = std::fs::metadata(out.join("z-target"))?;
    ensure!(a.ino() == z.ino() && a.nlink() == 2, "hard link not restored");
    let owned = std::fs::metadata(out.join("etc/owned"))?;
    ensure!(owned.uid() == 1000 && owned.mode() & 0o7777 == 0o600);
    ensure!(std::fs::read(out.join("big.bin"))?.len() == 200_000);
    Ok(())
}
