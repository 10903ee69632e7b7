# Restarting the operator rewrites nothing that is unchanged: after the new process has synced
# its caches and reconciled every Region, every resourceVersion is what it was before.

region_versions() { k get rg -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'; }

reconciled_at_least() { (($(reconciles "$1") >= $2)); }

test_restart() {
  start_controlplane restart
  install_crds >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator first us-east-1
  check "restart: first operator reconciles all regions" wait_until 60 all_reconciled
  # Let our own status writes come back through the watch and settle.
  wait_until 30 reconciled_at_least first 10 >/dev/null
  local before after
  before="$(region_versions)"
  stop_operator first TERM
  check "restart: first operator stops with 0" test "$STOP_CODE" = 0

  start_operator second us-east-1
  check "restart: second operator ready" wait_until 60 operator_ready second
  local count
  count="$(k get rg --no-headers | wc -l)"
  check "restart: second operator reconciled every region" wait_until 30 reconciled_at_least second "$count"
  after="$(region_versions)"
  check "restart: no status rewrite of unchanged objects" test "$before" = "$after"
  check "restart: no error reconciles" test "$(metric second 'controller_runtime_reconcile_total{controller="region",result="error"}')" = 0
}
