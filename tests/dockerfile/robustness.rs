//! No panics and bounded time on arbitrary input: a deterministic mutation run over the corpora (the
//! `cargo fuzz` targets in `fuzz/` do the same for longer; see docs/dockerfile.md).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use slipway::dockerfile::ignore::Dockerignore;
use slipway::dockerfile::lint::{self, LintOptions};
use slipway::dockerfile::shell::{Lexer, NoVars};
use slipway::dockerfile::{parse, render, syntax};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "\\",
    "`",
    "\n",
    "\r\n",
    "\"",
    "'",
    "$",
    "${",
    "}",
    "${A:-",
    "${A/",
    "<<EOF\n",
    "<<-'X'\n",
    "EOF\n",
    "[",
    "]",
    "[\"a\", ",
    "--",
    "--from=",
    "# escape=`\n",
    "# check=error=true\n",
    "FROM ",
    "RUN ",
    "COPY ",
    "ONBUILD ",
    "HEALTHCHECK ",
    " AS ",
    "=",
    " ",
    "\t",
    "é",
    "\u{feff}",
    "\u{a0}",
    "#",
    "**/",
    "!",
    "${A#*}",
    "${A%%?}",
];

fn seeds() -> Vec<String> {
    let mut out = vec![String::new(), "FROM a\n".to_string()];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in [
        root.join("tests/golden/dockerfile"),
        root.join("../shared/conformance/buildkit-parser/testfiles"),
    ] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Ok(s) = std::fs::read_to_string(e.path().join("Dockerfile")) {
                    out.push(s);
                }
            }
        }
    }
    out
}

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if !chars.is_empty() => {
                let end = (at + rng.below(8)).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            1 => {
                let p = PIECES[rng.below(PIECES.len())];
                for (i, c) in p.chars().enumerate() {
                    chars.insert((at + i).min(chars.len()), c);
                }
            }
            _ => {
                let c = char::from_u32(rng.below(0x3000) as u32).unwrap_or('x');
                chars.insert(at.min(chars.len()), c);
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_dockerfiles_never_panic() {
    let seeds = seeds();
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let opts = LintOptions {
        dockerignore: Some(Dockerignore::parse("*.md\n!README.md\n**/tmp\n")),
        ..LintOptions::default()
    };
    let start = Instant::now();
    for i in 0..3000 {
        let seed = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, seed);
        let one = Instant::now();
        if let Ok(tree) = syntax::parse(&input) {
            let _ = slipway::dockerfile::dump::dump(&tree);
        }
        if let Ok(df) = parse(&input) {
            let _ = render::parse_json(&df);
            let _ = render::lint_text(&lint::check(&df, &opts));
        }
        let _ = lint::diagnose(&input, &opts);
        let lex = Lexer::new(if i % 2 == 0 { '\\' } else { '`' });
        let _ = lex.process(&input, &NoVars);
        let _ = Dockerignore::parse(&input).is_excluded(input.lines().next().unwrap_or_default());
        assert!(
            one.elapsed() < Duration::from_secs(2),
            "input took too long: {input:?}"
        );
    }
    assert!(start.elapsed() < Duration::from_secs(120));
}

#[test]
fn pathological_inputs_stay_fast() {
    let cases = [
        "FROM a\nRUN ".to_string() + &"x \\\n".repeat(20_000),
        "FROM a\nENV ".to_string() + &"a=b ".repeat(20_000),
        "FROM a\nCOPY ".to_string() + &"<<E ".repeat(2_000) + "/d\n",
        "FROM a\nLABEL x=".to_string() + &"${A:-".repeat(2_000),
        "#".repeat(100_000),
    ];
    for src in &cases {
        let t = Instant::now();
        let _ = lint::diagnose(src, &LintOptions::default());
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "slow on a {}-byte input",
            src.len()
        );
    }
    let t = Instant::now();
    let di = Dockerignore::parse(&"**/*a*".repeat(50));
    let _ = di.is_excluded(&"a/".repeat(200));
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn generated_dockerfiles_pass_buildkits_evaluation() {
    for lines in [300, 10_000] {
        let src = slipway::dockerfile::sample::generate(lines);
        let df = slipway::dockerfile::parse(&src).expect("parses");
        assert_eq!(
            slipway::dockerfile::evaluate(&df, &Default::default()),
            Ok(()),
            "{lines} lines"
        );
    }
}
