//! What Trunk built into `dist/`: the page's wasm modules as the server serves them.

use std::path::PathBuf;

use crate::support::server::dist_dir;

/// The `*_bg.wasm` module of `dist/` whose name starts with `prefix` (Trunk adds a hash to the app's name).
fn wasm_module(prefix: &str) -> PathBuf {
    std::fs::read_dir(dist_dir())
        .expect("read dist/")
        .map(|entry| entry.expect("dist/ entry").path())
        .find(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with("_bg.wasm")
        })
        .unwrap_or_else(|| panic!("dist/ has no {prefix}*_bg.wasm: run `trunk build --release`"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The layer worker loads on the first build that makes a layer: it carries the layer pass, not the UI. Yew's
/// panic locations name its crate (`yew-0.23.0/src/...`), so its code leaves these bytes; the app's module must
/// have them, or the check could not tell.
#[test]
fn the_layer_worker_wasm_links_no_yew() {
    let yew = b"yew-0.";
    let app = std::fs::read(wasm_module("slipway-web")).expect("read the app's wasm");
    assert!(
        contains(&app, yew),
        "the app's wasm names no yew crate: the check is blind"
    );
    let worker = std::fs::read(wasm_module("layer-worker")).expect("read the layer worker's wasm");
    assert!(!contains(&worker, yew), "the layer worker's wasm links Yew");
}
