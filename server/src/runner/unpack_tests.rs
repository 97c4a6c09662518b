//! Unit tests for layer unpacking: whiteouts, and every hostile case refused.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::*;
use crate::runner::fixture::{gzip, TarBuilder};

fn unpack(tar: Vec<u8>) -> (tempfile::TempDir, Result<UnpackStats, UnpackError>) {
    let dir = tempfile::tempdir().unwrap();
    let r = unpack_layer(&tar[..], dir.path(), UnpackLimits::default(), IdShift::NONE, None);
    (dir, r)
}

#[test]
fn regular_layer_unpacks_with_modes_owners_links() {
    let mut t = TarBuilder::new();
    t.dir("bin", 0o755)
        .file("bin/tool", 0o4755, b"#!/bin/sh\n")
        .file_owned("home/app/notes", 0o600, 1000, 1000, b"hi")
        .symlink("bin/alias", "tool")
        .symlink("lib64", "/lib")
        .hardlink("bin/tool2", "bin/tool");
    let (dir, r) = unpack(gzip(&t.finish()).unwrap());
    let stats = r.unwrap();
    assert_eq!(stats.entries, 6);
    let root = dir.path();
    let tool = fs::metadata(root.join("bin/tool")).unwrap();
    assert_eq!(tool.mode() & 0o7777, 0o755, "set-uid is stripped on disk");
    assert_eq!(tool.nlink(), 2);
    assert_eq!(fs::metadata(root.join("home/app/notes")).unwrap().uid(), 1000);
    assert_eq!(fs::read_link(root.join("bin/alias")).unwrap(), Path::new("tool"));
    assert_eq!(fs::read_link(root.join("lib64")).unwrap(), Path::new("/lib"));
    assert!(stats.diff_id.starts_with("sha256:"));
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let mut t = TarBuilder::new();
    t.dir("etc", 0o755)
        .file("etc/.wh.gone", 0o644, b"")
        .dir("var/cache", 0o755)
        .file("var/cache/.wh..wh..opq", 0o644, b"")
        .file("var/cache/new", 0o644, b"n");
    let (dir, r) = unpack(t.finish());
    assert_eq!(r.unwrap().whiteouts, 2);
    let gone = fs::symlink_metadata(dir.path().join("etc/gone")).unwrap();
    assert!(gone.file_type().is_char_device());
    assert_eq!(gone.rdev(), 0);
    assert!(!dir.path().join("etc/.wh.gone").exists());
    let mut buf = [0u8; 4];
    let n = rustix::fs::lgetxattr(
        dir.path().join("var/cache"),
        "trusted.overlay.opaque",
        &mut buf[..],
    )
    .unwrap();
    assert_eq!(&buf[..n], b"y");
    assert!(dir.path().join("var/cache/new").is_file());
    assert!(!dir.path().join("var/cache/.wh..wh..opq").exists());
}

#[test]
fn ids_are_shifted_for_the_user_namespace() {
    let mut t = TarBuilder::new();
    t.file_owned("a", 0o644, 0, 0, b"")
        .file_owned("b", 0o644, 1000, 50, b"")
        .file_owned("c", 0o644, 70000, 0, b"");
    let dir = tempfile::tempdir().unwrap();
    let shift = IdShift {
        base: 100_000,
        size: 65_536,
    };
    unpack_layer(&t.finish()[..], dir.path(), UnpackLimits::default(), shift, None).unwrap();
    let owner = |n: &str| {
        let m = fs::metadata(dir.path().join(n)).unwrap();
        (m.uid(), m.gid())
    };
    assert_eq!(owner("a"), (100_000, 100_000));
    assert_eq!(owner("b"), (101_000, 100_050));
    assert_eq!(
        owner("c"),
        (165_534, 100_000),
        "out-of-range ids become the overflow id"
    );
    assert_eq!(shift.to_container(101_000), 1000);
}

#[test]
fn dotdot_paths_are_refused() {
    let mut t = TarBuilder::new();
    t.raw(b"../escape", tar::EntryType::Regular, None, b"x");
    let (dir, r) = unpack(t.finish());
    assert!(matches!(r, Err(UnpackError::PathTraversal(_))), "{r:?}");
    assert!(!dir.path().parent().unwrap().join("escape").exists());
    let mut t = TarBuilder::new();
    t.raw(b"a/../../b", tar::EntryType::Regular, None, b"x");
    assert!(matches!(unpack(t.finish()).1, Err(UnpackError::PathTraversal(_))));
}

#[test]
fn absolute_paths_are_refused() {
    let mut t = TarBuilder::new();
    t.raw(b"/etc/evil", tar::EntryType::Regular, None, b"x");
    assert!(matches!(unpack(t.finish()).1, Err(UnpackError::PathTraversal(_))));
}

