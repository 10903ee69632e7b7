// The VMPlacement controller's decision: placement, the finalizer, the ledger under lagging caches
// and concurrent reconciles, spec changes, preemption, status writes and what enqueues whom.
// The workload part's tests are in workload_test.cpp; the fixture in testing/vmplacement_fixture.h.
#include "controllers/vmplacement_controller.h"

#include <gtest/gtest.h>

#include "controllers/testing/vmplacement_fixture.h"

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;

// A new VM: status first (one round trip to Placed), then the finalizer.

// A status written around the schema (another writer, an old version) is not the spec's fault:
// the VM is placed from scratch and the write replaces what this controller owns of it.
TEST_F(VMPlacementControllerTest, AStatusThatDoesNotParseStartsOverInsteadOfFailingTheVM) {
  addRegions(exampleRegions());
  json vm = exampleVM();
  vm["status"] = {{"phase", "Placed"}, {"score", "high"}, {"epoch", "one"}};
  api_.put(vm);
  start();

  auto result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;
  const json status = api_.server(keyOf("web-frontend-01"))["status"];
  EXPECT_EQ(status["phase"], "Placed") << status.dump();
  EXPECT_TRUE(status["score"].is_number()) << status.dump();
  EXPECT_EQ(status["epoch"], 1) << "an epoch that does not parse counts as none";
  EXPECT_EQ(conditionOf(status, "Placed")["reason"], "Placed") << status.dump();
}

TEST_F(VMPlacementControllerTest, NewVMGetsAPlacedStatusThenTheFinalizer) {
  addRegions(exampleRegions());
  api_.put(exampleVM());
  start();

  auto result = reconcile("web-frontend-01");
  ASSERT_TRUE(result.ok()) << *result.error;
  EXPECT_FALSE(result.requeueAfter.has_value());

  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_EQ(requests[0].path.substr(0, requests[0].path.find('?')), std::string(kVMPath) + "web-frontend-01/status");
  EXPECT_EQ(requests[0].contentType, "application/apply-patch+yaml");
  const json written = json::parse(requests[0].body);
  EXPECT_EQ(written["status"]["phase"], "Placed");

  EXPECT_EQ(requests[1].method, "PATCH");
  // Under the same field manager as the status: managedFields name one writer, the operator.
  EXPECT_EQ(requests[1].path, std::string(kVMPath) + "web-frontend-01?fieldManager=" + kFieldManager);
  EXPECT_EQ(requests[1].contentType, "application/json-patch+json");
  json patch = json::parse(requests[1].body);
  ASSERT_TRUE(patch.is_array());
  // No list yet: guarded by the resourceVersion the status write returned, not the cache's.
  EXPECT_EQ(patch[0]["op"], "test");
  EXPECT_EQ(patch[0]["path"], "/metadata/resourceVersion");
  EXPECT_NE(patch[0]["value"], written["metadata"]["resourceVersion"]);
  EXPECT_EQ(patch.back()["op"], "add");
  EXPECT_EQ(patch.back()["value"], json::array({kPlacementFinalizer}));
  EXPECT_EQ(api_.server(keyOf("web-frontend-01"))["metadata"]["finalizers"], json::array({kPlacementFinalizer}));

  const json status = api_.server(keyOf("web-frontend-01"))["status"];
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["phase"], "Placed");
  const std::string chosen = status["region"].get<std::string>();
  // gdpr in Europe within 50 ms of Paris: the two EU regions.
  EXPECT_TRUE(chosen == "eu-west-1" || chosen == "eu-central-1") << chosen;
  ASSERT_TRUE(status["candidates"].is_array());
  ASSERT_EQ(status["candidates"].size(), 2u);
  EXPECT_EQ(status["candidates"][0]["region"], chosen);
  EXPECT_EQ(status["score"], status["candidates"][0]["score"]);
  EXPECT_GT(status["score"].get<double>(), 0);
  EXPECT_TRUE(startsWith(status["message"].get<std::string>(), "2/5 regions fit: ")) << status["message"];
  EXPECT_EQ(status["placedAt"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(status["epoch"], 1);
  EXPECT_EQ(status["observedGeneration"], 1);
  EXPECT_FALSE(status.contains("workloadRef"));
  json placed = conditionOf(status, "Placed");
  ASSERT_TRUE(placed.is_object()) << status.dump();
  EXPECT_EQ(placed["status"], "True");
  EXPECT_EQ(placed["reason"], "Placed");
  EXPECT_EQ(placed["observedGeneration"], 1);
  EXPECT_EQ(placed["lastTransitionTime"], "2026-01-01T00:00:00Z");

  // What was written parses as a VMPlacement status.
  EXPECT_TRUE(api::parseVMPlacementStatus(status).ok());
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("web-frontend-01"), chosen}}));
  EXPECT_EQ(decisions_, std::vector<std::string>{"placed"});
}

TEST_F(VMPlacementControllerTest, GoneVMIsForgottenWithoutRequests) {
  addRegions({region("r1", 10)});
  api_.put(withStatus(vmObject("a", 3), "Placed", "r1"));
  start();
  controller_->seedLedger();
  ASSERT_EQ(controller_->ledger().size(), 1u);
  vms_.erase(keyOf("a"));

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(controller_->ledger().empty());
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(VMPlacementControllerTest, FinalizerConflictAfterPlacementRequeuesAndTheRetryOnlyAddsIt) {
  addRegions({region("r1", 10)});
  api_.put(vmObject("a", 3));
  transport_->expectPath("PATCH", std::string(kVMPath) + "a", statusError(409, "Conflict"));
  start();

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(result.conflicted());  // retried promptly through the per-key backoff
  ASSERT_EQ(api_.statusWrites().size(), 1u);  // placed: the capacity is held and counted
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("a"), "r1"}}));

  // The retry sees a placed VM without the finalizer: the finalizer comes first, the status
  // is already current, nothing is placed twice.
  api_.catchUp();
  const size_t before = transport_->requests().size();
  result = reconcile("a");
  EXPECT_TRUE(result.ok() && !result.requeueAfter);
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), before + 1);
  EXPECT_EQ(requests.back().method, "PATCH");
  EXPECT_FALSE(toStatus(requests.back()));
  EXPECT_EQ(api_.statusWrites().size(), 1u);
  EXPECT_EQ(api_.server(keyOf("a"))["metadata"]["finalizers"], json::array({kPlacementFinalizer}));
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("a"), "r1"}}));
}

