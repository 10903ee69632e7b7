#include "controllers/placement_ledger.h"

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "controllers/cached_types.h"

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;

json regionObject(const std::string& name, int64_t cpu) {
  return json{{"apiVersion", "federation.dwcp.io/v1alpha1"},
              {"kind", "Region"},
              {"metadata", {{"name", name}, {"uid", "uid-" + name}, {"generation", 1}, {"resourceVersion", "5"}}},
              {"spec",
               {{"location", {{"latitude", 50.1}, {"longitude", 8.7}, {"country", "DE"}, {"continent", "europe"}}},
                {"capacity", {{"cpu", cpu}, {"memoryMiB", 1048576}, {"storageGiB", 100000}}},
                {"cost", {{"cpuHour", 0.04}, {"memoryGiBHour", 0.005}, {"storageGiBMonth", 0.08}}},
                {"priority", 50},
                {"endpoint", "https://dwcp-" + name + ".example.com:7443"},
                {"enabled", true}}},
              {"status", {{"phase", "Healthy"}, {"healthScore", 100}}}};
}

json vmObject(const std::string& name, int64_t cpu, const std::string& phase = "", const std::string& region = "") {
  json vm = {{"apiVersion", "federation.dwcp.io/v1alpha1"},
             {"kind", "VMPlacement"},
             {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}, {"generation", 1}}},
             {"spec", {{"resources", {{"cpu", cpu}, {"memoryMiB", 1024}, {"storageGiB", 0}}}}}};
  if (!phase.empty()) vm["status"]["phase"] = phase;
  if (!region.empty()) vm["status"]["region"] = region;
  return vm;
}

placement::Request request(const std::string& key, int64_t cpu, int priority = 50) {
  placement::Request r;
  r.key = key;
  r.resources = {cpu, 1024, 0};
  r.priority = priority;
  return r;
}

placement::PlacedVM vm(const std::string& key, int64_t cpu, const std::string& region = "", int priority = 50,
                       bool preemptible = false) {
  return placement::PlacedVM{key, region, {cpu, 1024, 0}, priority, preemptible, ""};
}

struct PlacementLedgerTest : ::testing::Test {
  kube::Store regions{regionDecoder()};
  placement::Engine engine{placement::EngineConfig{}};
  PlacementLedger ledger{&regions};
};

TEST_F(PlacementLedgerTest, SeedKeepsOnlyVMsHoldingCapacityWithAValidSpec) {
  regions.replace({regionObject("r1", 16)});
  kube::Store vms{vmPlacementDecoder()};
  json invalid = vmObject("invalid", 2, "Placed", "r1");
  invalid["spec"]["resources"]["cpu"] = "two";
  vms.replace({vmObject("placed", 2, "Placed", "r1"), vmObject("migrating", 2, "Migrating", "r1"),
               vmObject("pending", 2, "Pending", "r1"), vmObject("preempted", 2, "Preempted", "r1"),
               vmObject("no-region", 2, "Placed"), invalid});
  ledger.seed(vms);
  EXPECT_EQ(ledger.placements(),
            (std::map<std::string, std::string>{{"default/migrating", "r1"}, {"default/placed", "r1"}}));
}

TEST_F(PlacementLedgerTest, PlacingRecordsTheVMAndAFullRegionRefusesTheNext) {
  regions.replace({regionObject("r1", 8)});
  auto first = ledger.place(engine, request("default/a", 6), vm("default/a", 6));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->decision.outcome, placement::Outcome::kPlaced);
  EXPECT_EQ(first->decision.region, "r1");
  EXPECT_GE(first->seconds, 0);
  EXPECT_EQ(ledger.placements(), (std::map<std::string, std::string>{{"default/a", "r1"}}));

  // The cache has not seen a's status yet; the ledger has.
  auto second = ledger.place(engine, request("default/b", 6), vm("default/b", 6));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->decision.outcome, placement::Outcome::kUnschedulable);
  EXPECT_EQ(ledger.placements().count("default/b"), 0u);

  ledger.forget("default/a");
  auto third = ledger.place(engine, request("default/b", 6), vm("default/b", 6));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->decision.outcome, placement::Outcome::kPlaced);
}

