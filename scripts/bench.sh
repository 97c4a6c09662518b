#!/usr/bin/env bash
# Runs the benchmarks (not tests) on this machine, peers in the same run where an area has one.
# Paste the printed tables into docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
trunk build --release
cargo build -p slipway-server --profile server
export SLIPWAY_BIN="$CARGO_TARGET_DIR/server/slipway"
echo "## Page load ($(date -u +%Y-%m-%d), $(nproc) cores)"
cargo bench --bench page_load
echo "## Layer pass, native ($(date -u +%Y-%m-%d), $(nproc) cores)"
cargo bench --bench layer_pass
