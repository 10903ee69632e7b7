#!/usr/bin/env bash
# Applies the optional admission policy in config/admission/ (the API server adds the VMPlacement
# finalizer at create, saving the operator one write per VM) when the API server serves
# admissionregistration.k8s.io/v1beta1 MutatingAdmissionPolicy, then waits until a server-side
# dry-run create shows it in effect. Otherwise prints one line and changes nothing: the
# controller adds the finalizer itself. Run it after the CRDs are established.
#
#   hack/install-admission.sh [KUBECONFIG]    default: kubectl's ($KUBECONFIG, ~/.kube/config)
#
# Exits 0 when the policy is in effect or cannot be used here, 1 when the API server cannot be
# read or applying the policy failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBECTL="${KUBECTL:-$ROOT/.tools/bin/kubectl}"
[[ -x "$KUBECTL" ]] || KUBECTL=kubectl
KC=()
if (($#)); then
  [[ -r "$1" ]] || { echo "install-admission: kubeconfig $1 is not readable" >&2; exit 2; }
  KC=(--kubeconfig "$1")
fi
POLICY="$ROOT/config/admission/vmplacement-finalizer.yaml"
FINALIZER="federation.dwcp.io/placement"
TIMEOUT_SECONDS=30

k() { "$KUBECTL" "${KC[@]}" "$@"; }

# The manifest is v1beta1: a server that serves the resource only in another version (or not at
# all) gets nothing.
group="$(k get --raw /apis/admissionregistration.k8s.io 2>&1)" ||
  { echo "install-admission: cannot read the API server's admissionregistration.k8s.io group: $group" >&2; exit 1; }
if [[ "$group" != *'"version":"v1beta1"'* ]] ||
   ! k get --raw /apis/admissionregistration.k8s.io/v1beta1 | grep -q '"name":"mutatingadmissionpolicies"'; then
  echo "install-admission: the API server does not serve admissionregistration.k8s.io/v1beta1 MutatingAdmissionPolicy; the controller will add VMPlacement finalizers itself" >&2
  exit 0
fi

k apply -f "$POLICY" >/dev/null || { echo "install-admission: applying $POLICY failed" >&2; exit 1; }

# The API server loads policies asynchronously: probe with a dry-run create (nothing is stored).
probe() {
  k create --dry-run=server -o 'jsonpath={.metadata.finalizers}' -f - <<'JSON'
{"apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
 "metadata": {"generateName": "dwcp-admission-probe-", "namespace": "default"},
 "spec": {"resources": {"cpu": 1, "memoryMiB": 1}}}
JSON
}
deadline=$((SECONDS + TIMEOUT_SECONDS))
out=""
while ((SECONDS < deadline)); do
  out="$(probe 2>&1)" && [[ "$out" == *"\"$FINALIZER\""* ]] && exit 0
  sleep 0.2
done
echo "install-admission: policy applied but not in effect after ${TIMEOUT_SECONDS} s (is the MutatingAdmissionPolicy feature gate on? last probe: ${out:-no finalizers}); the controller will add VMPlacement finalizers itself" >&2
exit 0
