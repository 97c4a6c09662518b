#!/usr/bin/env bash
# Runner benchmark beside podman on this machine, in the same run, with the same busybox image:
#   request → first output byte, cold (image not yet unpacked) and warm; 20 containers started at once;
#   a RUN step of `true` on busybox (slipway: POST /api/steps in-process incl. the layer capture; podman: `podman
#   build --no-cache` of `FROM busybox` + `RUN true`).
# podman is configured as ../shared/DESIGN.md says works here: runc, cgroupfs, file events logger, no network.
# Usage: scripts/bench-runner.sh    Needs: podman, python3 (scripts/setup.sh --test installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
for tool in podman python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: scripts/setup.sh --test" >&2; exit 1; }
done
cargo build --profile server -p slipway-server >&2
SLIPWAY="$CARGO_TARGET_DIR/server/slipway"
# Lowercase only: podman names an image pulled from `oci:DIR` after the path.
WORK=/var/tmp/slipway-bench-runner-$$
mkdir -p "$WORK"
cleanup() {
    podman_cmd rm -af >/dev/null 2>&1 || true
    podman_cmd unshare true >/dev/null 2>&1 || true
    # overlay storage leaves mounts under its root until unmounted
    grep -o "$WORK[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$WORK"
}
podman_cmd() {
    CONTAINERS_CONF="$WORK/containers.conf" podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" \
        --storage-driver overlay "$@"
}
trap cleanup EXIT
cat > "$WORK/containers.conf" <<'CONF'
[containers]
netns = "none"
default_ulimits = ["nofile=1024:1024"]
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
"$SLIPWAY" base-images --data "$WORK/data" busybox >&2
LAYOUT="$WORK/data/base-images/busybox"

echo "## Runner beside podman ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "slipway (in-process runner, runc $(runc --version | head -1 | cut -d' ' -f3)):"
cargo test --profile server -p slipway-server --lib bench_start_times -- --ignored --nocapture 2>/dev/null \
    | grep "unpack busybox" | sed 's/^/    /'

echo "podman $(podman --version | cut -d' ' -f3) (runc, overlay storage, netns none):"
P_ROOT="$WORK/podman/root" P_RUN="$WORK/podman/run" P_CONF="$WORK/containers.conf" python3 - "$LAYOUT" <<'PY'
import os, subprocess, sys, threading, time
layout = sys.argv[1]
conf = os.environ.get("WORK_CONF")
def podman(*args, **kw):
    return ["podman", "--root", os.environ["P_ROOT"], "--runroot", os.environ["P_RUN"],
            "--storage-driver", "overlay", *args]
env = dict(os.environ, CONTAINERS_CONF=os.environ["P_CONF"])
def first_byte(args):
    t0 = time.perf_counter()
    p = subprocess.Popen(podman(*args), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    p.stdout.read(1)
    t = time.perf_counter() - t0
    p.stdout.read(); p.wait()
    return t
t0 = time.perf_counter()
subprocess.run(podman("pull", "-q", f"oci:{layout}"), check=True, env=env, stdout=subprocess.PIPE)
image = subprocess.run(podman("images", "-q"), check=True, env=env, stdout=subprocess.PIPE, text=True).stdout.split()[0]
subprocess.run(podman("tag", image, "localhost/busybox:latest"), check=True, env=env)
pull = time.perf_counter() - t0
cold = first_byte(["run", "--rm", "busybox", "echo", "hi"])
warm = sorted(first_byte(["run", "--rm", "busybox", "echo", "hi"]) for _ in range(10))
threads = [threading.Thread(target=first_byte, args=(["run", "--rm", "busybox", "echo", "hi"],)) for _ in range(20)]
t0 = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
concurrent = time.perf_counter() - t0
ctx = os.path.join(os.environ["P_ROOT"], "..", "ctx"); os.makedirs(ctx, exist_ok=True)
open(os.path.join(ctx, "Dockerfile"), "w").write("FROM localhost/busybox:latest\nRUN true\n")
t0 = time.perf_counter()
subprocess.run(podman("build", "-q", "--no-cache", "--network", "none", "--pull=never", "-t", "runtrue", ctx),
               check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
run_true = time.perf_counter() - t0
ms = lambda s: f"{s*1000:.0f}ms"
print(f"    pull (unpack) busybox: {ms(pull)}; request→first output: cold {ms(pull + cold)} (pull + first run), "
      f"warm median {ms(warm[len(warm)//2])} (min {ms(warm[0])}); 20 concurrent: {ms(concurrent)}; "
      f"RUN true (podman build): {ms(run_true)}")
PY
