// The reservation controller: a region admits or refuses the placement records other homes write
// for it, against one ledger, and mirrors what it admits.
#include "controllers/reservation_controller.h"

#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "controllers/mirror.h"
#include "controllers/testing/fake_federation.h"
#include "controllers/testing/vmplacement_fixture.h"

namespace dwcp::controllers {
namespace {

constexpr const char* kHere = "eu-west-1";

api::PlacementRecord recordFor(const std::string& name, const std::string& home, int64_t cpu, int64_t epoch = 1) {
  api::PlacementRecord record;
  record.uid = "uid-" + home + "-" + name;
  record.namespace_ = "default";
  record.name = name;
  record.home = home;
  record.region = kHere;
  record.state = api::RecordState::kReserving;
  record.epoch = epoch;
  record.spec.resources = {cpu, 1024, 0};
  record.spec.priority = 50;
  return record;
}

class ReservationControllerTest : public VMPlacementControllerTest {
 protected:
  // This region with `cpu` vCPUs; the VMPlacement controller owns the ledger both share.
  void startHere(int64_t cpu) {
    addRegions({region(kHere, cpu), region("us-east-1", 4096), region("ap-south-1", 4096)});
    fed_ = std::make_unique<FakeFederation>(replicated_, kHere);
    vms_.addIndex(kMirrorsByUid, mirrorsByUid());
    vms_.addIndex(kVMPlacementsByUid, vmPlacementsByUid());
    VMPlacementControllerDeps deps;
    deps.regions = &regions_;
    deps.vmPlacements = &vms_;
    deps.client = &client_;
    deps.discovery = &discovery_;
    deps.clock = &clock_;
    deps.localRegion = kHere;
    deps.federation = fed_.get();
    controller_ = std::make_unique<VMPlacementController>(std::move(deps));
    controller_->seedLedger();
    ReservationControllerDeps r;
    r.vmPlacements = &vms_;
    r.client = &client_;
    r.clock = &clock_;
    r.localRegion = kHere;
    r.federation = fed_.get();
    r.ledger = controller_->placementLedger();
    r.engine = &controller_->engine();
    r.workloads = &controller_->workloads();
    reservations_ = std::make_unique<ReservationController>(std::move(r));
  }

  kube::ReconcileResult reserve(const std::string& uid) { return reservations_->reconcile(uid, "test"); }
  std::optional<api::ReservationAnswer> answerFor(const std::string& uid) { return fed_->answer(kHere, uid); }
  std::vector<std::string> mirrors() {
    std::vector<std::string> out;
    for (const auto& key : api_.serverKeys()) {
      const json object = api_.server(key);
      if (object["metadata"].contains("labels") && object["metadata"]["labels"].contains(kHomeLabel)) out.push_back(key);
    }
    return out;
  }

  FakeReplicatedState replicated_;
  std::unique_ptr<FakeFederation> fed_;
  std::unique_ptr<ReservationController> reservations_;
};

TEST_F(ReservationControllerTest, AnAdmittedRecordBecomesAMirrorBeforeItsAnswerSaysSo) {
  startHere(16);
  const api::PlacementRecord record = recordFor("web", "us-east-1", 4);
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());

  const json mirror = api_.server("default/web.us-east-1");
  ASSERT_TRUE(mirror.is_object()) << "the mirror holds the admission in this cluster";
  EXPECT_EQ(mirror["metadata"]["labels"][kHomeLabel], "us-east-1");
  EXPECT_EQ(mirror["metadata"]["labels"][kVMUidLabel], record.uid);
  EXPECT_EQ(mirror["metadata"]["annotations"][kEpochAnnotation], "1");
  EXPECT_EQ(mirror["metadata"]["annotations"][kVMNameAnnotation], "web");
  EXPECT_EQ(mirror["spec"]["resources"]["cpu"], 4);
  auto answer = answerFor(record.uid);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->admitted);
  EXPECT_EQ(answer->epoch, 1);
  EXPECT_EQ(answer->mirror, "web.us-east-1");
  EXPECT_EQ(controller_->ledger().at("default/web.us-east-1"), kHere) << "the room is held from the admission on";

  // The same record again (a retry, a restart): nothing new is created or answered.
  api_.catchUp();
  const size_t writes = fed_->log().size();
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  EXPECT_EQ(mirrors().size(), 1u);
  EXPECT_EQ(fed_->log().size(), writes);
}

