# The VMPlacement controller on a real API server with the five-region example and one operator
# for eu-west-1 (remote regions are Unknown with no health score, so minHealth passes only
# there): every kind of constraint is honoured, unschedulable VMs are placed when a Region
# changes, deletes free capacity, templates are materialized (and rejected ones reported), only
# the workload the operator made is ever deleted and only allowlisted kinds are applied,
# preemption displaces the fewest lower-priority preemptible VMs, and Region status.allocated
# stays exact under 300 concurrent creates and 150 concurrent deletes.

PL_NS=placement
PL_LOCAL=eu-west-1

# pl_vm NAME SPEC_JSON [NAMESPACE]: creates a VMPlacement.
pl_vm() {
  local ns="${3:-$PL_NS}"
  k create -f - >/dev/null <<JSON
{"apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
 "metadata": {"name": "$1", "namespace": "$ns"}, "spec": $2}
JSON
}

pl_get() { k -n "$PL_NS" get vmp "$1" -o "jsonpath=$2"; }

# pl_placed_in NAME REGION...: Placed, in one of the regions, at the current generation.
pl_placed_in() {
  local name="$1"; shift
  local phase region gen obs
  read -r phase region gen obs <<<"$(pl_get "$name" '{.status.phase} {.status.region} {.metadata.generation} {.status.observedGeneration}')"
  [[ "$phase" == Placed && "$gen" == "$obs" ]] || { echo "$name: phase=${phase:-none} region=${region:-none} generation=$gen observed=${obs:-none}"; return 1; }
  local r
  for r in "$@"; do [[ "$region" == "$r" ]] && return 0; done
  echo "$name: placed in $region, want one of: $*"
  return 1
}

pl_phase_is() {  # pl_phase_is NAME PHASE
  local phase; phase="$(pl_get "$1" '{.status.phase}')"
  [[ "$phase" == "$2" ]] || { echo "$1: phase ${phase:-none}, want $2 ($(pl_get "$1" '{.status.message}'))"; return 1; }
}

pl_message_has() {  # pl_message_has NAME TEXT
  local message; message="$(pl_get "$1" '{.status.message}')"
  [[ "$message" == *"$2"* ]] || { echo "$1: message '$message' lacks '$2'"; return 1; }
}

