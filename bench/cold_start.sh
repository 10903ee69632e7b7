#!/usr/bin/env bash
# Cold-start benchmark (make bench-runtime): with N VMPlacements (default 10,000) in a local
# kube-apiserver, the time from starting dwcp-operator to its caches being synced (/readyz 200),
# and its resident memory after sync. Runs RUNS starts (default 3) and prints one JSON object.
# Reference figures in the same run: the API server's own ceiling, the time a client that only
# reads (no JSON decoding) takes to receive the streaming list of the same objects up to its
# initial-events-end bookmark, best of RUNS; and `kubectl get vmp -A -o json` of them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${N:-10000}"
RUNS="${RUNS:-3}"
DIR="${BENCH_DIR:-$ROOT/.e2e/bench-cold-start}"
KUBECTL="$ROOT/.tools/bin/kubectl"
OPERATOR="$ROOT/${BUILD_DIR:-build}/bin/dwcp-operator"

rm -rf "$DIR"
KC="$(bash "$ROOT/hack/controlplane.sh" start "$DIR")"
trap 'bash "$ROOT/hack/controlplane.sh" stop "$DIR" >/dev/null 2>&1 || true' EXIT
k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }
k apply -f "$ROOT/crds/" >/dev/null
k wait --for condition=established --timeout=60s -f "$ROOT/crds/" >/dev/null
KUBECTL="$KUBECTL" bash "$ROOT/hack/install-admission.sh" "$KC"  # optional finalizer policy, when served
k apply -f "$ROOT/examples/regions.yaml" >/dev/null
k create namespace bench >/dev/null

echo "cold-start: creating $N VMPlacements" >&2
python3 - "$N" "$DIR" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
parts = 4
for p in range(parts):
    items = [{"apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
              "metadata": {"name": f"vm-{i:05d}", "namespace": "bench", "labels": {"bench": "cold-start"}},
              "spec": {"resources": {"cpu": 2 + i % 7, "memoryMiB": 4096, "storageGiB": 50},
                       "priority": i % 100,
                       "constraints": {"continents": ["europe"], "compliance": ["gdpr"], "minHealth": 50}}}
             for i in range(p, n, parts)]
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(f"{out}/vms-{p}.json", "w"))
PY
for p in 0 1 2 3; do k create -f "$DIR/vms-$p.json" >/dev/null & done
wait
count="$(k get vmp -n bench --no-headers | wc -l)"
[[ "$count" -eq "$N" ]] || { echo "cold-start: expected $N VMPlacements, found $count" >&2; exit 1; }

now_ns() { date +%s%N; }
t0=$(now_ns); k get vmp -A -o json >/dev/null; kubectl_ms=$(( ($(now_ns) - t0) / 1000000 ))
stream_ms="$(python3 - "$KC" "$DIR" "$RUNS" <<'PY'
import base64, http.client, re, ssl, sys, time
kubeconfig, folder, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(kubeconfig).read()  # hack/controlplane.sh's kubeconfig: one cluster, one user, inline data
def field(name):
    return re.search(r"^\s*" + re.escape(name) + r":\s*(\S+)\s*$", text, re.M).group(1)
files = {}
for name, key in (("certificate-authority-data", "ca"), ("client-certificate-data", "crt"), ("client-key-data", "key")):
    files[key] = f"{folder}/reference-{key}.pem"
    with open(files[key], "wb") as out:
        out.write(base64.b64decode(field(name)))
context = ssl.create_default_context(cafile=files["ca"])
context.load_cert_chain(files["crt"], files["key"])
host, port = field("server").split("//")[1].rsplit(":", 1)
path = ("/apis/federation.dwcp.io/v1alpha1/vmplacements?watch=1&sendInitialEvents=true"
        "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=60")
best = None
for _ in range(runs):
    started = time.monotonic()
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=60)
    connection.request("GET", path)
    response = connection.getresponse()
    while True:
        line = response.readline()
        if not line or b"k8s.io/initial-events-end" in line:
            break
    elapsed = (time.monotonic() - started) * 1000
    connection.close()
    best = elapsed if best is None else min(best, elapsed)
print(round(best))
PY
)"

results=()
for run in $(seq 1 "$RUNS"); do
  health="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  t0=$(now_ns)
  "$OPERATOR" --region us-east-1 --kubeconfig "$KC" --metrics-bind-address 0 --routing-bind-address 0 \
    --health-probe-bind-address "127.0.0.1:$health" --log-level warn > "$DIR/operator-$run.log" 2>&1 &
  pid=$!
  until curl -sf "http://127.0.0.1:$health/readyz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "cold-start: operator exited; see $DIR/operator-$run.log" >&2; exit 1; }
    sleep 0.005
  done
  sync_ms=$(( ($(now_ns) - t0) / 1000000 ))
  rss_synced_kib="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
  sleep 2  # let the first reconciles and the event writer run, then read memory again
  rss_kib="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
  kill -TERM "$pid"; wait "$pid" || true
  echo "cold-start: run $run: synced in ${sync_ms} ms, RSS ${rss_synced_kib} KiB at sync, ${rss_kib} KiB 2 s later" >&2
  results+=("$sync_ms $rss_synced_kib $rss_kib")
done

python3 - "$N" "$kubectl_ms" "$stream_ms" "${results[@]}" <<'PY'
import json, statistics, sys
n, kubectl_ms, stream_ms = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
runs = [tuple(int(x) for x in r.split()) for r in sys.argv[4:]]
sync = statistics.median(r[0] for r in runs)
print(json.dumps({
    "benchmark": "operator cold start",
    "vmplacements": n,
    "runs": len(runs),
    "cache_sync_ms": {"median": statistics.median(r[0] for r in runs), "min": min(r[0] for r in runs), "max": max(r[0] for r in runs)},
    "rss_mib_at_sync": round(statistics.median(r[1] for r in runs) / 1024, 1),
    "rss_mib_2s_after_sync": round(statistics.median(r[2] for r in runs) / 1024, 1),
    "reference_server_stream_ms": stream_ms,
    "cache_sync_to_server_stream_ratio": round(sync / stream_ms, 2) if stream_ms else None,
    "reference_kubectl_get_json_ms": kubectl_ms,
}, indent=2))
PY
