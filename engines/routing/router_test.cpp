#include "engines/routing/router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "base/geodesic_reference_test.h"

namespace dwcp::routing {
namespace {

using std::chrono::seconds;

RegionSpec makeRegion(std::string name, double lat, double lon, double costPerRequest = 0.001,
                      RegionPhase phase = RegionPhase::kHealthy) {
  RegionSpec r;
  r.name = std::move(name);
  r.endpoint = "https://" + r.name + ".example.com";
  r.location = {lat, lon};
  r.phase = phase;
  r.costPerRequest = costPerRequest;
  return r;
}

// The five regions of examples/regions.yaml.
std::vector<RegionSpec> exampleRegions() {
  auto cost = [](double cpuHour) { return cpuHour * 0.01 / 3600; };
  return {makeRegion("us-east-1", 38.13, -78.45, cost(0.0416)), makeRegion("us-west-2", 45.84, -119.70, cost(0.0416)),
          makeRegion("eu-west-1", 53.35, -6.26, cost(0.0464)), makeRegion("eu-central-1", 50.11, 8.68, cost(0.048)),
          makeRegion("ap-south-1", 19.08, 72.88, cost(0.0352))};
}

class RouterTest : public ::testing::Test {
 protected:
  void load(std::vector<RegionSpec> specs) { ASSERT_TRUE(table.replaceAll(std::move(specs)).ok()); }
  std::string routeName(const RouteRequest& request) {
    auto decision = router.route(request);
    EXPECT_TRUE(decision.ok()) << (decision.ok() ? "" : decision.error().toString());
    return decision.ok() ? std::string(decision->regionName()) : std::string();
  }
  RouteRequest geo(double lat, double lon) {
    RouteRequest r;
    r.clientLocation = GeoPoint{lat, lon};
    r.algorithm = Algorithm::kGeoProximity;
    return r;
  }

  base::FakeClock clock;
  RegionTable table;
  Router router{table, RouterConfig{}, clock};
};

// ---- region table ----

TEST_F(RouterTest, TableRejectsBadSpecsNamingTheFieldAndStaysUnchanged) {
  load(exampleRegions());
  auto specs = exampleRegions();
  specs[2].location.latitude = 91;
  auto status = table.replaceAll(specs);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().field, "location.latitude");
  EXPECT_NE(status.error().message.find("eu-west-1"), std::string::npos);
  specs = exampleRegions();
  specs.push_back(specs[0]);
  EXPECT_FALSE(table.replaceAll(specs).ok());
  EXPECT_EQ(table.snapshot()->regions().size(), 5u);

