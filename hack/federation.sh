#!/usr/bin/env bash
# A local federation of regions on one machine: per region a real control plane (etcd +
# kube-apiserver on loopback, hack/controlplane.sh) and one dwcp-operator, the operators peering
# over mutual TLS with certificates from a federation CA made here with openssl. Processes only:
# nothing here uses Docker or kind. Several federations can run at once, each in its own DIR;
# everything (certificates, control planes, ports, logs) lives under DIR.
#
#   hack/federation.sh up N DIR                the first N (1-5) Regions of examples/regions.yaml,
#                                              each its own cluster and operator; waits until every
#                                              cluster shows every region Healthy, prints DIR
#   hack/federation.sh down DIR                stop every operator and control plane (data kept)
#   hack/federation.sh stop-region DIR REGION  crash REGION: SIGKILL its operator, API server, etcd
#   hack/federation.sh start-region DIR REGION bring REGION back on the same ports and data
#   hack/federation.sh status DIR              per region: operator, API server, phases it shows
#
# Environment: BUILD_DIR (the operator is $BUILD_DIR/bin/dwcp-operator; default build, relative
# to the repository unless absolute),
# DWCP_OPERATOR_FLAGS (extra operator flags, word-split; saved by `up` in DIR/REGION/operator.cmd,
# which start-region reruns), FEDERATION_WAIT_SECONDS (up's wait for Healthy, default 120).
# Layout: DIR/pki/{ca,REGION}.{crt,key}, DIR/regions.yaml (the Regions applied to every cluster),
# DIR/regions (their names), DIR/REGION/{kubeconfig,ports.env,controlplane/,operator.{cmd,pid,log}}.
# rm -rf DIR after `down` removes a federation for good.
set -euo pipefail
# Keys, kubeconfigs and the directories holding them are private from the start.
umask 077
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_BIN="${DWCP_TOOLS_DIR:-$ROOT/.tools}/bin"
KUBECTL="$TOOLS_BIN/kubectl"
CONTROLPLANE="$ROOT/hack/controlplane.sh"
BUILD="${BUILD_DIR:-build}"
[[ "$BUILD" == /* ]] || BUILD="$ROOT/$BUILD"  # relative to the repository, as in hack/run.sh
OPERATOR="$BUILD/bin/dwcp-operator"
EXAMPLES="$ROOT/examples/regions.yaml"
MAX_REGIONS=5

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0" >&2; exit 2; }
log() { echo "federation: $*" >&2; }
die() { echo "federation: $*" >&2; exit 1; }
count() { if (($1 == 1)); then echo "1 $2"; else echo "$1 $2s"; fi; }  # count N THING

# --- processes ----------------------------------------------------------------------------------

# alive PID: the process exists and is not a zombie (an orphan's parent may never reap it).
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(awk '{sub(/^.*\) /, ""); print $1}' "/proc/$1/stat" 2>/dev/null)" || return 0
  [[ "$state" != Z ]]
}

operator_pid() {  # operator_pid REGION: prints the pid of its running operator, or fails
  local f="$DIR/$1/operator.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

# wait_gone SECONDS PID...: fails when one is still alive after SECONDS.
wait_gone() {
  local deadline=$((SECONDS + $1)) pid left; shift
  while :; do
    left=0
    for pid in "$@"; do if alive "$pid"; then left=1; fi; done
    ((left)) || return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# --- regions ------------------------------------------------------------------------------------

# The names of the Regions in examples/regions.yaml, in order (kind: Region, metadata.name).
example_regions() {
  awk '
    /^---/ { kind = ""; meta = 0; next }
    /^kind:/ { kind = $2 }
    /^[^ #]/ { meta = ($0 ~ /^metadata:[[:space:]]*$/); next }
    meta && /^  name:/ { name = $2; gsub(/["\047]/, "", name); if (kind == "Region") print name; meta = 0 }
  ' "$EXAMPLES"
}

# The regions of the federation in DIR (DIR/regions), into REGIONS.
load_regions() {
  [[ -f "$DIR/regions" ]] ||
    die "$DIR is not a federation (no $DIR/regions; hack/federation.sh up N $DIR makes one)"
  mapfile -t REGIONS < "$DIR/regions"
  ((${#REGIONS[@]})) || die "$DIR/regions lists no region"
}

# For down and status on a DIR whose up stopped early: every DIR/REGION that holds anything.
load_regions_any() {
  if [[ -f "$DIR/regions" ]]; then load_regions; return; fi
  REGIONS=()
  local d
  for d in "$DIR"/*/; do
    [[ -f "$d/ports.env" || -d "$d/controlplane" ]] && REGIONS+=("$(basename "$d")")
  done
  return 0
}

check_region() {  # check_region REGION: a usage error unless REGION is in DIR/regions
  local r
  for r in "${REGIONS[@]}"; do [[ "$r" == "$1" ]] && return 0; done
  echo "federation: $1 is not a region of $DIR ($DIR/regions lists: ${REGIONS[*]})" >&2
  exit 2
}

load_ports() {  # load_ports REGION: PEER_PORT METRICS_PORT HEALTH_PORT ROUTING_PORT
  local f="$DIR/$1/ports.env"
  [[ -f "$f" ]] || die "$f is missing (was $1 ever brought up with hack/federation.sh up?)"
  # shellcheck disable=SC1090
  source "$f"
}

# free_ports COUNT [EXCLUDED...]: COUNT distinct loopback ports that can be bound now, drawn at
# random below the kernel's ephemeral range, so that no client connection (kubectl, the
# operators' watches, kube-apiserver to etcd) holds one as its source port when a region restarts.
free_ports() {
  python3 - "$@" <<'PY'
import random, socket, sys
count, excluded = int(sys.argv[1]), {int(p) for p in sys.argv[2:]}
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
held, ports = [], []
for _ in range(100000):
    if len(ports) == count:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randint(10000, low - 1) if low > 12000 else 0))
    except OSError:
        s.close()
        continue
    held.append(s)  # held until every port is chosen, so no two are the same
    port = s.getsockname()[1]
    if port not in excluded and port not in ports:
        ports.append(port)
