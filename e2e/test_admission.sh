# The optional finalizer policy (config/admission/, applied by hack/install-admission.sh from
# install_crds): where the API server serves MutatingAdmissionPolicy, a VMPlacement gets the
# finalizer at CREATE, exactly once, next to the creator's own; an UPDATE never re-adds it; the
# operator then writes no finalizer. Where it is not served, the installer says so and changes
# nothing, and the operator adds the finalizer itself.

AD_FINALIZER=federation.dwcp.io/placement
AD_POLICY=vmplacement-finalizer.federation.dwcp.io
AD_SPEC='{"resources": {"cpu": 1, "memoryMiB": 512}}'

# ad_create NAME FINALIZERS_JSON: creates a VMPlacement in default; prints the finalizers the
# create response carries (what admission made of them).
ad_create() {
  k create -o 'jsonpath={.metadata.finalizers}' -f - <<JSON
{"apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
 "metadata": {"name": "$1", "namespace": "default", "finalizers": $2}, "spec": $AD_SPEC}
JSON
}

ad_got() {  # ad_got GOT WANT: finalizers a create returned
  [[ "$1" == "$2" ]] || { echo "finalizers ${1:-none}, want $2"; return 1; }
}

ad_finalizers_are() {  # ad_finalizers_are NAME JSON_LIST: metadata.finalizers, exactly
  local got; got="$(k -n default get vmp "$1" -o 'jsonpath={.metadata.finalizers}')"
  [[ "$got" == "$2" ]] || { echo "$1: finalizers ${got:-none}, want $2"; return 1; }
}

# ad_field_managers NAME: the managers in metadata.managedFields, one a line, each followed by
# "finalizers" when it wrote metadata.finalizers.
ad_field_managers() {
  k -n default get vmp "$1" --show-managed-fields -o json | python3 -c '
import json, sys
for entry in json.load(sys.stdin)["metadata"].get("managedFields", []):
    wrote = "f:finalizers" in entry.get("fieldsV1", {}).get("f:metadata", {})
    print(entry["manager"], entry.get("subresource", "-"), "finalizers" if wrote else "")'
}

# ad_placed NAME: Placed by the operator (any region).
ad_placed() {
  local phase; phase="$(k -n default get vmp "$1" -o 'jsonpath={.status.phase}')"
  [[ "$phase" == Placed ]] || { echo "$1: phase ${phase:-none}"; return 1; }
}

# ad_finalizer_writer_is NAME yes|no: the manager that wrote the status (the operator) did or did
# not write metadata.finalizers (a create's own fields, admission's included, are not counted).
ad_finalizer_writer_is() {
  local managers status_writer wrote=no
  managers="$(ad_field_managers "$1")"
  status_writer="$(awk '$2 == "status" {print $1; exit}' <<<"$managers")"
  [[ -n "$status_writer" ]] || { echo "$1: no status writer in managedFields: $managers"; return 1; }
  awk -v m="$status_writer" '$1 == m && $NF == "finalizers" {found = 1} END {exit !found}' <<<"$managers" && wrote=yes
  [[ "$wrote" == "$2" ]] || { echo "$1: $status_writer wrote finalizers: $wrote, want $2 ($managers)"; return 1; }
}

