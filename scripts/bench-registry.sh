#!/usr/bin/env bash
# Registry benchmark, slipway beside Debian's docker-registry (CNCF distribution) on this machine, same run:
#   1. skopeo copy push and pull of a ~100 MB, 4-layer image: wall time, and the server's peak memory (VmHWM);
#   2. 30 concurrent clients, each pushing then pulling its own small image (skopeo): throughput, p50/p99 latency.
# Usage: scripts/bench-registry.sh [--quick]   (--quick: 20 MB image, 10 clients; for a smoke run)
# Needs: skopeo, docker-registry (apt), python3; builds slipway with the `server` profile.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in skopeo docker-registry python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y ${tool/python3/python3}" >&2; exit 1; }
done
SIZE_MB=100 CLIENTS=30
[[ "${1:-}" == "--quick" ]] && SIZE_MB=20 CLIENTS=10
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --profile server -p slipway-server >&2
SLIPWAY="$CARGO_TARGET_DIR/server/slipway"
WORK=$(mktemp -d /tmp/slipway-bench.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# An OCI layout: 4 gzip layers of random bytes (incompressible: the registry, not gzip, is measured).
make_layout() { # dir size_mb seed
    python3 - "$@" <<'PY'
import gzip, hashlib, io, json, os, random, sys, tarfile
out, size_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
def put(b):
    d = hashlib.sha256(b).hexdigest(); open(f"{out}/blobs/sha256/{d}", "wb").write(b); return "sha256:" + d
rng = random.Random(seed); layers = []; diffs = []
for i in range(4):
    data = rng.randbytes(size_mb * 1024 * 1024 // 4 or 1024)
    t = io.BytesIO()
    with tarfile.open(fileobj=t, mode="w") as tf:
        info = tarfile.TarInfo(f"layer{i}.bin"); info.size = len(data); tf.addfile(info, io.BytesIO(data))
    raw = t.getvalue(); gz = gzip.compress(raw, compresslevel=1, mtime=0)
    diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(gz), "size": len(gz)})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diffs}, "seed": seed}).encode()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
    "layers": layers}).encode()
md = put(m)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
    "size": len(m), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}, open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_slipway() {
    local port; port=$(free_port)
    "$SLIPWAY" serve --addr "127.0.0.1:$port" --data "$WORK/slipway-data" --dist /nonexistent >/dev/null 2>&1 &
    PIDS+=($!); SERVER_PID=$!; ADDR="127.0.0.1:$port"
}
start_distribution() {
    local port; port=$(free_port)
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
        "$WORK/distribution-data" "$port" >"$WORK/distribution.yml"
    docker-registry serve "$WORK/distribution.yml" >/dev/null 2>&1 &
    PIDS+=($!); SERVER_PID=$!; ADDR="127.0.0.1:$port"
}
wait_ready() { for _ in $(seq 100); do curl -sf "http://$ADDR/v2/" >/dev/null && return; sleep 0.05; done; echo "server did not start" >&2; exit 1; }
now_ms() { date +%s%3N; }
peak_kb() { awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }

echo "making a ${SIZE_MB} MB image and $CLIENTS small ones..." >&2
make_layout "$WORK/big" "$SIZE_MB" 1
for i in $(seq "$CLIENTS"); do make_layout "$WORK/small$i" 1 $((100 + i)); done

printf '| registry | push %s MB (s) | pull (s) | peak RSS (MB) | %s clients push+pull: images/s | p50 (ms) | p99 (ms) |\n' "$SIZE_MB" "$CLIENTS"
printf '|---|---|---|---|---|---|---|\n'
for registry in slipway distribution; do
    "start_$registry"; wait_ready
    t0=$(now_ms)
    skopeo copy -q --insecure-policy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://$ADDR/bench/big:v1"
    t1=$(now_ms)
    skopeo copy -q --insecure-policy --src-tls-verify=false "docker://$ADDR/bench/big:v1" "oci:$WORK/pulled-$registry:v1"
    t2=$(now_ms)
    : >"$WORK/latencies-$registry"
    start_all=$(now_ms)
    CLIENT_PIDS=()
    for i in $(seq "$CLIENTS"); do
        (
            s=$(now_ms)
            skopeo copy -q --insecure-policy --dest-tls-verify=false "oci:$WORK/small$i:v1" "docker://$ADDR/bench/small$i:v1"
            skopeo copy -q --insecure-policy --src-tls-verify=false "docker://$ADDR/bench/small$i:v1" "oci:$WORK/small-pulled-$registry-$i:v1"
            echo $(( $(now_ms) - s )) >>"$WORK/latencies-$registry"
        ) &
        CLIENT_PIDS+=($!)
    done
    wait "${CLIENT_PIDS[@]}"
    end_all=$(now_ms)
    read -r p50 p99 < <(sort -n "$WORK/latencies-$registry" | awk '{a[NR]=$1} END {i50=int((NR+1)*0.5); i99=int(NR*0.99+0.999); if(i99>NR)i99=NR; print a[i50], a[i99]}')
    rate=$(awk -v n="$CLIENTS" -v ms=$((end_all - start_all)) 'BEGIN {printf "%.1f", n * 1000 / ms}')
    printf '| %s | %.2f | %.2f | %.1f | %s | %s | %s |\n' "$registry" \
        "$(awk -v ms=$((t1 - t0)) 'BEGIN {print ms/1000}')" "$(awk -v ms=$((t2 - t1)) 'BEGIN {print ms/1000}')" \
        "$(awk -v kb="$(peak_kb)" 'BEGIN {print kb/1024}')" "$rate" "$p50" "$p99"
    kill "$SERVER_PID"
done
