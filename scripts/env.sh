# Sourced by the scripts: where cargo builds, and tools on PATH.
export PATH="$HOME/.cargo/bin:$PWD/tools/node_modules/.bin:$PATH:/usr/sbin:/sbin"
# Outside the clone, reused when present: a warm CI run skips compiling dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/slipway-target}"
