#!/usr/bin/env bash
# The README's first command: install what is missing, build everything, start the playground on
# http://127.0.0.1:8080 with the embedded registry and the OCI runtime. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh server
source scripts/env.sh
DATA="${SLIPWAY_DATA:-$PWD/.slipway-data}"
SLIPWAY="$CARGO_TARGET_DIR/server/slipway"
# Base images from Debian packages, no Docker Hub: busybox in seconds; debian, python and redis with debootstrap
# (minutes, once; cached after). A failed debootstrap (no mirror) leaves the playground usable with busybox.
printf '\n==> slipway base-images (cached after the first run)\n'
"$SLIPWAY" base-images --data "$DATA" busybox
"$SLIPWAY" base-images --data "$DATA" debian python redis || echo "warning: debian/python/redis base images not built (see above)" >&2
printf '\n==> slipway serve on http://127.0.0.1:8080 (data in %s)\n' "$DATA"
exec "$SLIPWAY" serve --addr 127.0.0.1:8080 --data "$DATA" --dist dist
