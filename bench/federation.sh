#!/usr/bin/env bash
# `make bench-federation`: three local regions (hack/federation.sh), measured:
#   idle       the three operators' CPU and RSS over IDLE_SECONDS with nothing to do but peer
#   operator   RATE VMPlacements per second for DURATION seconds created in the first region,
#              constrained to the second, each with a ConfigMap template: create-at-home to
#              workload-made-in-the-other-cluster p50/p99, the lag from a Region's own status to
#              the other cluster's copy of it, and the operators' CPU and peak RSS meanwhile
#   ceiling    the same driver and rate with the operators stopped: the driver makes the
#              operators' API writes itself, in their order (the VMPlacement at home; the mirror,
#              the workload and the mirror's status in the other cluster; an Event and the status at
#              home); and the minimum (the VMPlacement at home, then the workload there)
# Prints one JSON object (ratios: operator / same-writes ceiling, p50 and p99). WORK (default .bench/federation),
# RATE (20), DURATION (60), IDLE_SECONDS (30), BUILD_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/${BUILD_DIR:-build}"
WORK="${WORK:-$ROOT/.bench/federation}"
RATE="${RATE:-20}"
DURATION="${DURATION:-60}"
IDLE_SECONDS="${IDLE_SECONDS:-30}"
KUBECTL="$ROOT/.tools/bin/kubectl"
HOME_REGION=us-east-1
TARGET=us-west-2

for bin in dwcp-operator federation_e2e; do
  [[ -x "$BUILD/bin/$bin" ]] || { echo "bench/federation: $BUILD/bin/$bin is missing; run make build" >&2; exit 2; }
done
bash "$ROOT/hack/federation.sh" down "$WORK" >/dev/null 2>&1 || true
rm -rf "$WORK"; mkdir -p "$(dirname "$WORK")"
trap 'bash "$ROOT/hack/federation.sh" down "$WORK" >/dev/null 2>&1 || true' EXIT
bash "$ROOT/hack/federation.sh" up 3 "$WORK" >/dev/null 2>"$WORK.up.log" || { cat "$WORK.up.log" >&2; exit 1; }
mapfile -t REGIONS < "$WORK/regions"
for r in "${REGIONS[@]}"; do
  "$KUBECTL" --kubeconfig "$WORK/$r/kubeconfig" create namespace fedbench >/dev/null
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system clock ticks
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
HZ="$(getconf CLK_TCK)"
declare -A PID
for r in "${REGIONS[@]}"; do PID[$r]="$(cat "$WORK/$r/operator.pid")"; done

cpu_json() {  # cpu_json SECONDS: each operator's CPU seconds over the next SECONDS, and its RSS after
  local -A before
  for r in "${REGIONS[@]}"; do before[$r]="$(ticks "${PID[$r]}")"; done
  sleep "$1"
  local out="{" sep=""
  for r in "${REGIONS[@]}"; do
    out+="$sep\"$r\": {\"cpu_seconds\": $(awk -v a="${before[$r]}" -v b="$(ticks "${PID[$r]}")" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz}'), \"rss_mib\": $(rss_mib "${PID[$r]}")}"
    sep=", "
  done
  echo "$out}"
}

echo "bench/federation: idle for ${IDLE_SECONDS}s" >&2
IDLE="$(cpu_json "$IDLE_SECONDS")"

echo "bench/federation: ${RATE}/s for ${DURATION}s from $HOME_REGION to $TARGET (operators)" >&2
declare -A START
for r in "${REGIONS[@]}"; do START[$r]="$(ticks "${PID[$r]}")"; done
PEAK_FILE="$WORK/peak-rss"
( declare -A peak; while sleep 0.5; do
    for r in "${REGIONS[@]}"; do
      v="$(awk '/^VmRSS/ {print $2}' "/proc/${PID[$r]}/status" 2>/dev/null || echo 0)"
      (( v > ${peak[$r]:-0} )) && peak[$r]=$v
    done
    for r in "${REGIONS[@]}"; do echo "$r ${peak[$r]:-0}"; done > "$PEAK_FILE.tmp" && mv "$PEAK_FILE.tmp" "$PEAK_FILE"
  done ) &
SAMPLER=$!
OPERATOR="$("$BUILD/bin/federation_e2e" --home-kubeconfig "$WORK/$HOME_REGION/kubeconfig" \
  --target-kubeconfig "$WORK/$TARGET/kubeconfig" --target "$TARGET" --namespace fedbench \
  --rate "$RATE" --duration "$DURATION")"
kill "$SAMPLER" 2>/dev/null || true
LOAD="{" sep=""
for r in "${REGIONS[@]}"; do
  cpu="$(awk -v a="${START[$r]}" -v b="$(ticks "${PID[$r]}")" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz}')"
  peak="$(awk -v r="$r" '$1 == r {printf "%.1f", $2 / 1024}' "$PEAK_FILE")"
  LOAD+="$sep\"$r\": {\"cpu_seconds\": $cpu, \"peak_rss_mib\": ${peak:-0}}"
  sep=", "
done
LOAD+="}"

echo "bench/federation: the same with the operators stopped (ceiling)" >&2
for r in "${REGIONS[@]}"; do kill -TERM "${PID[$r]}"; done
for r in "${REGIONS[@]}"; do for _ in $(seq 1 100); do kill -0 "${PID[$r]}" 2>/dev/null || break; sleep 0.1; done; done
for r in "${REGIONS[@]}"; do
  for ns in fedceiling fedminimal; do "$KUBECTL" --kubeconfig "$WORK/$r/kubeconfig" create namespace $ns >/dev/null; done
done
CEILING="$("$BUILD/bin/federation_e2e" --home-kubeconfig "$WORK/$HOME_REGION/kubeconfig" \
  --target-kubeconfig "$WORK/$TARGET/kubeconfig" --target "$TARGET" --namespace fedceiling \
  --rate "$RATE" --duration "$DURATION" --ceiling same)"
MINIMAL="$("$BUILD/bin/federation_e2e" --home-kubeconfig "$WORK/$HOME_REGION/kubeconfig" \
  --target-kubeconfig "$WORK/$TARGET/kubeconfig" --target "$TARGET" --namespace fedminimal \
  --rate "$RATE" --duration "$DURATION" --ceiling minimal)"

python3 - "$OPERATOR" "$CEILING" "$MINIMAL" "$IDLE" "$LOAD" "$(nproc)" <<'PY'
import json, sys
op, ceiling, minimal, idle, load = (json.loads(a) for a in sys.argv[1:6])
cores = int(sys.argv[6])
o, c = op["create_to_remote_workload_ms"], ceiling["create_to_remote_workload_ms"]
ratio = lambda q: round(o[q] / c[q], 2) if c.get(q) else None
print(json.dumps({
    "regions": 3, "cores": cores,
    "operator": op, "ceiling_same_writes": ceiling, "ceiling_minimal": minimal,
    "p50_ratio_to_ceiling": ratio("p50"), "p99_ratio_to_ceiling": ratio("p99"),
    "idle": idle, "under_load": load,
}))
PY
