# The state engine's mutual-TLS transport: five dwcp-state-replica processes on loopback
# (e2e/state_mtls.sh); each of its check lines becomes a pass or a fail here.

test_state_mtls() {
  local out line
  out="$(BUILD_DIR="${BUILD_DIR:-build}" bash "$ROOT/e2e/state_mtls.sh" "$WORK/state_mtls" 2>&1)"
  while IFS= read -r line; do
    case "$line" in
      "ok    "*) pass "${line#ok    }" ;;
      "FAIL  "*) line="${line#FAIL  }"; fail "${line%%: *}" "${line#*: }" ;;
    esac
  done <<<"$out"
  grep -q '^ok    state_mtls: 5 replicas up' <<<"$out" || fail "state_mtls: script" "$(tail -5 <<<"$out")"
}