pl_condition() {  # pl_condition NAME TYPE STATUS REASON
  local got; got="$(pl_get "$1" "{.status.conditions[?(@.type==\"$2\")].status} {.status.conditions[?(@.type==\"$2\")].reason}")"
  [[ "$got" == "$3 $4" ]] || { echo "$1: condition $2 is '$got', want '$3 $4'"; return 1; }
}

pl_allocated_cpu_is() {  # pl_allocated_cpu_is REGION CPU
  local got; got="$(jp rg "$1" '{.status.allocated.cpu}')"
  [[ "$got" == "$2" ]] || { echo "$1: allocated cpu ${got:-none}, want $2"; return 1; }
}

pl_event() {  # pl_event OBJECT_NAME REASON: a core/v1 view of an events.k8s.io event exists
  [[ -n "$(k -n "$PL_NS" get events --field-selector "involvedObject.name=$1,reason=$2" -o name)" ]] ||
    { echo "no event $2 for $1"; return 1; }
}

pl_event_says() {  # pl_event_says OBJECT_NAME REASON TEXT: such an event's message contains TEXT
  local messages
  messages="$(k -n "$PL_NS" get events --field-selector "involvedObject.name=$1,reason=$2" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}')"
  [[ "$messages" == *"$3"* ]] || { echo "no $2 event for $1 saying '$3' (got: ${messages:-none})"; return 1; }
}

pl_gone() { ! k -n "$PL_NS" get "$1" "$2" >/dev/null 2>&1; }

# pl_delete_all NAMESPACE: deletes every VMPlacement and waits until the finalizers released them.
pl_delete_all() {
  k -n "$1" delete vmp --all --wait=false >/dev/null
  wait_until 60 bash -c "[[ -z \$('$KUBECTL' --kubeconfig '$KC' -n '$1' get vmp -o name) ]]"
}

# pl_accounting NAMESPACE [PHASES]: every VM has a verdict at its generation (Placed or
# Unschedulable), no region holds more than its capacity, the local region's status.allocated and
# available equal the sums of the VMs Placed there, and no Unschedulable VM would fit the free
# capacity of a region it is pinned to (it was retried when capacity came back).
pl_accounting() {
  { k get vmp -A -o json; echo '@@'; k get rg -o json; } | python3 -c '
import json, sys
vms_text, regions_text = sys.stdin.read().split("@@")
vms, regions = json.loads(vms_text)["items"], json.loads(regions_text)["items"]
local = sys.argv[1]
problems = []
sums = {r["metadata"]["name"]: {"cpu": 0, "memoryMiB": 0, "storageGiB": 0, "vms": 0} for r in regions}
for vm in vms:
    name = vm["metadata"]["namespace"] + "/" + vm["metadata"]["name"]
    st = vm.get("status", {})
    if vm["metadata"].get("deletionTimestamp"):
        problems.append(name + ": still deleting")
        continue
    if st.get("phase") not in ("Placed", "Unschedulable") or st.get("observedGeneration") != vm["metadata"]["generation"]:
        problems.append("%s: phase %s observed %s" % (name, st.get("phase"), st.get("observedGeneration")))
        continue
    if st["phase"] == "Placed":
        res = vm["spec"]["resources"]
        s = sums[st["region"]]
        s["cpu"] += res["cpu"]; s["memoryMiB"] += res["memoryMiB"]; s["storageGiB"] += res.get("storageGiB", 0); s["vms"] += 1
for r in regions:
    n, cap = r["metadata"]["name"], r["spec"]["capacity"]
    s = sums[n]
    for f in ("cpu", "memoryMiB", "storageGiB"):
        if s[f] > cap[f]:
            problems.append("%s over capacity: %s %d > %d" % (n, f, s[f], cap[f]))
    if "maxVMs" in cap and s["vms"] > cap["maxVMs"]:
        problems.append("%s over capacity: %d vms > %d" % (n, s["vms"], cap["maxVMs"]))
    if n == local:
        alloc = r.get("status", {}).get("allocated", {})
        if alloc != s:
            problems.append("%s status.allocated %s != sum of placed VMs %s" % (n, alloc, s))
        avail = r.get("status", {}).get("available", {})
        want = {f: cap[f] - s[f] for f in ("cpu", "memoryMiB", "storageGiB")}
        if "maxVMs" in cap: want["vms"] = cap["maxVMs"] - s["vms"]
        if avail != want:
            problems.append("%s status.available %s != capacity - placed %s" % (n, avail, want))
for vm in vms:
    st = vm.get("status", {})
    pinned = vm["spec"].get("constraints", {}).get("regions", [])
    if st.get("phase") != "Unschedulable" or len(pinned) != 1:
        continue
    r = next(x for x in regions if x["metadata"]["name"] == pinned[0])
    res, cap, s = vm["spec"]["resources"], r["spec"]["capacity"], sums[pinned[0]]
    if res["cpu"] <= cap["cpu"] - s["cpu"] and res["memoryMiB"] <= cap["memoryMiB"] - s["memoryMiB"]:
        problems.append("%s/%s Unschedulable but fits %s (%d cpu free)" % (vm["metadata"]["namespace"], vm["metadata"]["name"], pinned[0], cap["cpu"] - s["cpu"]))
if problems:
    print("\n".join(problems[:10]) + ("\n... %d problems" % len(problems) if len(problems) > 10 else ""))
    sys.exit(1)
placed = sum(1 for vm in vms if vm["status"]["phase"] == "Placed")
print("%d VMs, %d placed, %d unschedulable; %s" % (len(vms), placed, len(vms) - placed,
      ", ".join("%s %d cpu" % (n, s["cpu"]) for n, s in sorted(sums.items()))))
' "$PL_LOCAL"
}

pl_constraints() {
  local small='"resources": {"cpu": 1, "memoryMiB": 1024, "storageGiB": 1}'
  pl_vm c-regions "{$small, \"constraints\": {\"regions\": [\"us-west-2\", \"ap-south-1\"]}}"
  pl_vm c-exclude "{$small, \"constraints\": {\"excludeRegions\": [\"us-east-1\", \"us-west-2\", \"eu-west-1\"]}}"
  pl_vm c-asia "{$small, \"constraints\": {\"continents\": [\"asia\"]}}"
  pl_vm c-europe "{$small, \"constraints\": {\"continents\": [\"europe\"]}}"
  pl_vm c-de "{$small, \"constraints\": {\"countries\": [\"DE\"]}}"
  pl_vm c-us "{$small, \"constraints\": {\"countries\": [\"US\"]}}"
  pl_vm c-hipaa "{$small, \"constraints\": {\"compliance\": [\"hipaa\"]}}"
  pl_vm c-gdpr-c5 "{$small, \"constraints\": {\"compliance\": [\"gdpr\", \"c5\"]}}"
  # From Frankfurt, 10 ms round trip reaches only Frankfurt (Ireland is about 17 ms away).
  pl_vm c-latency "{$small, \"constraints\": {\"origin\": {\"latitude\": 50.11, \"longitude\": 8.68}, \"maxLatencyMs\": 10}}"
  pl_vm c-latency-region "{$small, \"constraints\": {\"origin\": {\"region\": \"ap-south-1\"}, \"maxLatencyMs\": 5}}"
  pl_vm c-health "{$small, \"constraints\": {\"minHealth\": 50}}"
  # 100 vCPU + 1 GiB per hour: ap-south-1 3.52, us-* 4.17, eu-west-1 4.65, eu-central-1 4.81.
  pl_vm c-cost "{\"resources\": {\"cpu\": 100, \"memoryMiB\": 1024}, \"constraints\": {\"maxCostPerHour\": 3.6}}"
  pl_vm c-cost-us "{\"resources\": {\"cpu\": 100, \"memoryMiB\": 1024}, \"constraints\": {\"maxCostPerHour\": 4.2}}"
  pl_vm c-spread-1 "{$small, \"weights\": {\"spread\": 100}, \"constraints\": {\"spreadGroup\": \"grp-a\"}}"
  pl_vm c-spread-2 "{$small, \"weights\": {\"spread\": 100}, \"constraints\": {\"spreadGroup\": \"grp-a\"}}"
  k apply -f "$ROOT/examples/vmplacement.yaml" >/dev/null

  check "placement: regions -> one of them" wait_until 30 pl_placed_in c-regions us-west-2 ap-south-1
  check "placement: excludeRegions -> none of them" wait_until 30 pl_placed_in c-exclude eu-central-1 ap-south-1
  check "placement: continents asia -> ap-south-1" wait_until 30 pl_placed_in c-asia ap-south-1
  check "placement: continents europe -> eu-*" wait_until 30 pl_placed_in c-europe eu-west-1 eu-central-1
  check "placement: countries DE -> eu-central-1" wait_until 30 pl_placed_in c-de eu-central-1
  check "placement: countries US -> us-*" wait_until 30 pl_placed_in c-us us-east-1 us-west-2
  check "placement: compliance hipaa -> us-east-1" wait_until 30 pl_placed_in c-hipaa us-east-1
  check "placement: compliance gdpr+c5 (all tags) -> eu-central-1" wait_until 30 pl_placed_in c-gdpr-c5 eu-central-1
  check "placement: origin point + maxLatencyMs -> eu-central-1" wait_until 30 pl_placed_in c-latency eu-central-1
  check "placement: origin region + maxLatencyMs -> ap-south-1" wait_until 30 pl_placed_in c-latency-region ap-south-1
  check "placement: minHealth -> the local (only scored) region" wait_until 30 pl_placed_in c-health "$PL_LOCAL"
  check "placement: maxCostPerHour 3.6 -> ap-south-1" wait_until 30 pl_placed_in c-cost ap-south-1
  check "placement: maxCostPerHour 4.2 -> us-* or ap-south-1" wait_until 30 pl_placed_in c-cost-us us-east-1 us-west-2 ap-south-1
  check "placement: spreadGroup VM 1 placed" wait_until 30 pl_placed_in c-spread-1 us-east-1 us-west-2 eu-west-1 eu-central-1 ap-south-1
  check "placement: spreadGroup VM 2 placed" wait_until 30 pl_placed_in c-spread-2 us-east-1 us-west-2 eu-west-1 eu-central-1 ap-south-1
  check "placement: spreadGroup VMs in distinct regions" test "$(pl_get c-spread-1 '{.status.region}')" != "$(pl_get c-spread-2 '{.status.region}')"
  check "placement: examples/vmplacement.yaml placed in eu-west-1" bash -c \
    "[[ \$('$KUBECTL' --kubeconfig '$KC' -n default get vmp web-frontend-01 -o jsonpath='{.status.phase} {.status.region}') == 'Placed eu-west-1' ]]"
  check "placement: status carries score and candidates with factors" bash -c \
    "[[ -n \$('$KUBECTL' --kubeconfig '$KC' -n $PL_NS get vmp c-europe -o jsonpath='{.status.score}') && -n \$('$KUBECTL' --kubeconfig '$KC' -n $PL_NS get vmp c-europe -o jsonpath='{.status.candidates[0].factors.latency}') ]]"
  check "placement: Placed condition True" pl_condition c-asia Placed True Placed
  check "placement: finalizer added" test "$(pl_get c-asia '{.metadata.finalizers[*]}')" = federation.dwcp.io/placement
  check "placement: Placed event recorded" wait_until 30 pl_event c-asia Placed
  k -n default delete vmp web-frontend-01 --wait=false >/dev/null
}

pl_unschedulable() {
  pl_vm u-fedramp '{"resources": {"cpu": 2, "memoryMiB": 2048}, "constraints": {"compliance": ["fedramp"]}}'
  check "placement: missing compliance tag -> Unschedulable" wait_until 30 pl_phase_is u-fedramp Unschedulable
  check "placement: message names every region's reason" pl_message_has u-fedramp "0/5 regions fit: 5 lack compliance fedramp"
  check "placement: Unschedulable event recorded" wait_until 30 pl_event u-fedramp Unschedulable
  pl_vm u-memory '{"resources": {"cpu": 2, "memoryMiB": 8388608}, "constraints": {"regions": ["ap-south-1"]}}'
  check "placement: too big for its region -> Unschedulable" wait_until 30 pl_phase_is u-memory Unschedulable
  check "placement: message says insufficient memory" pl_message_has u-memory "1 insufficient memory"
  check "placement: Placed condition False Unschedulable" pl_condition u-memory Placed False Unschedulable

  # No polling: only the Region events bring them back.
  k patch rg us-west-2 --type merge -p '{"spec":{"compliance":["soc2","pci-dss","fedramp"]}}' >/dev/null
  check "placement: tag added to a Region -> placed there" wait_until 30 pl_placed_in u-fedramp us-west-2
  k patch rg ap-south-1 --type merge -p '{"spec":{"capacity":{"memoryMiB":16777216}}}' >/dev/null
  check "placement: Region capacity grows -> placed there" wait_until 30 pl_placed_in u-memory ap-south-1
}

pl_delete_frees() {
  pl_delete_all "$PL_NS"
  check "placement: deletes release everything (local allocated cpu 0)" wait_until 30 pl_allocated_cpu_is "$PL_LOCAL" 0
  pl_vm d-a "{\"resources\": {\"cpu\": 1024, \"memoryMiB\": 4096}, \"constraints\": {\"regions\": [\"$PL_LOCAL\"]}}"
  pl_vm d-b "{\"resources\": {\"cpu\": 1024, \"memoryMiB\": 4096}, \"constraints\": {\"regions\": [\"$PL_LOCAL\"]}}"
  check "placement: two VMs fill the local region's cpu" wait_until 30 pl_placed_in d-b "$PL_LOCAL"
  check "placement: allocated cpu 2048" wait_until 30 pl_allocated_cpu_is "$PL_LOCAL" 2048
  check "placement: available cpu 0" test "$(jp rg "$PL_LOCAL" '{.status.available.cpu}')" = 0
  pl_vm d-c "{\"resources\": {\"cpu\": 512, \"memoryMiB\": 4096}, \"constraints\": {\"regions\": [\"$PL_LOCAL\"]}}"
  check "placement: a third waits for cpu" wait_until 30 pl_phase_is d-c Unschedulable
  check "placement: message says insufficient cpu" pl_message_has d-c "insufficient cpu"
  k -n "$PL_NS" delete vmp d-a >/dev/null
  check "placement: delete frees capacity and the waiting VM is placed" wait_until 30 pl_placed_in d-c "$PL_LOCAL"
  check "placement: allocated cpu 1536 after delete + placement" wait_until 30 pl_allocated_cpu_is "$PL_LOCAL" 1536
  k -n "$PL_NS" delete vmp d-b d-c >/dev/null
  check "placement: allocated back to 0" wait_until 30 pl_allocated_cpu_is "$PL_LOCAL" 0
}

pl_templates() {
  pl_vm t-ok "{\"resources\": {\"cpu\": 1, \"memoryMiB\": 512}, \"constraints\": {\"regions\": [\"$PL_LOCAL\"]},
    \"template\": {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"t-ok-workload\", \"labels\": {\"app\": \"demo\"}}, \"data\": {\"size\": \"small\"}}}"
  check "placement: template VM placed locally" wait_until 30 pl_placed_in t-ok "$PL_LOCAL"
  check "placement: template materialized (WorkloadReady True)" wait_until 30 pl_condition t-ok WorkloadReady True Materialized
  local uid cm
  uid="$(pl_get t-ok '{.metadata.uid}')"
  cm="$(k -n "$PL_NS" get configmap t-ok-workload -o json 2>&1)"
  check "placement: workload has a controller owner reference to the VMPlacement" python3 -c '
import json, sys
cm, uid = json.loads(sys.argv[1]), sys.argv[2]
refs = cm["metadata"].get("ownerReferences", [])
ok = len(refs) == 1 and refs[0]["uid"] == uid and refs[0].get("controller") is True and refs[0]["kind"] == "VMPlacement" \
    and refs[0]["name"] == "t-ok" and refs[0].get("blockOwnerDeletion") is True
sys.exit(0 if ok else "ownerReferences %s, want uid %s" % (refs, uid))' "$cm" "$uid"
  check "placement: workload labels tie it to the placement" python3 -c '
import json, sys
labels = json.loads(sys.argv[1])["metadata"].get("labels", {})
want = {"app": "demo", "federation.dwcp.io/vmplacement": "t-ok", "federation.dwcp.io/region": sys.argv[2]}
sys.exit(0 if labels == want else "labels %s, want %s" % (labels, want))' "$cm" "$PL_LOCAL"
  check "placement: workload content from the template" test "$(k -n "$PL_NS" get configmap t-ok-workload -o jsonpath='{.data.size}')" = small
  check "placement: status.workloadRef names the workload" test \
    "$(pl_get t-ok '{.status.workloadRef.kind}/{.status.workloadRef.name}/{.status.workloadRef.uid}')" = \
    "ConfigMap/t-ok-workload/$(k -n "$PL_NS" get configmap t-ok-workload -o jsonpath='{.metadata.uid}')"

  pl_vm t-remote '{"resources": {"cpu": 1, "memoryMiB": 512}, "constraints": {"regions": ["us-east-1"]},
    "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t-remote-workload"}}}'
  check "placement: template in a remote region is left to that region" wait_until 30 pl_condition t-remote WorkloadReady Unknown RemoteRegion
  check "placement: no local workload for a remote placement" pl_gone configmap t-remote-workload

  k -n "$PL_NS" delete vmp t-ok >/dev/null
  check "placement: deleting the VM deletes its workload" wait_until 30 pl_gone configmap t-ok-workload

  pl_vm t-bad "{\"resources\": {\"cpu\": 1, \"memoryMiB\": 512}, \"constraints\": {\"regions\": [\"$PL_LOCAL\"]},
    \"template\": {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"Not_A_Valid_Name\"}}}"
  check "placement: rejected template -> WorkloadReady False TemplateRejected" wait_until 30 pl_condition t-bad WorkloadReady False TemplateRejected
  check "placement: rejection message quotes the API server" bash -c \
    "[[ \$('$KUBECTL' --kubeconfig '$KC' -n $PL_NS get vmp t-bad -o jsonpath='{.status.conditions[?(@.type==\"WorkloadReady\")].message}') == *Not_A_Valid_Name* ]]"
  check "placement: rejected template still Placed" pl_placed_in t-bad "$PL_LOCAL"
  check "placement: TemplateRejected event recorded" wait_until 30 pl_event t-bad TemplateRejected
  check "placement: operator still running after a rejected template" operator_running pl
  pl_delete_all "$PL_NS"
}

