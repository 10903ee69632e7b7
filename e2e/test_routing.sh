# The routing API inside dwcp-operator (issue 5), fed by the Region informer cache: a client near
# Europe is sent to a European region; disabling a Region stops traffic to it and /v1/regions
# says so; a new Region joins the table and a deleted one leaves it; a bad request gets a 400
# naming the field. Two replicas with leader election: the standby serves too. A taken port
# stops start-up with an error naming the flag. (A Region the router cannot use is skipped
# without dropping the others; the CRD schema keeps such objects out of a real API server, so
# operator/routing_api_test.cpp covers that.)

PARIS='{"clientAddress":"198.51.100.7","location":{"latitude":48.86,"longitude":2.35}}'

# routed_region OP: the region POST /v1/route chooses for a client in Paris (fails unless 200).
routed_region() {
  local out
  out="$(curl -sf -XPOST "$(routing_url "$1")/v1/route" -H 'Content-Type: application/json' -d "$PARIS")" || return 1
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])["region"])' "$out"
}

routed_to_europe() {  # routed_to_europe OP
  local r; r="$(routed_region "$1")" || return 1
  [[ "$r" == eu-west-1 || "$r" == eu-central-1 ]] || { echo "routed to $r"; return 1; }
}

# routed_elsewhere OP REGION: 20 decisions in a row, none of them REGION.
routed_elsewhere() {
  local i r
  for i in $(seq 20); do
    r="$(routed_region "$1")" || return 1
    [[ "$r" != "$2" ]] || { echo "decision $i chose $2"; return 1; }
  done
}

# listed OP NAME FIELD: FIELD of region NAME in GET /v1/regions as JSON ("absent" when not listed).
listed() {
  curl -sf "$(routing_url "$1")/v1/regions" | python3 -c '
import json, sys
regions = {r["name"]: r for r in json.load(sys.stdin)["regions"]}
r = regions.get(sys.argv[1])
print("absent" if r is None else json.dumps(r[sys.argv[2]]))' "$2" "$3"
}
listed_is() { [[ "$(listed "$1" "$2" "$3")" == "$4" ]]; }  # listed_is OP NAME FIELD VALUE
region_count() { curl -sf "$(routing_url "$1")/v1/regions" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["regions"]))'; }
region_count_is() { [[ "$(region_count "$1")" == "$2" ]]; }
both_ready() { operator_ready rt && operator_ready rt2; }

# answers OP BODY STATUS TEXT: POST /v1/route with BODY gets STATUS and a body containing TEXT.
answers() {
  local out
  out="$(curl -s -w '\n%{http_code}' -XPOST "$(routing_url "$1")/v1/route" -H 'Content-Type: application/json' -d "$2")"
  [[ "$(tail -n 1 <<<"$out")" == "$3" && "$(head -n -1 <<<"$out")" == *"$4"* ]] || { echo "got: $out"; return 1; }
}

test_routing() {
  start_controlplane routing
  install_crds >/dev/null
  k create namespace dwcp-system >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  start_operator rt us-east-1 --leader-elect
  start_operator rt2 us-east-1 --leader-elect
  check "routing: both replicas ready" wait_until 60 both_ready
  check "routing: a lease holder (one replica leads, the other stands by)" wait_until 60 bash -c "[[ -n \$('$KUBECTL' --kubeconfig '$KC' -n dwcp-system get lease dwcp-operator-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null) ]]"
  check "routing: the five example Regions are in the table" wait_until 30 region_count_is rt 5
  check "routing: a client in Paris is sent to a European region" wait_until 30 routed_to_europe rt
  check "routing: both replicas serve, leader and standby" wait_until 30 routed_to_europe rt2
  check "routing: remote regions accept traffic before their peers report (phase Unknown)" wait_until 30 listed_is rt eu-west-1 phase '"Unknown"'

  # Disable the region Paris is sent to: it stops getting traffic, on both replicas.
  local chosen other
  chosen="$(routed_region rt)"
  if [[ "$chosen" == eu-west-1 ]]; then other=eu-central-1; else other=eu-west-1; fi
  k patch rg "$chosen" --type merge -p '{"spec":{"enabled":false}}' >/dev/null
  check "routing: disabled $chosen is listed as not accepting traffic" wait_until 30 listed_is rt "$chosen" acceptsTraffic false
  check "routing: disabled $chosen is listed with phase Disabled" listed_is rt "$chosen" phase '"Disabled"'
  check "routing: Paris is no longer sent to $chosen" routed_elsewhere rt "$chosen"
  check "routing: the standby stops choosing $chosen too" wait_until 30 listed_is rt2 "$chosen" acceptsTraffic false
  check "routing: the standby routes Paris elsewhere" routed_elsewhere rt2 "$chosen"
  check "routing: $other still accepts traffic" listed_is rt "$other" acceptsTraffic true
  k patch rg "$chosen" --type merge -p '{"spec":{"enabled":true}}' >/dev/null
  check "routing: re-enabled $chosen accepts traffic again" wait_until 30 listed_is rt "$chosen" acceptsTraffic true

  k delete rg us-west-2 >/dev/null
  check "routing: a deleted Region leaves /v1/regions" wait_until 30 listed_is rt us-west-2 name absent
  check "routing: the other four stay" region_count_is rt 4

  k apply -f - >/dev/null <<YAML
apiVersion: federation.dwcp.io/v1alpha1
kind: Region
metadata: {name: ap-southeast-1}
spec:
  location: {latitude: 1.35, longitude: 103.82, country: SG, continent: asia}
  capacity: {cpu: 1024, memoryMiB: 4194304, storageGiB: 128000}
  cost: {cpuHour: 0.05}
  endpoint: https://dwcp-ap-southeast-1.example.com:7443
YAML
  check "routing: a new Region joins the table, accepting traffic" wait_until 30 listed_is rt ap-southeast-1 acceptsTraffic true
  check "routing: five regions again" region_count_is rt 5

  check "routing: a bad request gets 400 naming the field" \
    answers rt '{"location":{"latitude":123,"longitude":2.35}}' 400 '"field":"location.latitude"'
  check "routing: a malformed body gets 400 with an error" answers rt '{"location":' 400 '"error"'

  # A taken routing port stops start-up, naming the flag.
  start_operator clash us-east-1 --routing-bind-address "127.0.0.1:$(cat "$WORK/op-rt.routing")"
  check "routing: a replica whose routing port is taken fails naming --routing-bind-address" \
    wait_until 60 grep -q "start-up failed: --routing-bind-address: cannot bind" "$WORK/op-clash.log"
  stop_operator clash 0  # signal 0: just wait for it to exit
  check "routing: ... and exits 1" test "$STOP_CODE" = 1

  stop_operator rt2 TERM
  check "routing: SIGTERM with the routing API serving exits 0" test "$STOP_CODE" = 0
  stop_operator rt TERM
  check "routing: the other replica exits 0 too" test "$STOP_CODE" = 0
  check "routing: shutdown completed" grep -q "shutdown complete" "$WORK/op-rt.log"
}
