// The VMPlacement controller in a federation: a VM whose best region is another region is reserved
// there first and Placed only once that region admits it; a refusal re-places it elsewhere; a
// region not heard from gets nothing; deleting the VM withdraws its record; mirrors are Placed as
// admitted. The other region is played by a FakeFederation over the same replicated state.
#include <gtest/gtest.h>

#include "controllers/mirror.h"
#include "controllers/testing/fake_federation.h"
#include "controllers/testing/vmplacement_fixture.h"

namespace dwcp::controllers {
namespace {

constexpr const char* kHome = "us-east-1";

// The five example regions as a federated home sees them: each remote one heard from (its
// allocation reported), unless `unheard`.
std::vector<json> federatedRegions(const std::set<std::string>& unheard = {}) {
  std::vector<json> regions = exampleRegions();
  for (json& r : regions) {
    const std::string name = r["metadata"]["name"];
    if (unheard.count(name)) {
      r["status"] = {{"phase", "Unknown"}};
    } else if (name != kHome) {
      r["status"]["allocated"] = {{"cpu", 0}, {"memoryMiB", 0}, {"storageGiB", 0}, {"vms", 0}};
    }
  }
  return regions;
}

class FederatedPlacementTest : public VMPlacementControllerTest {
 protected:
  VMPlacementController& startHome() {
    fed_ = std::make_unique<FakeFederation>(replicated_, kHome);
    remote_ = std::make_unique<FakeFederation>(replicated_, "eu-west-1");
    vms_.addIndex(kVMPlacementsByUid, vmPlacementsByUid());
    VMPlacementControllerDeps deps;
    deps.regions = &regions_;
    deps.vmPlacements = &vms_;
    deps.client = &client_;
    deps.discovery = &discovery_;
    deps.clock = &clock_;
    deps.localRegion = kHome;
    deps.federation = fed_.get();
    deps.reservationTimeout = std::chrono::seconds(10);
    controller_ = std::make_unique<VMPlacementController>(std::move(deps));
    controller_->seedLedger();
    return *controller_;
  }

  // The example VM, which fits only eu-west-1 and eu-central-1.
  json europeanVM() {
    json vm = exampleVM();
    vm["metadata"]["finalizers"] = {kPlacementFinalizer};
    return vm;
  }

  void answer(const std::string& region, const std::string& uid, bool admitted, const std::string& reason = "") {
    FakeFederation there(replicated_, region);
    const auto record = fed_->record(uid);
    ASSERT_TRUE(record);
    api::ReservationAnswer a;
    a.uid = uid;
    a.epoch = record->epoch;
    a.admitted = admitted;
    a.reason = reason;
    if (admitted) {
      a.mirror = record->name + "." + kHome;
      a.workloadRef = api::WorkloadRef{"kubevirt.io/v1", "VirtualMachine", "default", record->name, "uid-w", region};
      a.workloadReady = api::Condition{"WorkloadReady", api::ConditionStatus::kTrue, "Materialized", "applied", {}, 1};
    }
    there.putAnswer(a);
  }

  FakeReplicatedState replicated_;
  std::unique_ptr<FakeFederation> fed_;
  std::unique_ptr<FakeFederation> remote_;
};

TEST_F(FederatedPlacementTest, ARemoteRegionIsReservedFirstAndTheVMIsPlacedOnlyWhenItAdmits) {
  addRegions(federatedRegions());
  api_.put(europeanVM());
  startHome();

  auto reserving = reconcile("web-frontend-01");
  EXPECT_TRUE(reserving.requeueAfter.has_value()) << "waiting for the answer";
  EXPECT_TRUE(statusApplies().empty()) << "nothing is Placed before the region admits it";
  auto record = fed_->record("uid-web-frontend-01");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->home, kHome);
  EXPECT_EQ(record->state, api::RecordState::kReserving);
  const std::string target = record->region;
  EXPECT_TRUE(target == "eu-west-1" || target == "eu-central-1") << target;
  EXPECT_EQ(record->epoch, 1);
  EXPECT_EQ(record->spec.resources.cpu, 4);
  EXPECT_EQ(controller_->ledger().at(keyOf("web-frontend-01")), target) << "held here while in flight";

