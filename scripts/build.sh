#!/usr/bin/env bash
# Builds the web app (release wasm, via Trunk) into dist/ and the companion server.
# Usage: scripts/build.sh [cargo profile for the server, default: server]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
printf '\n==> trunk build --release\n'
trunk build --release
printf '\n==> cargo build -p slipway-server --profile %s\n' "${1:-server}"
cargo build -p slipway-server --profile "${1:-server}"
