#!/usr/bin/env bash
# Fuzzes the Dockerfile front end for N minutes per target (outside CI; see docs/dockerfile.md).
#   scripts/fuzz.sh [MINUTES] [TARGET...]      targets: parse expand dockerignore (default: all three)
# Needs a nightly toolchain and cargo-fuzz: `rustup toolchain install nightly` and
# `cargo install cargo-fuzz --locked`. Corpora and crash artifacts stay outside the repo (FUZZ_WORK, default
# /var/tmp/slipway-fuzz); the parse corpus is seeded from BuildKit's parser corpus (read in place from
# ../shared/conformance/buildkit-parser, or BUILDKIT_CORPUS) and our golden Dockerfiles.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-5}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse expand dockerignore)
work="${FUZZ_WORK:-/var/tmp/slipway-fuzz}"
buildkit="${BUILDKIT_CORPUS:-../shared/conformance/buildkit-parser}"
[ -d "$buildkit" ] || buildkit=/work/shared/conformance/buildkit-parser
# Its own target dir (nightly + sanitizer flags would otherwise rebuild the regular one back and forth).
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/slipway-target-fuzz}"

seed_parse() {
    local dir="$1" d
    for d in "$buildkit"/testfiles/* "$buildkit"/testfiles-negative/*; do
        [ -f "$d/Dockerfile" ] && cp "$d/Dockerfile" "$dir/buildkit-$(basename "$d")"
    done
    for d in tests/golden/dockerfile/*/; do
        cp "$d/Dockerfile" "$dir/golden-$(basename "$d")"
    done
}

seed_expand() {
    local dir="$1" i=0 line
    # Every line of the corpora that expands something, as a word.
    while IFS= read -r line; do
        printf '%s' "$line" >"$dir/line-$i"
        i=$((i + 1))
    done < <(cat tests/golden/dockerfile/*/Dockerfile "$buildkit"/testfiles/*/Dockerfile | grep -F '$' | sort -u)
    for w in '${A:-x}' '${A:+y}' '${A:?msg}' '${A#a*}' '${A##*b}' '${A%c}' '${A%%b*}' '${A/b/X}' '${A//b/X}' \
        '${EMPTY:-${A:-${P}}}' "\"\$P\" '\$A'" 'a\ b "c d" $A'; do
        printf '%s' "$w" >"$dir/word-$i"
        i=$((i + 1))
    done
}

seed_dockerignore() {
    local dir="$1"
    # First line: the path; the rest: the .dockerignore.
    printf 'a/b.txt\n*.txt\n!a/*.txt\n' >"$dir/exception"
    printf 'node_modules/x/y\n**/node_modules\n' >"$dir/double-star"
    printf 'src/main.rs\n/src\n!src/main.rs\n' >"$dir/leading-slash"
    printf 'docs/a\ndocs/\n' >"$dir/trailing-slash"
    printf 'a[b\n[a-c]\\[b\n?\n' >"$dir/classes"
    printf 'foo/bar\n  foo  \n# comment\n../foo\n' >"$dir/clean"
}

for t in "${targets[@]}"; do
    corpus="$work/corpus/$t"
    if [ ! -d "$corpus" ]; then
        mkdir -p "$corpus"
        "seed_$t" "$corpus"
    fi
    mkdir -p "$work/artifacts/$t"
    (cd fuzz && cargo +nightly fuzz run "$t" "$corpus" -- \
        -max_total_time=$((minutes * 60)) -rss_limit_mb=512 -timeout=5 -max_len=65536 \
        -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1)
done
