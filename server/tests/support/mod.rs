//! The end-to-end harness: the real `slipway` binary (`server`), headless Chromium through chromedriver and a page
//! driver that finds controls by accessible name, types, clicks, reads text and screenshots on failure (`browser`),
//! and a real registry (`distribution`). Server benches include it too.

// Each area uses a part of the harness: not every helper is used everywhere.
#![allow(dead_code)]

pub mod axe;
pub mod browser;
pub mod distribution;
pub mod project;
pub mod server;

// The helpers the core's tests use too (repo root, temp dirs, free ports, prerequisites): one copy, in tests/.
#[path = "../../../tests/support/mod.rs"]
mod shared;
pub use shared::*;

/// Bytes of the regular files below `dir` (what a quota or a disk budget counts).
pub fn bytes_below(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            total += bytes_below(&entry.path());
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    total
}

/// Lazily unmount whatever is mounted below `dir`, deepest first (what a storage driver such as podman's overlay
/// left behind).
pub fn unmount_below(dir: &std::path::Path) {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let prefix = dir.display().to_string();
    let mut ours: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    ours.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for mount in ours {
        let _ = std::process::Command::new("umount").arg("-l").arg(mount).status();
    }
}
