# A federation of three regions on this machine (hack/federation.sh: a control plane and an
# operator each, peering over mutual TLS): remote Regions become Healthy with heartbeats and RTTs;
# a VMPlacement created in one region and constrained to another is placed there, its workload
# made in that region's cluster and its readiness shown at home; 200 VMPlacements created at once
# in all three clusters toward a region with room for 150 end with exactly 150 placed there and
# none over-committed; deleting at home removes the remote workload; a peer with a foreign
# certificate, or one that names no Region, is refused; an operator restarted rewrites nothing
# unchanged and loses nothing.

FED_DIR=""
FED_REGIONS=(us-east-1 us-west-2 eu-west-1)

# kr REGION ARGS...: kubectl against REGION's cluster.
kr() { local region="$1"; shift; "$KUBECTL" --kubeconfig "$FED_DIR/$region/kubeconfig" "$@"; }
fed_port() { (source "$FED_DIR/$1/ports.env" && eval "echo \$$2"); }  # fed_port REGION PEER_PORT|METRICS_PORT|...
fed_metric() {  # fed_metric REGION SERIES
  local value
  value="$(curl -sf "http://127.0.0.1:$(fed_port "$1" METRICS_PORT)/metrics" | awk -v s="$2" '$1 == s {print $2; exit}')"
  echo "${value:-0}"
}

fed_down() { [[ -n "$FED_DIR" ]] && bash "$ROOT/hack/federation.sh" down "$FED_DIR" >/dev/null 2>&1; }

# Every cluster shows every region with phase PHASE.
fed_all_phase() {
  local r s phase
  for r in "${FED_REGIONS[@]}"; do
    for s in "${FED_REGIONS[@]}"; do
      phase="$(kr "$r" get rg "$s" -o jsonpath='{.status.phase}')"
      [[ "$phase" == "$1" ]] || { echo "$r sees $s as ${phase:-no phase}"; return 1; }
    done
  done
}

# The remote view of SUBJECT in REGION's cluster has heartbeats, RTTs to its peers and figures.
fed_remote_status_complete() {
  local region="$1" subject="$2" out
  out="$(kr "$region" get rg "$subject" -o jsonpath='{.status.lastHeartbeatTime}|{.status.healthScore}|{.status.allocated.cpu}|{.status.available.cpu}|{range .status.peers[*]}{.region}={.latencyMs}/{.reachable} {end}')"
  IFS='|' read -r heard health allocated available peers <<<"$out"
  [[ -n "$heard" && -n "$health" && -n "$allocated" && -n "$available" ]] || { echo "$region's $subject: $out"; return 1; }
  local peer
  for peer in "${FED_REGIONS[@]}"; do
    [[ "$peer" == "$subject" ]] && continue
    [[ "$peers" =~ $peer=[0-9.]+/true ]] || { echo "$region's $subject: no measured, reachable link to $peer in '$peers'"; return 1; }
  done
}

fed_vm() {  # fed_vm REGION NAME SPEC_JSON
  kr "$1" create -f - >/dev/null <<JSON
{"apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
 "metadata": {"name": "$2", "namespace": "default"}, "spec": $3}
JSON
}

fed_get() { kr "$1" -n default get vmp "$2" -o "jsonpath=$3"; }

# NAME in REGION is Placed in TARGET, its workload in TARGET's cluster, ready.
fed_placed_remotely() {
  local home="$1" name="$2" target="$3" got
  got="$(fed_get "$home" "$name" '{.status.phase} {.status.region} {.status.workloadRef.cluster} {.status.conditions[?(@.type=="WorkloadReady")].status}')"
  [[ "$got" == "Placed $target $target True" ]] || { echo "$home/$name: '$got'"; return 1; }
}

fed_workload() {  # fed_workload REGION NAME: prints the labels of ConfigMap NAME in REGION's cluster
  kr "$1" -n default get configmap "$2" -o jsonpath='{.metadata.labels}'
}