# pl_craft_ref NAME NAMESPACE CONFIGMAP: writes status.workloadRef of VMPlacement NAME through the
# /status subresource, naming a ConfigMap the operator did not make; then changes the spec and
# waits for the operator's verdict on it, so its cache holds the crafted status for certain.
pl_craft_ref() {
  local uid; uid="$(k -n "$2" get configmap "$3" -o jsonpath='{.metadata.uid}')"
  k -n "$PL_NS" patch vmp "$1" --subresource=status --type merge \
    -p "{\"status\": {\"workloadRef\": {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"namespace\": \"$2\", \"name\": \"$3\", \"uid\": \"$uid\"}}}" >/dev/null
  k -n "$PL_NS" patch vmp "$1" --type merge -p '{"spec": {"priority": 51}}' >/dev/null
}

pl_ref_is() {  # pl_ref_is NAME NAMESPACE/CONFIGMAP: the crafted ref is there and the spec change observed
  local got; got="$(pl_get "$1" '{.status.workloadRef.namespace}/{.status.workloadRef.name} {.metadata.generation} {.status.observedGeneration}')"
  local ref gen obs; read -r ref gen obs <<<"$got"
  [[ "$ref" == "$2" && "$gen" == "$obs" ]] || { echo "$1: workloadRef $ref, generation $gen, observed ${obs:-none}"; return 1; }
}

