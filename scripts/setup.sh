#!/usr/bin/env bash
# Installs what building and running Slipway needs on Debian 12 (root, rustup, Node/npm, apt). Idempotent: each
# step checks first, so a second run takes seconds. Nothing is downloaded from GitHub.
# Usage: scripts/setup.sh [--test]   (--test adds what the tests need: Chromium, chromedriver, skopeo, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        step "apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# Runtime: the OCI runtimes, and what base images are made from (busybox-static, debootstrap).
RUN_PACKAGES=(runc crun slirp4netns pkg-config libssl-dev busybox-static debootstrap ca-certificates iproute2 python3)
# Tests: a real browser and real registry peers.
TEST_PACKAGES=(chromium chromium-driver skopeo docker-registry podman buildah)
if [[ "${1:-}" == "--test" ]]; then apt_install "${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; else apt_install "${RUN_PACKAGES[@]}"; fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt

# Trunk 0.21.14 is the newest that builds with our rustc (0.22 needs 1.96.1). ~10 min the first time.
TRUNK_VERSION=0.21.14
if [[ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]]; then
    step "cargo install trunk $TRUNK_VERSION (about 10 minutes, once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock. Not --locked: its lockfile pins a crate
# version the registry here lacks.
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ -z "$WBG_VERSION" ]]; then echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; fi
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WBG_VERSION" ]]; then
    step "cargo install wasm-bindgen-cli $WBG_VERSION (about 4 minutes, once)"
    cargo install wasm-bindgen-cli --version "$WBG_VERSION"
fi
grep -q "wasm_bindgen = \"$WBG_VERSION\"" Trunk.toml || {
    echo "Trunk.toml [tools] wasm_bindgen must be $WBG_VERSION (Cargo.lock)" >&2
    exit 1
}

# From npm (tools/package-lock.json): binaryen's wasm-opt (a node build: Debian's binaryen cannot read Yew's
# output), esbuild, xterm.js and CodeMirror 6 for the page. Reinstalled whenever the lock file changes.
lock_stamp=tools/node_modules/.slipway-lock-sha256
if [[ "$(cat "$lock_stamp" 2>/dev/null)" != "$(sha256sum < tools/package-lock.json)" ]]; then
    step "npm ci (tools/: wasm-opt, esbuild, xterm.js, CodeMirror)"
    (cd tools && npm ci --no-audit --no-fund)
    sha256sum < tools/package-lock.json > "$lock_stamp"
fi