  RegionSpec bad = makeRegion("x", 0, 0);
  bad.capacityWeight = 0;
  EXPECT_EQ(validate(bad).error().field, "capacityWeight");
  bad = makeRegion("", 0, 0);
  EXPECT_EQ(validate(bad).error().field, "name");
  bad = makeRegion("x", 0, 0);
  bad.healthScore = 101;
  EXPECT_EQ(validate(bad).error().field, "healthScore");
  EXPECT_EQ(table.setPhase("nope", RegionPhase::kFailed).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(table.remove("nope").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(table.reportLoad("us-east-1", -1).ok());
}

TEST_F(RouterTest, SnapshotsAreImmutableAndLiveStateSurvivesUpdates) {
  load(exampleRegions());
  auto before = table.snapshot();
  ASSERT_TRUE(table.setPhase("us-east-1", RegionPhase::kFailed).ok());
  auto after = table.snapshot();
  EXPECT_GT(after->version(), before->version());
  EXPECT_TRUE(before->regions()[*before->indexOf("us-east-1")].acceptsTraffic);
  EXPECT_FALSE(after->regions()[*after->indexOf("us-east-1")].acceptsTraffic);
  EXPECT_EQ(before->regions()[*before->indexOf("eu-west-1")].live.get(),
            after->regions()[*after->indexOf("eu-west-1")].live.get());
  // A region that moves starts a fresh latency table.
  auto moved = exampleRegions()[2];
  moved.location = {10, 10};
  ASSERT_TRUE(table.upsert(moved).ok());
  EXPECT_NE(after->regions()[*after->indexOf("eu-west-1")].live.get(),
            table.snapshot()->regions()[*table.snapshot()->indexOf("eu-west-1")].live.get());
  ASSERT_TRUE(table.remove("eu-west-1").ok());
  EXPECT_FALSE(table.snapshot()->indexOf("eu-west-1").has_value());
}

// ---- health ----

TEST_F(RouterTest, NoAlgorithmEverPicksFailedDrainingOrDisabledRegions) {
  auto specs = exampleRegions();
  specs[0].phase = RegionPhase::kFailed;    // us-east-1
  specs[2].phase = RegionPhase::kDraining;  // eu-west-1
  specs[4].phase = RegionPhase::kDisabled;  // ap-south-1
  load(specs);
  const std::set<std::string> allowed = {"us-west-2", "eu-central-1"};
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-89, 89), lon(-180, 180);
  for (int i = 0; i < 500; ++i) {
    RouteRequest request;
    if (i % 3 != 0) request.clientLocation = GeoPoint{lat(rng), lon(rng)};
    request.algorithm = static_cast<Algorithm>(i % kAlgorithmCount);
    request.trafficClass = static_cast<TrafficClass>(i % kTrafficClassCount);
    auto decision = router.route(request);
    ASSERT_TRUE(decision.ok());
    EXPECT_TRUE(allowed.count(std::string(decision->regionName()))) << decision->regionName();
    for (std::size_t a = 0; a < decision->alternativeCount; ++a) {
      EXPECT_TRUE(allowed.count(decision->alternativeRegion(a).spec.name));
    }
  }
}

TEST_F(RouterTest, NoEligibleRegionIsAClearError) {
  auto empty = router.route({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kNoEligibleRegion);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);

  load({makeRegion("a", 0, 0, 1, RegionPhase::kFailed), makeRegion("b", 0, 1, 1, RegionPhase::kDraining),
        makeRegion("c", 0, 2, 1, RegionPhase::kDisabled)});
  auto none = router.route({});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNoEligibleRegion);
  EXPECT_EQ(none.error().message, "no eligible region among 3: 1 Failed, 1 Draining, 1 Disabled");
}

TEST_F(RouterTest, MinHealthScoreExcludesUnhealthyRegions) {
  RegionTableOptions options;
  options.minHealthScore = 50;
  RegionTable strict(options);
  Router strictRouter(strict, {}, clock);
  auto specs = exampleRegions();
  for (auto& s : specs) s.healthScore = 10;
  specs[3].healthScore = 60;
  ASSERT_TRUE(strict.replaceAll(specs).ok());
  for (int i = 0; i < kAlgorithmCount; ++i) {
    RouteRequest request;
    request.algorithm = static_cast<Algorithm>(i);
    auto decision = strictRouter.route(request);
    ASSERT_TRUE(decision.ok());
    EXPECT_EQ(decision->regionName(), "eu-central-1");
  }
}

TEST_F(RouterTest, InvalidRequestsNameTheField) {
  load(exampleRegions());
  RouteRequest request;
  request.clientLocation = GeoPoint{91, 0};
  EXPECT_EQ(router.route(request).error().field, "clientLocation.latitude");
  request.clientLocation = GeoPoint{0, -181};
  EXPECT_EQ(router.route(request).error().field, "clientLocation.longitude");
  request.clientLocation.reset();
  request.maxLatencyMs = 0;
  EXPECT_EQ(router.route(request).error().field, "maxLatencyMs");
  request.maxLatencyMs.reset();
  request.algorithm = static_cast<Algorithm>(9);
  EXPECT_EQ(router.route(request).error().field, "algorithm");
}

TEST_F(RouterTest, ConsecutiveErrorsEjectARegionUntilItsTimeIsUp) {
  load({makeRegion("a", 0, 0), makeRegion("b", 0, 5), makeRegion("c", 0, 10)});
  RouteRequest request;
  request.clientLocation = GeoPoint{0, 0};
  request.algorithm = Algorithm::kGeoProximity;
  auto first = router.route(request);
  ASSERT_EQ(first->regionName(), "a");
  for (int i = 0; i < 4; ++i) router.recordOutcome(*first, 5, false);
  EXPECT_FALSE(router.isEjected("a"));
  router.recordOutcome(*first, 5, false);
  EXPECT_TRUE(router.isEjected("a"));
  for (int algo = 0; algo < kAlgorithmCount; ++algo) {
    request.algorithm = static_cast<Algorithm>(algo);
    for (int i = 0; i < 20; ++i) EXPECT_NE(routeName(request), "a");
  }
  request.algorithm = Algorithm::kGeoProximity;
  clock.advance(seconds(29));
  EXPECT_EQ(routeName(request), "b");
  clock.advance(seconds(1));
  EXPECT_EQ(routeName(request), "a");  // recovered after the base ejection time
  // A second ejection soon after lasts twice as long.
  for (int i = 0; i < 5; ++i) router.recordOutcome(*first, 5, false);
  EXPECT_TRUE(router.isEjected("a"));
  clock.advance(seconds(59));
  EXPECT_TRUE(router.isEjected("a"));
  clock.advance(seconds(1));
  EXPECT_FALSE(router.isEjected("a"));
}

TEST_F(RouterTest, ErrorRateEjectsAndSuccessesResetTheStreak) {
  load({makeRegion("a", 0, 0), makeRegion("b", 0, 5), makeRegion("c", 0, 10)});
  for (int i = 0; i < 19; ++i) ASSERT_TRUE(router.recordOutcome("a", std::nullopt, 5, i % 2 == 1).ok());
  EXPECT_FALSE(router.isEjected("a"));  // below minRequestsInWindow, never 5 errors in a row
  ASSERT_TRUE(router.recordOutcome("a", std::nullopt, 5, false).ok());
  EXPECT_TRUE(router.isEjected("a"));  // 10 errors of 20 = 50%
  EXPECT_EQ(router.recordOutcome("zzz", std::nullopt, 5, false).error().code, ErrorCode::kNotFound);
}

TEST_F(RouterTest, NeverEjectsMoreThanMaxEjectionPercent) {
  load({makeRegion("a", 0, 0), makeRegion("b", 0, 5)});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(router.recordOutcome("a", std::nullopt, 5, false).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(router.recordOutcome("b", std::nullopt, 5, false).ok());
  EXPECT_TRUE(router.isEjected("a"));
  EXPECT_FALSE(router.isEjected("b"));  // 50% of two regions
  EXPECT_EQ(routeName({}), "b");
}

TEST_F(RouterTest, HintIsHonouredAndFailoverOrderUsedWhenItIsGone) {
  auto specs = exampleRegions();
  specs[0].failoverRegions = {"eu-west-1", "us-west-2", "ghost"};  // us-east-1
  load(specs);
  RouteRequest request;
  request.clientLocation = GeoPoint{48.85, 2.35};  // Paris
  request.regionHint = "us-east-1";
  auto d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->regionName(), "us-east-1");
  EXPECT_TRUE(d->hintHonoured);
  EXPECT_FALSE(d->failover);

  ASSERT_TRUE(table.setPhase("us-east-1", RegionPhase::kFailed).ok());
  ASSERT_TRUE(table.setPhase("eu-west-1", RegionPhase::kDraining).ok());
  d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->regionName(), "us-west-2");  // first routable in the failover order
  EXPECT_TRUE(d->failover);
  EXPECT_FALSE(d->hintHonoured);

