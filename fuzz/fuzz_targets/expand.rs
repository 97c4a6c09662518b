//! Fuzz target: word expansion with a few variables set, both escape characters, all lexer modes.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use slipway::dockerfile::shell::Lexer;

fuzz_target!(|data: &[u8]| {
    let Ok(word) = std::str::from_utf8(data) else { return };
    let vars: BTreeMap<String, String> =
        [("A", "abcabc"), ("EMPTY", ""), ("P", "/usr/local/bin")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    for (i, escape) in ['\\', '`'].into_iter().enumerate() {
        let mut lex = Lexer::new(escape);
        lex.raw_quotes = i == 0;
        lex.raw_escapes = i == 1;
        lex.skip_unset_env = i == 0;
        let _ = lex.process(word, &vars);
    }
});
