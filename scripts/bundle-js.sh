#!/usr/bin/env bash
# Bundles the page's JavaScript (www/js/*.js: thin wrappers over xterm.js and CodeMirror 6 from npm, pinned in
# tools/package-lock.json) into www/vendor/ for Trunk to copy. Trunk runs it as a pre_build hook; no CDN, no GitHub.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
esbuild=tools/node_modules/.bin/esbuild
if [[ ! -x $esbuild ]]; then
    echo "bundle-js: $esbuild is missing: run scripts/setup.sh (npm ci in tools/)" >&2
    exit 1
fi
mkdir -p www/vendor
for entry in www/js/*.js; do
    NODE_PATH=tools/node_modules "$esbuild" "$entry" --bundle --minify --format=iife --target=es2020 --log-level=warning \
        --outdir=www/vendor
done