TEST_F(VMPlacementControllerTest, FinalizerServerErrorAfterPlacementIsAFailureThatKeepsTheCapacity) {
  addRegions({region("r1", 10)});
  api_.put(vmObject("a", 3));
  transport_->expectPath("PATCH", std::string(kVMPath) + "a", statusError(500, "InternalError"));
  start();

  auto result = reconcile("a");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(api_.statusWrites().size(), 1u);
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("a"), "r1"}}));
}

TEST_F(VMPlacementControllerTest, PlacedVMWithoutFinalizerGetsItBeforeAnythingElse) {
  addRegions({region("r1", 10)});
  json placed = withStatus(vmObject("a", 3), "Placed", "r1");
  placed["metadata"].erase("finalizers");  // e.g. placed before a restart, finalizer write failed
  api_.put(placed);
  transport_->expectPath("PATCH", std::string(kVMPath) + "a", statusError(500, "InternalError"));
  start();

  auto result = reconcile("a");
  EXPECT_FALSE(result.ok());
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);  // no status write before the finalizer is on
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_FALSE(toStatus(requests[0]));
}

TEST_F(VMPlacementControllerTest, FinalizerAlreadySetAtCreateCostsNoExtraWrite) {
  addRegions({region("r1", 10)});
  json vm = vmObject("a", 3);
  vm["metadata"]["finalizers"] = json::array({kPlacementFinalizer});  // as the admission policy sets it
  api_.put(vm);
  start();

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok() && !result.requeueAfter);
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_TRUE(toStatus(requests[0]));
}

TEST_F(VMPlacementControllerTest, UnschedulableVMHoldsNoCapacityAndGetsNoFinalizer) {
  addRegions({region("r1", 10)});
  api_.put(vmObject("huge", 3000));
  start();

  auto result = reconcile("huge");
  EXPECT_TRUE(result.ok() && !result.requeueAfter);
  EXPECT_EQ(objectPatches().size(), 0u);
  ASSERT_EQ(api_.statusWrites().size(), 1u);
  EXPECT_EQ(api_.statusWrites()[0].second["phase"], "Unschedulable");
}

TEST_F(VMPlacementControllerTest, VMDeletedBeforeItsFinalizerReleasesItsCapacity) {
  addRegions({region("r1", 10)});
  api_.put(vmObject("a", 6));
  api_.put(vmObject("b", 6));
  // The finalizer patch finds the VM gone: it was deleted right after its status write.
  transport_->expectPath("PATCH", std::string(kVMPath) + "a", statusError(404, "NotFound"));
  start();

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok() && !result.requeueAfter);
  EXPECT_TRUE(controller_->ledger().empty());  // gone: it holds nothing
  // The watch DELETE changes nothing; b, waiting on the same capacity, then fits.
  const json gone = api_.server(keyOf("a"));
  vms_.erase(keyOf("a"));
  vmHandler_.onDelete(*vms_.decode(gone));
  EXPECT_TRUE(controller_->ledger().empty());
  result = reconcile("b");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("b"), "r1"}}));
}

// ---------------------------------------------------------------------------------------------
// Unschedulable: the message says why, and an event is recorded once per distinct message.

TEST_F(VMPlacementControllerTest, UnschedulableExplainsEveryRegionAndRecordsOneEventPerMessage) {
  addRegions(exampleRegions());
  json vm = vmObject("big", 3000);
  vm["spec"]["constraints"] = {{"compliance", {"gdpr"}}};
  api_.put(vm);
  kube::EventRecorder events(client_, clock_, {"dwcp.io/federation-operator", "test"});
  start("", &events);

  ASSERT_TRUE(reconcile("big").ok());
  events.processPending();

  json status = api_.server(keyOf("big"))["status"];
  EXPECT_EQ(status["phase"], "Unschedulable");
  EXPECT_EQ(status["message"], "0/5 regions fit: 3 lack compliance gdpr, 2 insufficient cpu");
  for (const char* field : {"region", "score", "candidates", "placedAt", "epoch", "workloadRef"}) {
    EXPECT_FALSE(status.contains(field)) << field;
  }
  EXPECT_EQ(status["observedGeneration"], 1);
  json placed = conditionOf(status, "Placed");
  ASSERT_TRUE(placed.is_object());
  EXPECT_EQ(placed["status"], "False");
  EXPECT_EQ(placed["reason"], "Unschedulable");
  EXPECT_EQ(placed["message"], status["message"]);
  EXPECT_TRUE(controller_->ledger().empty());
  EXPECT_EQ(decisions_, std::vector<std::string>{"unschedulable"});

  auto posted = requestsTo("POST", kEventsPath);
  ASSERT_EQ(posted.size(), 1u);
  json event = json::parse(posted[0].body);
  EXPECT_EQ(event["reason"], "Unschedulable");
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["note"], status["message"]);
  EXPECT_EQ(event["regarding"]["name"], "big");

  // The same verdict again: no new event (not even a series bump) and no status write.
  api_.catchUp();
  ASSERT_TRUE(reconcile("big").ok());
  events.processPending();
  EXPECT_EQ(requestsTo("POST", kEventsPath).size(), 1u);
  EXPECT_EQ(requestsTo("PATCH", kEventsPath).size(), 0u);
  EXPECT_EQ(api_.statusWritesOf(keyOf("big")).size(), 1u);

  // A sixth region changes the verdict's text: a new status and a new event.
  regions_.upsert(region("eu-north-1", 8, {"soc2"}));
  regionHandler_.onAdd(*regions_.get("eu-north-1"));
  ASSERT_TRUE(reconcile("big").ok());
  events.processPending();
  status = api_.server(keyOf("big"))["status"];
  EXPECT_EQ(status["message"], "0/6 regions fit: 4 lack compliance gdpr, 2 insufficient cpu");
  EXPECT_EQ(api_.statusWritesOf(keyOf("big")).size(), 2u);
  EXPECT_EQ(requestsTo("POST", kEventsPath).size(), 2u);
}

