#!/usr/bin/env bash
# End-to-end placement benchmark (make bench-placement): create-to-Placed against a local
# kube-apiserver with dwcp-operator running, and the API server's own ceiling for the same writes.
# Each mode runs on a fresh control plane (same starting state) with the five example regions
# grown so every VM fits:
#   ceiling  no operator: the driver creates N VMPlacements and writes the operator's writes
#            itself (PUT /status Placed, then the finalizer unless admission set it) - the most
#            this API server can place
#   burst    operator for us-east-1 running: create N as fast as possible, placed per second
#   rate-ceiling  no operator: RATE creates per second, the driver writing each status itself
#            as its create returns - create-to-Placed with only the API server in the way
#   rate     operator running: RATE creates per second for DURATION seconds, create-to-Placed
# Prints one JSON object with the figures and burst_vs_ceiling (placed per second, burst over
# ceiling). Smaller runs: N=1000 RATE=50 DURATION=10 bash bench/placement_e2e.sh; WORKERS=16 runs
# the operator with runtime.vmplacement_workers 16 instead of its default; MODES="rate" runs only
# the listed modes (ceiling burst rate).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-10000}"
RATE="${RATE:-200}"
DURATION="${DURATION:-60}"
MODES="${MODES:-ceiling burst rate-ceiling rate}"
THREADS="${THREADS:-16}"
WORKERS="${WORKERS:-}"
DIR="${BENCH_DIR:-$ROOT/.e2e/bench-placement}"
KUBECTL="$ROOT/.tools/bin/kubectl"
BIN="$ROOT/${BUILD_DIR:-build}/bin"
OPERATOR="$BIN/dwcp-operator"
DRIVER="$BIN/placement_e2e"

for exe in "$OPERATOR" "$DRIVER"; do
  [[ -x "$exe" ]] || { echo "placement-e2e: $exe is missing; build it first" >&2; exit 2; }
done
bash "$ROOT/hack/build-tools.sh" >/dev/null

CP=""
OP_PID=""
stop_all() {
  if [[ -n "$OP_PID" ]]; then kill -TERM "$OP_PID" 2>/dev/null || true; wait "$OP_PID" 2>/dev/null || true; OP_PID=""; fi
  if [[ -n "$CP" ]]; then bash "$ROOT/hack/controlplane.sh" stop "$CP" >/dev/null 2>&1 || true; CP=""; fi
}
trap stop_all EXIT

k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }

# fresh_controlplane NAME: a new control plane with the CRDs and the big regions; sets KC and CP.
fresh_controlplane() {
  CP="$DIR/$1"
  rm -rf "$CP"
  KC="$(bash "$ROOT/hack/controlplane.sh" start "$CP")"
  k apply -f "$ROOT/crds/" >/dev/null
  k wait --for condition=established --timeout=60s -f "$ROOT/crds/" >/dev/null
  # Established is not yet served: storage for the new kinds initializes a moment later.
  local tries=0
  until k get dwcp -A >/dev/null 2>&1; do
    ((++tries < 200)) || { echo "placement-e2e: CRDs not served after 20 s" >&2; exit 1; }
    sleep 0.1
  done
  KUBECTL="$KUBECTL" bash "$ROOT/hack/install-admission.sh" "$KC"  # optional finalizer policy, when served
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  local region
  for region in $(k get rg -o name); do
    k patch "$region" --type merge \
      -p '{"spec":{"capacity":{"cpu":1000000,"memoryMiB":4000000000,"storageGiB":100000000,"maxVMs":1000000}}}' >/dev/null
  done
  k create namespace bench >/dev/null
}

start_operator() {
  local health config=()
  if [[ -n "$WORKERS" ]]; then
    printf 'runtime:\n  vmplacement_workers: %s\n' "$WORKERS" > "$CP/operator.yaml"
    config=(--config "$CP/operator.yaml")
  fi
  health="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$OPERATOR" --region us-east-1 --kubeconfig "$KC" --metrics-bind-address 0 --routing-bind-address 0 \
    --health-probe-bind-address "127.0.0.1:$health" --log-level warn "${config[@]}" > "$CP/operator.log" 2>&1 &
  OP_PID=$!
  until curl -sf "http://127.0.0.1:$health/readyz" >/dev/null 2>&1; do
    kill -0 "$OP_PID" 2>/dev/null || { echo "placement-e2e: operator exited; see $CP/operator.log" >&2; exit 1; }
    sleep 0.05
  done
}