// Found in a 200-VM burst on three real regions: a second reconcile of an admitted record before
// the cache saw its mirror admitted it again, got AlreadyExists and freed the room the mirror
// held, and the region took one VM more than it has.
TEST_F(ReservationControllerTest, AReconcileBeforeTheCacheSeesTheMirrorNeitherAdmitsAgainNorFreesTheRoom) {
  startHere(4);
  const api::PlacementRecord first = recordFor("a", "us-east-1", 4);
  fed_->putRecord(first);
  ASSERT_TRUE(reserve(first.uid).isSuccess());
  // The cache has not seen the mirror yet (no catchUp), and the record is looked at again.
  reserve(first.uid);
  EXPECT_EQ(controller_->ledger().count("default/a.us-east-1"), 1u) << "the admitted mirror still holds its room";
  EXPECT_EQ(requestsTo("POST", "/apis/federation.dwcp.io/v1alpha1/namespaces/default/vmplacements").size(), 1u);

  const api::PlacementRecord second = recordFor("b", "ap-south-1", 4);
  fed_->putRecord(second);
  ASSERT_TRUE(reserve(second.uid).isSuccess());
  ASSERT_TRUE(answerFor(second.uid));
  EXPECT_FALSE(answerFor(second.uid)->admitted) << "the region is full";
  EXPECT_EQ(mirrors().size(), 1u);
}

// The workload of an admitted VM is made right after its mirror, owned by it, without waiting for
// the mirror to come back through the watch.
TEST_F(ReservationControllerTest, AnAdmittedVMsWorkloadIsMadeWithItsMirror) {
  startHere(16);
  api::PlacementRecord record = recordFor("web", "us-east-1", 4);
  record.spec.template_ = json{{"apiVersion", "kubevirt.io/v1"}, {"kind", "VirtualMachine"}, {"spec", {{"running", true}}}};
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  const json workload = api_.workload(std::string(kWorkloadPath) + "web");
  ASSERT_TRUE(workload.is_object()) << "named after the VM at its home";
  EXPECT_EQ(workload["metadata"]["labels"][kHomeLabel], "us-east-1");
  EXPECT_EQ(workload["metadata"]["labels"][kVMUidLabel], record.uid);
  EXPECT_EQ(workload["metadata"]["labels"][kPlacementLabel], "web.us-east-1");
  EXPECT_EQ(workload["metadata"]["ownerReferences"][0]["uid"], "uid-web.us-east-1");
  EXPECT_EQ(workload["metadata"]["ownerReferences"][0]["controller"], true);
  auto answer = answerFor(record.uid);
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->admitted);
  ASSERT_TRUE(answer->workloadRef) << "the home's status is complete in one write";
  EXPECT_EQ(answer->workloadRef->cluster, kHere);
  EXPECT_EQ(answer->workloadRef->uid, workload["metadata"]["uid"]);
  ASSERT_TRUE(answer->workloadReady);
  EXPECT_EQ(answer->workloadReady->status, api::ConditionStatus::kTrue);
  EXPECT_EQ(answer->workloadReady->message, "VirtualMachine default/web applied in region eu-west-1");
}

TEST_F(ReservationControllerTest, ARecordThatDoesNotFitIsRefusedWithTheReasonAndNothingIsCreated) {
  startHere(8);
  const api::PlacementRecord record = recordFor("big", "us-east-1", 12);
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  auto answer = answerFor(record.uid);
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->admitted);
  EXPECT_EQ(answer->reason, "insufficient cpu: 8 free, 12 requested");
  EXPECT_TRUE(mirrors().empty());
  EXPECT_TRUE(controller_->ledger().empty());
}

// Two homes ask for the last room at the same moment: one admission, one refusal, never two
// mirrors, over many interleavings.
TEST_F(ReservationControllerTest, ConcurrentRecordsForTheLastRoomAdmitExactlyOne) {
  for (int seed = 0; seed < 40; ++seed) {
    replicated_.records.clear();
    replicated_.answers.clear();
    for (const auto& key : api_.serverKeys()) api_.removeFromServer(key);
    for (const auto& key : vms_.keys()) vms_.erase(key);
    startHere(8);
    // 4 vCPUs are taken by a VM of this cluster; 4 are left, and each record asks for 4.
    api_.put(withStatus(vmObject("local", 4), "Placed", kHere));
    controller_->seedLedger();
    std::vector<api::PlacementRecord> records = {recordFor("a", "us-east-1", 4), recordFor("c", "ap-south-1", 4),
                                                 recordFor("d", "us-east-1", 4)};
    for (const auto& r : records) fed_->putRecord(r);
    std::mt19937 rng(seed);
    std::shuffle(records.begin(), records.end(), rng);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (const auto& r : records) {
      threads.emplace_back([&, uid = r.uid] {
        ++ready;
        while (ready.load() < 3) std::this_thread::yield();
        EXPECT_TRUE(reserve(uid).isSuccess());
      });
    }
    for (auto& t : threads) t.join();
    int admitted = 0, refused = 0;
    for (const auto& r : records) {
      auto answer = answerFor(r.uid);
      ASSERT_TRUE(answer) << "seed " << seed;
      (answer->admitted ? admitted : refused) += 1;
      if (!answer->admitted) {
        EXPECT_EQ(answer->reason, "insufficient cpu: 0 free, 4 requested") << "seed " << seed;
      }
    }
    EXPECT_EQ(admitted, 1) << "seed " << seed;
    EXPECT_EQ(refused, 2) << "seed " << seed;
    EXPECT_EQ(mirrors().size(), 1u) << "seed " << seed;
  }
}