TEST_F(VMPlacementControllerTest, UnschedulableBecomesPlacedWhenARegionGrows) {
  json small = region("r1", 2);
  addRegions({small});
  api_.put(vmObject("a", 4));
  start();
  ASSERT_TRUE(reconcile("a").ok());
  EXPECT_EQ(api_.server(keyOf("a"))["status"]["phase"], "Unschedulable");
  EXPECT_EQ(api_.server(keyOf("a"))["status"]["message"],
            "0/1 regions fit: 1 insufficient cpu");
  api_.catchUp();

  json grown = small;
  grown["spec"]["capacity"]["cpu"] = 8;
  grown["metadata"]["generation"] = 2;
  grown["metadata"]["resourceVersion"] = "51";
  regions_.upsert(grown);
  regionHandler_.onUpdate(*regions_.decode(small), *regions_.decode(grown));
  EXPECT_EQ(enqueuedKeys(), std::set<std::string>{keyOf("a")});

  ASSERT_TRUE(reconcile("a").ok());
  json status = api_.server(keyOf("a"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  EXPECT_EQ(status["region"], "r1");
  EXPECT_EQ(status["epoch"], 1);
  EXPECT_EQ(conditionOf(status, "Placed")["status"], "True");
}

// ---------------------------------------------------------------------------------------------
// The ledger: decisions count before the cache sees them.

TEST_F(VMPlacementControllerTest, LedgerNeverOverCommitsWhileTheCacheLags) {
  addRegions({region("r1", 10)});
  for (int i = 0; i < 10; ++i) api_.put(vmObject("vm-" + std::to_string(i), 3));
  start();

  for (int i = 0; i < 10; ++i) ASSERT_TRUE(reconcile("vm-" + std::to_string(i)).ok()) << i;

  int placed = 0, unschedulable = 0;
  for (const auto& [key, status] : api_.statusWrites()) {
    if (status["phase"] == "Placed") {
      ++placed;
      EXPECT_EQ(status["region"], "r1");
    } else {
      ++unschedulable;
      EXPECT_EQ(status["phase"], "Unschedulable");
      EXPECT_EQ(status["message"], "0/1 regions fit: 1 insufficient cpu");
    }
  }
  EXPECT_EQ(placed, 3);
  EXPECT_EQ(unschedulable, 7);
  EXPECT_EQ(controller_->ledger().size(), 3u);

  // Once the cache caught up, reconciling everyone again changes nothing.
  api_.catchUp();
  const size_t writes = api_.statusWrites().size();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(reconcile("vm-" + std::to_string(i)).ok()) << i;
  EXPECT_EQ(api_.statusWrites().size(), writes);
  EXPECT_EQ(controller_->ledger().size(), 3u);
}

TEST_F(VMPlacementControllerTest, ConcurrentReconcilesNeverOverCommit) {
  addRegions({region("r1", 10), region("r2", 7)});
  constexpr int kVMs = 40;
  for (int i = 0; i < kVMs; ++i) api_.put(vmObject("vm-" + std::to_string(i), 3));
  start();

  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = next++; i < kVMs; i = next++) {
        auto result = reconcile("vm-" + std::to_string(i));
        EXPECT_TRUE(result.ok() && !result.requeueAfter) << i;
      }
    });
  }
  for (auto& t : workers) t.join();

  std::map<std::string, int> cpuByRegion;
  int placed = 0;
  for (int i = 0; i < kVMs; ++i) {
    json status = api_.server(keyOf("vm-" + std::to_string(i)))["status"];
    if (status["phase"] == "Placed") {
      ++placed;
      cpuByRegion[status["region"].get<std::string>()] += 3;
    } else {
      EXPECT_EQ(status["phase"], "Unschedulable");
    }
  }
  EXPECT_EQ(placed, 5);  // 3 in r1 (cpu 10), 2 in r2 (cpu 7)
  EXPECT_EQ(cpuByRegion["r1"], 9);
  EXPECT_EQ(cpuByRegion["r2"], 6);
  EXPECT_EQ(controller_->ledger().size(), 5u);
}

TEST_F(VMPlacementControllerTest, SeedLedgerCountsPlacedAndMigratingVMs) {
  addRegions({region("r1", 10)});
  api_.put(withStatus(vmObject("a", 4), "Placed", "r1"));
  api_.put(withStatus(vmObject("b", 4), "Placed", "r1"));
  api_.put(withStatus(vmObject("m", 1), "Migrating", "r1"));
  api_.put(withStatus(vmObject("u", 4), "Unschedulable"));
  api_.put(withStatus(vmObject("p", 4), "Preempted"));
  api_.put(vmObject("new-big", 2));
  api_.put(vmObject("new-small", 1));
  start();
  controller_->seedLedger();

  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{
                                       {keyOf("a"), "r1"}, {keyOf("b"), "r1"}, {keyOf("m"), "r1"}}));

  // 9 of 10 cpus are held: 2 do not fit, 1 does.
  ASSERT_TRUE(reconcile("new-big").ok());
  EXPECT_EQ(api_.server(keyOf("new-big"))["status"]["phase"], "Unschedulable");
  EXPECT_EQ(api_.server(keyOf("new-big"))["status"]["message"], "0/1 regions fit: 1 insufficient cpu");
  ASSERT_TRUE(reconcile("new-small").ok());
  EXPECT_EQ(api_.server(keyOf("new-small"))["status"]["phase"], "Placed");
}

TEST_F(VMPlacementControllerTest, PlacedVMWithUnchangedSpecIsAssumedWithoutWrites) {
  addRegions({region("r1", 10)});
  api_.put(withStatus(vmObject("a", 8), "Placed", "r1"));
  api_.put(vmObject("b", 4));
  start();  // no seedLedger: reconciling a placed VM adds it

  ASSERT_TRUE(reconcile("a").ok());
  EXPECT_TRUE(api_.statusWrites().empty());
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("a"), "r1"}}));
  ASSERT_TRUE(reconcile("b").ok());
  EXPECT_EQ(api_.server(keyOf("b"))["status"]["phase"], "Unschedulable");
}

// ---------------------------------------------------------------------------------------------
// Deletion: cleanup, release, finalizer removal, waiting VMs retried.

