#!/usr/bin/env bash
# Checks the API schema against a real kube-apiserver: applies crds/, then examples/ (must be
# accepted), then every e2e/invalid/*.yaml (each must be rejected with the substring named on its
# first line, "# expect: ..."), then updates that immutability rules must reject.
#
#   e2e/invalid/check.sh KUBECONFIG
#
# With a local control plane:
#   hack/controlplane.sh start /tmp/cp && e2e/invalid/check.sh /tmp/cp/kubeconfig
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ $# -eq 1 ]] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
KUBECTL="${KUBECTL:-$ROOT/.tools/bin/kubectl}"
[[ -x "$KUBECTL" ]] || KUBECTL=kubectl
k() { "$KUBECTL" --kubeconfig "$1" "${@:2}"; }
KC="$1"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

k "$KC" apply -f "$ROOT/crds/" >/dev/null || { echo "FAIL: applying crds/" >&2; exit 1; }
k "$KC" wait --for condition=established --timeout 60s crd --all >/dev/null || exit 1
# The apiserver may take a moment to serve a just-established CRD's validation.
for _ in $(seq 1 50); do k "$KC" get dwcp -A >/dev/null 2>&1 && break; sleep 0.2; done

if out="$(k "$KC" apply -f "$ROOT/examples/" 2>&1)"; then
  echo "ok   examples/ accepted"
else
  fail "examples/ rejected: $out"
fi

for file in "$ROOT"/e2e/invalid/*.yaml; do
  name="$(basename "$file")"
  expect="$(head -1 "$file" | sed -n 's/^# expect: //p')"
  [[ -n "$expect" ]] || { fail "$name: first line is not '# expect: ...'"; continue; }
  if out="$(k "$KC" create -f "$file" 2>&1)"; then
    fail "$name: accepted, expected rejection naming '$expect'"
    k "$KC" delete -f "$file" --wait=false >/dev/null 2>&1
  elif [[ "$out" != *"$expect"* ]]; then
    fail "$name: rejected, but the error lacks '$expect': $out"
  else
    echo "ok   $name"
  fi
done

# Transition rules: a Migration's subject, target and strategy are fixed once set.
mig=web-frontend-01-to-eu-central-1
check_update() {  # check_update LABEL EXPECT PATCH
  local out
  if out="$(k "$KC" -n default patch migration "$mig" --type merge -p "$3" 2>&1)"; then
    fail "$1: update accepted, expected '$2'"
  elif [[ "$out" != *"$2"* ]]; then
    fail "$1: rejected, but the error lacks '$2': $out"
  else
    echo "ok   $1"
  fi
}
check_update migration-vmplacement-changed "spec.vmPlacement is immutable" '{"spec":{"vmPlacement":"other-vm"}}'
check_update migration-target-changed "spec.targetRegion is immutable once set" '{"spec":{"targetRegion":"us-west-2"}}'
check_update migration-target-removed "spec.targetRegion is immutable once set" '{"spec":{"targetRegion":null}}'
check_update migration-strategy-changed "spec.strategy is immutable" '{"spec":{"strategy":"cold"}}'
if out="$(k "$KC" -n default patch migration "$mig" --type merge -p '{"spec":{"reason":"rescheduled"}}' 2>&1)"; then
  echo "ok   migration-reason-changed accepted"
else
  fail "migration-reason-changed: a mutable field was rejected: $out"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
