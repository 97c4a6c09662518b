//! Fuzz target: `.dockerignore` patterns against paths (first line = path, the rest = the file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway::dockerfile::ignore::Dockerignore;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, patterns) = text.split_once('\n').unwrap_or((text, ""));
    let _ = Dockerignore::parse(patterns).is_excluded(path);
});