fed_absent() {  # fed_absent REGION KIND NAME
  ! kr "$1" -n default get "$2" "$3" >/dev/null 2>&1 || { echo "$2 $3 still exists in $1"; return 1; }
}

# Placed VMs in TARGET counted across every home, and every cluster's view of TARGET's allocation.
fed_count_placed_in() {
  local target="$1" total=0 r n
  for r in "${FED_REGIONS[@]}"; do
    n="$(kr "$r" -n default get vmp -l '!federation.dwcp.io/home' -o jsonpath='{range .items[*]}{.status.phase}/{.status.region}{"\n"}{end}' |
      grep -c "^Placed/$target$" || true)"
    total=$((total + n))
  done
  echo "$total"
}

# fed_holds REGION COUNT: REGION's cluster holds COUNT VMs: mirrors of other homes' and its own Placed.
fed_holds() {
  local mirrors own
  mirrors="$(kr "$1" -n default get vmp -l 'federation.dwcp.io/home' -o name | wc -l)"
  own="$(kr "$1" -n default get vmp -l '!federation.dwcp.io/home' -o jsonpath='{range .items[*]}{.status.phase}/{.status.region}{"\n"}{end}' | grep -c "^Placed/$1$" || true)"
  ((mirrors + own == $2)) || { echo "$1 holds $mirrors mirrors and $own of its own VMs, want $2 in all"; return 1; }
}

fed_placed_is() {  # fed_placed_is TARGET COUNT
  local got; got="$(fed_count_placed_in "$1")"
  [[ "$got" == "$2" ]] || { echo "$got Placed in $1, want $2"; return 1; }
}

fed_settled() {  # fed_settled: no VMPlacement is without a final phase in any cluster
  local r phases
  for r in "${FED_REGIONS[@]}"; do
    phases="$(kr "$r" -n default get vmp -l '!federation.dwcp.io/home' -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}')"
    if grep -qv -E '^(Placed|Unschedulable)$' <<<"$phases"; then echo "$r: $(sort <<<"$phases" | uniq -c | tr '\n' ' ')"; return 1; fi
  done
}

