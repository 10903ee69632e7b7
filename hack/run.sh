#!/usr/bin/env bash
# `make run`. With KUBECONFIG set: runs one operator in the foreground against that cluster (the
# CRDs and the example Regions applied first; REGION=eu-west-1 to be another region; flags after
# `--` go to the operator, e.g. the --peer-* ones). Without KUBECONFIG: runs a local federation of
# FEDERATION_REGIONS (default 3) regions on this machine (hack/federation.sh: a control plane and
# an operator each, peering over mutual TLS), applies the example VMPlacement, Migration and
# SLAPolicy to the first region's cluster, and follows the operators' logs. Ctrl-C stops
# everything this script started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGION="${REGION:-us-east-1}"
KUBECTL="$ROOT/.tools/bin/kubectl"

if [[ -n "${KUBECONFIG:-}" ]]; then
  "$KUBECTL" apply -f "$ROOT/crds/" >/dev/null
  "$KUBECTL" wait --for condition=established --timeout=60s -f "$ROOT/crds/" >/dev/null
  KUBECTL="$KUBECTL" bash "$ROOT/hack/install-admission.sh"  # optional finalizer policy, when served
  "$KUBECTL" create namespace dwcp-system --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
  "$KUBECTL" apply -f "$ROOT/examples/"
  ROUTING_ADDR="${ROUTING_ADDR:-127.0.0.1:8090}"
  echo "run: dwcp-operator --region $REGION against $KUBECONFIG (Ctrl-C stops it); try: $KUBECTL get rg" >&2
  exec "$ROOT/${BUILD_DIR:-build}/bin/dwcp-operator" --region "$REGION" --metrics-bind-address "${METRICS_ADDR:-127.0.0.1:8080}" \
    --health-probe-bind-address "${HEALTH_ADDR:-127.0.0.1:8081}" --routing-bind-address "$ROUTING_ADDR" "$@"
fi

DIR="$ROOT/.run/federation"
N="${FEDERATION_REGIONS:-3}"
stop() {
  echo "run: stopping the local federation" >&2
  bash "$ROOT/hack/federation.sh" down "$DIR" || true
}
trap stop EXIT
trap 'exit 0' INT TERM
echo "run: KUBECONFIG is not set; starting a local federation of $N regions in $DIR" >&2
bash "$ROOT/hack/federation.sh" down "$DIR" >/dev/null 2>&1 || true  # a run that was not stopped cleanly
rm -rf "$DIR"
bash "$ROOT/hack/federation.sh" up "$N" "$DIR" >/dev/null
mapfile -t REGIONS < "$DIR/regions"
HOME_REGION="${REGIONS[0]}"
for r in "${REGIONS[@]}"; do
  "$KUBECTL" --kubeconfig "$DIR/$r/kubeconfig" apply -f "$ROOT/hack/local/kubevirt-virtualmachine-crd.yaml" >/dev/null
  "$KUBECTL" --kubeconfig "$DIR/$r/kubeconfig" wait --for condition=established --timeout=60s crd/virtualmachines.kubevirt.io >/dev/null
done
for f in vmplacement.yaml migration.yaml slapolicy.yaml; do
  "$KUBECTL" --kubeconfig "$DIR/$HOME_REGION/kubeconfig" apply -f "$ROOT/examples/$f" >/dev/null
done
cat >&2 <<TXT
run: a federation of ${#REGIONS[@]} regions (${REGIONS[*]}), each with its own API server and operator.
run: examples/vmplacement.yaml was applied in $HOME_REGION; it asks for a GDPR region in Europe, so it
run: is reserved in and placed by another region, which makes its VirtualMachine. Look at it:
run:   export KUBECONFIG=$DIR/$HOME_REGION/kubeconfig
run:   $KUBECTL get rg                     # every region, as heard from its heartbeats
run:   $KUBECTL get vmp web-frontend-01    # PHASE Placed, REGION eu-west-1
run:   $KUBECTL --kubeconfig $DIR/eu-west-1/kubeconfig get vmp,vm -A   # its mirror and VirtualMachine there
run: each region's kubeconfig is $DIR/REGION/kubeconfig, its ports in $DIR/REGION/ports.env
run: following the operators' logs (Ctrl-C stops everything)
TXT
for r in "${REGIONS[@]}"; do
  tail -n 0 -F "$DIR/$r/operator.log" | sed -u "s/^/[$r] /" &
done
wait