TEST_F(VMPlacementControllerTest, DeletionDeletesTheWorkloadReleasesCapacityAndRemovesTheFinalizer) {
  addRegions({region("r1", 10)});
  json gone = withStatus(vmObject("gone", 8), "Placed", "r1");
  gone["metadata"]["finalizers"] = {kPlacementFinalizer, "other.dwcp.io/keep"};
  gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  gone["status"]["workloadRef"] = {{"apiVersion", "kubevirt.io/v1"},
                                   {"kind", "VirtualMachine"},
                                   {"namespace", "default"},
                                   {"name", "gone-vm"},
                                   {"uid", "uid-workload-gone-vm"}};
  api_.put(gone);
  api_.putWorkload(std::string(kWorkloadPath) + "gone-vm",
                   ownedWorkload("kubevirt.io/v1", "VirtualMachine", "default", "gone-vm", "gone"));
  api_.put(withStatus(vmObject("unschedulable", 4), "Unschedulable"));
  api_.put(withStatus(vmObject("preempted", 4), "Preempted"));
  api_.put(withStatus(vmObject("pending", 1), "Pending"));
  api_.put(vmObject("fresh", 1));
  api_.put(withStatus(vmObject("placed", 1), "Placed", "r1"));
  api_.put(withStatus(vmObject("failed", 1), "Failed"));
  json deleting = withStatus(vmObject("deleting", 1), "Unschedulable");
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  api_.put(deleting);
  start();
  controller_->seedLedger();
  ASSERT_EQ(controller_->ledger().count(keyOf("gone")), 1u);

  auto result = reconcile("gone");
  ASSERT_TRUE(result.ok()) << *result.error;

  auto deletes = requestsTo("DELETE", "/");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].path, std::string(kWorkloadPath) + "gone-vm");
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("placed"), "r1"}}));

  auto patches = objectPatches();
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_EQ(patches[0].path, std::string(kVMPath) + "gone?fieldManager=" + kFieldManager);
  json patch = json::parse(patches[0].body);
  ASSERT_EQ(patch.size(), 2u);
  EXPECT_EQ(patch[0]["op"], "test");
  EXPECT_EQ(patch[0]["value"], json({kPlacementFinalizer, "other.dwcp.io/keep"}));
  EXPECT_EQ(api_.server(keyOf("gone"))["metadata"]["finalizers"], json({"other.dwcp.io/keep"}));
  // The workload went before the finalizer did.
  auto all = transport_->requests();
  auto position = [&](const std::string& method) {
    return std::find_if(all.begin(), all.end(), [&](const kube::Request& r) { return r.method == method; }) -
           all.begin();
  };
  EXPECT_LT(position("DELETE"), position("PATCH"));  // no status write: the first PATCH is the finalizer's
  EXPECT_TRUE(api_.statusWrites().empty());

  EXPECT_EQ(enqueuedKeys(), (std::set<std::string>{keyOf("unschedulable"), keyOf("preempted"), keyOf("pending"),
                                                   keyOf("fresh")}));

  // The freed capacity takes a waiting VM.
  ASSERT_TRUE(reconcile("unschedulable").ok());
  EXPECT_EQ(api_.server(keyOf("unschedulable"))["status"]["phase"], "Placed");
}

TEST_F(VMPlacementControllerTest, DeletionWithoutOurFinalizerDoesNothing) {
  addRegions({region("r1", 10)});
  json vm = vmObject("a", 1);
  vm["metadata"]["finalizers"] = {"other.dwcp.io/keep"};
  vm["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  api_.put(vm);
  start();
  EXPECT_TRUE(reconcile("a").ok());
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(VMPlacementControllerTest, DeletionRetriesWhenTheWorkloadDeleteFails) {
  addRegions({region("r1", 10)});
  json vm = withStatus(vmObject("a", 1), "Placed", "r1");
  vm["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  vm["status"]["workloadRef"] = {{"apiVersion", "kubevirt.io/v1"}, {"kind", "VirtualMachine"},
                                 {"namespace", "default"}, {"name", "a"}};
  api_.put(vm);
  api_.putWorkload(std::string(kWorkloadPath) + "a", ownedWorkload("kubevirt.io/v1", "VirtualMachine", "default", "a", "a"));
  transport_->expect("DELETE", kWorkloadPath, statusError(500, "InternalError"));
  start();
  controller_->seedLedger();

  auto result = reconcile("a");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(objectPatches().size(), 0u);  // the finalizer stays
  EXPECT_EQ(controller_->ledger().count(keyOf("a")), 1u);

  // A workload already gone (404) is fine.
  transport_->expect("DELETE", kWorkloadPath, statusError(404, "NotFound"));
  result = reconcile("a");
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(objectPatches().size(), 1u);
  EXPECT_TRUE(controller_->ledger().empty());
}

// ---------------------------------------------------------------------------------------------
// A placed VM's spec changes.

TEST_F(VMPlacementControllerTest, SpecChangeThatStillFitsKeepsTheRegion) {
  addRegions(exampleRegions());
  json vm = withStatus(vmObject("a", 4), "Placed", "us-east-1", 3);
  vm["status"]["placedAt"] = "2025-12-01T00:00:00Z";
  vm["metadata"]["generation"] = 2;  // spec changed: cpu 4 -> 8
  vm["spec"]["resources"]["cpu"] = 8;
  api_.put(vm);
  start();
  controller_->seedLedger();

  auto result = reconcile("a");
  ASSERT_TRUE(result.ok()) << *result.error;
  json status = api_.server(keyOf("a"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  EXPECT_EQ(status["region"], "us-east-1");
  EXPECT_EQ(status["epoch"], 3);
  EXPECT_EQ(status["observedGeneration"], 2);
  EXPECT_EQ(status["placedAt"], "2025-12-01T00:00:00Z");
  EXPECT_EQ(status["message"], "spec changed; region us-east-1 still satisfies every constraint");
  EXPECT_EQ(conditionOf(status, "Placed")["observedGeneration"], 2);
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("a"), "us-east-1"}}));
  EXPECT_TRUE(decisions_.empty());  // no placement decision was needed
}

TEST_F(VMPlacementControllerTest, SpecChangeThatNoLongerFitsMovesTheVM) {
  addRegions(exampleRegions());
  json vm = withStatus(vmObject("a", 4), "Placed", "us-east-1", 3);
  vm["metadata"]["generation"] = 2;
  vm["spec"]["constraints"] = {{"compliance", {"gdpr"}}};
  api_.put(vm);
  start();
  controller_->seedLedger();

  auto result = reconcile("a");
  ASSERT_TRUE(result.ok()) << *result.error;
  json status = api_.server(keyOf("a"))["status"];
  EXPECT_EQ(status["phase"], "Placed");
  const std::string moved = status["region"].get<std::string>();
  EXPECT_TRUE(moved == "eu-west-1" || moved == "eu-central-1") << moved;
  EXPECT_EQ(status["epoch"], 4);
  EXPECT_EQ(status["observedGeneration"], 2);
  EXPECT_TRUE(startsWith(status["message"].get<std::string>(),
                         "region us-east-1 no longer fits: lacks compliance gdpr; 2/5 regions fit"))
      << status["message"];
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("a"), moved}}));
}

