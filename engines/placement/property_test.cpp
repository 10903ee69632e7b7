// Property tests over random federations and VMs (seeded, so failures reproduce). The oracle is
// a brute-force re-statement of the hard constraints written from the Region/VMPlacement rules,
// not from filter.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <bit>
#include <map>
#include <set>

#include "engines/placement/engine.h"
#include "base/geo.h"

namespace dwcp::placement {
namespace {

const std::vector<std::string> kTags = {"gdpr", "hipaa", "soc2", "pci-dss", "c5"};
const std::vector<std::string> kCountries = {"US", "DE", "IE", "IN", "JP", "BR", ""};

struct World {
  std::vector<RegionInfo> regions;
  std::vector<RttSample> rtts;
  std::vector<PlacedVM> vms;
};

World randomWorld(std::mt19937_64& rng, int maxRegions) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  World w;
  const int n = pick(1, maxRegions);
  for (int i = 0; i < n; ++i) {
    RegionInfo r;
    r.name = "r" + std::to_string(i);
    r.enabled = pick(0, 9) != 0;
    r.phase = static_cast<RegionPhase>(pick(0, 9) < 6 ? 1 : pick(0, 5));
    if (pick(0, 9) != 0) r.healthScore = real(0, 100);
    r.priority = pick(0, 100);
    r.location = {real(-90, 90), real(-180, 180)};
    r.continent = static_cast<Continent>(pick(0, 6));
    r.country = kCountries[pick(0, static_cast<int>(kCountries.size()) - 1)];
    for (const auto& tag : kTags) {
      if (pick(0, 2) == 0) r.compliance.push_back(tag);
    }
    r.capacity = {pick(4, 64), pick(4096, 131072), pick(0, 2000), std::nullopt};
    if (pick(0, 2) == 0) r.capacity.maxVMs = pick(1, 12);
    r.cost = {real(0, 0.1), real(0, 0.01), real(0, 0.2)};
    w.regions.push_back(r);
  }
  // Placed VMs fill regions up to capacity; allocation = their sum.
  int vmCount = 0;
  for (auto& r : w.regions) {
    const int want = pick(0, 8);
    for (int k = 0; k < want; ++k) {
      Resources need{pick(1, 16), pick(256, 32768), pick(0, 300)};
      if (r.allocated.cpu + need.cpu > r.capacity.cpu || r.allocated.memoryMiB + need.memoryMiB > r.capacity.memoryMiB ||
          r.allocated.storageGiB + need.storageGiB > r.capacity.storageGiB ||
          (r.capacity.maxVMs && r.allocated.vms + 1 > *r.capacity.maxVMs)) {
        continue;
      }
      PlacedVM vm{"ns/vm-" + std::to_string(vmCount++), r.name, need, pick(0, 100), pick(0, 1) == 1,
                  pick(0, 2) == 0 ? "g" + std::to_string(pick(0, 2)) : ""};
      r.allocated.cpu += need.cpu;
      r.allocated.memoryMiB += need.memoryMiB;
      r.allocated.storageGiB += need.storageGiB;
      r.allocated.vms += 1;
      w.vms.push_back(vm);
    }
  }
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (i != j && pick(0, 3) == 0) w.rtts.push_back({w.regions[i].name, w.regions[j].name, real(1, 300)});
    }
  }
  return w;
}

