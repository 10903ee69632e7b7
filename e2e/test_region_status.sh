# The Region controller on a real API server: the local region's status is computed and written
# once, remote regions show Unknown, spec changes bump observedGeneration, bad specs are reported
# in status without crashing the operator.

local_ok() {  # local_ok REGION PHASE: status reconciled at the current generation with this phase
  local gen obs phase
  gen="$(jp rg "$1" '{.metadata.generation}')"
  obs="$(jp rg "$1" '{.status.observedGeneration}')"
  phase="$(jp rg "$1" '{.status.phase}')"
  [[ -n "$gen" && "$gen" == "$obs" && "$phase" == "$2" ]] || { echo "$1: generation=$gen observed=$obs phase=$phase, want $2"; return 1; }
}

all_reconciled() {  # every Region's observedGeneration equals its generation
  local line
  while read -r line; do
    read -r name gen obs <<<"$line"
    [[ "$gen" == "$obs" ]] || { echo "$name: generation $gen observed ${obs:-none}"; return 1; }
  done < <(k get rg -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.generation} {.status.observedGeneration}{"\n"}{end}')
}

test_region_status() {
  start_controlplane status
  install_crds >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator status us-east-1
  check "region: operator becomes ready (caches synced)" wait_until 60 operator_ready status
  check "region: local region us-east-1 Healthy" wait_until 30 local_ok us-east-1 Healthy
  check "region: remote regions Unknown" wait_until 30 local_ok eu-west-1 Unknown
  check "region: all five reconciled" wait_until 30 all_reconciled
  check "region: health score 100" test "$(jp rg us-east-1 '{.status.healthScore}')" = 100
  check "region: available = capacity - allocated" test "$(jp rg us-east-1 '{.status.available.cpu}')" = "$(jp rg us-east-1 '{.spec.capacity.cpu}')"
  check "region: Ready condition True" test "$(jp rg us-east-1 '{.status.conditions[?(@.type=="Ready")].status}')" = True
  check "region: metric dwcp_federation_region_health_score" test "$(metric status 'dwcp_federation_region_health_score{region="us-east-1"}')" = 100

  k patch rg us-east-1 --type merge -p '{"spec":{"enabled":false}}' >/dev/null
  check "region: disabling the region gives phase Disabled at the new generation" wait_until 30 local_ok us-east-1 Disabled
  check "region: routingWeight 0 when disabled" test "$(jp rg us-east-1 '{.status.routingWeight}')" = 0
  k patch rg us-east-1 --type merge -p '{"spec":{"enabled":true}}' >/dev/null
  check "region: re-enabled region Healthy again" wait_until 30 local_ok us-east-1 Healthy

  # Capacity in use comes from VMPlacements placed in the region.
  k create namespace vms >/dev/null 2>&1
  k apply -f - >/dev/null <<YAML
apiVersion: federation.dwcp.io/v1alpha1
kind: VMPlacement
metadata: {name: vm-a, namespace: vms}
spec:
  resources: {cpu: 16, memoryMiB: 65536, storageGiB: 100}
YAML
  k -n vms patch vmp vm-a --subresource status --type merge -p '{"status":{"phase":"Placed","region":"us-east-1"}}' >/dev/null
  check "region: allocated counts a VM placed in the region" wait_until 30 bash -c "[[ \$('$KUBECTL' --kubeconfig '$KC' get rg us-east-1 -o jsonpath='{.status.allocated.cpu}') == 16 ]]"
  k -n vms delete vmp vm-a >/dev/null
  check "region: deleting the VM frees its capacity" wait_until 30 bash -c "[[ \$('$KUBECTL' --kubeconfig '$KC' get rg us-east-1 -o jsonpath='{.status.allocated.cpu}') == 0 ]]"

  # What CEL cannot check: another Region with the same peer endpoint.
  k get rg eu-west-1 -o json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"apiVersion": r["apiVersion"], "kind": "Region", "metadata": {"name": "eu-west-9"}, "spec": r["spec"]}))' | k apply -f - >/dev/null
  check "region: duplicate endpoint reported as Valid=False DuplicateEndpoint" wait_until 30 bash -c \
    "[[ \$('$KUBECTL' --kubeconfig '$KC' get rg eu-west-9 -o jsonpath='{.status.conditions[?(@.type==\"Valid\")].reason}') == DuplicateEndpoint ]]"
  check "region: operator still running after a bad object" operator_running status
  k delete rg eu-west-9 >/dev/null

  stop_operator status TERM
  check "region: SIGTERM exits 0" test "$STOP_CODE" = 0
  check "region: shutdown finished in-flight work and logged it" grep -q "shutdown complete" "$WORK/op-status.log"
}
