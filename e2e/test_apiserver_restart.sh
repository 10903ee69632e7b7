# kube-apiserver goes away under a running operator; Regions change meanwhile (through a second
# apiserver on the same etcd); the first comes back. Every change must end up reconciled: the
# watch resumes or relists (410) and the cache converges, deletions included.

test_apiserver_restart() {
  start_controlplane apirestart
  install_crds >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator op us-east-1
  check "apiserver-restart: operator reconciles all regions" wait_until 60 all_reconciled

  bash "$ROOT/hack/controlplane.sh" stop-apiserver "$CP_DIR"
  bash "$ROOT/hack/controlplane.sh" start-apiserver "$CP_DIR" 2 >/dev/null
  local kc1="$KC"
  KC="$CP_DIR/kubeconfig-2"
  k patch rg us-east-1 --type merge -p '{"spec":{"enabled":false}}' >/dev/null
  k patch rg eu-west-1 --type merge -p '{"spec":{"priority":11}}' >/dev/null
  k delete rg ap-south-1 >/dev/null
  k apply -f - >/dev/null <<YAML
apiVersion: federation.dwcp.io/v1alpha1
kind: Region
metadata: {name: sa-east-1}
spec:
  displayName: South America (Sao Paulo)
  location: {latitude: -23.55, longitude: -46.63, country: BR, continent: south-america}
  capacity: {cpu: 1000, memoryMiB: 4096000, storageGiB: 100000}
  endpoint: https://dwcp-sa-east-1.example.com:7443
YAML
  # Many writes while the operator is blind, so its resourceVersion may be compacted away.
  for i in $(seq 1 20); do k patch rg us-west-2 --type merge -p "{\"spec\":{\"priority\":$((40 + i))}}" >/dev/null; done
  check "apiserver-restart: operator survives the outage" operator_running op
  bash "$ROOT/hack/controlplane.sh" start-apiserver "$CP_DIR" >/dev/null
  bash "$ROOT/hack/controlplane.sh" stop-apiserver "$CP_DIR" 2
  KC="$kc1"

  check "apiserver-restart: disabled region reconciled" wait_until 90 local_ok us-east-1 Disabled
  check "apiserver-restart: new region reconciled (Unknown)" wait_until 60 local_ok sa-east-1 Unknown
  check "apiserver-restart: every change reconciled (observedGeneration)" wait_until 60 all_reconciled
  check "apiserver-restart: watch restarted" test "$(metric op 'dwcp_watch_restarts_total{resource="regions"}' | cut -d. -f1)" -ge 1
  check "apiserver-restart: operator ready again" wait_until 30 operator_ready op
  stop_operator op TERM
  check "apiserver-restart: SIGTERM exits 0" test "$STOP_CODE" = 0
}
