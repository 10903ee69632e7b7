# The API: the CRDs install with their short names and category, the examples are accepted and
# every invalid object is rejected with an error that names the field (e2e/invalid/check.sh).

test_crds() {
  start_controlplane crds
  check "crds: install and become established" install_crds
  local resources
  resources="$(k api-resources --api-group federation.dwcp.io --no-headers 2>&1)"
  for pair in "regions rg false" "vmplacements vmp true" "migrations mig true" "slapolicies sla true"; do
    read -r plural short namespaced <<<"$pair"
    check "crds: $plural served with short name $short, namespaced=$namespaced" \
      grep -Eq "^$plural +$short +federation.dwcp.io/v1alpha1 +$namespaced" <<<"$resources"
  done
  check "crds: category dwcp lists the kinds" k get dwcp -A
  local out
  if out="$(KUBECTL="$KUBECTL" bash "$ROOT/e2e/invalid/check.sh" "$KC" 2>&1)"; then
    pass "crds: examples accepted, $(grep -c '^ok ' <<<"$out") schema checks (invalid objects rejected naming the field)"
  else
    fail "crds: schema checks" "$(grep FAIL <<<"$out")"
  fi
  # Printer columns are what kubectl get shows.
  check "crds: Region printer columns" bash -c "'$KUBECTL' --kubeconfig '$KC' get rg | head -1 | grep -q 'PHASE *HEALTH *PRIORITY'"
}
