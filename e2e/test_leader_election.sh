# Two operator processes with --leader-elect: exactly one reconciles; when it is killed the other
# takes over within the lease duration (15 s) plus one retry period; SIGTERM hands over at once.

lease_holder() { k -n dwcp-system get lease dwcp-operator-leader -o jsonpath='{.spec.holderIdentity}'; }
holder_is() { [[ "$(lease_holder)" == *"$1"* ]]; }
pid_holds() { local h; h="$(lease_holder)"; [[ -n "$h" && "$h" == *"_$(operator_pid "$1")_"* ]]; }

test_leader_election() {
  start_controlplane leader
  install_crds >/dev/null
  k create namespace dwcp-system >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator a us-east-1 --leader-elect
  start_operator b us-east-1 --leader-elect
  check "leader: a lease holder appears" wait_until 60 bash -c "[[ -n \$('$KUBECTL' --kubeconfig '$KC' -n dwcp-system get lease dwcp-operator-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) ]]"
  check "leader: regions reconciled" wait_until 60 all_reconciled
  local leader standby
  if pid_holds a; then leader=a; standby=b; else leader=b; standby=a; fi
  check "leader: the holder is one of the two processes" pid_holds "$leader"
  check "leader: both replicas ready (standby keeps warm caches)" wait_until 30 operator_ready "$standby"
  k patch rg eu-west-1 --type merge -p '{"spec":{"priority":12}}' >/dev/null
  check "leader: change reconciled" wait_until 30 all_reconciled
  check "leader: the leader reconciles" test "$(reconciles "$leader")" -gt 0
  check "leader: the standby does not reconcile" test "$(reconciles "$standby")" = 0
  check "leader: leader metric 1 on the leader" test "$(metric "$leader" dwcp_federation_operator_leader)" = 1
  check "leader: leader metric 0 on the standby" test "$(metric "$standby" dwcp_federation_operator_leader)" = 0

  # Kill the leader without a chance to release: the standby must take over after the lease
  # expires (15 s) and reconcile what changed.
  stop_operator "$leader" KILL
  local killed_at=$SECONDS
  k patch rg eu-west-1 --type merge -p '{"spec":{"priority":13}}' >/dev/null
  check "leader: standby takes over within lease duration + retry (17 s)" wait_until 20 pid_holds "$standby"
  log "takeover after kill: $((SECONDS - killed_at)) s"
  check "leader: new leader reconciles the change" wait_until 30 all_reconciled
  check "leader: new leader's reconcile count grows" test "$(reconciles "$standby")" -gt 0

  # Graceful hand-over: SIGTERM releases the lease at once; a new replica acquires it without
  # waiting for expiry.
  start_operator c us-east-1 --leader-elect
  check "leader: replica c ready as standby" wait_until 60 operator_ready c
  stop_operator "$standby" TERM
  check "leader: SIGTERM on the leader exits 0" test "$STOP_CODE" = 0
  check "leader: the lease was released or taken (holder is not the stopped process)" bash -c "! grep -q '_$(operator_pid "$standby")_' <<<\"\$('$KUBECTL' --kubeconfig '$KC' -n dwcp-system get lease dwcp-operator-leader -o jsonpath='{.spec.holderIdentity}')\""
  check "leader: c acquires after the release" wait_until 10 pid_holds c
}

# first_log_time NAME PATTERN: the timestamp of NAME's first log line matching PATTERN.
first_log_time() { grep -m1 -- "$2" "$WORK/op-$1.log" | cut -d' ' -f1; }

# A leader whose connection to the API server hangs (a frozen proxy: requests are sent and never
# answered) must stop leading at its renew deadline on its own clock, before the standby can take
# the expired lease over, and exit 1 so it restarts clean.
test_leader_hang() {
  start_controlplane leaderhang
  install_crds >/dev/null
  k create namespace dwcp-system >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  local api_port proxy_port proxy_pid
  api_port="$(awk '/server:/ {print $2}' "$KC" | sed 's#.*:##')"
  proxy_port="$(free_port)"
  python3 "$ROOT/e2e/tcp_proxy.py" "$proxy_port" "$api_port" 300 &
  proxy_pid=$!
  sed "s#127.0.0.1:$api_port#127.0.0.1:$proxy_port#" "$KC" > "$WORK/leaderhang-proxied.kubeconfig"
  local direct="$KC"
  KC="$WORK/leaderhang-proxied.kubeconfig" start_operator a us-east-1 --leader-elect
  check "leader hang: a acquires through the proxy" wait_until 60 pid_holds a
  start_operator b us-east-1 --leader-elect
  check "leader hang: b ready as standby" wait_until 60 operator_ready b

  kill -USR1 "$proxy_pid"  # a's requests now hang, lease calls included
  check "leader hang: b takes over the expired lease" wait_until 40 pid_holds b
  local a_stopped b_acquired
  a_stopped="$(first_log_time a 'stopped leading')"
  b_acquired="$(first_log_time b 'acquired lease')"
  log "a stopped leading at ${a_stopped:-never}, b acquired at ${b_acquired:-never}"
  check "leader hang: a stopped leading (on its own clock)" test -n "$a_stopped"
  check "leader hang: a stopped leading before b acquired" test -n "$a_stopped" -a -n "$b_acquired" -a "$a_stopped" \< "$b_acquired"
  check "leader hang: a exits" wait_until 60 bash -c "! kill -0 $(operator_pid a) 2>/dev/null"
  local code=0
  wait "$(operator_pid a)" 2>/dev/null || code=$?
  check "leader hang: a exits 1 (lost leadership)" test "$code" = 1
  KC="$direct"
  k patch rg eu-west-1 --type merge -p '{"spec":{"priority":14}}' >/dev/null
  check "leader hang: b reconciles" wait_until 30 all_reconciled
  kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null || true
}
