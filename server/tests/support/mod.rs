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