  answer(target, "uid-web-frontend-01", true);
  ASSERT_TRUE(reconcile("web-frontend-01").isSuccess());
  auto writes = api_.statusWritesOf(keyOf("web-frontend-01"));
  ASSERT_EQ(writes.size(), 1u);
  const json& status = writes.back();
  EXPECT_EQ(status["phase"], "Placed");
  EXPECT_EQ(status["region"], target);
  EXPECT_EQ(status["epoch"], 1);
  EXPECT_EQ(status["workloadRef"]["cluster"], target);
  EXPECT_EQ(status["workloadRef"]["name"], "web-frontend-01");
  EXPECT_FALSE(status["candidates"].empty()) << "the decision's candidates are kept for the admission";
  EXPECT_EQ(conditionOf(status, "WorkloadReady")["status"], "True");
  EXPECT_EQ(conditionOf(status, "WorkloadReady")["message"], "region " + target + ": applied");
  EXPECT_EQ(fed_->record("uid-web-frontend-01")->state, api::RecordState::kPlaced);
  EXPECT_EQ(controller_->ledger().count(keyOf("web-frontend-01")), 0u)
      << "admitted: the region counts it in what it reports";
}

// The cache brings a status write back later than the next reconcile may run: a VM admitted and
// written Placed is not reserved again from the stale copy.
TEST_F(FederatedPlacementTest, AReconcileBeforeTheCacheSeesTheAdmissionDoesNotReserveAgain) {
  addRegions(federatedRegions());
  api_.put(europeanVM());
  startHome();
  reconcile("web-frontend-01");
  const std::string target = fed_->record("uid-web-frontend-01")->region;
  answer(target, "uid-web-frontend-01", true);
  ASSERT_TRUE(reconcile("web-frontend-01").isSuccess());  // writes Placed; the cache still has the old copy
  const auto log = fed_->log();
  auto again = reconcile("web-frontend-01");
  EXPECT_TRUE(again.requeueAfter.has_value());
  EXPECT_EQ(fed_->log(), log) << "no new reservation from the stale copy";
  EXPECT_EQ(fed_->record("uid-web-frontend-01")->epoch, 1);
  EXPECT_EQ(api_.statusWritesOf(keyOf("web-frontend-01")).size(), 1u);
}

TEST_F(FederatedPlacementTest, ARefusalRePlacesTheVMWithoutTheRegionThatRefused) {
  addRegions(federatedRegions());
  api_.put(europeanVM());
  startHome();
  reconcile("web-frontend-01");
  const std::string first = fed_->record("uid-web-frontend-01")->region;
  answer(first, "uid-web-frontend-01", false, "insufficient cpu: 0 free, 4 requested");

  reconcile("web-frontend-01");
  auto record = fed_->record("uid-web-frontend-01");
  ASSERT_TRUE(record);
  EXPECT_NE(record->region, first);
  EXPECT_EQ(record->epoch, 2) << "a new attempt, which the other region answers on its own";
  EXPECT_TRUE(statusApplies().empty());

  answer(record->region, "uid-web-frontend-01", false, "insufficient memory: 0 MiB free, 8192 MiB requested");
  reconcile("web-frontend-01");
  auto writes = api_.statusWritesOf(keyOf("web-frontend-01"));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes.back()["phase"], "Unschedulable");
  const std::string message = writes.back()["message"];
  EXPECT_NE(message.find("region " + record->region + " refused: insufficient memory"), std::string::npos) << message;
  EXPECT_FALSE(fed_->record("uid-web-frontend-01")) << "an unschedulable VM has no record";
}

TEST_F(FederatedPlacementTest, ARegionNotHeardFromIsNeverChosen) {
  addRegions(federatedRegions({"eu-west-1", "eu-central-1"}));
  api_.put(europeanVM());
  startHome();
  ASSERT_TRUE(reconcile("web-frontend-01").isSuccess());
  auto writes = api_.statusWritesOf(keyOf("web-frontend-01"));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes.back()["phase"], "Unschedulable");
  const std::string message = writes.back()["message"];
  EXPECT_NE(message.find("2 unreachable"), std::string::npos) << message;
  EXPECT_FALSE(fed_->record("uid-web-frontend-01"));
}

TEST_F(FederatedPlacementTest, AVMPlacedHereHasARecordAndDeletingItWithdrawsTheRecord) {
  addRegions(federatedRegions());
  json local = vmObject("local", 2);
  local["spec"]["constraints"] = {{"regions", {kHome}}};
  api_.put(local);
  startHome();
  ASSERT_TRUE(reconcile("local").isSuccess());
  auto record = fed_->record("uid-local");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->region, kHome);
  EXPECT_EQ(record->state, api::RecordState::kPlaced);
  EXPECT_EQ(record->epoch, api_.statusWritesOf(keyOf("local")).back()["epoch"]);

  api_.catchUp();
  json deleting = api_.server(keyOf("local"));
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  api_.put(deleting);
  ASSERT_TRUE(reconcile("local").isSuccess());
  EXPECT_FALSE(fed_->record("uid-local"));
}

TEST_F(FederatedPlacementTest, AReservationWithoutAnAnswerIsReportedAfterTheTimeoutAndKeepsWaiting) {
  addRegions(federatedRegions());
  api_.put(europeanVM());
  startHome();
  reconcile("web-frontend-01");
  const std::string target = fed_->record("uid-web-frontend-01")->region;
  clock_.advance(std::chrono::seconds(11));
  auto waiting = reconcile("web-frontend-01");
  EXPECT_TRUE(waiting.requeueAfter.has_value());
  auto writes = api_.statusWritesOf(keyOf("web-frontend-01"));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes.back()["phase"], "Pending");
  EXPECT_EQ(writes.back()["message"],
            "waiting for region " + target + " to admit the reservation (epoch 1); no answer after 10s");
  EXPECT_EQ(fed_->record("uid-web-frontend-01")->region, target) << "still the same reservation";
}