Request randomRequest(std::mt19937_64& rng, const World& w, int index) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  Request q;
  q.key = "ns/req-" + std::to_string(index);
  q.resources = {pick(1, 24), pick(256, 40000), pick(0, 500)};
  q.priority = pick(0, 100);
  q.preemptible = pick(0, 1) == 1;
  q.algorithm = static_cast<Algorithm>(pick(0, 4));
  if (q.algorithm == Algorithm::kHybrid && pick(0, 1) == 0) {
    q.weights = Weights{real(0, 1), real(0, 1), real(0, 1), real(0, 1), real(0, 1), real(0.01, 1)};
  }
  Constraints& c = q.constraints;
  const int n = static_cast<int>(w.regions.size());
  if (pick(0, 4) == 0) {
    for (int i = 0; i < n; ++i) {
      if (pick(0, 1) == 0) c.regions.push_back(w.regions[i].name);
    }
    if (pick(0, 3) == 0) c.regions.push_back("unknown-region");
  }
  if (pick(0, 4) == 0) {
    for (int i = 0; i < n; ++i) {
      if (pick(0, 3) == 0 && std::find(c.regions.begin(), c.regions.end(), w.regions[i].name) == c.regions.end()) {
        c.excludeRegions.push_back(w.regions[i].name);
      }
    }
  }
  if (pick(0, 3) == 0) {
    for (int k = 0; k < 7; ++k) {
      if (pick(0, 1) == 0) c.continents.push_back(static_cast<Continent>(k));
    }
  }
  if (pick(0, 3) == 0) {
    for (const auto& code : kCountries) {
      if (!code.empty() && pick(0, 1) == 0) c.countries.push_back(code);
    }
  }
  if (pick(0, 2) == 0) {
    for (const auto& tag : kTags) {
      if (pick(0, 3) == 0) c.compliance.push_back(tag);
    }
    if (pick(0, 9) == 0) c.compliance.push_back("fedramp");  // no region has it
  }
  if (q.algorithm == Algorithm::kGeoProximity || pick(0, 1) == 0) {
    c.origin = pick(0, 1) == 0 ? Origin{w.regions[pick(0, n - 1)].name, std::nullopt}
                               : Origin{std::nullopt, GeoPoint{real(-90, 90), real(-180, 180)}};
    if (pick(0, 1) == 0) c.maxLatencyMs = pick(5, 250);
  }
  if (pick(0, 3) == 0) c.minHealth = real(0, 100);
  if (pick(0, 3) == 0) c.maxCostPerHour = real(0.01, 2);
  if (pick(0, 2) == 0) c.spreadGroup = "g" + std::to_string(pick(0, 2));
  return q;
}

// ---- The oracle. ----

double oracleRtt(const World& w, const Request& q, const RegionInfo& r) {
  const Origin& o = *q.constraints.origin;
  if (o.point) return base::estimateRttMs(greatCircleKm(*o.point, r.location));
  if (*o.region == r.name) return 0;
  for (const auto& s : w.rtts) {
    if (s.from == *o.region && s.to == r.name) return s.rttMs;
  }
  for (const auto& s : w.rtts) {
    if (s.from == r.name && s.to == *o.region) return s.rttMs;
  }
  const auto& from = *std::find_if(w.regions.begin(), w.regions.end(), [&](const auto& x) { return x.name == *o.region; });
  return base::estimateRttMs(greatCircleKm(from.location, r.location));
}

enum class Verdict { kFits, kCapacityOnly, kNo, kAmbiguous };

