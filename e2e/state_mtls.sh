#!/usr/bin/env bash
# Five dwcp-state-replica processes on loopback with mutual TLS (certificates made here with
# openssl): writes on several regions converge everywhere; a partitioned region catches up
# with only what it missed; clients with no certificate, a certificate from another CA or of
# an unknown region are refused; a malformed frame is rejected. One "ok NAME" or
# "FAIL NAME: WHY" line per check; exit status 1 when any check failed.
#   e2e/state_mtls.sh [WORKDIR]      (BUILD_DIR selects the build, default build)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/${BUILD_DIR:-build}/bin/dwcp-state-replica"
DIR="${1:-$(mktemp -d)}"
mkdir -p "$DIR"
REGIONS=(us-east-1 eu-west-1 ap-south-1 sa-east-1 af-south-1)
N=${#REGIONS[@]}
FAILED=0
PIDS=()

ok() { echo "ok    $1"; }
bad() { FAILED=1; echo "FAIL  $1: $2"; }
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
[[ -x "$BIN" ]] || { echo "FAIL  state_mtls: $BIN is missing"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# --- certificates: the federation CA, a region certificate each, a rogue CA, a stranger.
cd "$DIR" || exit 1
mkcert() {  # NAME CA_PREFIX
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null &&
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$1" > "$1.ext" &&
    openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 -extfile "$1.ext" \
      -out "$1.crt" 2>/dev/null
}
mkca() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -days 2 \
    -keyout "$1.key" -out "$1.crt" 2>/dev/null
}
if mkca ca && mkca rogue-ca && for r in "${REGIONS[@]}" stranger; do mkcert "$r" ca || exit 1; done &&
  cp ca.crt trust.crt && mkdir -p rogue && (cd rogue && cp ../rogue-ca.* . && mkcert eu-west-1 rogue-ca); then
  ok "state_mtls: CA, 5 region certificates, a rogue CA and a stranger made with openssl"
else
  bad "state_mtls: certificates" "openssl failed"; exit 1
fi

# --- five replicas
PEER_PORTS=(); CONTROL_PORTS=()
for ((i = 0; i < N; i++)); do PEER_PORTS+=("$(free_port)"); CONTROL_PORTS+=("$(free_port)"); done
for ((i = 0; i < N; i++)); do
  peers=""
  for ((j = 0; j < N; j++)); do
    ((i == j)) && continue
    peers+="${peers:+,}$((j + 1))=${REGIONS[j]}@127.0.0.1:${PEER_PORTS[j]}"
  done
  "$BIN" --id $((i + 1)) --region "${REGIONS[i]}" --listen "127.0.0.1:${PEER_PORTS[i]}" --peers "$peers" \
    --ca ca.crt --cert "${REGIONS[i]}.crt" --key "${REGIONS[i]}.key" \
    --control "127.0.0.1:${CONTROL_PORTS[i]}" > "replica-$((i + 1)).log" 2>&1 &
  PIDS+=($!)
done

ctl() {  # REPLICA METHOD PATH [DATA]
  curl -sS --max-time 10 -X "$2" "http://127.0.0.1:${CONTROL_PORTS[$1 - 1]}$3" ${4:+--data-binary "$4"}
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
wait_for() {  # TIMEOUT_SECONDS COMMAND...: a generous bound on correctness
  local deadline=$((SECONDS + $1)); shift
  while ((SECONDS < deadline)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  "$@" >/dev/null 2>&1
}
all_up() { for ((r = 1; r <= N; r++)); do ctl "$r" GET /health >/dev/null || return 1; done; }
digest() { ctl "$1" GET /digest | json 'd["digest"]+" "+str(d["keys"])'; }
converged() {  # EXPECTED_KEYS
  local first; first="$(digest 1)" || return 1
  [[ "${first#* }" == "$1" ]] || return 1
  for ((r = 2; r <= N; r++)); do [[ "$(digest "$r")" == "$first" ]] || return 1; done
}
bytes_received() { ctl "$1" GET /metrics.json | json 'd["bytesReceived"]'; }

if wait_for 30 all_up; then ok "state_mtls: 5 replicas up"; else bad "state_mtls: replicas up" "$(tail -3 replica-*.log)"; exit 1; fi

# --- writes on several regions converge
VALUE="$(head -c 150 /dev/zero | tr '\0' 'v')"
for ((k = 0; k < 200; k++)); do
  ctl $((k % 3 + 1)) POST "/put?key=placement/vm-$k" "$VALUE-$k" >/dev/null || bad "state_mtls: put $k" "control API"
done
out="$(ctl 4 POST "/put?key=quota/global&consistency=quorum&timeoutMillis=5000" "42")"
[[ "$(json 'd["ok"]' <<<"$out")" == True ]] && ok "state_mtls: quorum write acknowledged" || bad "state_mtls: quorum write" "$out"
if wait_for 30 converged 201; then ok "state_mtls: writes on 4 regions converge on all 5 (201 keys)"
else bad "state_mtls: convergence" "$(for r in 1 2 3 4 5; do digest $r; done)"; fi

# --- a partitioned region catches up with only what it missed
before_partition="$(bytes_received 5)"
ctl 5 POST "/faults?partition=1,2,3,4" >/dev/null
for ((k = 0; k < 20; k++)); do ctl $((k % 2 + 1)) POST "/put?key=partition/vm-$k" "$VALUE-p$k" >/dev/null; done
out="$(ctl 1 POST "/put?key=partition/strong&consistency=strong&timeoutMillis=500" "s")"
if [[ "$out" == *"4 of 5 live regions acknowledged, 5 needed"* ]]; then ok "state_mtls: strong write during the partition fails naming 4 of 5"
else bad "state_mtls: strong write during the partition" "$out"; fi
missing="$(ctl 5 GET "/get?key=partition/vm-3" | json 'd["found"]')"
[[ "$missing" == False ]] && ok "state_mtls: the partitioned region does not see new writes" || bad "state_mtls: partition" "region 5 sees partition/vm-3"
sleep 0.5  # let anti-entropy try (and fail) across the cut
at_heal="$(bytes_received 5)"
ctl 5 POST "/faults" >/dev/null
if wait_for 30 converged 222; then ok "state_mtls: the partitioned region converges after healing (222 keys)"
else bad "state_mtls: convergence after healing" "$(for r in 1 2 3 4 5; do digest $r; done)"; fi
healed="$(bytes_received 5)"
heal_bytes=$((healed - at_heal)); full_bytes=$((before_partition))
if ((heal_bytes * 3 < full_bytes)); then
  ok "state_mtls: healing cost $heal_bytes bytes, against $full_bytes for the first 201 keys (only what it missed)"
else bad "state_mtls: healing bytes" "$heal_bytes bytes to heal vs $full_bytes for the whole state"; fi

# --- refusals, probed with curl on region 1's peer port
URL="https://us-east-1:${PEER_PORTS[0]}"
CURL=(curl -sS --max-time 10 --resolve "us-east-1:${PEER_PORTS[0]}:127.0.0.1" --cacert ca.crt)
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --cert eu-west-1.crt --key eu-west-1.key "$URL/v1/state/health")"
[[ "$code" == 200 ]] && ok "state_mtls: a known region's certificate is served (200)" || bad "state_mtls: known peer" "HTTP $code"
if out="$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/v1/state/health" 2>&1)" && [[ "$out" == 2* ]]; then
  bad "state_mtls: no client certificate" "served: $out"
else ok "state_mtls: no client certificate is refused ($(tr '\n' ' ' <<<"$out" | cut -c1-80))"; fi
if out="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --cert rogue/eu-west-1.crt --key rogue/eu-west-1.key "$URL/v1/state/health" 2>&1)" && [[ "$out" == 2* ]]; then
  bad "state_mtls: certificate from another CA" "served: $out"
else ok "state_mtls: a certificate from another CA is refused ($(tr '\n' ' ' <<<"$out" | cut -c1-80))"; fi
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' --cert stranger.crt --key stranger.key "$URL/v1/state/health")"
[[ "$code" == 403 ]] && ok "state_mtls: a certificate of an unknown region is forbidden (403)" || bad "state_mtls: unknown region" "HTTP $code"
before="$(digest 1)"
printf 'XX garbage' > malformed.bin; printf 'DS\x63\x01\x02\x00' > version99.bin
out="$("${CURL[@]}" -w ' %{http_code}' --cert eu-west-1.crt --key eu-west-1.key --data-binary @malformed.bin "$URL/v1/state/frames")"
if [[ "$out" == *"malformed peer message: bad magic"*" 400" && "$(digest 1)" == "$before" ]]; then ok "state_mtls: a malformed frame is rejected (400) and changes nothing"
else bad "state_mtls: malformed frame" "$out"; fi
out="$("${CURL[@]}" -w ' %{http_code}' --cert eu-west-1.crt --key eu-west-1.key --data-binary @version99.bin "$URL/v1/state/frames")"
if [[ "$out" == *"wire version 99"*" 400" && "$(digest 1)" == "$before" ]]; then ok "state_mtls: an unknown wire version is rejected (400) and changes nothing"
else bad "state_mtls: unknown version" "$out"; fi
refused="$(ctl 1 GET /metrics.json | json 'd["transport"]["handshakeFailures"]')"
((refused >= 2)) && ok "state_mtls: region 1 counted $refused refused handshakes" || bad "state_mtls: handshake count" "$refused"

# --- Prometheus metrics on a replica's control port: the sync latency histogram and a lag series per peer
metrics="$(ctl 1 GET /metrics)"
P=dwcp_federation_state_
missing_series=""
grep -q "^# TYPE ${P}sync_latency_seconds histogram$" <<<"$metrics" || missing_series+=" histogram-type"
grep -Eq "^${P}sync_latency_seconds_bucket\{le=\"0.25\"\} [0-9]+$" <<<"$metrics" || missing_series+=" bucket-0.25"
grep -Eq "^${P}sync_latency_seconds_count [1-9][0-9]*$" <<<"$metrics" || missing_series+=" count>0"
for ((j = 1; j < N; j++)); do
  grep -Eq "^${P}replication_lag_seconds\{peer=\"${REGIONS[j]}\"\} [0-9.e+-]+$" <<<"$metrics" || missing_series+=" lag-${REGIONS[j]}"
  grep -Eq "^${P}unacknowledged_writes\{peer=\"${REGIONS[j]}\"\} [0-9]+$" <<<"$metrics" || missing_series+=" unacked-${REGIONS[j]}"
done
for counter in bytes_sent_total bytes_received_total frames_rejected_total anti_entropy_repairs_total quorum_failures_total; do
  grep -Eq "^${P}${counter} [0-9]+$" <<<"$metrics" || missing_series+=" $counter"
done
if [[ -z "$missing_series" ]]; then ok "state_mtls: /metrics is a Prometheus exposition with the latency histogram and a lag series for each of $((N - 1)) peers"
else bad "state_mtls: /metrics" "missing:$missing_series"; fi

# --- duplication, reordering and +-400 ms clock skew injected through the control API: still converges
skews=(400 -400 0 250 -250)
for ((r = 1; r <= N; r++)); do
  ctl "$r" POST "/faults?duplicate=0.3&reorder=0.3&clockSkewMillis=${skews[r - 1]}" >/dev/null
done
skew_seen="$(ctl 2 GET /metrics.json | json 'd["clockSkewMillis"]')"
for ((k = 0; k < 30; k++)); do ctl $((k % N + 1)) POST "/put?key=faults/vm-$k" "$VALUE-f$k" >/dev/null; done
if wait_for 30 converged 252 && [[ "$skew_seen" == -400 ]]; then
  dup=0; reord=0
  for ((r = 1; r <= N; r++)); do
    dup=$((dup + $(ctl "$r" GET /metrics.json | json 'd["transport"]["framesDuplicated"]')))
    reord=$((reord + $(ctl "$r" GET /metrics.json | json 'd["transport"]["framesReordered"]')))
  done
  if ((dup > 0 && reord > 0)); then ok "state_mtls: converges (252 keys) with $dup duplicated, $reord reordered frames and clocks skewed by +-400 ms"
  else bad "state_mtls: injected faults" "duplicated $dup, reordered $reord"; fi
else bad "state_mtls: convergence under duplication, reordering and skew" "skew $skew_seen; $(for r in 1 2 3 4 5; do digest $r; done)"; fi
for ((r = 1; r <= N; r++)); do ctl "$r" POST "/faults" >/dev/null; done

exit $FAILED
