# Helpers for the integration tests: a real control plane, the operator binary, polling and
# assertions. Sourced by e2e/run.sh; every function assumes ROOT and WORK are set.
KUBECTL="$ROOT/.tools/bin/kubectl"
OPERATOR="$ROOT/${BUILD_DIR:-build}/bin/dwcp-operator"
PASSED=0
FAILED=0
FAILURES=()

log() { echo "e2e: $*" >&2; }

# k ARGS...: kubectl against the current control plane ($KC).
k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }

pass() { PASSED=$((PASSED + 1)); echo "ok    $1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); echo "FAIL  $1${2:+: $2}"; }

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
  local name="$1"; shift
  local out
  if out="$("$@" 2>&1)"; then pass "$name"; else fail "$name" "$out"; fi
}

# wait_until TIMEOUT_SECONDS COMMAND...: polls COMMAND every 0.1 s; fails after the timeout.
# Timeouts are generous bounds on correctness, not performance assertions.
wait_until() {
  local timeout="$1"; shift
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_controlplane NAME: a fresh control plane in $WORK/NAME; sets KC.
start_controlplane() {
  local dir="$WORK/$1"
  rm -rf "$dir"
  KC="$(bash "$ROOT/hack/controlplane.sh" start "$dir")"
  CP_DIR="$dir"
  CONTROL_PLANES+=("$dir")
}

stop_all_controlplanes() {
  for dir in "${CONTROL_PLANES[@]}"; do bash "$ROOT/hack/controlplane.sh" stop "$dir" >/dev/null 2>&1 || true; done
}

# install_crds: the CRDs, then the optional finalizer policy where the API server serves it.
install_crds() {
  k apply -f "$ROOT/crds/" >/dev/null &&
    k wait --for condition=established --timeout=60s -f "$ROOT/crds/" >/dev/null &&
    wait_until 20 k get dwcp -A &&
    KUBECTL="$KUBECTL" bash "$ROOT/hack/install-admission.sh" "$KC"
}

# start_operator NAME REGION [FLAGS...]: runs dwcp-operator in the background; its pid, ports
# and log are $WORK/op-NAME.{pid,metrics,health,routing,log}.
start_operator() {
  local name="$1" region="$2"; shift 2
  local metrics health routing
  metrics="$(free_port)"; health="$(free_port)"; routing="$(free_port)"
  echo "$metrics" > "$WORK/op-$name.metrics"
  echo "$health" > "$WORK/op-$name.health"
  echo "$routing" > "$WORK/op-$name.routing"
  "$OPERATOR" --region "$region" --kubeconfig "$KC" --metrics-bind-address "127.0.0.1:$metrics" \
    --health-probe-bind-address "127.0.0.1:$health" --routing-bind-address "127.0.0.1:$routing" \
    "$@" >> "$WORK/op-$name.log" 2>&1 &
  echo $! > "$WORK/op-$name.pid"
  OPERATORS+=("$name")
}

operator_pid() { cat "$WORK/op-$1.pid"; }
operator_running() { kill -0 "$(operator_pid "$1")" 2>/dev/null; }

# stop_operator NAME [SIGNAL]: signals it (TERM by default), waits, and sets STOP_CODE to its
# exit code. Not to be called in a subshell: only the shell that started it can wait for it.
STOP_CODE=""
stop_operator() {
  local pid; pid="$(operator_pid "$1")"
  kill -"${2:-TERM}" "$pid" 2>/dev/null || true
  STOP_CODE=0
  wait "$pid" 2>/dev/null || STOP_CODE=$?
}

stop_all_operators() {
  for name in "${OPERATORS[@]}"; do
    kill -9 "$(operator_pid "$name")" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}

# routing_url NAME: the base URL of an operator's routing API.
routing_url() { echo "http://127.0.0.1:$(cat "$WORK/op-$1.routing")"; }

operator_ready() { curl -sf "http://127.0.0.1:$(cat "$WORK/op-$1.health")/readyz" >/dev/null; }

# metric NAME SERIES: the value of one series (e.g. 'controller_runtime_reconcile_total{controller="region",result="success"}'), 0 when absent.
metric() {
  local value
  value="$(curl -sf "http://127.0.0.1:$(cat "$WORK/op-$1.metrics")/metrics" | awk -v s="$2" '$1 == s {print $2; exit}')"
  echo "${value:-0}"
}

reconciles() { metric "$1" 'controller_runtime_reconcile_total{controller="region",result="success"}' | cut -d. -f1; }

# jp KIND NAME JSONPATH: one field of one object.
jp() { k get "$1" "$2" -o "jsonpath=$3"; }