// Ambiguous when a float comparison sits within rounding of its limit (the engine computes the
// same quantity by a different but equivalent formula).
Verdict oracle(const World& w, const Request& q, const RegionInfo& r, const RegionAllocation& allocated) {
  const Constraints& c = q.constraints;
  if (!r.enabled || r.phase == RegionPhase::kDisabled || r.phase == RegionPhase::kFailed ||
      r.phase == RegionPhase::kDraining) {
    return Verdict::kNo;
  }
  auto in = [](const auto& list, const auto& value) { return std::find(list.begin(), list.end(), value) != list.end(); };
  if (!c.regions.empty() && !in(c.regions, r.name)) return Verdict::kNo;
  if (in(c.excludeRegions, r.name)) return Verdict::kNo;
  if (!c.continents.empty() && !in(c.continents, r.continent)) return Verdict::kNo;
  if (!c.countries.empty() && !in(c.countries, r.country)) return Verdict::kNo;
  for (const auto& tag : c.compliance) {
    if (!in(r.compliance, tag)) return Verdict::kNo;
  }
  if (c.minHealth && (!r.healthScore || *r.healthScore < *c.minHealth)) return Verdict::kNo;
  bool ambiguous = false;
  if (c.maxLatencyMs) {
    const double rtt = oracleRtt(w, q, r);
    if (std::fabs(rtt - *c.maxLatencyMs) < 1e-6) {
      ambiguous = true;
    } else if (rtt > *c.maxLatencyMs) {
      return Verdict::kNo;
    }
  }
  if (c.maxCostPerHour) {
    const double cost = q.resources.cpu * r.cost.cpuHour + q.resources.memoryMiB / 1024.0 * r.cost.memoryGiBHour +
                        q.resources.storageGiB * r.cost.storageGiBMonth / 730.0;
    if (std::fabs(cost - *c.maxCostPerHour) < 1e-9) {
      ambiguous = true;
    } else if (cost > *c.maxCostPerHour) {
      return Verdict::kNo;
    }
  }
  if (ambiguous) return Verdict::kAmbiguous;
  const bool fits = allocated.cpu + q.resources.cpu <= r.capacity.cpu &&
                    allocated.memoryMiB + q.resources.memoryMiB <= r.capacity.memoryMiB &&
                    allocated.storageGiB + q.resources.storageGiB <= r.capacity.storageGiB &&
                    (!r.capacity.maxVMs || allocated.vms + 1 <= *r.capacity.maxVMs);
  return fits ? Verdict::kFits : Verdict::kCapacityOnly;
}

const RegionInfo& regionNamed(const World& w, const std::string& name) {
  return *std::find_if(w.regions.begin(), w.regions.end(), [&](const auto& r) { return r.name == name; });
}

// Smallest number of eligible victims in a region that make q fit, by brute force; -1 if none.
int minimalVictims(const World& w, const Request& q, const RegionInfo& r) {
  std::vector<const PlacedVM*> eligible;
  for (const auto& vm : w.vms) {
    if (vm.region == r.name && vm.preemptible && vm.priority < q.priority) eligible.push_back(&vm);
  }
  if (eligible.size() > 12) return -2;  // too many to enumerate here
  int best = -1;
  for (uint32_t mask = 0; mask < (1U << eligible.size()); ++mask) {
    RegionAllocation a = r.allocated;
    for (size_t i = 0; i < eligible.size(); ++i) {
      if (mask & (1U << i)) {
        a.cpu -= eligible[i]->resources.cpu;
        a.memoryMiB -= eligible[i]->resources.memoryMiB;
        a.storageGiB -= eligible[i]->resources.storageGiB;
        a.vms -= 1;
      }
    }
    if (oracle(w, q, r, a) == Verdict::kFits) {
      const int count = std::popcount(mask);
      if (best < 0 || count < best) best = count;
    }
  }
  return best;
}

