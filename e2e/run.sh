#!/usr/bin/env bash
# The integration suite: real kube-apiserver + etcd processes on loopback (hack/controlplane.sh),
# the CRDs applied with kubectl, the operator binary run against them. Prints one line per check
# and "N passed, N failed" at the end; exits non-zero when any check failed.
#
#   e2e/run.sh [TEST...]   tests: crds admission region_status restart apiserver_restart leader_election leader_hang placement
#                          routing state_mtls federation
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${E2E_WORK:-$ROOT/.e2e}"
mkdir -p "$WORK"
CONTROL_PLANES=()
OPERATORS=()
# shellcheck source=e2e/lib.sh
source "$ROOT/e2e/lib.sh"
for f in "$ROOT"/e2e/test_*.sh; do
  # shellcheck disable=SC1090
  source "$f"
done

cleanup() {
  stop_all_operators
  stop_all_controlplanes
}
trap cleanup EXIT

[[ -x "$OPERATOR" ]] || { echo "e2e: $OPERATOR is missing; run make build" >&2; exit 2; }
bash "$ROOT/hack/build-tools.sh" >/dev/null || exit 2

tests=("$@")
((${#tests[@]})) || tests=(crds admission region_status restart apiserver_restart leader_election leader_hang placement routing state_mtls federation)
for t in "${tests[@]}"; do
  log "--- $t"
  rm -f "$WORK"/op-*
  "test_$t"
  stop_all_operators
  OPERATORS=()
done

for f in "${FAILURES[@]}"; do echo "failed: $f"; done
echo "e2e: $PASSED passed, $FAILED failed"
((FAILED == 0))
