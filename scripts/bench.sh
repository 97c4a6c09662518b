#!/usr/bin/env bash
# Runs the benchmarks (not tests) on this machine, peers in the same run where an area has one.
# Paste the printed tables into docs/performance.md.
# Usage: scripts/bench.sh [page|layers|dockerfile|build|lesson|hostile|classroom [LEARNERS]|embeds|compose|all]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh
what="${1:-all}"
if [[ "$what" == page || "$what" == all ]]; then
    trunk build --release
    cargo build -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway"
    echo "## Page load ($(date -u +%Y-%m-%d), $(nproc) cores)"
    # Chromium measures the release wasm; the harness driving it needs no optimization.
    cargo bench -p slipway-server --profile dev --bench page_load
fi
if [[ "$what" == layers || "$what" == all ]]; then
    # The browser half runs the release layer-worker wasm in headless Chromium against `slipway serve`.
    [[ "$what" == all ]] || trunk build --release
    cargo build -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway"
    echo "## Layer pass, native and in the page's workers ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores)"
    cargo bench -p slipway-server --bench layer_pass
fi
if [[ "$what" == dockerfile || "$what" == all ]]; then
    echo "## Dockerfile parse + check, native ($(date -u +%Y-%m-%d), $(nproc) cores)"
    cargo bench -p slipway --bench dockerfile
fi
if [[ "$what" == build || "$what" == all ]]; then
    cargo build -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway"
    echo "## Image build, native ($(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
    cargo bench -p slipway-server --bench build
fi
if [[ "$what" == lesson || "$what" == all ]]; then
    [[ "$what" == all ]] || trunk build --release
    cargo build -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway"
    echo "## Lesson flow in the page beside podman ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores)"
    # Chromium runs the release wasm and the companion does the containers: the driver needs no optimization.
    cargo bench -p slipway-server --profile dev --bench lesson_flow
fi
if [[ "$what" == hostile || "$what" == all ]]; then
    # The server as the README's first command builds it (argon2 and the proxy in a debug build say little).
    cargo build --profile server -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/server/slipway"
    echo "## Hostile-learner soak, native ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
    # The honest learner's lesson alone, then beside five attacks; what the server holds and leaves afterwards.
    cargo bench -p slipway-server --profile dev --bench hostile
fi
if [[ "$what" == classroom || "$what" == all ]]; then
    # The server as the README's first command builds it; the learners are `slipway docker` processes.
    cargo build --profile server -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/server/slipway"
    export LEARNERS="${2:-${LEARNERS:-30}}"
    echo "## Classroom, native ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
    # LEARNERS do the seed lesson (build, images, run, check, push, rebuild) beside two hostile learners.
    cargo bench -p slipway-server --profile dev --bench classroom
fi

if [[ "$what" == embeds || "$what" == all ]]; then
    [[ "$what" == all ]] || trunk build --release
    cargo build -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway"
    echo "## Docs embeds: runnable blocks beside the iframe embed ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores)"
    cargo bench -p slipway-server --profile dev --bench embeds
fi
if [[ "$what" == compose || "$what" == all ]]; then
    # podman-compose from Debian, and CNI's dnsname plugin so podman's containers find each other by name.
    for pkg in podman-compose golang-github-containernetworking-plugin-dnsname; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg"
    done
    cargo build -p slipway-server
    export SLIPWAY_BIN="$CARGO_TARGET_DIR/debug/slipway"
    echo "## Compose: the second lesson's project beside podman-compose ($(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) cores)"
    cargo bench -p slipway-server --profile dev --bench compose
fi