  request.regionHint = "no-such-region";
  request.algorithm = Algorithm::kGeoProximity;
  d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->regionName(), "eu-central-1");  // algorithm's choice (eu-west-1 is draining)
  EXPECT_TRUE(d->failover);
}

// ---- geo-proximity ----

// Checks that the router's choice is the Vincenty-nearest region (or, within the sphere's
// 0.6% error of it, the runner-up).
void expectGeodesicNearest(Router& router, const std::vector<RegionSpec>& specs, GeoPoint client) {
  RouteRequest request;
  request.clientLocation = client;
  request.algorithm = Algorithm::kGeoProximity;
  auto decision = router.route(request);
  ASSERT_TRUE(decision.ok());
  std::vector<std::pair<double, std::string>> byDistance;
  for (const auto& s : specs) {
    if (!phaseAcceptsTraffic(s.phase)) continue;
    byDistance.emplace_back(base::testing::vincentyKm(client.latitude, client.longitude, s.location.latitude,
                                                s.location.longitude),
                            s.name);
  }
  std::sort(byDistance.begin(), byDistance.end());
  const std::string chosen(decision->regionName());
  if (byDistance.size() > 1 && byDistance[1].first < byDistance[0].first * 1.006) {
    EXPECT_TRUE(chosen == byDistance[0].second || chosen == byDistance[1].second);
  } else {
    EXPECT_EQ(chosen, byDistance[0].second) << "client " << client.latitude << "," << client.longitude;
  }
  EXPECT_EQ(decision->algorithm, Algorithm::kGeoProximity);
  EXPECT_NEAR(decision->score, base::greatCircleKm(client, decision->region().spec.location), 1e-6);
}

