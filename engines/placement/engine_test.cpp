// Table tests: each filter reason, each algorithm, preemption, batch, check and invalid input.
#include "engines/placement/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "engines/placement/explain.h"
#include "engines/placement/test_fixtures.h"

namespace dwcp::placement {
namespace {

using testing::fiveRegions;
using testing::makeRequest;

Snapshot build(std::vector<RegionInfo> regions, std::vector<RttSample> rtts = {}, std::vector<PlacedVM> vms = {}) {
  auto s = Snapshot::build(std::move(regions), rtts, vms);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return std::move(s).value();
}

// ---- Filters: one case per reason, on the five-region example with one region altered. ----

struct FilterCase {
  const char* name;
  std::function<void(std::vector<RegionInfo>&)> alterRegions;  // region 0 is us-east-1
  std::function<void(Request&)> alterRequest;
  Reason reason;
  const char* text;
};
void PrintTo(const FilterCase& c, std::ostream* os) { *os << c.name; }

class FilterTest : public ::testing::TestWithParam<FilterCase> {};

TEST_P(FilterTest, RejectsUsEast1WithReason) {
  const FilterCase& c = GetParam();
  auto regions = fiveRegions();
  c.alterRegions(regions);
  Snapshot snapshot = build(regions);
  Request request = makeRequest("ns/vm");
  request.constraints.regions = {"us-east-1"};  // only us-east-1 is of interest
  c.alterRequest(request);
  const Engine engine;
  auto checked = engine.check(snapshot, request, "us-east-1");
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  ASSERT_TRUE(checked.value().has_value()) << c.name;
  EXPECT_EQ(checked.value()->reason, c.reason) << c.name;
  EXPECT_EQ(describe(*checked.value()), c.text) << c.name;

  // place() reports the same reason for us-east-1 and does not choose it.
  const Decision d = engine.place(snapshot, request);
  auto it = std::find_if(d.rejections.begin(), d.rejections.end(),
                         [](const Rejection& r) { return r.region == "us-east-1"; });
  ASSERT_NE(it, d.rejections.end()) << c.name;
  EXPECT_EQ(it->reason, c.reason) << c.name;
  EXPECT_EQ(describe(*it), c.text) << c.name;
  EXPECT_NE(d.region, "us-east-1") << c.name;
}

auto noRegionChange = [](std::vector<RegionInfo>&) {};
auto noRequestChange = [](Request&) {};

INSTANTIATE_TEST_SUITE_P(
    EveryReason, FilterTest,
    ::testing::Values(
        FilterCase{"disabled", [](auto& r) { r[0].enabled = false; }, noRequestChange, Reason::kRegionDisabled,
                   "region disabled"},
        FilterCase{"phase disabled", [](auto& r) { r[0].phase = RegionPhase::kDisabled; }, noRequestChange,
                   Reason::kRegionDisabled, "region disabled"},
        FilterCase{"failed", [](auto& r) { r[0].phase = RegionPhase::kFailed; }, noRequestChange,
                   Reason::kRegionFailed, "region failed"},
        FilterCase{"draining", [](auto& r) { r[0].phase = RegionPhase::kDraining; }, noRequestChange,
                   Reason::kRegionDraining, "region draining"},
        FilterCase{"unreachable", [](auto& r) { r[0].reachable = false; }, noRequestChange,
                   Reason::kRegionUnreachable, "region unreachable (no heartbeat)"},
        FilterCase{"not allowed", noRegionChange, [](Request& q) { q.constraints.regions = {"eu-west-1"}; },
                   Reason::kNotAllowed, "not in allowed regions"},
        FilterCase{"excluded", noRegionChange, [](Request& q) { q.constraints.excludeRegions = {"us-east-1"}; },
                   Reason::kExcluded, "excluded"},
        FilterCase{"continent", noRegionChange,
                   [](Request& q) { q.constraints.continents = {Continent::kEurope, Continent::kAsia}; },
                   Reason::kContinent, "continent north-america not allowed"},
        FilterCase{"country", noRegionChange, [](Request& q) { q.constraints.countries = {"DE", "IE"}; },
                   Reason::kCountry, "country US not allowed"},
        FilterCase{"compliance known elsewhere", noRegionChange,
                   [](Request& q) { q.constraints.compliance = {"soc2", "gdpr"}; }, Reason::kCompliance,
                   "lacks compliance gdpr"},
        FilterCase{"compliance nobody has", noRegionChange,
                   [](Request& q) { q.constraints.compliance = {"fedramp"}; }, Reason::kCompliance,
                   "lacks compliance fedramp"},
        FilterCase{"health", [](auto& r) { r[0].healthScore = 60; },
                   [](Request& q) { q.constraints.minHealth = 80; }, Reason::kHealth, "health 60 under min 80"},
        FilterCase{"health unknown", [](auto& r) { r[0].healthScore.reset(); },
                   [](Request& q) { q.constraints.minHealth = 1; }, Reason::kHealth,
                   "health unknown under min 1"},
        FilterCase{"latency from a point", noRegionChange,
                   [](Request& q) {
                     q.constraints.origin = Origin{std::nullopt, GeoPoint{48.86, 2.35}};  // Paris
                     q.constraints.maxLatencyMs = 50;
                   },
                   Reason::kLatency, "latency 95.72 ms over max 50 ms"},
        FilterCase{"cost", noRegionChange, [](Request& q) { q.constraints.maxCostPerHour = 0.05; },
                   Reason::kCost, "cost 0.11/h over max 0.05/h"},
        FilterCase{"cpu", [](auto& r) { r[0].allocated.cpu = 4095; }, noRequestChange, Reason::kInsufficientCpu,
                   "insufficient cpu: 1 free, 2 requested"},
        FilterCase{"memory", [](auto& r) { r[0].capacity.memoryMiB = 1000; }, noRequestChange,
                   Reason::kInsufficientMemory, "insufficient memory: 1000 MiB free, 4096 MiB requested"},
        FilterCase{"storage", [](auto& r) { r[0].allocated.storageGiB = 512000; }, noRequestChange,
                   Reason::kInsufficientStorage, "insufficient storage: 0 GiB free, 20 GiB requested"},
        FilterCase{"vm slots", [](auto& r) { r[0].allocated.vms = 10000; }, noRequestChange, Reason::kNoVmSlots,
                   "no vm slots"}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(FilterRulesTest, UnknownPhaseAndDegradedAreCandidates) {
  auto regions = fiveRegions();
  regions[0].phase = RegionPhase::kUnknown;
  regions[1].phase = RegionPhase::kDegraded;
  Snapshot snapshot = build(regions);
  const Engine engine;
  for (const char* name : {"us-east-1", "us-west-2"}) {
    auto checked = engine.check(snapshot, makeRequest("ns/vm"), name);
    ASSERT_TRUE(checked.ok());
    EXPECT_FALSE(checked.value().has_value()) << name;
  }
}

TEST(FilterRulesTest, MeasuredRttWinsOverDistance) {
  Snapshot snapshot = build(fiveRegions(), {{"us-east-1", "eu-west-1", 400.0}});
  Request request = makeRequest("ns/vm");
  request.constraints.origin = Origin{"us-east-1", std::nullopt};
  request.constraints.maxLatencyMs = 150;  // by distance (~5500 km) eu-west-1 would be ~84 ms
  const Engine engine;
  auto checked = engine.check(snapshot, request, "eu-west-1");
  ASSERT_TRUE(checked.ok());
  ASSERT_TRUE(checked.value().has_value());
  EXPECT_EQ(describe(*checked.value()), "latency 400 ms over max 150 ms");
  // The sample serves the reverse direction too.
  request.constraints.origin = Origin{"eu-west-1", std::nullopt};
  checked = engine.check(snapshot, request, "us-east-1");
  ASSERT_TRUE(checked.ok() && checked.value().has_value());
  EXPECT_EQ(checked.value()->reason, Reason::kLatency);
  // Unmeasured pairs fall back to the estimate; the origin region itself is 0 ms away.
  checked = engine.check(snapshot, request, "eu-central-1");
  ASSERT_TRUE(checked.ok());
  EXPECT_FALSE(checked.value().has_value());
  checked = engine.check(snapshot, request, "eu-west-1");
  ASSERT_TRUE(checked.ok());
  EXPECT_FALSE(checked.value().has_value());
}

// ---- Algorithms. ----

struct AlgorithmCase {
  const char* name;
  std::function<void(std::vector<RegionInfo>&)> alterRegions;
  std::function<void(Request&)> alterRequest;
  std::vector<RttSample> rtts;
  std::vector<PlacedVM> vms;
  const char* expectedRegion;
};
void PrintTo(const AlgorithmCase& c, std::ostream* os) { *os << c.name; }

class AlgorithmTest : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(AlgorithmTest, ChoosesExpectedRegion) {
  const AlgorithmCase& c = GetParam();
  auto regions = fiveRegions();
  c.alterRegions(regions);
  Snapshot snapshot = build(regions, c.rtts, c.vms);
  Request request = makeRequest("ns/vm");
  c.alterRequest(request);
  const Decision d = Engine().place(snapshot, request);
  ASSERT_EQ(d.outcome, Outcome::kPlaced) << c.name << ": " << d.message;
  EXPECT_EQ(d.region, c.expectedRegion) << c.name;
  ASSERT_FALSE(d.candidates.empty());
  EXPECT_EQ(d.candidates.front().region, d.region);
  EXPECT_DOUBLE_EQ(d.candidates.front().score, d.score);
  for (size_t i = 1; i < d.candidates.size(); ++i) EXPECT_GE(d.candidates[i - 1].score, d.candidates[i].score);
}

Origin point(double latitude, double longitude) { return Origin{std::nullopt, GeoPoint{latitude, longitude}}; }

INSTANTIATE_TEST_SUITE_P(
    Algorithms, AlgorithmTest,
    ::testing::Values(
        AlgorithmCase{"latency from Paris", noRegionChange,
                      [](Request& q) {
                        q.algorithm = Algorithm::kLatency;
                        q.constraints.origin = point(48.86, 2.35);
                      },
                      {}, {}, "eu-central-1"},
        AlgorithmCase{"latency follows measured rtt", noRegionChange,
                      [](Request& q) {
                        q.algorithm = Algorithm::kLatency;
                        q.constraints.origin = Origin{"us-west-2", std::nullopt};
                        q.constraints.excludeRegions = {"us-west-2"};
                      },
                      {{"us-west-2", "eu-west-1", 2.0}}, {}, "eu-west-1"},
        AlgorithmCase{"geo-proximity ignores measured rtt", noRegionChange,
                      [](Request& q) {
                        q.algorithm = Algorithm::kGeoProximity;
                        q.constraints.origin = Origin{"us-west-2", std::nullopt};
                        q.constraints.excludeRegions = {"us-west-2"};
                      },
                      {{"us-west-2", "eu-west-1", 2.0}}, {}, "us-east-1"},
        AlgorithmCase{"geo-proximity from Mumbai", noRegionChange,
                      [](Request& q) {
                        q.algorithm = Algorithm::kGeoProximity;
                        q.constraints.origin = point(19.0, 73.0);
                      },
                      {}, {}, "ap-south-1"},
        AlgorithmCase{"cost", noRegionChange, [](Request& q) { q.algorithm = Algorithm::kCost; }, {}, {},
                      "ap-south-1"},
        AlgorithmCase{"balanced picks the least loaded",
                      [](auto& r) {
                        for (auto& region : r) region.allocated = {1000, 100, 0, 10};
                        r[3].allocated = {10, 100, 0, 10};  // eu-central-1: 1526 of 1536 cpu free
                      },
                      [](Request& q) { q.algorithm = Algorithm::kBalanced; }, {}, {}, "eu-central-1"},
        AlgorithmCase{"hybrid defaults favour priority and health", noRegionChange, noRequestChange, {}, {},
                      "us-east-1"},
        AlgorithmCase{"hybrid health weight only", [](auto& r) { r[4].healthScore = 99; },
                      [](Request& q) { q.weights = Weights{.health = 1}; }, {}, {}, "ap-south-1"},
        AlgorithmCase{"hybrid spread weight only",
                      noRegionChange,
                      [](Request& q) {
                        q.weights = Weights{.spread = 1};
                        q.constraints.spreadGroup = "web";
                      },
                      {},
                      {{"ns/a", "us-east-1", {1, 1, 0}, 50, false, "web"},
                       {"ns/b", "us-west-2", {1, 1, 0}, 50, false, "web"},
                       {"ns/c", "eu-west-1", {1, 1, 0}, 50, false, "web"},
                       {"ns/d", "ap-south-1", {1, 1, 0}, 50, false, "web"}},
                      "eu-central-1"},
        AlgorithmCase{"ties break by name",
                      [](auto& r) {
                        for (auto& region : r) {
                          region = r[1];
                          region.name = "z";
                        }
                        r[0].name = "c";
                        r[1].name = "b";
                        r[2].name = "d";
                        r[3].name = "e";
                        r[4].name = "f";
                      },
                      noRequestChange, {}, {}, "b"}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(ScoresTest, FactorsAreInRangeAndWeighted) {
  Snapshot snapshot = build(fiveRegions());
  Request request = makeRequest("ns/vm");
  request.weights = Weights{.priority = 1};
  EngineConfig config;
  config.maxCandidates = 5;
  const Decision d = Engine(config).place(snapshot, request);
  ASSERT_EQ(d.candidates.size(), 5u);
  EXPECT_EQ(d.candidates[0].region, "us-east-1");
  EXPECT_DOUBLE_EQ(d.candidates[0].score, 90);  // priority weight only: score = region priority
  EXPECT_DOUBLE_EQ(d.candidates[4].score, 60);
  for (const Candidate& c : d.candidates) {
    for (double f : {c.factors.latency, c.factors.cost, c.factors.capacity, c.factors.health, c.factors.priority,
                     c.factors.spread}) {
      EXPECT_GE(f, 0);
      EXPECT_LE(f, 100);
    }
    EXPECT_DOUBLE_EQ(c.factors.latency, 100);  // no origin
    EXPECT_DOUBLE_EQ(c.factors.spread, 100);   // no group
  }
  // ap-south-1 is the cheapest: cost factor 100.
  EXPECT_DOUBLE_EQ(d.candidates[4].factors.cost, 100);
}

// ---- Preemption. ----

std::vector<RegionInfo> twoSmallRegions() {
  auto regions = fiveRegions();
  regions.resize(2);
  for (auto& r : regions) r.capacity = {8, 16384, 100, std::nullopt};
  return regions;
}

TEST(EnginePreemptionTest, ChoosesFewestThenLowestVictims) {
  auto regions = twoSmallRegions();
  // us-east-1: 8 cpu used by four 2-cpu VMs of priority 10, 20, 30, 40.
  // us-west-2: 8 cpu used by one 8-cpu VM of priority 45 and nothing else.
  regions[0].allocated = {8, 4096, 0, 4};
  regions[1].allocated = {8, 1024, 0, 1};
  std::vector<PlacedVM> vms = {
      {"ns/a10", "us-east-1", {2, 1024, 0}, 10, true, ""}, {"ns/b20", "us-east-1", {2, 1024, 0}, 20, true, ""},
      {"ns/c30", "us-east-1", {2, 1024, 0}, 30, true, ""}, {"ns/d40", "us-east-1", {2, 1024, 0}, 40, true, ""},
      {"ns/big", "us-west-2", {8, 1024, 0}, 45, true, ""},
  };
  Snapshot snapshot = build(regions, {}, vms);
  Request request = makeRequest("ns/new", 4, 1024, 0);
  request.priority = 50;
  const Decision d = Engine().place(snapshot, request);
  ASSERT_EQ(d.outcome, Outcome::kPlacedWithPreemption) << d.message;
  // One victim in us-west-2 beats two in us-east-1.
  EXPECT_EQ(d.region, "us-west-2");
  ASSERT_EQ(d.victims.size(), 1u);
  EXPECT_EQ(d.victims[0].key, "ns/big");
  EXPECT_EQ(d.message, "0/2 regions fit: 2 insufficient cpu; preempting 1 VM in us-west-2");

  // Make the big one non-preemptible: two victims in us-east-1, the two lowest.
  vms[4].preemptible = false;
  Snapshot snapshot2 = build(regions, {}, vms);
  const Decision d2 = Engine().place(snapshot2, request);
  ASSERT_EQ(d2.outcome, Outcome::kPlacedWithPreemption);
  EXPECT_EQ(d2.region, "us-east-1");
  ASSERT_EQ(d2.victims.size(), 2u);
  EXPECT_EQ(d2.victims[0].key, "ns/a10");
  EXPECT_EQ(d2.victims[1].key, "ns/b20");
}

TEST(EnginePreemptionTest, OneLargerVictimBeatsTwoLowerOnes) {
  auto regions = twoSmallRegions();
  regions.resize(1);
  regions[0].allocated = {8, 3072, 0, 3};
  std::vector<PlacedVM> vms = {{"ns/p10", "us-east-1", {2, 1024, 0}, 10, true, ""},
                               {"ns/p20", "us-east-1", {2, 1024, 0}, 20, true, ""},
                               {"ns/p30", "us-east-1", {4, 1024, 0}, 30, true, ""}};
  Snapshot snapshot = build(regions, {}, vms);
  Request request = makeRequest("ns/new", 4, 1024, 0);
  request.priority = 50;
  const Decision d = Engine().place(snapshot, request);
  ASSERT_EQ(d.outcome, Outcome::kPlacedWithPreemption);
  ASSERT_EQ(d.victims.size(), 1u);  // lowest-first greedy would take p10 and p20
  EXPECT_EQ(d.victims[0].key, "ns/p30");
}

TEST(EnginePreemptionTest, NeverEqualOrHigherPriorityNorWhenDisabled) {
  auto regions = twoSmallRegions();
  regions[0].allocated = {8, 1024, 0, 1};
  regions[1].allocated = {8, 1024, 0, 1};
  std::vector<PlacedVM> vms = {{"ns/eq", "us-east-1", {8, 1024, 0}, 50, true, ""},
                               {"ns/low-but-pinned", "us-west-2", {8, 1024, 0}, 10, false, ""}};
  Snapshot snapshot = build(regions, {}, vms);
  Request request = makeRequest("ns/new", 4, 1024, 0);
  request.priority = 50;
  Decision d = Engine().place(snapshot, request);
  EXPECT_EQ(d.outcome, Outcome::kUnschedulable);
  EXPECT_TRUE(d.victims.empty());

  request.priority = 51;
  d = Engine().place(snapshot, request);
  ASSERT_EQ(d.outcome, Outcome::kPlacedWithPreemption);
  EXPECT_EQ(d.victims.at(0).key, "ns/eq");

  EngineConfig off;
  off.enablePreemption = false;
  d = Engine(off).place(snapshot, request);
  EXPECT_EQ(d.outcome, Outcome::kUnschedulable);
}

TEST(EnginePreemptionTest, OtherConstraintsStillHold) {
  auto regions = twoSmallRegions();
  regions[0].allocated = {8, 1024, 0, 1};
  std::vector<PlacedVM> vms = {{"ns/low", "us-east-1", {8, 1024, 0}, 1, true, ""}};
  regions[1].allocated = {8, 1024, 0, 0};  // full, no VMs to preempt
  Snapshot snapshot = build(regions, {}, vms);
  Request request = makeRequest("ns/new", 4, 1024, 0);
  request.priority = 90;
  request.constraints.compliance = {"gdpr"};  // neither region has it
  Decision d = Engine().place(snapshot, request);
  EXPECT_EQ(d.outcome, Outcome::kUnschedulable);
  EXPECT_EQ(d.message, "0/2 regions fit: 2 lack compliance gdpr");
  request.constraints.compliance = {"hipaa"};  // us-east-1 has it
  d = Engine().place(snapshot, request);
  EXPECT_EQ(d.outcome, Outcome::kPlacedWithPreemption);
  EXPECT_EQ(d.region, "us-east-1");
}

// ---- Re-placement, batch, snapshot. ----

TEST(EngineTest, AlreadyPlacedVmIsEvaluatedAsIfRemoved) {
  auto regions = twoSmallRegions();
  regions[0].allocated = {8, 4096, 10, 1};
  regions[1].allocated = {8, 4096, 10, 1};
  std::vector<PlacedVM> vms = {{"ns/me", "us-east-1", {8, 4096, 10}, 50, false, ""},
                               {"ns/other", "us-west-2", {8, 4096, 10}, 50, false, ""}};
  Snapshot snapshot = build(regions, {}, vms);
  Request request = makeRequest("ns/me", 8, 4096, 10);
  const Engine engine;
  auto checked = engine.check(snapshot, request, "us-east-1");
  ASSERT_TRUE(checked.ok());
  EXPECT_FALSE(checked.value().has_value());  // its own 8 cpu are credited back
  request.resources.cpu = 9;
  checked = engine.check(snapshot, request, "us-east-1");
  ASSERT_TRUE(checked.ok() && checked.value().has_value());
  EXPECT_EQ(describe(*checked.value()), "insufficient cpu: 8 free, 9 requested");
  request.resources.cpu = 8;
  Decision d = engine.place(snapshot, request);
  ASSERT_EQ(d.outcome, Outcome::kPlaced);
  EXPECT_EQ(d.region, "us-east-1");
  ASSERT_TRUE(snapshot.commit(request, d).ok());
  EXPECT_EQ(snapshot.region(0).allocated, (RegionAllocation{8, 4096, 10, 1}));  // moved in place, not doubled
}

TEST(EngineTest, BatchPlacesByPriorityWithoutOverCommit) {
  auto regions = twoSmallRegions();  // 16 cpu in total
  Snapshot snapshot = build(regions);
  std::vector<Request> requests;
  for (int i = 0; i < 6; ++i) {
    Request r = makeRequest("ns/vm-" + std::to_string(i), 4, 1024, 0);
    r.priority = i * 10;
    requests.push_back(r);
  }
  EngineConfig config;
  config.enablePreemption = false;
  const auto decisions = Engine(config).placeBatch(snapshot, requests);
  ASSERT_EQ(decisions.size(), 6u);
  EXPECT_EQ(decisions[0].key, "ns/vm-5");
  EXPECT_EQ(decisions[5].key, "ns/vm-0");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(decisions[i].outcome, Outcome::kPlaced) << i;
  EXPECT_EQ(decisions[4].outcome, Outcome::kUnschedulable);
  EXPECT_EQ(decisions[5].outcome, Outcome::kUnschedulable);
  EXPECT_EQ(decisions[4].message, "0/2 regions fit: 2 insufficient cpu");
  EXPECT_EQ(snapshot.region(0).allocated.cpu + snapshot.region(1).allocated.cpu, 16);
  EXPECT_EQ(snapshot.placedVMs().size(), 4u);
}

TEST(EngineTest, InvalidRequests) {
  Snapshot snapshot = build(fiveRegions());
  const Engine engine;
  struct Case {
    std::function<void(Request&)> alter;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](Request& q) { q.key.clear(); }, "key: must not be empty"},
      {[](Request& q) { q.resources.cpu = 0; }, "resources.cpu: must be at least 1"},
      {[](Request& q) { q.resources.memoryMiB = 0; }, "resources.memoryMiB: must be at least 1"},
      {[](Request& q) { q.resources.storageGiB = -1; }, "resources.storageGiB: must be at least 0"},
      {[](Request& q) { q.priority = 101; }, "priority: must be between 0 and 100"},
      {[](Request& q) { q.constraints.origin = Origin{}; },
       "constraints.origin: must set either region or both latitude and longitude"},
      {[](Request& q) { q.constraints.origin = Origin{"nowhere", std::nullopt}; },
       "constraints.origin.region: unknown region \"nowhere\""},
      {[](Request& q) { q.constraints.origin = point(91, 0); }, "constraints.origin.latitude: must be between -90 and 90"},
      {[](Request& q) { q.constraints.maxLatencyMs = 10; }, "constraints.maxLatencyMs: needs constraints.origin"},
      {[](Request& q) { q.constraints.maxCostPerHour = 0; }, "constraints.maxCostPerHour: must be above 0"},
      {[](Request& q) { q.algorithm = Algorithm::kGeoProximity; },
       "constraints.origin: is required when algorithm is geo-proximity"},
      {[](Request& q) {
         q.algorithm = Algorithm::kCost;
         q.weights = Weights{.cost = 1};
       },
       "weights: applies only to algorithm hybrid"},
      {[](Request& q) { q.weights = Weights{}; }, "weights: must give at least one factor a weight above 0"},
      {[](Request& q) { q.weights = Weights{.latency = 1, .cost = -1}; }, "weights.cost: must be at least 0"},
  };
  for (const Case& c : cases) {
    Request request = makeRequest("ns/vm");
    c.alter(request);
    const Decision d = engine.place(snapshot, request);
    EXPECT_EQ(d.outcome, Outcome::kInvalid) << c.message;
    EXPECT_EQ(d.message, c.message);
    auto checked = engine.check(snapshot, request, "us-east-1");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().message, c.message);
  }
  auto unknown = engine.check(snapshot, makeRequest("ns/vm"), "mars-1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "region \"mars-1\" is unknown");
}

TEST(SnapshotTest, BuildErrorsAndTolerance) {
  auto regions = fiveRegions();
  regions[1].name = "us-east-1";
  auto dup = Snapshot::build(regions);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message, "regions[1].name: duplicate region \"us-east-1\"");
  regions[1].name = "";
  EXPECT_FALSE(Snapshot::build(regions).ok());

  auto dupVm = Snapshot::build(fiveRegions(), {}, {{"ns/a", "us-east-1", {}, 50, false, ""}, {"ns/a", "us-west-2", {}, 50, false, ""}});
  ASSERT_FALSE(dupVm.ok());
  EXPECT_EQ(dupVm.error().message, "vms[1].key: duplicate VM \"ns/a\"");

  auto tolerant = Snapshot::build(fiveRegions(), {{"gone", "us-east-1", 5}}, {{"ns/a", "gone", {}, 50, false, ""}});
  ASSERT_TRUE(tolerant.ok());
  EXPECT_TRUE(tolerant.value().placedVMs().empty());
  EXPECT_FALSE(tolerant.value().measuredRttMs(0, 1).has_value());
}

TEST(SnapshotTest, AddRemoveKeepAllocationAndSpread) {
  Snapshot snapshot = build(fiveRegions());
  ASSERT_TRUE(snapshot.add({"ns/a", "eu-west-1", {4, 2048, 10}, 50, false, "web"}).ok());
  EXPECT_FALSE(snapshot.add({"ns/a", "eu-west-1", {4, 2048, 10}, 50, false, "web"}).ok());
  EXPECT_FALSE(snapshot.add({"ns/b", "mars-1", {4, 2048, 10}, 50, false, "web"}).ok());
  EXPECT_EQ(snapshot.region(2).allocated, (RegionAllocation{4, 2048, 10, 1}));
  ASSERT_NE(snapshot.spreadCounts("web"), nullptr);
  EXPECT_EQ((*snapshot.spreadCounts("web"))[2], 1u);
  EXPECT_TRUE(snapshot.remove("ns/a"));
  EXPECT_FALSE(snapshot.remove("ns/a"));
  EXPECT_EQ(snapshot.region(2).allocated, (RegionAllocation{}));
  EXPECT_EQ((*snapshot.spreadCounts("web"))[2], 0u);
}

}  // namespace
}  // namespace dwcp::placement
