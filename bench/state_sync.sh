#!/usr/bin/env bash
# Five state replicas on loopback over the mutual-TLS transport with 50 ms injected one-way
# latency: convergence and quorum/strong write latency percentiles, bytes per update and the
# healing ratio, as JSON (bench/state_sync_bench.cpp). Usage: bench/state_sync.sh [FLAGS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/${BUILD_DIR:-build}/bin/bench_state_sync"
[[ -x "$BIN" ]] || { echo "bench/state_sync.sh: $BIN is missing; run make build" >&2; exit 2; }
exec "$BIN" --latency-ms 50 --updates 200 --keys 100000 "$@"