TEST_F(RouterTest, GeoPicksNearestAcrossTheAntimeridian) {
  const std::vector<RegionSpec> specs = {makeRegion("apia", -13.83, -171.76), makeRegion("sydney", -33.87, 151.21),
                                         makeRegion("auckland", -36.85, 174.76),
                                         makeRegion("honolulu", 21.31, -157.86)};
  load(specs);
  // Suva, Fiji (178.4 E): Apia at -171.8 is ~1 150 km east across the antimeridian; a naive
  // longitude difference would call it 350 degrees away.
  EXPECT_EQ(routeName(geo(-18.14, 178.44)), "apia");
  expectGeodesicNearest(router, specs, {-18.14, 178.44});
  expectGeodesicNearest(router, specs, {-16.0, -179.99});
  expectGeodesicNearest(router, specs, {-30.0, 179.99});
}

TEST_F(RouterTest, GeoPicksNearestNearThePoles) {
  const std::vector<RegionSpec> specs = {makeRegion("svalbard", 78.22, 15.65), makeRegion("alert", 82.50, -62.35),
                                         makeRegion("tiksi", 71.64, 128.87), makeRegion("mcmurdo", -77.85, 166.67),
                                         makeRegion("south-pole", -90, 0)};
  load(specs);
  // 89.5 N on the 120 W meridian: Alert (62 W) and Tiksi (129 E) are near in longitude terms
  // only for Alert; across the pole Tiksi is 19 degrees of arc away, Alert ~ 7.9.
  expectGeodesicNearest(router, specs, {89.5, -120});
  expectGeodesicNearest(router, specs, {89.99, 100});
  expectGeodesicNearest(router, specs, {85, 160});
  // Across the south pole: at 89 S on 10 E, the pole station is nearer than McMurdo.
  EXPECT_EQ(routeName(geo(-89, 10)), "south-pole");
  expectGeodesicNearest(router, specs, {-80, -13});
}

TEST_F(RouterTest, GeoMatchesTheGeodesicReferenceForRandomClients) {
  std::mt19937_64 rng(1234);
  std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180);
  std::vector<RegionSpec> specs;
  for (int i = 0; i < 25; ++i) specs.push_back(makeRegion("r" + std::to_string(i), lat(rng), lon(rng)));
  specs[3].phase = RegionPhase::kFailed;
  load(specs);
  for (int i = 0; i < 300; ++i) expectGeodesicNearest(router, specs, {lat(rng), lon(rng)});
}

TEST_F(RouterTest, GeoWithoutLocationFallsBackToHybrid) {
  load(exampleRegions());
  RouteRequest request;
  request.algorithm = Algorithm::kGeoProximity;
  auto d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm, Algorithm::kHybrid);
}

// ---- cost ----

TEST_F(RouterTest, CostPicksTheCheapestEligibleRegion) {
  load({makeRegion("a", 0, 0, 0.05), makeRegion("b", 0, 1, 0.01, RegionPhase::kFailed), makeRegion("c", 0, 2, 0.02),
        makeRegion("d", 0, 3, 0.03)});
  RouteRequest request;
  request.algorithm = Algorithm::kCost;
  request.trafficClass = TrafficClass::kBulk;
  auto d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->regionName(), "c");
  EXPECT_DOUBLE_EQ(d->score, 0.02);
  ASSERT_EQ(d->alternativeCount, 2u);
  EXPECT_EQ(d->alternativeRegion(0).spec.name, "d");
  EXPECT_EQ(d->alternativeRegion(1).spec.name, "a");
  // Eject c: d is next.
  for (int i = 0; i < 5; ++i) router.recordOutcome(*d, 1, false);
  EXPECT_EQ(routeName(request), "d");
}