TEST_F(PlacementLedgerTest, PreemptionDropsTheVictimsAndAssumeBringsThemBack) {
  regions.replace({regionObject("r1", 8)});
  ledger.assume(vm("default/low", 8, "r1", 10, /*preemptible=*/true));
  auto placed = ledger.place(engine, request("default/urgent", 8, 90), vm("default/urgent", 8, "", 90));
  ASSERT_TRUE(placed.ok());
  ASSERT_EQ(placed->decision.outcome, placement::Outcome::kPlacedWithPreemption);
  ASSERT_EQ(placed->decision.victims.size(), 1u);
  EXPECT_EQ(ledger.placements(), (std::map<std::string, std::string>{{"default/urgent", "r1"}}));

  // The victim's status write failed: it still runs, and counts again.
  ledger.assume(std::vector<placement::PlacedVM>{vm("default/low", 8, "r1", 10, true)});
  EXPECT_EQ(ledger.placements().size(), 2u);
}

TEST_F(PlacementLedgerTest, RecheckKeepsAVMThatStillFitsAndReportsOneThatDoesNot) {
  regions.replace({regionObject("r1", 8)});
  ledger.assume(vm("default/a", 4, "r1"));
  auto fits = ledger.recheck(engine, request("default/a", 6), vm("default/a", 6, "r1"));
  ASSERT_TRUE(fits.ok());
  EXPECT_FALSE(fits->has_value());
  auto tooBig = ledger.recheck(engine, request("default/a", 64), vm("default/a", 64, "r1"));
  ASSERT_TRUE(tooBig.ok());
  ASSERT_TRUE(tooBig->has_value());
  EXPECT_EQ((*tooBig)->region, "r1");
  auto gone = ledger.recheck(engine, request("default/a", 1), vm("default/a", 1, "no-such-region"));
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->has_value()) << "a region that is gone does not fit";
}

TEST_F(PlacementLedgerTest, ARegionChangeIsSeenByTheNextDecision) {
  regions.replace({regionObject("r1", 4)});
  auto before = ledger.place(engine, request("default/a", 6), vm("default/a", 6));
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->decision.outcome, placement::Outcome::kUnschedulable);
  regions.replace({regionObject("r1", 4), regionObject("r2", 16)});
  ledger.regionsChanged();
  auto after = ledger.place(engine, request("default/a", 6), vm("default/a", 6));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->decision.region, "r2");
}

// Many threads place, forget and re-place at once: the ledger never holds more than a region's
// capacity, over random seeds.
TEST_F(PlacementLedgerTest, ConcurrentDecisionsNeverOverCommit) {
  for (unsigned seed = 1; seed <= 10; ++seed) {
    kube::Store store{regionDecoder()};
    store.replace({regionObject("r1", 20), regionObject("r2", 12)});
    PlacementLedger concurrent(&store);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(seed * 100 + t);
        for (int i = 0; i < 200; ++i) {
          const std::string key = "default/vm-" + std::to_string(rng() % 30);
          const int64_t cpu = 1 + rng() % 4;
          if (rng() % 4 == 0) {
            concurrent.forget(key);
          } else {
            (void)concurrent.place(engine, request(key, cpu), vm(key, cpu));
          }
          if (i % 20 == 0 && rng() % 2) concurrent.regionsChanged();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    const auto held = concurrent.held();
    const std::map<std::string, int64_t> capacity = {{"r1", 20}, {"r2", 12}};
    int64_t placedVMs = 0;
    for (const auto& [region, h] : held) {
      ASSERT_TRUE(capacity.count(region)) << "seed " << seed << ": VMs held in unknown region " << region;
      EXPECT_LE(h.cpu, capacity.at(region)) << "seed " << seed << ": " << region << " over-committed";
      placedVMs += h.vms;
    }
    EXPECT_EQ(placedVMs, static_cast<int64_t>(concurrent.placements().size()));
    EXPECT_GT(placedVMs, 0) << "seed " << seed;
  }
}

}  // namespace
}  // namespace dwcp::controllers