#[test]
fn escaping_relative_symlinks_are_refused() {
    let mut t = TarBuilder::new();
    t.dir("a", 0o755)
        .raw(b"a/up", tar::EntryType::Symlink, Some(b"../../etc"), b"");
    let r = unpack(t.finish()).1;
    assert!(matches!(r, Err(UnpackError::EscapingSymlink { .. })), "{r:?}");
}

#[test]
fn writing_through_a_symlink_is_refused() {
    // An absolute symlink is fine as data (it resolves inside the container), but never followed on the host.
    let outside = tempfile::tempdir().unwrap();
    let mut t = TarBuilder::new();
    let target = outside.path().to_str().unwrap().as_bytes().to_vec();
    t.raw(b"link", tar::EntryType::Symlink, Some(&target), b"").raw(
        b"link/pwned",
        tar::EntryType::Regular,
        None,
        b"x",
    );
    let r = unpack(t.finish()).1;
    assert!(matches!(r, Err(UnpackError::ThroughSymlink(_))), "{r:?}");
    assert!(!outside.path().join("pwned").exists());
}

#[test]
fn a_file_entry_replaces_a_symlink_instead_of_following_it() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("victim"), b"safe").unwrap();
    let victim = outside.path().join("victim");
    let mut t = TarBuilder::new();
    t.raw(
        b"f",
        tar::EntryType::Symlink,
        Some(victim.to_str().unwrap().as_bytes()),
        b"",
    )
    .file("f", 0o644, b"overwritten");
    let (dir, r) = unpack(t.finish());
    r.unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"safe");
    assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"overwritten");
}

#[test]
fn hard_links_outside_the_layer_are_refused() {
    for target in [&b"/etc/shadow"[..], b"../../etc/shadow", b"missing"] {
        let mut t = TarBuilder::new();
        t.raw(b"h", tar::EntryType::Link, Some(target), b"");
        let r = unpack(t.finish()).1;
        assert!(
            matches!(r, Err(UnpackError::BadHardLink { .. })),
            "{target:?}: {r:?}"
        );
    }
    // ...and so is a hard link through a symlink inside the layer.
    let mut t = TarBuilder::new();
    t.symlink("etc", "/etc")
        .raw(b"h", tar::EntryType::Link, Some(b"etc/passwd"), b"");
    assert!(matches!(
        unpack(t.finish()).1,
        Err(UnpackError::BadHardLink { .. })
    ));
}

#[test]
fn device_nodes_are_refused() {
    for kind in [tar::EntryType::Char, tar::EntryType::Block] {
        let mut t = TarBuilder::new();
        t.raw(b"dev/sda", kind, None, b"");
        assert!(matches!(unpack(t.finish()).1, Err(UnpackError::DeviceNode(_))));
    }
}

#[test]
fn decompression_bombs_are_refused() {
    let mut t = TarBuilder::new();
    t.file("zeros", 0o644, &vec![0u8; 4 << 20]);
    let blob = gzip(&t.finish()).unwrap();
    assert!(blob.len() < 64 << 10, "a small blob that expands a lot");
    let dir = tempfile::tempdir().unwrap();
    let limits = UnpackLimits {
        max_bytes: 1 << 20,
        max_entries: 10,
    };
    let r = unpack_layer(&blob[..], dir.path(), limits, IdShift::NONE, None);
    assert!(matches!(r, Err(UnpackError::TooLarge(_))), "{r:?}");
    let mut t = TarBuilder::new();
    for i in 0..20 {
        t.file(&format!("f{i}"), 0o644, b"");
    }
    let r = unpack_layer(&t.finish()[..], dir.path(), limits, IdShift::NONE, None);
    assert!(matches!(r, Err(UnpackError::TooManyEntries(10))), "{r:?}");
}

#[test]
fn blob_digest_is_verified() {
    let mut t = TarBuilder::new();
    t.file("a", 0o644, b"a");
    let dir = tempfile::tempdir().unwrap();
    let wrong = format!("sha256:{}", "0".repeat(64));
    let r = unpack_layer(
        &t.finish()[..],
        dir.path(),
        UnpackLimits::default(),
        IdShift::NONE,
        Some(&wrong),
    );
    assert!(matches!(r, Err(UnpackError::DigestMismatch { .. })), "{r:?}");
}