TEST_F(RouterTest, CostRespectsTheLatencyBound) {
  load(exampleRegions());
  RouteRequest request;
  request.algorithm = Algorithm::kCost;
  request.clientLocation = GeoPoint{48.85, 2.35};  // Paris
  request.trafficClass = TrafficClass::kBulk;        // 1000 ms: everything is within
  EXPECT_EQ(routeName(request), "ap-south-1");      // the cheapest
  request.maxLatencyMs = 40;                         // Mumbai is ~ 100 ms away, Ireland ~ 15 ms
  EXPECT_EQ(routeName(request), "eu-west-1");       // cheapest of the two European regions
  request.maxLatencyMs = 0.5;                        // nothing within: the lowest latency instead
  auto d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->withinLatencyBound);
  EXPECT_EQ(d->regionName(), "eu-central-1");
  // Observed latency overrides the distance prior: Ireland turns slow for Paris clients.
  request.maxLatencyMs = 40;
  ASSERT_TRUE(router.recordOutcome("eu-west-1", GeoPoint{48.85, 2.35}, 80, true).ok());
  EXPECT_EQ(routeName(request), "eu-central-1");
}

// ---- latency ----

TEST_F(RouterTest, PeakEwmaAvoidsASlowRegionAtOnceAndForgetsSlowly) {
  load({makeRegion("a", 0, 0), makeRegion("b", 0, 1)});
  RouteRequest request;
  request.algorithm = Algorithm::kLatency;
  const std::optional<GeoPoint> where;  // unknown-location area
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(router.recordOutcome("a", where, 20, true).ok());
    ASSERT_TRUE(router.recordOutcome("b", where, 30, true).ok());
    clock.advance(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(routeName(request), "a");
  ASSERT_TRUE(router.recordOutcome("a", where, 250, true).ok());  // one slow answer
  auto d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->regionName(), "b");
  EXPECT_NEAR(d->score, 30, 0.5);
  // Fast answers pull a's estimate down again, faster the longer between them.
  for (int i = 0; i < 30; ++i) {
    clock.advance(seconds(5));
    ASSERT_TRUE(router.recordOutcome("a", where, 20, true).ok());
    ASSERT_TRUE(router.recordOutcome("b", where, 30, true).ok());
  }
  EXPECT_EQ(routeName(request), "a");
}

TEST_F(RouterTest, LatencyIsPerClientArea) {
  load({makeRegion("a", 0, 0), makeRegion("b", 0, 1)});
  const GeoPoint europe{50, 10}, asia{20, 100};
  RouteRequest request;
  request.algorithm = Algorithm::kLatency;
  request.clientLocation = europe;
  EXPECT_EQ(routeName(request), "b");  // by the distance prior, b is a little nearer
  ASSERT_TRUE(router.recordOutcome("b", europe, 300, true).ok());
  EXPECT_EQ(routeName(request), "a");
  request.clientLocation = asia;
  EXPECT_EQ(routeName(request), "b");  // Asian clients have observed nothing
}

// ---- load-balanced ----

TEST_F(RouterTest, PowerOfTwoChoicesSpreadsLoad) {
  std::vector<RegionSpec> specs;
  for (int i = 0; i < 10; ++i) specs.push_back(makeRegion("r" + std::to_string(i), 0, i));
  load(specs);
  RouteRequest request;
  request.algorithm = Algorithm::kLoadBalanced;
  request.trackInFlight = true;
  std::map<std::string, int> counts;
  for (int i = 0; i < 10000; ++i) ++counts[routeName(request)];
  ASSERT_EQ(counts.size(), 10u);
  int lo = 1 << 30, hi = 0;
  for (const auto& [name, n] : counts) lo = std::min(lo, n), hi = std::max(hi, n);
  // One random choice would leave a spread of ~ +-3 sigma = +-90; two choices keep it tiny.
  EXPECT_LE(hi - lo, 4) << "min " << lo << " max " << hi;
}