TEST(PropertyTest, DecisionsRespectConstraintsAndAreCorrect) {
  std::mt19937_64 rng(20240611);
  const Engine engine;
  int placed = 0, unschedulable = 0, preempted = 0, ambiguousSkipped = 0;
  for (int round = 0; round < 3000; ++round) {
    const World w = randomWorld(rng, 30);
    auto built = Snapshot::build(w.regions, w.rtts, w.vms);
    ASSERT_TRUE(built.ok()) << built.error().message;
    const Snapshot& snapshot = built.value();
    const Request q = randomRequest(rng, w, round);
    const Decision d = engine.place(snapshot, q);
    ASSERT_NE(d.outcome, Outcome::kInvalid) << d.message;

    int fits = 0, capacityOnly = 0;
    bool ambiguous = false;
    for (const auto& r : w.regions) {
      const Verdict v = oracle(w, q, r, r.allocated);
      fits += v == Verdict::kFits;
      capacityOnly += v == Verdict::kCapacityOnly;
      ambiguous |= v == Verdict::kAmbiguous;
    }
    if (ambiguous) {
      ++ambiguousSkipped;
      continue;
    }
    ASSERT_EQ(d.regionsFeasible, fits) << "round " << round << ": " << d.message;
    ASSERT_EQ(d.rejections.size() + static_cast<size_t>(fits), w.regions.size()) << "round " << round;
    for (const Rejection& rej : d.rejections) {
      ASSERT_NE(oracle(w, q, regionNamed(w, rej.region), regionNamed(w, rej.region).allocated), Verdict::kFits)
          << "round " << round << " rejected a fitting region " << rej.region;
    }

    switch (d.outcome) {
      case Outcome::kPlaced: {
        ++placed;
        const RegionInfo& r = regionNamed(w, d.region);
        ASSERT_EQ(oracle(w, q, r, r.allocated), Verdict::kFits) << "round " << round;
        ASSERT_TRUE(d.victims.empty());
        ASSERT_FALSE(d.candidates.empty());
        ASSERT_EQ(d.candidates.front().region, d.region);
        ASSERT_TRUE(d.score >= 0 && d.score <= 100);
        break;
      }
      case Outcome::kPlacedWithPreemption: {
        ++preempted;
        ASSERT_EQ(fits, 0) << "round " << round << ": preempted although a region fits";
        const RegionInfo& r = regionNamed(w, d.region);
        ASSERT_EQ(oracle(w, q, r, r.allocated), Verdict::kCapacityOnly) << "round " << round;
        ASSERT_FALSE(d.victims.empty());
        RegionAllocation after = r.allocated;
        std::set<std::string> keys;
        for (const Victim& v : d.victims) {
          const auto& vm = *std::find_if(w.vms.begin(), w.vms.end(), [&](const auto& x) { return x.key == v.key; });
          ASSERT_EQ(vm.region, d.region);
          ASSERT_TRUE(vm.preemptible) << v.key;
          ASSERT_LT(vm.priority, q.priority) << v.key;
          ASSERT_TRUE(keys.insert(v.key).second);
          after.cpu -= vm.resources.cpu;
          after.memoryMiB -= vm.resources.memoryMiB;
          after.storageGiB -= vm.resources.storageGiB;
          after.vms -= 1;
        }
        ASSERT_EQ(oracle(w, q, r, after), Verdict::kFits) << "round " << round;
        // Fewest victims: no region could do with fewer (when small enough to enumerate).
        const int here = minimalVictims(w, q, r);
        if (here >= 0) {
          ASSERT_EQ(static_cast<int>(d.victims.size()), here) << "round " << round;
        }
        for (const auto& other : w.regions) {
          if (oracle(w, q, other, other.allocated) != Verdict::kCapacityOnly) continue;
          const int m = minimalVictims(w, q, other);
          if (m > 0 && here >= 0) {
            ASSERT_GE(m, here) << "round " << round << " " << other.name;
          }
        }
        break;
      }
      case Outcome::kUnschedulable: {
        ++unschedulable;
        ASSERT_EQ(fits, 0) << "round " << round;
        // Preemption is on: no capacity-only region has enough eligible victims.
        for (const auto& r : w.regions) {
          if (oracle(w, q, r, r.allocated) == Verdict::kCapacityOnly) {
            ASSERT_LT(minimalVictims(w, q, r), 1) << "round " << round << " " << r.name;
          }
        }
        ASSERT_TRUE(d.region.empty());
        ASSERT_NE(d.message.find(std::to_string(w.regions.size()) + " regions fit"), std::string::npos);
        break;
      }
      case Outcome::kInvalid:
        FAIL();
    }

    // Deterministic: the same input gives the same decision, and so does the same federation
    // listed in another order (apart from the order of rejections).
    ASSERT_EQ(engine.place(snapshot, q), d) << "round " << round;
    World shuffled = w;
    std::shuffle(shuffled.regions.begin(), shuffled.regions.end(), rng);
    std::shuffle(shuffled.vms.begin(), shuffled.vms.end(), rng);
    auto other = Snapshot::build(shuffled.regions, shuffled.rtts, shuffled.vms);
    ASSERT_TRUE(other.ok());
    const Decision d2 = engine.place(other.value(), q);
    ASSERT_EQ(d2.outcome, d.outcome) << "round " << round;
    ASSERT_EQ(d2.region, d.region) << "round " << round;
    ASSERT_EQ(d2.score, d.score) << "round " << round;
    ASSERT_EQ(d2.candidates, d.candidates) << "round " << round;
    ASSERT_EQ(d2.victims, d.victims) << "round " << round;
    ASSERT_EQ(d2.message, d.message) << "round " << round;
  }
  // The generator must exercise every outcome, or this test proves little.
  EXPECT_GT(placed, 300);
  EXPECT_GT(unschedulable, 300);
  EXPECT_GT(preempted, 30);
  EXPECT_LT(ambiguousSkipped, 30);
}