TEST_F(VMPlacementControllerTest, SpecChangeThatFitsNowhereReleasesTheRegion) {
  addRegions({region("r1", 10)});
  json vm = withStatus(vmObject("a", 4), "Placed", "r1", 2);
  vm["metadata"]["generation"] = 2;
  vm["spec"]["resources"]["cpu"] = 12;
  api_.put(vm);
  start();
  controller_->seedLedger();

  ASSERT_TRUE(reconcile("a").ok());
  json status = api_.server(keyOf("a"))["status"];
  EXPECT_EQ(status["phase"], "Unschedulable");
  EXPECT_FALSE(status.contains("region"));
  EXPECT_TRUE(startsWith(status["message"].get<std::string>(), "region r1 no longer fits: insufficient cpu"))
      << status["message"];
  EXPECT_TRUE(controller_->ledger().empty());
}

// ---------------------------------------------------------------------------------------------
// Preemption.

struct Existing {
  const char* name;
  int64_t cpu;
  int priority;
  bool preemptible;
};

struct PreemptionCase {
  const char* name;
  std::vector<Existing> existing;  // all Placed in r1 (cpu 8)
  int64_t cpu;                     // the newcomer's, at priority 60
  std::set<std::string> wantVictims;
  bool wantPlaced;
  bool enablePreemption = true;
};

void PrintTo(const PreemptionCase& c, std::ostream* os) { *os << c.name; }

class PreemptionTest : public VMPlacementControllerTest, public ::testing::WithParamInterface<PreemptionCase> {};