TEST_F(RouterTest, PowerOfTwoChoicesAvoidsLoadedRegionsAndIsDeterministicPerSeed) {
  std::vector<RegionSpec> specs;
  for (int i = 0; i < 4; ++i) specs.push_back(makeRegion("r" + std::to_string(i), 0, i));
  load(specs);
  ASSERT_TRUE(table.reportLoad("r0", 0.9).ok());
  RouteRequest request;
  request.algorithm = Algorithm::kLoadBalanced;
  std::vector<std::string> sequence;
  int toLoaded = 0;
  for (int i = 0; i < 1000; ++i) {
    sequence.push_back(routeName(request));
    toLoaded += sequence.back() == "r0";
  }
  EXPECT_EQ(toLoaded, 0);  // r0 loses every comparison
  Router again(table, RouterConfig{}, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(std::string(again.route(request)->regionName()), sequence[i]);
  // In-flight accounting goes back down on completion.
  request.trackInFlight = true;
  auto d = router.route(request);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->region().live->inFlight.load(), 1);
  router.recordOutcome(*d, 10, true);
  EXPECT_EQ(d->region().live->inFlight.load(), 0);
}

// ---- hybrid ----

TEST_F(RouterTest, HybridHonoursWeights) {
  // near: 100 km from the client but expensive; cheap: 3 000 km away; healthy: far, full health.
  std::vector<RegionSpec> specs = {makeRegion("near", 0, 0.9, 0.010), makeRegion("cheap", 0, 27, 0.001),
                                   makeRegion("healthy", 0, 60, 0.010)};
  specs[0].healthScore = 50;
  specs[1].healthScore = 50;
  load(specs);
  auto pick = [&](HybridWeights w) {
    RouterConfig config;
    config.hybridWeights = w;
    Router r(table, config, clock);
    RouteRequest request;
    request.clientLocation = GeoPoint{0, 0};
    request.algorithm = Algorithm::kHybrid;
    auto d = r.route(request);
    EXPECT_TRUE(d.ok());
    EXPECT_GE(d->score, 0.0);
    EXPECT_LE(d->score, 1.0);
    return std::string(d->regionName());
  };
  EXPECT_EQ(pick({0, 1, 0, 0, 0}), "cheap");
  EXPECT_EQ(pick({0, 0, 0, 1, 0}), "near");
  EXPECT_EQ(pick({1, 0, 0, 0, 0}), "near");
  EXPECT_EQ(pick({0, 0, 0, 0, 1}), "healthy");
  EXPECT_EQ(pick({0, 0.8, 0, 0.2, 0}), "cheap");
  EXPECT_EQ(pick({0, 0.2, 0, 0.8, 0}), "near");
  // Load: make "near" busy.
  ASSERT_TRUE(table.reportLoad("near", 5).ok());
  EXPECT_EQ(pick({0, 0, 1, 0, 0}), "cheap");  // name order among the idle
  EXPECT_EQ(pick({0, 0, 0.9, 0.1, 0}), "cheap");
}

// The hybrid loop scores regions in fixed-size chunks; its choice must equal scoring every
// routable region one by one, for counts that leave a partial chunk and with ejected regions.
TEST_F(RouterTest, HybridSelectionMatchesScoringEachRegion) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-80, 80), lon(-180, 180), cost(0.0001, 0.01), health(50, 100);
  for (int count : {1, 7, 8, 9, 21}) {
    std::vector<RegionSpec> specs;
    for (int i = 0; i < count; ++i) {
      auto r = makeRegion("r" + std::to_string(i), lat(rng), lon(rng), cost(rng));
      r.healthScore = health(rng);
      r.capacityWeight = 1 + i % 3;
      specs.push_back(r);
    }
    load(specs);
    for (int i = 0; i < count; i += 4) ASSERT_TRUE(table.reportLoad("r" + std::to_string(i), 0.1 * i).ok());
    for (int i = 2; i < count; i += 5) {  // eject a few (at most maxEjectionPercent)
      for (int e = 0; e < 5; ++e) (void)router.recordOutcome("r" + std::to_string(i), std::nullopt, 10, false);
    }
    (void)router.recordOutcome("r0", GeoPoint{10, 20}, 40, true);
    auto snapshot = table.snapshot();
    for (bool withPosition : {true, false}) {
      SelectionContext ctx(*snapshot);
      ctx.nowNanos = clock.steadyNanos();
      ctx.latencyBoundMs = 150;
      if (withPosition) {
        ctx.hasClientPosition = true;
        ctx.clientPosition = base::toUnitVector({10, 20});
        ctx.area = snapshot->grid().areaOf({10, 20});
      } else {
        ctx.area = snapshot->grid().unknownArea();
      }
      std::vector<std::pair<double, std::uint32_t>> expected;
      for (std::uint32_t i = 0; i < snapshot->regions().size(); ++i) {
        if (isRoutable(snapshot->regions()[i], ctx.nowNanos)) {
          expected.emplace_back(scoreRegion(ctx, Algorithm::kHybrid, i), i);
        }
      }
      std::sort(expected.begin(), expected.end());
      const Selection selection = selectHybrid(ctx);
      ASSERT_EQ(selection.top.size(), std::min(expected.size(), kMaxAlternatives + 1)) << count;
      for (std::size_t i = 0; i < selection.top.size(); ++i) {
        EXPECT_EQ(selection.top[i].regionIndex, expected[i].second) << count << " regions, rank " << i;
        EXPECT_DOUBLE_EQ(selection.top[i].score, expected[i].first) << count << " regions, rank " << i;
      }
    }
  }
}

