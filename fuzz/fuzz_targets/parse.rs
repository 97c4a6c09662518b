//! Fuzz target: the whole front end (syntax, typed layer, stage graph, checks, renderers) on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway::dockerfile::lint::{self, LintOptions};
use slipway::dockerfile::{dump, parse, render, syntax};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Ok(tree) = syntax::parse(src) {
        let _ = dump::dump(&tree);
    }
    if let Ok(df) = parse(src) {
        let _ = render::parse_json(&df);
        let _ = render::parse_text(&df);
        let _ = lint::check(&df, &LintOptions::default());
    }
    let _ = lint::diagnose(src, &LintOptions::default());
});