# run_mode NAME DRIVER_ARGS...: prints the driver's JSON into $DIR/NAME.json.
run_mode() {
  local name="$1"; shift
  echo "placement-e2e: $name: $*" >&2
  local code=0
  "$DRIVER" --kubeconfig "$KC" --namespace bench "$@" > "$DIR/$name.json" 2> "$DIR/$name.log" || code=$?
  [[ -s "$DIR/$name.json" ]] || { echo "placement-e2e: $name failed ($code); see $DIR/$name.log" >&2; exit 1; }
  ((code == 0)) || echo "placement-e2e: $name: not every VM was placed (exit $code); see $DIR/$name.json" >&2
  echo "placement-e2e: $name: $(cat "$DIR/$name.json")" >&2
}

mkdir -p "$DIR"
rm -f "$DIR"/{ceiling,burst,rate-ceiling,rate}.json  # a mode not run leaves no figures

for mode in $MODES; do
  case "$mode" in
    ceiling) fresh_controlplane ceiling
             run_mode ceiling --ceiling "$N" --threads "$THREADS" ;;
    burst)   fresh_controlplane burst
             start_operator
             run_mode burst --burst "$N" --threads "$THREADS" ;;
    # Open loop: enough sender threads that a slow create never delays the next one's send.
    rate)    fresh_controlplane rate
             start_operator
             run_mode rate --rate "$RATE" --duration "$DURATION" --threads 32 ;;
    # The same rate with no operator: the driver writes the status itself the moment the create
    # returns - create-to-Placed with nothing but the API server in the way.
    rate-ceiling) fresh_controlplane rate-ceiling
             run_mode rate-ceiling --rate "$RATE" --duration "$DURATION" --threads 32 --self-place ;;
    *) echo "placement-e2e: MODES: unknown mode '$mode' (ceiling, burst, rate-ceiling, rate)" >&2; exit 2 ;;
  esac
  stop_all
done

python3 - "$DIR" "$WORKERS" <<'PY'
import json, os, sys
d = sys.argv[1]
def load(mode):
    path = os.path.join(d, mode + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
ceiling, burst, rate_ceiling, rate = (load(m) for m in ("ceiling", "burst", "rate-ceiling", "rate"))
out = {"benchmark": "placement end to end (local kube-apiserver, dwcp-operator --region us-east-1)",
       "operator_vmplacement_workers": int(sys.argv[2]) if sys.argv[2] else "default"}
def rate_figures(r):  # rate and rate-ceiling runs
    return {
        "placed_by": r["placed_by"],
        "target_per_second": r["target_rate_per_second"],
        "duration_seconds": r["duration_seconds"],
        "created": r["created"], "placed": r["placed"],
        "not_placed_within_wait": r["created"] - r["placed"],
        "achieved_creates_per_second": r["creates_per_second"],
        "create_to_placed_ms": r["create_to_placed_ms"],
        "create_request_ms": r["create_request_ms"],
    }
if rate:
    out["rate"] = rate_figures(rate)
if rate_ceiling:
    out["rate_ceiling"] = rate_figures(rate_ceiling)
if burst:
    out["burst"] = {
        "objects": burst["objects"], "placed": burst["placed"],
        "placed_per_second": burst["placed_per_second"],
        "creates_per_second": burst["creates_per_second"],
        "elapsed_seconds": burst["elapsed_seconds"],
        "create_to_placed_ms": burst["create_to_placed_ms"],
        "sender_threads": burst["sender_threads"],
    }
if ceiling:
    out["ceiling"] = {
        "objects": ceiling["objects"], "placed": ceiling["placed"],
        "placed_per_second": ceiling["placed_per_second"],
        "elapsed_seconds": ceiling["elapsed_seconds"],
        "writes_per_vm": ceiling["writes_per_vm"],
    }
if burst and ceiling:
    out["burst_vs_ceiling"] = round(burst["placed_per_second"] / ceiling["placed_per_second"], 3)
print(json.dumps(out, indent=2))
PY
