// Placement engine benchmark: one decision at 5, 100 and 1,000 regions with mixed constraints
// (compliance, continents, latency from an origin, min health, max cost, spread), over a
// federation with placed VMs and measured RTTs. Each iteration is timed on its own so the
// counters report p50_us / p99_us beside Google Benchmark's mean; decisions_per_s is the rate.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "engines/placement/engine.h"

namespace {

using namespace dwcp::placement;

const std::vector<std::string> kTags = {"gdpr", "hipaa", "soc2", "pci-dss", "iso27001", "c5"};
const std::vector<std::string> kCountries = {"US", "DE", "IE", "IN", "JP", "BR", "FR", "AU"};

Snapshot makeFederation(int regionCount) {
  std::mt19937_64 rng(42);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  std::vector<RegionInfo> regions;
  std::vector<PlacedVM> vms;
  for (int i = 0; i < regionCount; ++i) {
    RegionInfo r;
    r.name = "region-" + std::to_string(i);
    r.phase = pick(0, 19) == 0 ? RegionPhase::kDegraded : RegionPhase::kHealthy;
    r.enabled = pick(0, 49) != 0;
    r.healthScore = real(60, 100);
    r.priority = pick(0, 100);
    r.location = {real(-60, 70), real(-180, 180)};
    r.continent = static_cast<Continent>(pick(0, 6));
    r.country = kCountries[pick(0, static_cast<int>(kCountries.size()) - 1)];
    for (const auto& tag : kTags) {
      if (pick(0, 1) == 0) r.compliance.push_back(tag);
    }
    r.capacity = {pick(512, 4096), int64_t{pick(1, 16)} << 20, pick(64000, 512000), 10000};
    r.cost = {real(0.03, 0.06), real(0.004, 0.007), real(0.05, 0.12)};
    for (int k = 0; k < 20; ++k) {
      PlacedVM vm{"ns/vm-" + std::to_string(i) + "-" + std::to_string(k), r.name, {pick(1, 16), 4096, 50},
                  pick(0, 100), pick(0, 1) == 1, "group-" + std::to_string(pick(0, 9))};
      r.allocated.cpu += vm.resources.cpu;
      r.allocated.memoryMiB += vm.resources.memoryMiB;
      r.allocated.storageGiB += vm.resources.storageGiB;
      r.allocated.vms += 1;
      vms.push_back(vm);
    }
    regions.push_back(r);
  }
  std::vector<RttSample> rtts;
  for (int i = 0; i < regionCount; ++i) {
    for (int j = 0; j < regionCount; ++j) {
      if (i != j && pick(0, 1) == 0) rtts.push_back({regions[i].name, regions[j].name, real(1, 250)});
    }
  }
  auto snapshot = Snapshot::build(std::move(regions), rtts, vms);
  return std::move(snapshot).value();
}

std::vector<Request> makeRequests(int regionCount) {
  std::mt19937_64 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<Request> requests;
  for (int i = 0; i < 64; ++i) {
    Request q;
    q.key = "ns/new-" + std::to_string(i);
    q.resources = {pick(1, 16), int64_t{pick(1, 64)} * 1024, pick(10, 500)};
    q.priority = pick(0, 100);
    q.algorithm = static_cast<Algorithm>(i % 5);
    Constraints& c = q.constraints;
    if (i % 2 == 0) c.compliance = {kTags[pick(0, 5)]};
    if (i % 3 == 0) c.continents = {static_cast<Continent>(pick(0, 6)), static_cast<Continent>(pick(0, 6))};
    if (i % 4 == 0) c.countries = {kCountries[pick(0, 7)], kCountries[pick(0, 7)], kCountries[pick(0, 7)]};
    if (q.algorithm == Algorithm::kGeoProximity || i % 2 == 1) {
      if (i % 3 == 1) {
        c.origin = Origin{"region-" + std::to_string(pick(0, regionCount - 1)), std::nullopt};
      } else {
        c.origin = Origin{std::nullopt, GeoPoint{static_cast<double>(pick(-60, 70)), static_cast<double>(pick(-180, 180))}};
      }
      c.maxLatencyMs = pick(60, 250);
    }
    if (i % 5 == 0) c.minHealth = 70;
    if (i % 6 == 0) c.maxCostPerHour = 2.0;
    if (i % 7 == 0) c.excludeRegions = {"region-0", "region-1"};
    if (i % 3 == 2) c.spreadGroup = "group-" + std::to_string(pick(0, 9));
    requests.push_back(q);
  }
  return requests;
}

void BM_PlaceSingle(benchmark::State& state) {
  const int regionCount = static_cast<int>(state.range(0));
  const Snapshot snapshot = makeFederation(regionCount);
  const std::vector<Request> requests = makeRequests(regionCount);
  const Engine engine;
  std::vector<double> micros;
  micros.reserve(1 << 20);
  size_t i = 0, placed = 0;
  for (auto _ : state) {
    const Request& request = requests[i++ % requests.size()];
    const auto start = std::chrono::steady_clock::now();
    Decision decision = engine.place(snapshot, request);
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(decision);
    placed += decision.outcome == Outcome::kPlaced || decision.outcome == Outcome::kPlacedWithPreemption;
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  if (!micros.empty()) {
    std::sort(micros.begin(), micros.end());
    auto at = [&](double q) { return micros[std::min(micros.size() - 1, static_cast<size_t>(q * micros.size()))]; };
    state.counters["p50_us"] = at(0.50);
    state.counters["p99_us"] = at(0.99);
    state.counters["placed_pct"] = 100.0 * static_cast<double>(placed) / static_cast<double>(micros.size());
  }
  state.counters["decisions_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlaceSingle)->Arg(5)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_PlaceBatch(benchmark::State& state) {
  const int regionCount = static_cast<int>(state.range(0));
  const Snapshot base = makeFederation(regionCount);
  std::vector<Request> requests = makeRequests(regionCount);
  const Engine engine;
  for (auto _ : state) {
    state.PauseTiming();
    Snapshot snapshot = base;
    state.ResumeTiming();
    auto decisions = engine.placeBatch(snapshot, requests);
    benchmark::DoNotOptimize(decisions);
  }
  state.counters["decisions_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * static_cast<int64_t>(requests.size())), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlaceBatch)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