ad_with_policy() {
  start_controlplane admission
  check "admission: CRDs and policy install" install_crds
  check "admission: policy applied" k get mutatingadmissionpolicy "$AD_POLICY"
  check "admission: binding applied" k get mutatingadmissionpolicybinding "$AD_POLICY"

  k apply -f "$ROOT/examples/vmplacement.yaml" >/dev/null
  check "admission: examples/vmplacement.yaml gets the finalizer once" \
    ad_finalizers_are web-frontend-01 "[\"$AD_FINALIZER\"]"
  local got
  got="$(ad_create ad-theirs '["example.com/keep"]' 2>&1)"
  check "admission: creator's finalizer kept, ours appended" \
    ad_got "$got" "[\"example.com/keep\",\"$AD_FINALIZER\"]"
  got="$(ad_create ad-ours "[\"example.com/keep\",\"$AD_FINALIZER\"]" 2>&1)"
  check "admission: already listed: not duplicated" \
    ad_got "$got" "[\"example.com/keep\",\"$AD_FINALIZER\"]"
  got="$(ad_create ad-empty '[]' 2>&1)"
  check "admission: empty list: ours added" ad_got "$got" "[\"$AD_FINALIZER\"]"
  check "admission: stored as the create returned it" \
    ad_finalizers_are ad-theirs "[\"example.com/keep\",\"$AD_FINALIZER\"]"

  # Only CREATE is matched: a finalizer removed by an update stays removed through later updates.
  k -n default patch vmp web-frontend-01 --type json \
    -p '[{"op": "remove", "path": "/metadata/finalizers"}]' >/dev/null
  check "admission: removed by an update" ad_finalizers_are web-frontend-01 ""
  k -n default patch vmp web-frontend-01 --type merge -p '{"spec": {"priority": 71}}' >/dev/null
  k -n default label vmp web-frontend-01 admission-test=updated >/dev/null
  check "admission: later updates do not re-add it" ad_finalizers_are web-frontend-01 ""
  k -n default patch vmp ad-theirs --type merge -p '{"metadata": {"finalizers": ["example.com/keep"]}}' >/dev/null
  check "admission: an update that drops ours: not re-added" \
    ad_finalizers_are ad-theirs '["example.com/keep"]'
  k -n default patch vmp web-frontend-01 ad-theirs ad-ours ad-empty --type merge \
    -p '{"metadata": {"finalizers": null}}' >/dev/null
  k -n default delete vmp web-frontend-01 ad-theirs ad-ours ad-empty --wait=false >/dev/null

  # The saved write: the operator places the VM and writes its status, but no finalizer.
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator ad eu-west-1
  check "admission: operator ready" wait_until 60 operator_ready ad
  got="$(ad_create ad-placed null 2>&1)"
  check "admission: new VM has the finalizer at create" ad_got "$got" "[\"$AD_FINALIZER\"]"
  check "admission: operator places it" wait_until 30 ad_placed ad-placed
  stop_operator ad TERM  # lets the in-flight reconcile (status, then finalizer if absent) finish
  check "admission: operator exited 0" test "$STOP_CODE" = 0
  check "admission: finalizer still once" ad_finalizers_are ad-placed "[\"$AD_FINALIZER\"]"
  check "admission: operator wrote the status but no finalizer" ad_finalizer_writer_is ad-placed no
  bash "$ROOT/hack/controlplane.sh" stop "$CP_DIR" >/dev/null 2>&1
}

ad_without_policy() {
  DWCP_MUTATING_ADMISSION_POLICY=false start_controlplane admission-off
  local out code=0
  out="$(install_crds 2>&1 >/dev/null)" || code=$?
  check "admission-off: CRDs install" test "$code" = 0
  check "admission-off: installer says the controller adds finalizers" \
    grep -q "the controller will add VMPlacement finalizers itself" <<<"$out"
  check "admission-off: no MutatingAdmissionPolicy API served" bash -c \
    "! '$KUBECTL' --kubeconfig '$KC' api-resources --api-group admissionregistration.k8s.io -o name | grep -q mutatingadmissionpolicies"
  local got
  got="$(ad_create ad-fallback null 2>&1)"
  check "admission-off: created without a finalizer" ad_got "$got" ""
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator ad-off eu-west-1
  check "admission-off: operator places it" wait_until 60 ad_placed ad-fallback
  check "admission-off: operator adds the finalizer" \
    wait_until 30 ad_finalizers_are ad-fallback "[\"$AD_FINALIZER\"]"
  check "admission-off: written by the operator" ad_finalizer_writer_is ad-fallback yes
  stop_operator ad-off TERM
}

test_admission() {
  ad_with_policy
  ad_without_policy
}
