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

mod extract {
    use super::*;
    use slipway::layer::{ExtractError, ExtractLimits, Node};

    fn python(script: &str, out: &Path) -> Result<Vec<u8>> {
        run(Command::new("python3").arg("-c").arg(script).arg(out))?;
        Ok(std::fs::read(out)?)
    }

    #[test]
    fn our_layer_reads_back_into_the_same_tree() -> Result<()> {
        let original = fixture()?;
        let (gz, _) = original.to_layer(&LayerOptions::default())?;
        let mut back = FileTree::new();
        let done = back.extract_tar(&gz, "/", &ExtractLimits::default())?;
        ensure!(
            done.entries == original.len(),
            "{} entries for {}",
            done.entries,
            original.len()
        );
        for ((pa, a), (pb, b)) in original.iter().zip(back.iter()) {
            ensure!(pa == pb, "{pa} vs {pb}");
            let same = match (a, b) {
                (Node::File { data: x, meta: m }, Node::File { data: y, meta: n }) => {
                    x == y && m.mode == n.mode && m.uid == n.uid
                }
                (Node::Dir { meta: m }, Node::Dir { meta: n }) => m.mode == n.mode,
                (Node::Symlink { target: x, .. }, Node::Symlink { target: y, .. }) => x == y,
                (Node::HardLink { .. } | Node::File { .. }, Node::HardLink { .. } | Node::File { .. }) => {
                    true
                }
                _ => false,
            };
            ensure!(same, "{pa}: {a:?} vs {b:?}");
        }
        Ok(())
    }

    #[test]
    fn gnu_tar_archive_extracts_below_a_destination() -> Result<()> {
        let dir = TempDir::new("untar-gnu");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join(LONG_DIR))?;
        std::fs::write(src.join(LONG_DIR).join("f.txt"), b"deep\n")?;
        std::fs::write(src.join("a.txt"), b"a\n")?;
        std::os::unix::fs::symlink("a.txt", src.join("link"))?;
        std::fs::hard_link(src.join("a.txt"), src.join("hard"))?;
        let tgz = dir.path().join("ctx.tgz");
        run(Command::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .arg("-C")
            .arg(&src)
            .arg("."))?;
        let mut tree = FileTree::new();
        tree.extract_tar(&std::fs::read(&tgz)?, "/app", &ExtractLimits::default())?;
        ensure!(
            matches!(tree.get(&format!("app/{LONG_DIR}/f.txt")), Some(Node::File { data, .. }) if &data[..] == b"deep\n")
        );
        ensure!(matches!(tree.get("app/link"), Some(Node::Symlink { target, .. }) if target == "a.txt"));
        ensure!(tree.get("app/hard").is_some() && tree.get("app/a.txt").is_some());
        Ok(())
    }

    #[test]
    fn hostile_archives_are_clear_errors() -> Result<()> {
        let dir = TempDir::new("untar-hostile");
        let limits = ExtractLimits::default();
        // A member named ../evil.
        let evil = python(
            "import io,sys,tarfile\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo('../evil')\ni.size=2\nt.addfile(i,io.BytesIO(b'hi'))\nt.close()",
            &dir.path().join("evil.tar"),
        )?;
        let err = FileTree::new().extract_tar(&evil, "/", &limits).unwrap_err();
        ensure!(err.to_string().contains("contains `..`"), "{err}");
        // A header claiming 10 GB with no data behind it: refused before reading or allocating.
        let claim = python(
            "import sys,tarfile\ni=tarfile.TarInfo('huge.bin')\ni.size=10*1024**3\nopen(sys.argv[1],'wb').write(i.tobuf(tarfile.GNU_FORMAT))",
            &dir.path().join("claim.tar"),
        )?;
        let err = FileTree::new().extract_tar(&claim, "/", &limits).unwrap_err();
        ensure!(
            matches!(err, ExtractError::TooBig { size, .. } if size == 10 << 30),
            "{err}"
        );
        // A hard link to a file that is not in the archive.
        let link = python(
            "import sys,tarfile\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo('l')\ni.type=tarfile.LNKTYPE\ni.linkname='missing'\nt.addfile(i)\nt.close()",
            &dir.path().join("link.tar"),
        )?;
        let err = FileTree::new().extract_tar(&link, "/", &limits).unwrap_err();
        ensure!(
            err.to_string().contains("\"missing\" is not a regular file"),
            "{err}"
        );
        // Corrupted gzip and other compressions.
        let (mut gz, _) = fixture()?.to_layer(&LayerOptions::default())?;
        let mid = gz.len() / 2;
        gz[mid..mid + 64].fill(0xAA);
        ensure!(FileTree::new().extract_tar(&gz, "/", &limits).is_err());
        let err = FileTree::new()
            .extract_tar(b"BZh91AY&SY", "/", &limits)
            .unwrap_err();
        ensure!(matches!(err, ExtractError::Compression("bzip2")), "{err}");
        // Too much content for the limits.
        let small = ExtractLimits {
            max_bytes: 100_000,
            ..limits
        };
        let (gz, _) = fixture()?.to_layer(&LayerOptions::default())?;
        ensure!(matches!(
            FileTree::new().extract_tar(&gz, "/", &small),
            Err(ExtractError::TooBig { .. })
        ));
        Ok(())
    }
}