#[test]
fn store_unpacks_once_and_cleans_failed_attempts() {
    let root = tempfile::tempdir().unwrap();
    let store = LayerStore::new(root.path().join("layers"), UnpackLimits::default(), IdShift::NONE).unwrap();
    let mut t = TarBuilder::new();
    t.file("a", 0o644, b"a");
    let blob = gzip(&t.finish()).unwrap();
    let digest = format!("sha256:{:x}", Sha256::digest(&blob));
    let path = root.path().join("blob");
    fs::write(&path, &blob).unwrap();
    let dir = store.ensure(&digest, &path).unwrap();
    assert!(dir.join("a").is_file());
    fs::remove_file(&path).unwrap();
    assert_eq!(
        store.ensure(&digest, &path).unwrap(),
        dir,
        "second use needs no blob"
    );
    let mut bad = TarBuilder::new();
    bad.raw(b"../x", tar::EntryType::Regular, None, b"");
    let bad = bad.finish();
    let bad_digest = format!("sha256:{:x}", Sha256::digest(&bad));
    fs::write(&path, &bad).unwrap();
    assert!(store.ensure(&bad_digest, &path).is_err());
    let left: Vec<_> = fs::read_dir(root.path().join("layers")).unwrap().collect();
    assert_eq!(left.len(), 1, "only the good layer remains");
    assert!(store.ensure("sha256:../../etc", &path).is_err());
}

#[test]
fn set_id_bits_are_stripped_on_disk_and_remembered_for_the_layer() {
    let mut t = TarBuilder::new();
    t.dir("bin", 0o755)
        .file("bin/su", 0o4755, b"#!/bin/sh\n")
        .file("bin/wall", 0o2755, b"#!/bin/sh\n")
        .file("bin/both", 0o6750, b"#!/bin/sh\n")
        .dir("tmp", 0o1777)
        .dir("shared", 0o2775)
        .file("bin/plain", 0o755, b"#!/bin/sh\n");
    let (dir, r) = unpack(gzip(&t.finish()).unwrap());
    r.unwrap();
    let root = dir.path();
    let mode = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("bin/su"), 0o755);
    assert_eq!(mode("bin/wall"), 0o755);
    assert_eq!(mode("bin/both"), 0o750);
    assert_eq!(mode("tmp"), 0o1777, "the sticky bit stays");
    assert_eq!(
        mode("shared"),
        0o2775,
        "a set-gid directory grants nothing to a runner: it stays"
    );
    // The layer's own modes come back for a diff while the file is unchanged...
    let layer_mode_of = |p: &Path| layer_mode(p, &fs::symlink_metadata(p).unwrap());
    assert_eq!(layer_mode_of(&root.join("bin/su")), 0o4755);
    assert_eq!(layer_mode_of(&root.join("bin/both")), 0o6750);
    assert_eq!(layer_mode_of(&root.join("bin/plain")), 0o755);
    // ...and not once the container changed its mode or owner (chmod/chown clear or set the bits under Docker).
    fs::set_permissions(root.join("bin/su"), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(layer_mode_of(&root.join("bin/su")), 0o700);
    lchown(root.join("bin/wall"), Some(1000), None).unwrap();
    assert_eq!(layer_mode_of(&root.join("bin/wall")), 0o755);
}

#[test]
fn unpacking_takes_from_the_disk_budget_and_gives_back_what_a_refusal_took() {
    use crate::registry::quota::{DiskBudget, DiskFull};
    let root = tempfile::tempdir().unwrap();
    let layers = root.path().join("layers");
    let store = LayerStore::new(layers.clone(), UnpackLimits::default(), IdShift::NONE).unwrap();
    let mut t = TarBuilder::new();
    t.file("zeros", 0o644, &vec![0u8; 1 << 20]);
    let blob = gzip(&t.finish()).unwrap();
    let digest = format!("sha256:{:x}", Sha256::digest(&blob));
    let path = root.path().join("blob");
    fs::write(&path, &blob).unwrap();
    let nothing_left = |dir: &Path| fs::read_dir(dir).unwrap().next().is_none();

    // A blob bigger than the budget: refused before anything is written.
    let tiny = DiskBudget::new(Some(blob.len() as u64 - 1), 0, &layers);
    let r = store.ensure_within(&digest, &path, Some(&tiny));
    assert!(
        matches!(r, Err(UnpackError::DiskFull(DiskFull::Quota { .. }))),
        "{r:?}"
    );
    assert!(nothing_left(&layers));
    // A small blob that expands past it: stopped mid-unpack, its partial directory removed, its bytes given back.
    let small = DiskBudget::new(Some(256 << 10), 0, &layers);
    let r = store.ensure_within(&digest, &path, Some(&small));
    assert!(
        matches!(r, Err(UnpackError::DiskFull(DiskFull::Quota { .. }))),
        "{r:?}"
    );
    assert!(nothing_left(&layers));
    assert_eq!(small.used(), 0);
    // Within the budget: unpacked, its bytes counted; a second use costs nothing more.
    let enough = DiskBudget::new(Some(2 << 20), 0, &layers);
    let dir = store.ensure_within(&digest, &path, Some(&enough)).unwrap();
    assert!(dir.join("zeros").is_file());
    let used = enough.used();
    assert!(used > 1 << 20, "{used}");
    store.ensure_within(&digest, &path, Some(&enough)).unwrap();
    assert_eq!(enough.used(), used);
}