TEST(PropertyTest, BatchNeverOverCommits) {
  std::mt19937_64 rng(7);
  const Engine engine;
  int placedTotal = 0;
  for (int round = 0; round < 300; ++round) {
    const World w = randomWorld(rng, 12);
    auto built = Snapshot::build(w.regions, w.rtts, w.vms);
    ASSERT_TRUE(built.ok());
    Snapshot snapshot = std::move(built).value();
    std::vector<Request> requests;
    for (int i = 0; i < 40; ++i) requests.push_back(randomRequest(rng, w, i));
    const auto decisions = engine.placeBatch(snapshot, requests);
    ASSERT_EQ(decisions.size(), requests.size());

    // Sorted by priority, then key.
    std::vector<Request> sorted = requests;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.priority != b.priority ? a.priority > b.priority : a.key < b.key;
    });
    for (size_t i = 0; i < decisions.size(); ++i) ASSERT_EQ(decisions[i].key, sorted[i].key);

    // Replay the accounting independently: start, add placed, subtract victims.
    std::map<std::string, RegionAllocation> expected;
    std::map<std::string, PlacedVM> live;
    for (const auto& r : w.regions) expected[r.name] = r.allocated;
    for (const auto& vm : w.vms) live[vm.key] = vm;
    for (size_t i = 0; i < decisions.size(); ++i) {
      const Decision& d = decisions[i];
      if (d.outcome != Outcome::kPlaced && d.outcome != Outcome::kPlacedWithPreemption) continue;
      ++placedTotal;
      for (const Victim& v : d.victims) {
        ASSERT_TRUE(live.contains(v.key)) << "victim preempted twice or unknown: " << v.key;
        const PlacedVM& vm = live[v.key];
        ASSERT_LT(vm.priority, sorted[i].priority);
        ASSERT_TRUE(vm.preemptible);
        auto& a = expected[vm.region];
        a.cpu -= vm.resources.cpu;
        a.memoryMiB -= vm.resources.memoryMiB;
        a.storageGiB -= vm.resources.storageGiB;
        a.vms -= 1;
        live.erase(v.key);
      }
      auto& a = expected[d.region];
      a.cpu += sorted[i].resources.cpu;
      a.memoryMiB += sorted[i].resources.memoryMiB;
      a.storageGiB += sorted[i].resources.storageGiB;
      a.vms += 1;
      live[sorted[i].key] = PlacedVM{sorted[i].key, d.region, sorted[i].resources, sorted[i].priority,
                                     sorted[i].preemptible, sorted[i].constraints.spreadGroup};
    }
    for (size_t i = 0; i < snapshot.size(); ++i) {
      const RegionInfo& r = snapshot.region(i);
      ASSERT_EQ(r.allocated, expected[r.name]) << "round " << round << " " << r.name;
      ASSERT_LE(r.allocated.cpu, r.capacity.cpu) << "round " << round << " " << r.name;
      ASSERT_LE(r.allocated.memoryMiB, r.capacity.memoryMiB);
      ASSERT_LE(r.allocated.storageGiB, r.capacity.storageGiB);
      if (r.capacity.maxVMs) {
        ASSERT_LE(r.allocated.vms, *r.capacity.maxVMs);
      }
    }
    ASSERT_EQ(snapshot.placedVMs().size(), live.size());
  }
  EXPECT_GT(placedTotal, 1000);
}

}  // namespace
}  // namespace dwcp::placement
