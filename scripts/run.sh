#!/usr/bin/env bash
# The README's first command: install what is missing, build everything, start the playground on
# http://127.0.0.1:8080 with the embedded registry and the OCI runtime. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh server
source scripts/env.sh
DATA="${SLIPWAY_DATA:-$PWD/.slipway-data}"
printf '\n==> slipway serve on http://127.0.0.1:8080 (data in %s)\n' "$DATA"
exec "$CARGO_TARGET_DIR/server/slipway" serve --addr 127.0.0.1:8080 --data "$DATA" --dist dist