TEST_F(FederatedPlacementTest, AMirrorIsPlacedHereAsAdmittedAndHeldInTheLedger) {
  addRegions(federatedRegions());
  json mirror = vmObject("web.eu-west-1", 4);
  mirror["metadata"]["labels"] = {{kHomeLabel, "eu-west-1"}, {kVMUidLabel, "uid-remote"}};
  mirror["metadata"]["annotations"] = {{kEpochAnnotation, "3"}, {kVMNameAnnotation, "web"}};
  json tmpl = vmTemplate();
  tmpl["metadata"]["name"] = "web";
  mirror["spec"]["template"] = tmpl;
  api_.put(mirror);
  startHome();
  ASSERT_TRUE(reconcile("web.eu-west-1").isSuccess());
  ASSERT_FALSE(objectPatches().empty()) << "its finalizer first";
  auto writes = api_.statusWritesOf(keyOf("web.eu-west-1"));
  ASSERT_EQ(writes.size(), 1u) << "a mirror's workload, applied with it, is named once, after its apply";
  EXPECT_EQ(writes.back()["workloadRef"]["name"], "web");
  EXPECT_EQ(writes.back()["workloadRef"]["uid"], "uid-workload-web");
  EXPECT_EQ(conditionOf(writes.back(), "WorkloadReady")["status"], "True");
  EXPECT_EQ(writes.back()["phase"], "Placed");
  EXPECT_EQ(writes.back()["region"], kHome);
  EXPECT_EQ(writes.back()["epoch"], 3);
  EXPECT_EQ(writes.back()["message"],
            "holds capacity here for VMPlacement default/web of region eu-west-1 (reservation admitted at epoch 3)");
  EXPECT_EQ(controller_->ledger().at(keyOf("web.eu-west-1")), kHome);
  EXPECT_FALSE(fed_->record("uid-remote")) << "a mirror writes no record of its own";
}


// A mirror holds room this region admitted for another home: a local VM of higher priority
// never preempts it, whatever its spec says.
TEST_F(FederatedPlacementTest, AMirrorIsNeverPreemptedHere) {
  std::vector<json> regions = federatedRegions();
  for (json& r : regions) {
    if (r["metadata"]["name"] == kHome) r["spec"]["capacity"]["cpu"] = 8;
  }
  addRegions(regions);
  json mirror = vmObject("low.eu-west-1", 8, /*priority=*/1, /*preemptible=*/true);
  mirror["metadata"]["labels"] = {{kHomeLabel, "eu-west-1"}, {kVMUidLabel, "uid-remote"}};
  mirror["metadata"]["annotations"] = {{kEpochAnnotation, "1"}, {kVMNameAnnotation, "low"}};
  api_.put(withStatus(mirror, "Placed", kHome));
  json urgent = vmObject("urgent", 8, /*priority=*/99);
  urgent["spec"]["constraints"] = {{"regions", {kHome}}};
  api_.put(urgent);
  startHome();
  ASSERT_TRUE(reconcile("urgent").isSuccess());
  auto writes = api_.statusWritesOf(keyOf("urgent"));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes.back()["phase"], "Unschedulable");
  EXPECT_TRUE(api_.statusWritesOf(keyOf("low.eu-west-1")).empty()) << "the mirror was not preempted";
  EXPECT_EQ(controller_->ledger().at(keyOf("low.eu-west-1")), kHome);
}


// A VM refused everywhere waits; when a region that refused it changes, it asks again with a new
// epoch (the refused one's answer must not answer the new attempt), and not the others.
TEST_F(FederatedPlacementTest, AWaitingVMAsksAgainWithANewEpochOnlyWhereSomethingChanged) {
  addRegions(federatedRegions());
  api_.put(europeanVM());
  startHome();
  reconcile("web-frontend-01");
  const std::string first = fed_->record("uid-web-frontend-01")->region;
  answer(first, "uid-web-frontend-01", false, "insufficient cpu: 0 free, 4 requested");
  reconcile("web-frontend-01");
  const std::string second = fed_->record("uid-web-frontend-01")->region;
  answer(second, "uid-web-frontend-01", false, "insufficient cpu: 0 free, 4 requested");
  reconcile("web-frontend-01");
  ASSERT_FALSE(fed_->record("uid-web-frontend-01")) << "Unschedulable: withdrawn";
  api_.catchUp();

  // Only `second` reports a change: only it is asked again, at an epoch above both refusals.
  json changed;
  for (const json& r : federatedRegions()) {
    if (r["metadata"]["name"] == second) changed = r;
  }
  changed["metadata"]["resourceVersion"] = "51";
  changed["status"]["allocated"]["cpu"] = 1;
  regions_.upsert(changed);
  controller_->placementLedger()->regionsChanged();
  reconcile("web-frontend-01");
  auto record = fed_->record("uid-web-frontend-01");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->region, second);
  EXPECT_EQ(record->epoch, 3);
}

}  // namespace
}  // namespace dwcp::controllers