TEST_F(RouterTest, TrafficClassesChooseTheirDefaultAlgorithm) {
  load(exampleRegions());
  RouteRequest request;
  request.clientLocation = GeoPoint{48.85, 2.35};
  request.trafficClass = TrafficClass::kRealtime;
  EXPECT_EQ(router.route(request)->algorithm, Algorithm::kLatency);
  request.trafficClass = TrafficClass::kBulk;
  EXPECT_EQ(router.route(request)->algorithm, Algorithm::kCost);
  request.trafficClass = TrafficClass::kStandard;
  EXPECT_EQ(router.route(request)->algorithm, Algorithm::kHybrid);
  request.algorithm = Algorithm::kLoadBalanced;
  EXPECT_EQ(router.route(request)->algorithm, Algorithm::kLoadBalanced);
}

TEST(RouterConfigTest, ValidateNamesTheField) {
  EXPECT_TRUE(validate(RouterConfig{}).ok());
  RouterConfig c;
  c.hybridWeights.cost = -1;
  EXPECT_EQ(validate(c).error().field, "hybridWeights.cost");
  c = {};
  c.hybridWeights = {0, 0, 0, 0, 0};
  EXPECT_EQ(validate(c).error().field, "hybridWeights");
  c = {};
  c.classes[3].queueWeight = 0;
  EXPECT_EQ(validate(c).error().field, "classes.bulk.queueWeight");
  c = {};
  c.maxAlternatives = 9;
  EXPECT_EQ(validate(c).error().field, "maxAlternatives");
  c = {};
  c.outlier.maxEjection = std::chrono::seconds(1);
  EXPECT_EQ(validate(c).error().field, "outlier.maxEjection");
}

TEST(RoutingTypesTest, NamesRoundTrip) {
  for (int i = 0; i < kAlgorithmCount; ++i) {
    EXPECT_EQ(parseAlgorithm(toString(static_cast<Algorithm>(i))), static_cast<Algorithm>(i));
  }
  for (int i = 0; i < kTrafficClassCount; ++i) {
    EXPECT_EQ(parseTrafficClass(toString(static_cast<TrafficClass>(i))), static_cast<TrafficClass>(i));
  }
  EXPECT_EQ(parseRegionPhase("Draining"), RegionPhase::kDraining);
  EXPECT_FALSE(parseAlgorithm("Latency").has_value());
  EXPECT_FALSE(parseTrafficClass("").has_value());
}

TEST_F(RouterTest, ConcurrentRoutingWhileRegionsChange) {
  load(exampleRegions());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, routed{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      RouteRequest request;
      request.clientLocation = GeoPoint{10.0 * t, 20.0 * t};
      while (!stop.load()) {
        for (int a = 0; a < kAlgorithmCount; ++a) {
          request.algorithm = static_cast<Algorithm>(a);
          auto d = router.route(request);
          if (!d.ok()) continue;  // every region may be failed for a moment
          if (!d->region().acceptsTraffic) ++bad;
          ++routed;
          router.recordOutcome(*d, 10, true);
        }
      }
    });
  }
  while (routed.load() == 0) std::this_thread::yield();  // readers are running
  const int routedBefore = routed.load();
  const char* names[] = {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"};
  for (int i = 0; i < 2000; ++i) {
    if (i % 100 == 0) std::this_thread::yield();
    ASSERT_TRUE(table.setPhase(names[i % 5], i % 2 ? RegionPhase::kHealthy : RegionPhase::kFailed).ok());
  }
  while (routed.load() < routedBefore + 1000) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace dwcp::routing
