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

/// The project archive's zip code is in the archive worker, loaded on first use, and not in the page's module
/// (it kept the page's first load under its size before issue 13). The zip crate's panic locations
/// (`zip-2.x/src/...`) mark its code, as Yew's mark Yew's.
#[test]
fn only_the_archive_worker_links_zip() {
    let archive = std::fs::read(wasm_module("archive-worker")).expect("read the archive worker's wasm");
    for (crate_path, in_archive_worker) in [(&b"zip-2."[..], true), (b"yew-0.", false)] {
        let what = String::from_utf8_lossy(crate_path);
        assert_eq!(
            contains(&archive, crate_path),
            in_archive_worker,
            "the archive worker and {what}"
        );
    }
    for module in ["slipway-web", "layer-worker"] {
        let wasm = std::fs::read(wasm_module(module)).expect("read a wasm module");
        assert!(!contains(&wasm, b"zip-2."), "{module}'s wasm links the zip crate");
    }
}

/// The engine split (docs/architecture.md, "The engine"): the interpreter's run of a command (`docker run`'s
/// pull), the builder's failure, the Dockerfile check and Compose's schema check are in the engine's wasm, which
/// the page loads after its prompt, and none of them is in the page's own module. Each marker is a message only
/// that code prints; the engine's module must have them, or the check could not tell.
#[test]
fn the_interpreter_builder_and_checks_are_in_the_engine_not_the_page() {
    let engine = std::fs::read(dist_dir().join("engine_bg.wasm")).expect("read the engine's wasm");
    let page = std::fs::read(wasm_module("slipway-web")).expect("read the app's wasm");
    for marker in [
        &b"Unable to find image"[..],
        b"failed to solve",
        b"unknown instruction",
        b"Additional property",
    ] {
        let what = String::from_utf8_lossy(marker);
        assert!(
            contains(&engine, marker),
            "the engine's wasm lacks {what:?}: the check is blind"
        );
        assert!(
            !contains(&page, marker),
            "the page's wasm has {what:?}: it belongs to the engine"
        );
    }
}