mod archive {
    use super::*;
    use slipway::image::{
        config_blob, history, layer_descriptor, manifest_blob, new_config, push_empty, push_layer,
        write_archive, ArchiveImage, Format, Reference,
    };

    #[test]
    fn docker_and_oci_archive_read_by_skopeo() -> Result<()> {
        let dir = TempDir::new("archive");
        let (gz, info) = fixture()?.to_layer(&LayerOptions::default())?;
        let mut config = new_config("linux", "amd64", Some("1970-01-01T00:00:00Z".into()));
        let mut inner = config.config().clone().unwrap_or_default();
        inner.set_cmd(Some(vec!["/app/run.sh".into()]));
        inner.set_working_dir(Some("/app".into()));
        config.set_config(Some(inner));
        push_layer(&mut config, &info.diff_id, history(None, "COPY . /", None, false))?;
        push_empty(&mut config, None, "CMD [\"/app/run.sh\"]");
        let config = config_blob(&config, Format::Oci)?;
        let layer = layer_descriptor(&info, Format::Oci);
        let manifest = manifest_blob(config.descriptor.clone(), vec![layer.clone()], Format::Oci)?;
        let image = ArchiveImage {
            tags: vec![Reference::parse("user/app:v1")?],
            manifest: &manifest,
            config: &config,
            layers: vec![(&layer, &gz[..])],
        };
        let bytes = write_archive(Vec::new(), &[image], 0)?;
        let again = write_archive(
            Vec::new(),
            &[ArchiveImage {
                tags: vec![Reference::parse("user/app:v1")?],
                manifest: &manifest,
                config: &config,
                layers: vec![(&layer, &gz[..])],
            }],
            0,
        )?;
        ensure!(bytes == again, "archive bytes differ between runs");
        let file = dir.path().join("app.tar");
        std::fs::write(&file, &bytes)?;

        let docker: serde_json::Value =
            serde_json::from_str(&String::from_utf8(run(Command::new("skopeo")
                .args(["inspect", "--config"])
                .arg(format!("docker-archive:{}", file.display())))?)?)?;
        ensure!(docker["config"]["WorkingDir"] == "/app", "{docker}");
        ensure!(
            docker["rootfs"]["diff_ids"][0] == info.diff_id.to_string(),
            "{docker}"
        );
        let oci: serde_json::Value = serde_json::from_str(&String::from_utf8(run(Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci-archive:{}:v1", file.display())))?)?)?;
        ensure!(oci["Digest"] == manifest.descriptor.digest().to_string(), "{oci}");
        // A copy out of the docker archive (to `dir:`, no format conversion) keeps the config bytes: the image ID.
        let out = dir.path().join("copy");
        run(Command::new("skopeo")
            .args(["copy", "-q", "--insecure-policy"])
            .arg(format!("docker-archive:{}", file.display()))
            .arg(format!("dir:{}", out.display())))?;
        let hex = config.descriptor.digest().digest().to_owned();
        ensure!(
            std::fs::read(out.join(&hex))? == config.bytes,
            "config changed in the copy"
        );
        Ok(())
    }
}
