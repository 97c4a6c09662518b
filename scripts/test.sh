#!/usr/bin/env bash
# The README's second command: install what the tests need, then run every check and test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
step() { printf '\n==> %s (%s UTC)\n' "$*" "$(date -u +%T)"; }
step "the real-project Dockerfile corpus from Debian's packages (tests/dockerfile/corpus.rs)"
scripts/dockerfile-corpus.sh
step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy (host)"
cargo clippy --workspace --all-targets -- -D warnings
step "cargo clippy (wasm32)"
cargo clippy --workspace --all-targets --target wasm32-unknown-unknown -- -D warnings
step "build the app and the server"
trunk build --release
cargo build -p slipway-server
step "cargo test --workspace"
cargo test --workspace
step "wasm tests in headless Chromium (the builder's digests equal the native ones)"
CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" cargo test --target wasm32-unknown-unknown -p slipway --lib wasm
step "every check and test passed"