# The operator is no confused deputy: it deletes only the workload it made for a VMPlacement (a
# workloadRef written through /status to another object is refused) and materializes only the
# allowlisted, namespaced kinds.
pl_deputy() {
  local small="\"resources\": {\"cpu\": 1, \"memoryMiB\": 512}, \"constraints\": {\"regions\": [\"$PL_LOCAL\"]}"
  k create namespace pl-other >/dev/null
  k -n pl-other create configmap victim --from-literal=keep=yes >/dev/null
  k -n "$PL_NS" create configmap bystander --from-literal=keep=yes >/dev/null
  pl_vm d-other-ns "{$small}"
  pl_vm d-unowned "{$small}"
  check "deputy: VMs placed locally" wait_until 30 pl_placed_in d-other-ns "$PL_LOCAL"
  check "deputy: VMs placed locally (2)" wait_until 30 pl_placed_in d-unowned "$PL_LOCAL"
  pl_craft_ref d-other-ns pl-other victim
  pl_craft_ref d-unowned "$PL_NS" bystander
  check "deputy: workloadRef to another namespace written and seen by the operator" wait_until 30 pl_ref_is d-other-ns pl-other/victim
  check "deputy: workloadRef to an unowned ConfigMap written and seen by the operator" wait_until 30 pl_ref_is d-unowned "$PL_NS/bystander"
  k -n "$PL_NS" delete vmp d-other-ns d-unowned --wait=false >/dev/null
  check "deputy: the VMPlacements are deleted" wait_until 30 bash -c "! '$KUBECTL' --kubeconfig '$KC' -n $PL_NS get vmp d-other-ns d-unowned -o name 2>/dev/null | grep -q ."
  check "deputy: a ConfigMap in another namespace survives" test "$(k -n pl-other get configmap victim -o jsonpath='{.data.keep}')" = yes
  check "deputy: an unowned ConfigMap beside the VM survives" test "$(k -n "$PL_NS" get configmap bystander -o jsonpath='{.data.keep}')" = yes
  check "deputy: WorkloadRefRefused event recorded" wait_until 30 pl_event d-other-ns WorkloadRefRefused
  check "deputy: the refusal names the reason" wait_until 30 pl_event_says d-other-ns WorkloadRefRefused "not in the VMPlacement's namespace"

  pl_vm d-rolebinding "{$small, \"template\": {\"apiVersion\": \"rbac.authorization.k8s.io/v1\", \"kind\": \"RoleBinding\",
    \"metadata\": {\"name\": \"d-rolebinding-workload\"}, \"roleRef\": {\"apiGroup\": \"rbac.authorization.k8s.io\", \"kind\": \"ClusterRole\", \"name\": \"cluster-admin\"},
    \"subjects\": [{\"kind\": \"ServiceAccount\", \"name\": \"default\", \"namespace\": \"$PL_NS\"}]}}"
  check "deputy: RoleBinding template -> WorkloadReady False WorkloadKindNotAllowed" wait_until 30 pl_condition d-rolebinding WorkloadReady False WorkloadKindNotAllowed
  check "deputy: the refusal names the kind and the allowlist" bash -c \
    "[[ \$('$KUBECTL' --kubeconfig '$KC' -n $PL_NS get vmp d-rolebinding -o jsonpath='{.status.conditions[?(@.type==\"WorkloadReady\")].message}') == *'rbac.authorization.k8s.io/v1 RoleBinding is not allowed (allowed: kubevirt.io/v1 VirtualMachine, v1 ConfigMap, apps/v1 Deployment, apps/v1 StatefulSet)'* ]]"
  check "deputy: the placement stands" pl_placed_in d-rolebinding "$PL_LOCAL"
  check "deputy: no RoleBinding created" pl_gone rolebinding d-rolebinding-workload
  check "deputy: WorkloadKindNotAllowed event recorded" wait_until 30 pl_event d-rolebinding WorkloadKindNotAllowed
  pl_delete_all "$PL_NS"
  k -n "$PL_NS" delete configmap bystander >/dev/null
  k delete namespace pl-other --wait=false >/dev/null
}