if len(ports) < count:
    sys.exit("federation: no %d free loopback ports found" % count)
print(" ".join(map(str, ports)))
PY
}

# Ports of every region without DIR/REGION/ports.env, chosen together so that none repeats within
# the federation: the operator's four and its control plane's four (controlplane.sh reads
# DIR/REGION/controlplane/ports.env when present).
choose_ports() {
  local r need=() used=() ports f
  for r in "${REGIONS[@]}"; do
    [[ -f "$DIR/$r/ports.env" ]] || need+=("$r")
    for f in "$DIR/$r/ports.env" "$DIR/$r/controlplane/ports.env"; do
      # shellcheck disable=SC2207
      [[ -f "$f" ]] && used+=($(sed -n 's/^[A-Z0-9_]*=\([0-9][0-9]*\)$/\1/p' "$f"))
    done
  done
  ((${#need[@]})) || return 0
  read -ra ports <<<"$(free_ports $((8 * ${#need[@]})) "${used[@]}")"
  local i=0
  for r in "${need[@]}"; do
    mkdir -p "$DIR/$r/controlplane"
    if [[ ! -f "$DIR/$r/controlplane/ports.env" ]]; then
      printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\nAPISERVER2_PORT=%s\n' \
        "${ports[i + 4]}" "${ports[i + 5]}" "${ports[i + 6]}" "${ports[i + 7]}" > "$DIR/$r/controlplane/ports.env"
    fi
    printf 'PEER_PORT=%s\nMETRICS_PORT=%s\nHEALTH_PORT=%s\nROUTING_PORT=%s\n' \
      "${ports[i]}" "${ports[i + 1]}" "${ports[i + 2]}" "${ports[i + 3]}" > "$DIR/$r/ports.env.tmp"
    mv "$DIR/$r/ports.env.tmp" "$DIR/$r/ports.env"
    i=$((i + 8))
  done
}

# --- certificates -------------------------------------------------------------------------------

# DIR/pki: the federation CA and a peer certificate per region (DNS SAN = the region's name), EC
# P-256 as in e2e/state_mtls.sh. Files that exist are kept; a new CA reissues every region's.
gen_pki() {
  local pki="$DIR/pki" r new_ca=0
  mkdir -p "$pki"
  if [[ ! -f "$pki/ca.crt" || ! -f "$pki/ca.key" ]]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=dwcp-federation-ca" -days 3650 -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>"$pki/openssl.err" ||
      die "openssl could not make the federation CA in $pki: $(<"$pki/openssl.err")"
    new_ca=1
  fi
  for r in "${REGIONS[@]}"; do
    ((new_ca)) || [[ ! -f "$pki/$r.crt" || ! -f "$pki/$r.key" ]] || continue
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$r" > "$pki/$r.ext"
    { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$r" \
        -keyout "$pki/$r.key" -out "$pki/$r.csr" &&
      openssl x509 -req -in "$pki/$r.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
        -days 365 -extfile "$pki/$r.ext" -out "$pki/$r.crt"; } 2>"$pki/openssl.err" ||
      die "openssl could not make the peer certificate of $r in $pki: $(<"$pki/openssl.err")"
    rm -f "$pki/$r.csr" "$pki/$r.ext"
  done
  rm -f "$pki/openssl.err"
}

# --- the Regions applied to every cluster -------------------------------------------------------

# DIR/regions.yaml: the first N Regions of examples/regions.yaml, spec.endpoint on loopback at
# each region's peer port. PyYAML when present, else a line edit of the `  endpoint:` lines.
render_regions() {
  local out="$DIR/regions.yaml" r eps=()
  for r in "${REGIONS[@]}"; do
    load_ports "$r"
    eps+=("$r=https://127.0.0.1:$PEER_PORT")
  done
  {
    echo "# Made by hack/federation.sh from examples/regions.yaml: its first ${#REGIONS[@]} Regions, each"
    echo "# spec.endpoint its operator's peer port on loopback. Applied to every cluster of $DIR."
    if python3 -c 'import yaml' 2>/dev/null; then
      python3 - "$EXAMPLES" "${#REGIONS[@]}" "${eps[@]}" <<'PY'
import sys, yaml
src, n = sys.argv[1], int(sys.argv[2])
endpoints = dict(arg.split("=", 1) for arg in sys.argv[3:])
with open(src) as f:
    regions = [d for d in yaml.safe_load_all(f) if isinstance(d, dict) and d.get("kind") == "Region"][:n]
for region in regions:
    region["spec"]["endpoint"] = endpoints[region["metadata"]["name"]]
yaml.safe_dump_all(regions, sys.stdout, sort_keys=False, default_flow_style=None)
PY
    else
      awk -v n="${#REGIONS[@]}" -v eps="${eps[*]}" '
        BEGIN { c = split(eps, a, " "); for (i = 1; i <= c; i++) { k = index(a[i], "="); ep[substr(a[i], 1, k - 1)] = substr(a[i], k + 1) } }
        function flush() {
          if (kind == "Region" && name != "" && kept < n) { printf "%s%s", (kept ? "---\n" : ""), buf; kept++ }
          buf = ""; kind = ""; name = ""; meta = 0
        }
        /^---/ { flush(); next }
        /^#/ && buf == "" { next }
        /^kind:/ { kind = $2 }
        /^[^ #]/ { meta = ($0 ~ /^metadata:[[:space:]]*$/) }
        meta && /^  name:/ { name = $2; gsub(/["\047]/, "", name); meta = 0 }
        /^  endpoint:/ && (name in ep) { $0 = "  endpoint: " ep[name] }
        { buf = buf $0 "\n" }
        END { flush() }
      ' "$EXAMPLES"
    fi
  } > "$out.tmp" || die "rendering $out from $EXAMPLES failed"
  local got
  got="$(grep -c '^  endpoint: https://127\.0\.0\.1:[0-9]*$' "$out.tmp" || true)"
  [[ "$got" == "${#REGIONS[@]}" ]] ||
    die "rendering $out from $EXAMPLES: $got of ${#REGIONS[@]} Regions got a loopback endpoint (see $out.tmp)"
  mv "$out.tmp" "$out"
}

# --- clusters -----------------------------------------------------------------------------------

k() { local r="$1"; shift; "$KUBECTL" --kubeconfig "$DIR/$r/kubeconfig" "$@"; }

# setup_cluster REGION: its control plane, the CRDs, the admission policy, dwcp-system and the
# Regions. Run in the background, its output in DIR/REGION/up.log.
setup_cluster() {
  local r="$1" kc
  kc="$(bash "$CONTROLPLANE" start "$DIR/$r/controlplane")" || { echo "hack/controlplane.sh start failed"; return 1; }
  ln -sfn "${kc#"$DIR/$r/"}" "$DIR/$r/kubeconfig"
  k "$r" apply -f "$ROOT/crds/" >/dev/null || { echo "kubectl apply -f crds/ failed"; return 1; }
  k "$r" wait --for condition=established --timeout=60s -f "$ROOT/crds/" >/dev/null ||
    { echo "the CRDs were not established within 60 s"; return 1; }
  KUBECTL="$KUBECTL" bash "$ROOT/hack/install-admission.sh" "$DIR/$r/kubeconfig" ||
    { echo "hack/install-admission.sh failed"; return 1; }
  k "$r" create namespace dwcp-system --dry-run=client -o yaml | k "$r" apply -f - >/dev/null ||
    { echo "creating namespace dwcp-system failed"; return 1; }
  # Discovery may lag the CRDs being established by a moment.
  local deadline=$((SECONDS + 20))
  until k "$r" apply -f "$DIR/regions.yaml" >/dev/null; do
    ((SECONDS < deadline)) || { echo "kubectl apply -f $DIR/regions.yaml failed"; return 1; }
    sleep 0.5
  done
}

# The operator's command line, one line of shell words, in DIR/REGION/operator.cmd.
write_operator_cmd() {
  local r="$1" extra=()
  load_ports "$r"
  read -ra extra <<<"${DWCP_OPERATOR_FLAGS:-}"
  local cmd=("$OPERATOR" --region "$r" --kubeconfig "$DIR/$r/kubeconfig"
    --metrics-bind-address "127.0.0.1:$METRICS_PORT" --health-probe-bind-address "127.0.0.1:$HEALTH_PORT"
    --routing-bind-address "127.0.0.1:$ROUTING_PORT" --peer-bind-address "127.0.0.1:$PEER_PORT"
    --peer-tls-cert "$DIR/pki/$r.crt" --peer-tls-key "$DIR/pki/$r.key" --peer-ca "$DIR/pki/ca.crt"
    "${extra[@]}")
  printf '%q ' "${cmd[@]}" | sed 's/ $//' > "$DIR/$r/operator.cmd"
  echo >> "$DIR/$r/operator.cmd"
}

# launch_operator REGION: runs DIR/REGION/operator.cmd detached (own session, no terminal), its
# output appended to DIR/REGION/operator.log, its pid in DIR/REGION/operator.pid.
launch_operator() {
  local r="$1" d="$DIR/$1" pid
  [[ -f "$d/operator.cmd" ]] || die "$d/operator.cmd is missing (was $r ever brought up with hack/federation.sh up?)"
  echo "--- $(date -u +%FT%TZ) hack/federation.sh: starting: $(<"$d/operator.cmd")" >> "$d/operator.log"
  # setsid, nohup and bash each exec the next, so $! is the operator's pid.
  (cd "$d" && exec setsid nohup bash -c "exec $(<"$d/operator.cmd")" >> "$d/operator.log" 2>&1 < /dev/null) &
  pid=$!
  echo "$pid" > "$d/operator.pid"
}

apiserver_ready() { bash "$CONTROLPLANE" status "$DIR/$1/controlplane" >/dev/null 2>&1; }

# phases REGION: what REGION's cluster shows, one NAME=PHASE line per Region.
phases() {
  k "$1" get regions.federation.dwcp.io --request-timeout=5s \
    -o 'jsonpath={range .items[*]}{.metadata.name}={.status.phase}{"\n"}{end}' 2>/dev/null
}

# phase_of LINES REGION: the phase in `phases` output; "absent" when the Region is not there,
# "no-phase" when it has no status.phase yet.
phase_of() {
  local line
  while IFS= read -r line; do
    [[ "${line%%=*}" == "$2" ]] && { echo "${line#*=}" | sed 's/^$/no-phase/'; return; }
  done <<<"$1"
  echo absent
}

all_healthy() {
  local c r out
  for c in "${REGIONS[@]}"; do
    out="$(phases "$c")" || return 1
    for r in "${REGIONS[@]}"; do [[ "$(phase_of "$out" "$r")" == Healthy ]] || return 1; done
  done
}

phase_matrix() {  # one line per cluster: the phase it shows for each region
  local c r out line
  for c in "${REGIONS[@]}"; do
    line="  cluster $c:"
    if out="$(phases "$c")"; then
      for r in "${REGIONS[@]}"; do line+=" $r=$(phase_of "$out" "$r")"; done
    else
      line+=" API server not answering"
    fi
    echo "$line"
  done
}

operator_logs() {  # the last 20 lines of every operator's log, on stderr
  local r pid state
  for r in "${REGIONS[@]}"; do
    if pid="$(operator_pid "$r")"; then state="running, pid $pid"; else state="not running"; fi
    log "operator of $r ($state), last 20 lines of $DIR/$r/operator.log:"
    tail -n 20 "$DIR/$r/operator.log" 2>/dev/null | sed 's/^/    /' >&2 || true
  done
}

# --- commands -----------------------------------------------------------------------------------

cmd_up() {
  local n="$1" r pid
  [[ "$n" =~ ^[1-9][0-9]*$ ]] && ((n >= 1 && n <= MAX_REGIONS)) || usage
  mkdir -p "$2"
  DIR="$(cd "$2" && pwd)"
  [[ -x "$OPERATOR" ]] || die "$OPERATOR is missing or not executable (build it: make build; or set BUILD_DIR)"
  for tool in openssl python3 curl setsid; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
  done

  local all=()
  mapfile -t all < <(example_regions)
  ((${#all[@]} >= n)) || die "$EXAMPLES holds ${#all[@]} Regions, fewer than $n"
  REGIONS=("${all[@]:0:n}")

  # An operator still running means this DIR is up: no duplicates.
  local existing=()
  [[ -f "$DIR/regions" ]] && mapfile -t existing < "$DIR/regions"
  for r in "${existing[@]}" "${REGIONS[@]}"; do
    if pid="$(operator_pid "$r")"; then die "$DIR is already up (operator of $r running, pid $pid)"; fi
  done
  if ((${#existing[@]})) && [[ "${existing[*]}" != "${REGIONS[*]}" ]]; then
    die "$DIR was a federation of ${existing[*]}, not ${REGIONS[*]}; use up ${#existing[@]} $DIR, or another DIR"
  fi
  printf '%s\n' "${REGIONS[@]}" > "$DIR/regions"

  if [[ ! -x "$TOOLS_BIN/etcd" || ! -x "$TOOLS_BIN/kube-apiserver" || ! -x "$KUBECTL" ]]; then
    log "building the control-plane tools into $TOOLS_BIN (once, a few minutes)"
    bash "$ROOT/hack/build-tools.sh" >/dev/null
  fi

  log "$(count "${#REGIONS[@]}" region) in $DIR: ${REGIONS[*]}"
  gen_pki
  choose_ports
  render_regions

  log "starting $(count "${#REGIONS[@]}" "control plane"), applying the CRDs, the admission policy and the Regions"
  local pids=() failed=0 i
  for r in "${REGIONS[@]}"; do
    setup_cluster "$r" > "$DIR/$r/up.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!REGIONS[@]}"; do
    if ! wait "${pids[i]}"; then
      failed=1
      log "setting up the cluster of ${REGIONS[i]} failed; the last lines of $DIR/${REGIONS[i]}/up.log:"
      tail -n 20 "$DIR/${REGIONS[i]}/up.log" | sed 's/^/    /' >&2
    fi
  done
  ((failed == 0)) || die "up failed; what started is still running (hack/federation.sh down $DIR stops it)"

  log "starting $(count "${#REGIONS[@]}" operator)"
  for r in "${REGIONS[@]}"; do
    write_operator_cmd "$r"
    launch_operator "$r"
  done

  local timeout="${FEDERATION_WAIT_SECONDS:-120}"
  [[ "$timeout" =~ ^[0-9]+$ ]] || die "FEDERATION_WAIT_SECONDS must be a number of seconds, not '$timeout'"
  log "waiting up to $timeout s until every cluster shows every region Healthy"
  local deadline=$((SECONDS + timeout))
  until all_healthy; do
    for r in "${REGIONS[@]}"; do
      if ! operator_pid "$r" >/dev/null; then
        log "the operator of $r exited; the last 20 lines of $DIR/$r/operator.log:"
        tail -n 20 "$DIR/$r/operator.log" | sed 's/^/    /' >&2
        die "up failed; the rest is still running (hack/federation.sh down $DIR stops it)"
      fi
    done
    if ((SECONDS >= deadline)); then
      log "not every cluster shows every region Healthy after $timeout s:"
      phase_matrix >&2
      operator_logs
      die "up failed; the federation is left running for inspection (hack/federation.sh down $DIR stops it)"
    fi
    sleep 1
  done

  log "$(count "${#REGIONS[@]}" region) up, every region Healthy in every cluster:"
  for r in "${REGIONS[@]}"; do
    load_ports "$r"
    (source "$DIR/$r/controlplane/ports.env"
     printf '  %-13s kubeconfig %s  apiserver 127.0.0.1:%s  peer %s  metrics %s  health %s  routing %s\n' \
       "$r" "$DIR/$r/kubeconfig" "$APISERVER_PORT" "$PEER_PORT" "$METRICS_PORT" "$HEALTH_PORT" "$ROUTING_PORT") >&2
  done
  log "operator logs: $DIR/REGION/operator.log; stop everything: hack/federation.sh down $DIR"
  echo "$DIR"
}

cmd_down() {
  [[ -d "$1" ]] || { log "$1 does not exist; nothing to stop"; return 0; }
  DIR="$(cd "$1" && pwd)"
  load_regions_any
  local r pid pids=() left=()
  for r in "${REGIONS[@]}"; do
    if pid="$(operator_pid "$r")"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  if ((${#pids[@]})) && ! wait_gone 10 "${pids[@]}"; then
    for pid in "${pids[@]}"; do alive "$pid" && { left+=("$pid"); kill -KILL "$pid" 2>/dev/null || true; }; done
    log "operators still running 10 s after SIGTERM were killed: pids ${left[*]}"
    wait_gone 10 "${left[@]}" || die "operators did not exit after SIGKILL: pids ${left[*]}"
  fi
  for r in "${REGIONS[@]}"; do rm -f "$DIR/$r/operator.pid"; done
  local cps=() failed=0
  for r in "${REGIONS[@]}"; do
    [[ -d "$DIR/$r/controlplane" ]] || continue
    bash "$CONTROLPLANE" stop "$DIR/$r/controlplane" &
    cps+=($!)
  done
  for pid in "${cps[@]}"; do wait "$pid" || failed=1; done
  ((failed == 0)) || die "stopping a control plane failed"
  log "$DIR is down ($(count "${#REGIONS[@]}" region); data kept, rm -rf $DIR removes it)"
}

cmd_stop_region() {
  [[ -d "$1" ]] || die "$1 does not exist"
  DIR="$(cd "$1" && pwd)"
  load_regions
  check_region "$2"
  local r="$2" pid
  if pid="$(operator_pid "$r")"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone 10 "$pid" || die "the operator of $r (pid $pid) is still running after SIGKILL"
  fi
  rm -f "$DIR/$r/operator.pid"
  [[ -d "$DIR/$r/controlplane" ]] && bash "$CONTROLPLANE" kill "$DIR/$r/controlplane"
  log "$r crashed: operator, kube-apiserver and etcd killed (SIGKILL), data kept"
}

cmd_start_region() {
  [[ -d "$1" ]] || die "$1 does not exist"
  DIR="$(cd "$1" && pwd)"
  load_regions
  check_region "$2"
  local r="$2" pid deadline=$((SECONDS + 60))
  load_ports "$r"
  [[ -f "$DIR/$r/operator.cmd" ]] || die "$DIR/$r/operator.cmd is missing (was $r ever brought up with hack/federation.sh up?)"
  bash "$CONTROLPLANE" start "$DIR/$r/controlplane" >/dev/null ||
    die "the control plane of $r did not start (see $DIR/$r/controlplane/*.log)"
  if pid="$(operator_pid "$r")"; then
    log "the operator of $r is already running (pid $pid)"
  else
    launch_operator "$r"
    pid="$(<"$DIR/$r/operator.pid")"
  fi
  until curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$HEALTH_PORT/readyz"; do
    if ! alive "$pid"; then
      log "the operator of $r exited; the last 20 lines of $DIR/$r/operator.log:"
      tail -n 20 "$DIR/$r/operator.log" | sed 's/^/    /' >&2
      exit 1
    fi
    ((SECONDS < deadline)) ||
      die "the operator of $r (pid $pid) does not answer 200 on http://127.0.0.1:$HEALTH_PORT/readyz after 60 s (see $DIR/$r/operator.log)"
    sleep 0.2
  done
  log "$r is back: API server ready, operator ready (pid $pid)"
}

cmd_status() {
  [[ -d "$1" ]] || die "$1 does not exist"
  DIR="$(cd "$1" && pwd)"
  load_regions
  local r c pid op api out fmt="%-14s %-16s %-10s"
  echo "# one row per region: its operator, its API server, and the phase its cluster shows for each region"
  # shellcheck disable=SC2059
  {
    printf "$fmt" REGION OPERATOR APISERVER
    for r in "${REGIONS[@]}"; do printf ' %-14s' "$r"; done
    echo
  } | sed 's/ *$//'
  for c in "${REGIONS[@]}"; do
    if pid="$(operator_pid "$c")"; then op="running($pid)"; else op="stopped"; fi
    out=""
    if [[ -d "$DIR/$c/controlplane" ]] && apiserver_ready "$c"; then
      api="ready"; out="$(phases "$c")" || out=""
    elif [[ -f "$DIR/$c/controlplane/kube-apiserver.pid" ]] && alive "$(<"$DIR/$c/controlplane/kube-apiserver.pid")"; then
      api="not-ready"
    else
      api="down"
    fi
    # shellcheck disable=SC2059
    printf "$fmt" "$c" "$op" "$api"
    for r in "${REGIONS[@]}"; do
      if [[ "$api" == ready ]]; then printf ' %-14s' "$(phase_of "$out" "$r")"; else printf ' %-14s' -; fi
    done
    echo
  done | sed 's/ *$//'
}

(($#)) || usage
case "$1" in
  up) (($# == 3)) || usage; cmd_up "$2" "$3" ;;
  down) (($# == 2)) || usage; cmd_down "$2" ;;
  stop-region) (($# == 3)) || usage; cmd_stop_region "$2" "$3" ;;
  start-region) (($# == 3)) || usage; cmd_start_region "$2" "$3" ;;
  status) (($# == 2)) || usage; cmd_status "$2" ;;
  *) usage ;;
esac