TEST_F(ReservationControllerTest, AWithdrawnRecordDeletesTheMirrorOnlyOnceCaughtUpWithItsHome) {
  startHere(16);
  const api::PlacementRecord record = recordFor("web", "us-east-1", 4);
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  api_.catchUp();
  ASSERT_EQ(mirrors().size(), 1u);

  fed_->removeRecord(record.uid);
  // Not caught up with the home yet (a restart, say): an absent record proves nothing.
  auto waiting = reserve(record.uid);
  EXPECT_TRUE(waiting.requeueAfter.has_value());
  EXPECT_EQ(mirrors().size(), 1u);
  EXPECT_TRUE(requestsTo("DELETE", kVMPath).empty());

  fed_->setCaughtUp("us-east-1", true);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  auto deletes = requestsTo("DELETE", kVMPath);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_NE(deletes[0].body.find("uid-web.us-east-1"), std::string::npos) << "deleted with its uid as precondition";
  EXPECT_FALSE(answerFor(record.uid)) << "the answer goes with it";
}

TEST_F(ReservationControllerTest, ARecordThatMovesToAnotherRegionReleasesTheMirrorAtOnce) {
  startHere(16);
  api::PlacementRecord record = recordFor("web", "us-east-1", 4);
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  api_.catchUp();
  record.region = "ap-south-1";
  record.epoch = 2;
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  EXPECT_EQ(requestsTo("DELETE", kVMPath).size(), 1u);
}

TEST_F(ReservationControllerTest, ANamespaceThisClusterLacksIsARefusalThatSaysSoAndFreesTheRoom) {
  startHere(16);
  api_.setNamespaceExists(false);
  const api::PlacementRecord record = recordFor("web", "us-east-1", 4);
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  auto answer = answerFor(record.uid);
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->admitted);
  EXPECT_NE(answer->reason.find("cannot hold it in namespace default of region eu-west-1"), std::string::npos)
      << answer->reason;
  EXPECT_TRUE(controller_->ledger().empty());
}

TEST_F(ReservationControllerTest, AChangedRecordUpdatesTheMirrorWhenItFitsAndIsRefusedWhenItDoesNot) {
  startHere(8);
  api::PlacementRecord record = recordFor("web", "us-east-1", 4);
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  api_.catchUp();

  record.spec.resources.cpu = 6;
  record.epoch = 2;
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  json mirror = api_.server("default/web.us-east-1");
  EXPECT_EQ(mirror["spec"]["resources"]["cpu"], 6);
  EXPECT_EQ(mirror["metadata"]["annotations"][kEpochAnnotation], "2");
  api_.catchUp();
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  ASSERT_TRUE(answerFor(record.uid));
  EXPECT_TRUE(answerFor(record.uid)->admitted);
  EXPECT_EQ(answerFor(record.uid)->epoch, 2);

  record.spec.resources.cpu = 10;
  record.epoch = 3;
  fed_->putRecord(record);
  ASSERT_TRUE(reserve(record.uid).isSuccess());
  auto answer = answerFor(record.uid);
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->admitted);
  EXPECT_EQ(answer->epoch, 3);
  EXPECT_EQ(answer->reason, "its changed resources do not fit: insufficient cpu: 8 free, 10 requested");
  EXPECT_EQ(api_.server("default/web.us-east-1")["spec"]["resources"]["cpu"], 6) << "the admitted spec stays";
}

TEST_F(ReservationControllerTest, ThisHomesRecordOfAVMThatIsGoneIsWithdrawn) {
  startHere(16);
  api::PlacementRecord mine = recordFor("gone", kHere, 2);
  mine.region = "us-east-1";
  fed_->putRecord(mine);
  ASSERT_TRUE(reserve(mine.uid).isSuccess());
  EXPECT_FALSE(fed_->record(mine.uid)) << "no VMPlacement has its uid any more";

  json live = vmObject("live", 2);
  api_.put(live);
  api::PlacementRecord kept = recordFor("live", kHere, 2);
  kept.uid = "uid-live";
  kept.region = "us-east-1";
  fed_->putRecord(kept);
  ASSERT_TRUE(reserve(kept.uid).isSuccess());
  EXPECT_TRUE(fed_->record(kept.uid));
}

}  // namespace
}  // namespace dwcp::controllers