test_federation() {
  FED_DIR="$WORK/federation"
  rm -rf "$FED_DIR"
  trap 'fed_down; cleanup' EXIT
  if ! FEDERATION_WAIT_SECONDS=120 bash "$ROOT/hack/federation.sh" up 3 "$FED_DIR" >/dev/null 2>"$WORK/federation-up.log"; then
    fail "federation: 3 regions up, each Healthy in every cluster" "$(tail -30 "$WORK/federation-up.log")"
    fed_down
    return
  fi
  pass "federation: 3 regions up, each Healthy in every cluster (remote Regions from heartbeats)"

  local r s ok=1
  for r in "${FED_REGIONS[@]}"; do
    for s in "${FED_REGIONS[@]}"; do
      [[ "$r" == "$s" ]] && continue
      out="$(wait_until 20 fed_remote_status_complete "$r" "$s")" || { ok=0; echo "$out"; }
    done
  done
  ((ok)) && pass "federation: every remote Region shows lastHeartbeatTime, health, allocation and measured RTTs to reachable peers" ||
    fail "federation: remote Region status complete"

  # --- a VM created in us-east-1, constrained to us-west-2
  fed_vm us-east-1 fed-web '{"resources": {"cpu": 2, "memoryMiB": 2048, "storageGiB": 10},
    "constraints": {"regions": ["us-west-2"]},
    "template": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"role": "web"}}}'
  check "federation: a VM created in us-east-1 for us-west-2 is Placed there, its workload ready at home" \
    wait_until 30 fed_placed_remotely us-east-1 fed-web us-west-2
  local uid labels
  uid="$(fed_get us-east-1 fed-web '{.metadata.uid}')"
  labels="$(fed_workload us-west-2 fed-web)"
  if [[ "$labels" == *"\"federation.dwcp.io/home\":\"us-east-1\""* && "$labels" == *"\"federation.dwcp.io/vm-uid\":\"$uid\""* ]]; then
    pass "federation: its ConfigMap is in us-west-2's cluster, labelled with its home and uid"
  else
    fail "federation: workload in us-west-2 labelled with home and uid" "labels: $labels (uid $uid)"
  fi
  check "federation: no workload of it in the home cluster" fed_absent us-east-1 configmap fed-web
  check "federation: us-west-2's cluster holds it as mirror fed-web.us-east-1, Placed there" \
    wait_until 10 bash -c "[[ \"\$('$KUBECTL' --kubeconfig '$FED_DIR/us-west-2/kubeconfig' -n default get vmp fed-web.us-east-1 -o jsonpath='{.status.phase}/{.status.region}')\" == Placed/us-west-2 ]]"

  # --- deleting at home
  kr us-east-1 -n default delete vmp fed-web --wait=false >/dev/null
  check "federation: deleting it at home deletes the workload in us-west-2" wait_until 30 fed_absent us-west-2 configmap fed-web
  check "federation: ... and frees the reservation (the mirror goes)" wait_until 30 fed_absent us-west-2 vmp fed-web.us-east-1

  # --- 200 VMs from three homes toward eu-west-1, which has room for 150
  for r in "${FED_REGIONS[@]}"; do kr "$r" patch rg eu-west-1 --type merge -p '{"spec":{"capacity":{"maxVMs":150}}}' >/dev/null; done
  local i counts=(67 67 66) docs
  for idx in 0 1 2; do
    r="${FED_REGIONS[idx]}"
    docs=""
    for ((i = 1; i <= counts[idx]; i++)); do
      docs+="---
{\"apiVersion\": \"federation.dwcp.io/v1alpha1\", \"kind\": \"VMPlacement\", \"metadata\": {\"name\": \"burst-$r-$i\", \"namespace\": \"default\"},
 \"spec\": {\"resources\": {\"cpu\": 1, \"memoryMiB\": 512, \"storageGiB\": 1}, \"constraints\": {\"regions\": [\"eu-west-1\"]}}}
"
    done
    printf '%s' "$docs" > "$WORK/burst-$r.yaml"
  done
  for r in "${FED_REGIONS[@]}"; do kr "$r" create -f "$WORK/burst-$r.yaml" >/dev/null & done
  wait
  check "federation: 200 VMs created at once in three clusters toward eu-west-1 all settle (Placed or Unschedulable)" \
    wait_until 120 fed_settled
  # A VM a full region refused waits until that region reports a change: the last ones placed
  # follow the last allocation reports.
  local placed
  wait_until 60 fed_placed_is eu-west-1 150 >/dev/null
  sleep 3  # room for one more to be admitted, which would be an over-commit
  placed="$(fed_count_placed_in eu-west-1)"
  [[ "$placed" == 150 ]] && pass "federation: exactly 150 of them are Placed in eu-west-1 (room for 150), and stay so" ||
    fail "federation: exactly 150 Placed in eu-west-1" "$placed Placed"
  ok=1
  out="$(fed_holds eu-west-1 150)" || { ok=0; echo "$out"; }
  for r in "${FED_REGIONS[@]}"; do
    out="$(wait_until 20 bash -c "[[ \$('$KUBECTL' --kubeconfig '$FED_DIR/$r/kubeconfig' get rg eu-west-1 -o jsonpath='{.status.allocated.vms}') == 150 ]]" 2>&1)" ||
      { ok=0; echo "$r sees eu-west-1 allocated $(kr "$r" get rg eu-west-1 -o jsonpath='{.status.allocated.vms}')"; }
  done
  ((ok)) && pass "federation: none over-committed: eu-west-1 holds exactly 150 (its own and mirrors) and every cluster sees allocated 150" ||
    fail "federation: sums agree in every cluster"

  # --- peers that are no region of the federation
  local pki="$FED_DIR/pki" port; port="$(fed_port us-east-1 PEER_PORT)"
  (cd "$WORK" && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=rogue -days 1 \
    -keyout rogue-ca.key -out rogue-ca.crt 2>/dev/null &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=eu-west-1 -keyout rogue.key -out rogue.csr 2>/dev/null &&
    printf 'subjectAltName=DNS:eu-west-1\nextendedKeyUsage=clientAuth\n' > rogue.ext &&
    openssl x509 -req -in rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key -CAcreateserial -days 1 -extfile rogue.ext -out rogue.crt 2>/dev/null &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=stranger -keyout stranger.key -out stranger.csr 2>/dev/null &&
    printf 'subjectAltName=DNS:stranger\nextendedKeyUsage=clientAuth\n' > stranger.ext &&
    openssl x509 -req -in stranger.csr -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 1 -extfile stranger.ext -out stranger.crt 2>/dev/null)
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$pki/ca.crt" --resolve "us-east-1:$port:127.0.0.1" \
    --cert "$WORK/rogue.crt" --key "$WORK/rogue.key" -X POST --data-binary x "https://us-east-1:$port/v1/state/frames")"
  [[ "$code" == 000 ]] && pass "federation: a peer whose certificate another CA signed fails the TLS handshake" ||
    fail "federation: foreign CA refused" "HTTP $code"
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$pki/ca.crt" --resolve "us-east-1:$port:127.0.0.1" \
    --cert "$WORK/stranger.crt" --key "$WORK/stranger.key" -X POST --data-binary x "https://us-east-1:$port/v1/state/frames")"
  [[ "$code" == 403 ]] && pass "federation: a peer of the federation's CA that names no Region is refused (403)" ||
    fail "federation: stranger refused" "HTTP $code"
  local refused handshakes
  refused="$(fed_metric us-east-1 'dwcp_federation_peer_frames_refused_total{reason="unknown-peer"}')"
  handshakes="$(fed_metric us-east-1 dwcp_federation_peer_handshake_failures_total)"
  [[ "${refused%.*}" -ge 1 && "${handshakes%.*}" -ge 1 ]] && pass "federation: both refusals are counted (unknown-peer $refused, handshake failures $handshakes)" ||
    fail "federation: refusals counted" "unknown-peer $refused, handshake failures $handshakes"
  if grep -q "refusing region stranger: unknown-peer" "$FED_DIR/us-east-1/operator.log"; then
    pass "federation: the refusal is logged with its reason"
  else
    fail "federation: refusal logged" "$(grep -i refus "$FED_DIR/us-east-1/operator.log" | tail -3)"
  fi

  # --- an operator restarted loses nothing and rewrites nothing unchanged: us-west-2 (home of 67
  # VMs held in eu-west-1) stopped with SIGTERM, eu-west-1 (holding 150: its own and mirrors)
  # killed with SIGKILL
  local region signal before after pid
  for pair in us-west-2:TERM eu-west-1:KILL; do
    region="${pair%%:*}" signal="${pair##*:}"
    before="$(kr "$region" -n default get vmp -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}')"
    pid="$(cat "$FED_DIR/$region/operator.pid")"
    kill -"$signal" "$pid"; for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    bash "$ROOT/hack/federation.sh" start-region "$FED_DIR" "$region" >/dev/null 2>&1
    check "federation: $region's operator restarted after SIG$signal; every cluster sees every region Healthy again" \
      wait_until 60 fed_all_phase Healthy
    sleep 3  # room for any rewrite to happen before it is looked for
    after="$(kr "$region" -n default get vmp -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}')"
    [[ "$before" == "$after" ]] && pass "federation: the restarted $region rewrote none of its $(wc -w <<<"$before") VMPlacements" ||
      fail "federation: nothing rewritten after restart of $region" "$(diff <(tr ' ' '\n' <<<"$before") <(tr ' ' '\n' <<<"$after") | head -6)"
    placed="$(fed_count_placed_in eu-west-1)"
    [[ "$placed" == 150 ]] && out="$(fed_holds eu-west-1 150)" &&
      pass "federation: after the restart of $region, still exactly 150 Placed in eu-west-1, held there" ||
      fail "federation: nothing lost after restart of $region" "$placed Placed; $out"
  done

  fed_down
  trap cleanup EXIT
}