pl_preemption() {
  # ap-south-1 has 1024 vCPUs: fill it exactly.
  local pin='"constraints": {"regions": ["ap-south-1"]}'
  pl_vm p-np "{\"resources\": {\"cpu\": 384, \"memoryMiB\": 1024}, \"priority\": 5, \"preemptible\": false, $pin}"
  pl_vm p-eq "{\"resources\": {\"cpu\": 256, \"memoryMiB\": 1024}, \"priority\": 90, \"preemptible\": true, $pin}"
  pl_vm p-small-1 "{\"resources\": {\"cpu\": 64, \"memoryMiB\": 1024}, \"priority\": 10, \"preemptible\": true, $pin}"
  pl_vm p-small-2 "{\"resources\": {\"cpu\": 64, \"memoryMiB\": 1024}, \"priority\": 10, \"preemptible\": true, $pin}"
  pl_vm p-big "{\"resources\": {\"cpu\": 256, \"memoryMiB\": 1024}, \"priority\": 20, \"preemptible\": true, $pin}"
  local vm
  for vm in p-np p-eq p-small-1 p-small-2 p-big; do
    check "preemption: $vm fills ap-south-1" wait_until 30 pl_placed_in "$vm" ap-south-1
  done
  # 256 vCPUs at priority 90: only p-big (one victim) or nothing; the smalls together are too few,
  # p-np is not preemptible and p-eq has the same priority.
  pl_vm p-high "{\"resources\": {\"cpu\": 256, \"memoryMiB\": 1024}, \"priority\": 90, $pin}"
  check "preemption: high-priority VM placed in the full region" wait_until 30 pl_placed_in p-high ap-south-1
  check "preemption: the single sufficient victim is Preempted" wait_until 30 pl_phase_is p-big Preempted
  check "preemption: victim's Placed condition False Preempted" pl_condition p-big Placed False Preempted
  # The victim's status.message is rewritten by its retry ("0/5 regions fit: ..."); the event keeps who.
  check "preemption: Preempted event names the preemptor" wait_until 30 pl_event_says p-big Preempted "preempted by $PL_NS/p-high"
  for vm in p-np p-eq p-small-1 p-small-2; do
    check "preemption: $vm kept" pl_placed_in "$vm" ap-south-1
  done

  # Another 256 at priority 90: the only eligible victims (the smalls, 128) are not enough; the
  # non-preemptible and the equal-priority VMs must not be touched.
  pl_vm p-high-2 "{\"resources\": {\"cpu\": 256, \"memoryMiB\": 1024}, \"priority\": 90, $pin}"
  check "preemption: no eligible victims -> Unschedulable" wait_until 30 pl_phase_is p-high-2 Unschedulable
  for vm in p-np p-eq p-small-1 p-small-2 p-high; do
    check "preemption: $vm never preempted (non-preemptible, equal priority or not enough)" pl_placed_in "$vm" ap-south-1
  done

  # Capacity comes back: the priority-90 VM gets it first (or preempts p-big again); once it is
  # gone too, the victim is re-placed.
  k -n "$PL_NS" delete vmp p-high >/dev/null
  check "preemption: freed capacity goes to the waiting high-priority VM" wait_until 30 pl_placed_in p-high-2 ap-south-1
  check "preemption: the low-priority victim still waits" wait_until 30 pl_phase_is p-big Preempted
  k -n "$PL_NS" delete vmp p-high-2 >/dev/null
  check "preemption: the victim is re-placed when capacity allows" wait_until 30 pl_placed_in p-big ap-south-1
  pl_delete_all "$PL_NS"
}