TEST_P(PreemptionTest, DisplacesOnlyLowerPriorityPreemptibleVMs) {
  const PreemptionCase& c = GetParam();
  addRegions({region("r1", 8)});
  for (const auto& e : c.existing) api_.put(withStatus(vmObject(e.name, e.cpu, e.priority, e.preemptible), "Placed", "r1", 5));
  api_.put(vmObject("urgent", c.cpu, 60));
  placement::EngineConfig engine;
  engine.enablePreemption = c.enablePreemption;
  start("", nullptr, engine);
  controller_->seedLedger();

  auto result = reconcile("urgent");
  ASSERT_TRUE(result.ok()) << *result.error;

  std::set<std::string> preempted;
  for (const auto& [key, status] : api_.statusWrites()) {
    if (key == keyOf("urgent")) continue;
    EXPECT_EQ(status["phase"], "Preempted") << key;
    EXPECT_FALSE(status.contains("region")) << key;
    EXPECT_FALSE(status.contains("score")) << key;
    EXPECT_EQ(status["epoch"], 6) << key;
    EXPECT_EQ(status["message"], "preempted by default/urgent (priority 60) to free capacity in r1; waiting for capacity");
    json placed = conditionOf(status, "Placed");
    EXPECT_EQ(placed["status"], "False");
    EXPECT_EQ(placed["reason"], "Preempted");
    preempted.insert(key.substr(std::string("default/").size()));
  }
  EXPECT_EQ(preempted, c.wantVictims);

  json status = api_.server(keyOf("urgent"))["status"];
  std::map<std::string, std::string> wantLedger;
  for (const auto& e : c.existing) {
    if (!c.wantVictims.count(e.name)) wantLedger[keyOf(e.name)] = "r1";
  }
  if (c.wantPlaced) {
    EXPECT_EQ(status["phase"], "Placed");
    EXPECT_EQ(status["region"], "r1");
    wantLedger[keyOf("urgent")] = "r1";
  } else {
    EXPECT_EQ(status["phase"], "Unschedulable");
  }
  EXPECT_EQ(controller_->ledger(), wantLedger);
  // The victims' statuses were written before the preemptor's.
  auto writes = api_.statusWrites();
  ASSERT_FALSE(writes.empty());
  EXPECT_EQ(writes.back().first, keyOf("urgent"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PreemptionTest,
    ::testing::Values(
        PreemptionCase{"LowestOfTwoCandidates", {{"low10", 4, 10, true}, {"low20", 4, 20, true}}, 4, {"low10"}, true},
        PreemptionCase{"FewestVictims",
                       {{"tiny1", 2, 5, true}, {"tiny2", 2, 5, true}, {"mid", 4, 30, true}},
                       4,
                       {"mid"},
                       true},
        PreemptionCase{"TwoVictimsWhenNeeded",
                       {{"a10", 2, 10, true}, {"b20", 2, 20, true}, {"keep", 4, 90, true}},
                       4,
                       {"a10", "b20"},
                       true},
        PreemptionCase{"NeverEqualPriority", {{"eq", 4, 60, true}, {"also-eq", 4, 60, true}}, 4, {}, false},
        PreemptionCase{"NeverHigherPriority", {{"hi", 8, 90, true}}, 4, {}, false},
        PreemptionCase{"NeverNonPreemptible", {{"np1", 4, 10, false}, {"np2", 4, 10, false}}, 4, {}, false},
        PreemptionCase{"NotWhenDisabled", {{"low10", 4, 10, true}, {"low20", 4, 20, true}}, 4, {}, false, false},
        PreemptionCase{"NotWhenItFitsAnyway", {{"low10", 4, 10, true}}, 4, {}, true}),
    [](const ::testing::TestParamInfo<PreemptionCase>& info) { return std::string(info.param.name); });

// The sum of cpu the server's Placed VMs hold in a region.
int64_t placedCpu(FakeApi& api, const std::vector<std::string>& names, const std::string& regionName) {
  int64_t cpu = 0;
  for (const auto& name : names) {
    json object = api.server(keyOf(name));
    if (object.value("/status/phase"_json_pointer, std::string()) == "Placed" &&
        object.value("/status/region"_json_pointer, std::string()) == regionName) {
      cpu += object["spec"]["resources"]["cpu"].get<int64_t>();
    }
  }
  return cpu;
}

// A victim whose status write conflicts (the cache is behind) is not preempted: it keeps its
// capacity and its workload, the preemptor is not placed, and the retry preempts it properly.
TEST_F(VMPlacementControllerTest, VictimStatusConflictRollsBackThePreemption) {
  addRegions({region("r1", 8)});
  json victim = withStatus(vmObject("low10", 4, 10, true), "Placed", "r1", 5);
  victim["status"]["workloadRef"] = {{"apiVersion", "kubevirt.io/v1"}, {"kind", "VirtualMachine"},
                                     {"namespace", "default"}, {"name", "low10"}};
  api_.put(victim);
  api_.putWorkload(std::string(kWorkloadPath) + "low10",
                   ownedWorkload("kubevirt.io/v1", "VirtualMachine", "default", "low10", "low10"));
  api_.put(withStatus(vmObject("low20", 4, 20, true), "Placed", "r1", 5));
  api_.put(withStatus(vmObject("urgent", 4, 60), "Pending"));
  api_.put(withStatus(vmObject("bystander", 4, 5), "Pending"));  // too low to preempt anyone
  transport_->expect("PATCH", std::string(kVMPath) + "low10/status", statusError(409, "Conflict"));
  start("r1");
  controller_->seedLedger();
  const std::vector<std::string> names = {"low10", "low20", "urgent", "bystander"};

  auto result = reconcile("urgent");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(result.conflicted());  // retried promptly through the per-key backoff, not as an error
  EXPECT_EQ(api_.server(keyOf("low10"))["status"]["phase"], "Placed");
  EXPECT_EQ(api_.server(keyOf("urgent"))["status"]["phase"], "Pending");
  EXPECT_EQ(requestsTo("DELETE", kWorkloadPath).size(), 0u);  // its workload still runs
  EXPECT_EQ(controller_->ledger().count(keyOf("low10")), 1u);
  EXPECT_LE(placedCpu(api_, names, "r1"), 8);

  // Meanwhile nobody else gets the capacity the failed preemption did not free.
  ASSERT_TRUE(reconcile("bystander").ok());
  EXPECT_EQ(api_.server(keyOf("bystander"))["status"]["phase"], "Unschedulable");

  // The retry preempts the victim for real.
  api_.catchUp();
  result = reconcile("urgent");
  ASSERT_TRUE(result.ok()) << *result.error;
  EXPECT_EQ(api_.server(keyOf("low10"))["status"]["phase"], "Preempted");
  EXPECT_EQ(api_.server(keyOf("urgent"))["status"]["phase"], "Placed");
  EXPECT_EQ(requestsTo("DELETE", kWorkloadPath).size(), 1u);
  EXPECT_LE(placedCpu(api_, names, "r1"), 8);
  EXPECT_EQ(controller_->ledger(),
            (std::map<std::string, std::string>{{keyOf("low20"), "r1"}, {keyOf("urgent"), "r1"}}));
}

TEST_F(VMPlacementControllerTest, PreemptedVMStaysPreemptedWhileNothingFits) {
  addRegions({region("r1", 4)});
  api_.put(withStatus(vmObject("high", 4, 90), "Placed", "r1"));
  json victim = withStatus(vmObject("victim", 4, 10, true), "Preempted", "", 2);
  victim["status"]["message"] = "preempted by default/high (priority 90) to free capacity in r1; waiting for capacity";
  api_.put(victim);
  start();
  controller_->seedLedger();

  ASSERT_TRUE(reconcile("victim").ok());
  json status = api_.server(keyOf("victim"))["status"];
  EXPECT_EQ(status["phase"], "Preempted");
  EXPECT_EQ(status["epoch"], 2);
  EXPECT_EQ(conditionOf(status, "Placed")["reason"], "Preempted");
  EXPECT_EQ(controller_->ledger().count(keyOf("victim")), 0u);
}

// ---------------------------------------------------------------------------------------------
// spec.template: server-side apply in the local region.

TEST_F(VMPlacementControllerTest, SpecThatBypassedTheCRDFailsNamingTheField) {
  addRegions({region("r1", 10)});
  json vm = vmObject("bad", 1);
  vm["spec"]["resources"]["cpu"] = "4";
  api_.put(vm);
  kube::EventRecorder events(client_, clock_, {"dwcp.io/federation-operator", "test"});
  start("", &events);

  ASSERT_TRUE(reconcile("bad").ok());
  events.processPending();
  EXPECT_EQ(objectPatches().size(), 0u);  // no finalizer for what we cannot place
  json status = api_.server(keyOf("bad"))["status"];
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_NE(status["message"].get<std::string>().find("spec.resources.cpu"), std::string::npos) << status["message"];
  EXPECT_EQ(status["observedGeneration"], 1);
  json placed = conditionOf(status, "Placed");
  EXPECT_EQ(placed["status"], "False");
  EXPECT_EQ(placed["reason"], "InvalidSpec");
  EXPECT_EQ(requestsTo("POST", kEventsPath).size(), 1u);
  EXPECT_TRUE(controller_->ledger().empty());

  api_.catchUp();
  ASSERT_TRUE(reconcile("bad").ok());
  events.processPending();
  EXPECT_EQ(api_.statusWrites().size(), 1u);
  EXPECT_EQ(requestsTo("POST", kEventsPath).size(), 1u);
}

TEST_F(VMPlacementControllerTest, UnknownOriginRegionFailsNamingTheField) {
  addRegions({region("r1", 10)});
  json vm = vmObject("lost", 1);
  vm["spec"]["constraints"] = {{"origin", {{"region", "mars-1"}}}};
  api_.put(vm);
  start();

  ASSERT_TRUE(reconcile("lost").ok());
  json status = api_.server(keyOf("lost"))["status"];
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(status["message"], "constraints.origin.region: unknown region \"mars-1\"");
  EXPECT_EQ(conditionOf(status, "Placed")["reason"], "InvalidSpec");
  EXPECT_EQ(decisions_, std::vector<std::string>{"invalid"});
}

TEST_F(VMPlacementControllerTest, UnchangedStatusIsNotWritten) {
  addRegions(exampleRegions());
  api_.put(exampleVM());
  start();
  ASSERT_TRUE(reconcile("web-frontend-01").ok());
  ASSERT_EQ(api_.statusWrites().size(), 1u);
  api_.catchUp();
  clock_.advance(std::chrono::minutes(5));

  const size_t before = transport_->requests().size();
  auto result = reconcile("web-frontend-01");
  EXPECT_TRUE(result.ok());
  EXPECT_FALSE(result.requeueAfter.has_value());
  EXPECT_EQ(transport_->requests().size(), before);
}

TEST_F(VMPlacementControllerTest, ConflictOnStatusWriteRequeues) {
  addRegions({region("r1", 10)});
  api_.put(withStatus(vmObject("a", 1), "Pending"));
  transport_->expect("PATCH", std::string(kVMPath) + "a/status", statusError(409, "Conflict"));
  start();

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok());
  EXPECT_TRUE(result.conflicted());  // a prompt retry through the per-key backoff, not a fixed delay
  EXPECT_FALSE(result.requeueAfter.has_value());
  EXPECT_TRUE(api_.statusWrites().empty());

  // The retry (the scripted conflict is spent) writes, with a single ledger entry.
  result = reconcile("a");
  EXPECT_TRUE(result.isSuccess());
  EXPECT_EQ(api_.server(keyOf("a"))["status"]["phase"], "Placed");
  EXPECT_EQ(controller_->ledger().size(), 1u);
}

TEST_F(VMPlacementControllerTest, ServerErrorOnStatusWriteIsAFailure) {
  addRegions({region("r1", 10)});
  api_.put(withStatus(vmObject("a", 1), "Pending"));
  transport_->expect("PATCH", std::string(kVMPath) + "a/status", statusError(500, "InternalError"));
  start();
  EXPECT_FALSE(reconcile("a").ok());
}

// ---------------------------------------------------------------------------------------------
// Event handlers.

TEST_F(VMPlacementControllerTest, RegionAllocationUpdateDoesNotEnqueue) {
  json before = region("r1", 10);
  addRegions({before});
  api_.put(withStatus(vmObject("waiting", 20), "Unschedulable"));
  start();

  json after = before;
  after["metadata"]["resourceVersion"] = "51";
  after["status"]["allocated"] = {{"cpu", 4}, {"memoryMiB", 2048}, {"storageGiB", 0}, {"vms", 2}};
  after["status"]["available"] = {{"cpu", 6}, {"memoryMiB", 1046528}, {"storageGiB", 100000}, {"vms", 0}};
  regionHandler_.onUpdate(*regions_.decode(before), *regions_.decode(after));
  EXPECT_TRUE(enqueuedKeys().empty());
}

struct RegionChangeCase {
  const char* name;
  std::function<void(json&)> change;
  bool wantEnqueue;
};

void PrintTo(const RegionChangeCase& c, std::ostream* os) { *os << c.name; }

class RegionHandlerTest : public VMPlacementControllerTest,
                          public ::testing::WithParamInterface<RegionChangeCase> {};

TEST_P(RegionHandlerTest, EnqueuesWaitingVMsOnlyForPlacementRelevantChanges) {
  json before = region("r1", 10);
  addRegions({before});
  api_.put(withStatus(vmObject("unschedulable", 20), "Unschedulable"));
  api_.put(withStatus(vmObject("preempted", 20), "Preempted"));
  api_.put(withStatus(vmObject("pending", 20), "Pending"));
  api_.put(vmObject("fresh", 20));
  api_.put(withStatus(vmObject("placed", 1), "Placed", "r1"));
  api_.put(withStatus(vmObject("failed", 1), "Failed"));
  json deleting = withStatus(vmObject("deleting", 20), "Unschedulable");
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  api_.put(deleting);
  start();

  json after = before;
  after["metadata"]["resourceVersion"] = "51";
  GetParam().change(after);
  regionHandler_.onUpdate(*regions_.decode(before), *regions_.decode(after));

  if (GetParam().wantEnqueue) {
    EXPECT_EQ(enqueuedKeys(), (std::set<std::string>{keyOf("unschedulable"), keyOf("preempted"), keyOf("pending"),
                                                     keyOf("fresh")}));
  } else {
    EXPECT_TRUE(enqueuedKeys().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegionHandlerTest,
    ::testing::Values(
        RegionChangeCase{"AllocatedOnly",
                         [](json& r) { r["status"]["allocated"] = {{"cpu", 4}, {"vms", 1}}; }, false},
        RegionChangeCase{"AvailableAndHeartbeatOnly",
                         [](json& r) {
                           r["status"]["available"] = {{"cpu", 6}};
                           r["status"]["lastHeartbeatTime"] = "2026-01-01T00:00:05Z";
                         },
                         false},
        RegionChangeCase{"SpecChange",
                         [](json& r) {
                           r["metadata"]["generation"] = 2;
                           r["spec"]["capacity"]["cpu"] = 40;
                         },
                         true},
        RegionChangeCase{"PhaseChange", [](json& r) { r["status"]["phase"] = "Degraded"; }, true},
        RegionChangeCase{"HealthChange", [](json& r) { r["status"]["healthScore"] = 70; }, true},
        RegionChangeCase{"PeersChange",
                         [](json& r) { r["status"]["peers"] = {{{"region", "r2"}, {"latencyMs", 12.5}}}; }, true}),
    [](const ::testing::TestParamInfo<RegionChangeCase>& info) { return std::string(info.param.name); });

TEST_F(VMPlacementControllerTest, RegionAddAndDeleteEnqueueWaitingVMs) {
  addRegions({region("r1", 10)});
  api_.put(withStatus(vmObject("waiting", 20), "Unschedulable"));
  api_.put(withStatus(vmObject("placed", 1), "Placed", "r1"));
  start();

  regionHandler_.onAdd(*regions_.decode(region("r2", 40)));
  EXPECT_EQ(enqueuedKeys(), std::set<std::string>{keyOf("waiting")});
  clearEnqueued();
  regionHandler_.onDelete(*regions_.decode(region("r2", 40)));
  EXPECT_EQ(enqueuedKeys(), std::set<std::string>{keyOf("waiting")});
}

TEST_F(VMPlacementControllerTest, VMDeleteEnqueuesWaitingVMsAndForgetsIt) {
  addRegions({region("r1", 10)});
  json placed = withStatus(vmObject("placed", 8), "Placed", "r1");
  api_.put(placed);
  api_.put(withStatus(vmObject("unschedulable", 4), "Unschedulable"));
  api_.put(withStatus(vmObject("preempted", 4), "Preempted"));
  api_.put(withStatus(vmObject("pending", 4), "Pending"));
  api_.put(withStatus(vmObject("other-placed", 1), "Placed", "r1"));
  api_.put(withStatus(vmObject("failed", 1), "Failed"));
  start();
  controller_->seedLedger();

  vms_.erase(keyOf("placed"));
  vmHandler_.onDelete(*vms_.decode(placed));

  EXPECT_EQ(enqueuedKeys(),
            (std::set<std::string>{keyOf("unschedulable"), keyOf("preempted"), keyOf("pending")}));
  EXPECT_EQ(controller_->ledger(), (std::map<std::string, std::string>{{keyOf("other-placed"), "r1"}}));
}

TEST_F(VMPlacementControllerTest, VMUpdatesEnqueueTheVMAndReleasesEnqueueWaiting) {
  addRegions({region("r1", 10)});
  json victim = withStatus(vmObject("victim", 4, 10, true), "Placed", "r1");
  api_.put(victim);
  api_.put(withStatus(vmObject("waiting", 4), "Unschedulable"));
  start();

  vmHandler_.onAdd(*vms_.decode(vmObject("new", 1)));
  EXPECT_EQ(enqueuedKeys(), std::set<std::string>{keyOf("new")});
  clearEnqueued();

  // A status-only update enqueues the VM itself, nothing else.
  json relabeled = victim;
  relabeled["metadata"]["resourceVersion"] = "11";
  vmHandler_.onUpdate(*vms_.decode(victim), *vms_.decode(relabeled));
  EXPECT_EQ(enqueuedKeys(), std::set<std::string>{keyOf("victim")});
  clearEnqueued();

  // Placed -> Preempted releases capacity: the waiting VMs are retried too.
  json preempted = withStatus(vmObject("victim", 4, 10, true), "Preempted", "", 2);
  vms_.upsert(preempted);
  vmHandler_.onUpdate(*vms_.decode(victim), *vms_.decode(preempted));
  EXPECT_EQ(enqueuedKeys(), (std::set<std::string>{keyOf("victim"), keyOf("waiting")}));
}

// ---------------------------------------------------------------------------------------------
// The workload is only ever the object the controller made: same namespace, our labels, a
// controller owner reference to this VMPlacement's uid, deleted with a uid precondition.

TEST_F(VMPlacementControllerTest, FinalizerAdd404AfterTheWatchDeleteDoesNotReAddTheLedgerEntry) {
  addRegions({region("r1", 10)});
  json placed = withStatus(vmObject("a", 6), "Placed", "r1");
  placed["metadata"].erase("finalizers");  // placed before a restart; its finalizer write failed
  api_.put(placed);
  api_.put(withStatus(vmObject("b", 6), "Pending"));
  start();
  controller_->seedLedger();
  // a is deleted while its finalizer is being added; the watch DELETE is handled first.
  intercept_ = [this](const kube::Request& request) -> std::optional<kube::Response> {
    if (request.method != "PATCH" || request.path != std::string(kVMPath) + "a?fieldManager=" + kFieldManager) {
      return std::nullopt;
    }
    deleteVM("a");
    return statusError(404, "NotFound");
  };

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok() && !result.requeueAfter);
  EXPECT_TRUE(controller_->ledger().empty());
  intercept_ = nullptr;
  ASSERT_TRUE(reconcile("b").ok());
  EXPECT_EQ(api_.server(keyOf("b"))["status"]["phase"], "Placed");
}

TEST_F(VMPlacementControllerTest, StatusWrite404ReleasesTheCapacity) {
  addRegions({region("r1", 10)});
  api_.put(vmObject("a", 6));
  api_.put(withStatus(vmObject("b", 6), "Pending"));
  start();
  // The interleaving: a's reconcile has read it from the cache when a is deleted and the watch
  // DELETE handled (its ledger entry not added yet, so nothing to forget); then a is placed and
  // its status write finds it gone.
  const json a = api_.server(keyOf("a"));
  api_.removeFromServer(keyOf("a"));
  vmHandler_.onDelete(*vms_.decode(a));

  auto result = reconcile("a");
  EXPECT_TRUE(result.ok() && !result.requeueAfter);
  vms_.erase(keyOf("a"));
  EXPECT_TRUE(controller_->ledger().empty());
  ASSERT_TRUE(reconcile("b").ok());
  EXPECT_EQ(api_.server(keyOf("b"))["status"]["phase"], "Placed");
}

// Regions eu-west-1 (this operator's) and us-east-1, a VM with a template allowed in both.
struct InvalidSpecCase {
  const char* name;
  std::function<void(json& spec)> invalidate;
};

void PrintTo(const InvalidSpecCase& c, std::ostream* os) { *os << c.name; }

class InvalidSpecTest : public VMPlacementControllerTest, public ::testing::WithParamInterface<InvalidSpecCase> {};

TEST_P(InvalidSpecTest, InvalidSpecReleasesCapacityAndDeletesTheWorkload) {
  addRegions({region("r1", 10)});
  json vm = withStatus(vmObject("a", 4), "Placed", "r1");
  const json workload = ownedWorkload("kubevirt.io/v1", "VirtualMachine", "default", "a", "a");
  vm["status"]["workloadRef"] = refTo(workload);
  api_.put(vm);
  api_.putWorkload(std::string(kWorkloadPath) + "a", workload);
  start("r1");
  controller_->seedLedger();
  ASSERT_EQ(controller_->ledger().size(), 1u);

  vm["metadata"]["generation"] = 2;
  GetParam().invalidate(vm["spec"]);
  api_.put(vm);
  ASSERT_TRUE(reconcile("a").ok());

  json status = api_.server(keyOf("a"))["status"];
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_FALSE(status.contains("workloadRef"));
  EXPECT_TRUE(controller_->ledger().empty());
  EXPECT_TRUE(api_.workload(std::string(kWorkloadPath) + "a").is_null());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidSpecTest,
    ::testing::Values(InvalidSpecCase{"BypassedTheCRD", [](json& spec) { spec["resources"]["cpu"] = "4"; }},
                      InvalidSpecCase{"UnknownOriginRegion",
                                      [](json& spec) { spec["constraints"] = {{"origin", {{"region", "mars-1"}}}}; }}),
    [](const ::testing::TestParamInfo<InvalidSpecCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace dwcp::controllers
