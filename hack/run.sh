#!/usr/bin/env bash
# `make run`: runs the operator in the foreground against $KUBECONFIG, or, when KUBECONFIG is
# unset, against a local control plane started here (and stopped on exit). Applies the CRDs and
# the example Regions first. Ctrl-C stops everything this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGION="${REGION:-us-east-1}"
KUBECTL="$ROOT/.tools/bin/kubectl"
CP_DIR=""

cleanup() {
  if [[ -n "$CP_DIR" ]]; then
    echo "run: stopping the local control plane" >&2
    bash "$ROOT/hack/controlplane.sh" stop "$CP_DIR" || true
  fi
}
trap cleanup EXIT

if [[ -z "${KUBECONFIG:-}" ]]; then
  CP_DIR="$ROOT/.run/controlplane"
  echo "run: KUBECONFIG is not set; starting a local control plane in $CP_DIR" >&2
  export KUBECONFIG
  KUBECONFIG="$(bash "$ROOT/hack/controlplane.sh" start "$CP_DIR")"
fi

"$KUBECTL" apply -f "$ROOT/crds/" >/dev/null
"$KUBECTL" wait --for condition=established --timeout=60s -f "$ROOT/crds/" >/dev/null
KUBECTL="$KUBECTL" bash "$ROOT/hack/install-admission.sh"  # optional finalizer policy, when served
"$KUBECTL" create namespace dwcp-system --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" apply -f "$ROOT/examples/"
ROUTING_ADDR="${ROUTING_ADDR:-127.0.0.1:8090}"
echo "run: dwcp-operator --region $REGION (Ctrl-C stops it); try: $KUBECTL get rg" >&2
echo "run: export KUBECONFIG=$KUBECONFIG" >&2
if [[ "$ROUTING_ADDR" != 0 ]]; then
  echo "run: routing API on http://${ROUTING_ADDR/#:/localhost:} (try: curl -s http://${ROUTING_ADDR/#:/localhost:}/v1/regions)" >&2
fi

# The operator runs as a child so the trap can stop the control plane after it exits.
"$ROOT/${BUILD_DIR:-build}/bin/dwcp-operator" --region "$REGION" --metrics-bind-address "${METRICS_ADDR:-127.0.0.1:8080}" \
  --health-probe-bind-address "${HEALTH_ADDR:-127.0.0.1:8081}" --routing-bind-address "$ROUTING_ADDR" "$@" &
op=$!
trap 'kill -TERM $op 2>/dev/null || true' INT TERM
wait $op || true
wait $op 2>/dev/null || true