pl_concurrency() {
  local ns=placement-load dir="$WORK/placement-load"
  k create namespace "$ns" >/dev/null
  mkdir -p "$dir"
  # Contention: 100 VMs pinned to each of the local region and ap-south-1 (about 850 vCPUs asked,
  # 600 offered), 100 unconstrained.
  k patch rg "$PL_LOCAL" --type merge -p '{"spec":{"capacity":{"cpu":600}}}' >/dev/null
  k patch rg ap-south-1 --type merge -p '{"spec":{"capacity":{"cpu":600}}}' >/dev/null
  python3 - "$ns" "$dir" "$PL_LOCAL" <<'PY'
import json, sys
ns, out, local = sys.argv[1], sys.argv[2], sys.argv[3]
parts = 6
for p in range(parts):
    items = []
    for i in range(p, 300, parts):
        spec = {"resources": {"cpu": 1 + (i * 7) % 16, "memoryMiB": 1024 * (1 + i % 4), "storageGiB": 10 * (i % 5)}}
        if i % 3 == 0: spec["constraints"] = {"regions": [local]}
        if i % 3 == 1: spec["constraints"] = {"regions": ["ap-south-1"]}
        items.append({"apiVersion": "federation.dwcp.io/v1alpha1", "kind": "VMPlacement",
                      "metadata": {"name": "load-%03d" % i, "namespace": ns}, "spec": spec})
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open("%s/part-%d.json" % (out, p), "w"))
PY
  local p pids=()
  for p in 0 1 2 3 4 5; do k create -f "$dir/part-$p.json" >/dev/null & pids+=($!); done
  wait "${pids[@]}"
  check "concurrency: 300 VMPlacements created" test "$(k -n "$ns" get vmp --no-headers | wc -l)" = 300
  check "concurrency: after 300 concurrent creates, allocated == sum of placed, none over capacity" wait_until 120 pl_accounting
  log "$(pl_accounting)"

  # Delete every other one, from five processes at once.
  pids=()
  for p in 0 1 2 3 4; do
    k -n "$ns" delete vmp --wait=false $(seq -f "load-%03g" $((p * 2)) 10 299) >/dev/null & pids+=($!)
  done
  wait "${pids[@]}"
  check "concurrency: 150 deleted" wait_until 60 bash -c "[[ \$('$KUBECTL' --kubeconfig '$KC' -n $ns get vmp --no-headers | wc -l) == 150 ]]"
  check "concurrency: after 150 concurrent deletes, allocated == sum of placed, waiting VMs placed" wait_until 120 pl_accounting
  log "$(pl_accounting)"
  check "concurrency: placement latency histogram observed" test \
    "$(metric pl 'dwcp_federation_placement_latency_seconds_count' | cut -d. -f1)" -ge 300
  check "concurrency: no error reconciles" test "$(metric pl 'controller_runtime_reconcile_total{controller="vmplacement",result="error"}')" = 0
}

test_placement() {
  start_controlplane placement
  install_crds >/dev/null
  k apply -f "$ROOT/examples/regions.yaml" >/dev/null
  k create namespace "$PL_NS" >/dev/null
  start_operator pl "$PL_LOCAL"
  check "placement: operator ready" wait_until 60 operator_ready pl
  check "placement: local region Healthy" wait_until 30 local_ok "$PL_LOCAL" Healthy

  pl_constraints
  pl_unschedulable
  pl_delete_frees
  pl_templates
  pl_deputy
  pl_preemption
  pl_concurrency

  check "placement: operator still running" operator_running pl
  stop_operator pl TERM
  check "placement: SIGTERM exits 0" test "$STOP_CODE" = 0
}
