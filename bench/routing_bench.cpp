// In-process routing benchmarks (issue 5): one routing decision at 5, 100 and 1 000 regions for
// each algorithm, with per-call p50/p99/p999 in nanoseconds (counters p50_ns, p99_ns, p999_ns;
// goal p99 < 1 us at 100 regions), and the DDoS admission check. The per-call figures include
// two steady_clock reads (~20-40 ns). JSON: --benchmark_format=json.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "engines/routing/rate_limiter.h"
#include "engines/routing/router.h"

namespace {

using namespace dwcp::routing;

void reportPercentiles(benchmark::State& state, std::vector<std::int64_t>& samples) {
  if (samples.empty()) return;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return static_cast<double>(samples[std::min(samples.size() - 1, static_cast<std::size_t>(q * samples.size()))]);
  };
  state.counters["p50_ns"] = at(0.50);
  state.counters["p99_ns"] = at(0.99);
  state.counters["p999_ns"] = at(0.999);
}

std::vector<RegionSpec> randomRegions(int count, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> lat(-60, 70), lon(-180, 180), cost(0.00001, 0.0001), health(60, 100);
  std::vector<RegionSpec> specs;
  for (int i = 0; i < count; ++i) {
    RegionSpec r;
    r.name = "region-" + std::to_string(i);
    r.endpoint = "https://" + r.name + ".example.com:7443";
    r.location = {lat(rng), lon(rng)};
    r.phase = i % 10 == 9 ? RegionPhase::kFailed : RegionPhase::kHealthy;
    r.healthScore = health(rng);
    r.costPerRequest = cost(rng);
    r.capacityWeight = 100;
    specs.push_back(std::move(r));
  }
  return specs;
}

void BM_RouteDecision(benchmark::State& state) {
  const int regionCount = static_cast<int>(state.range(0));
  const auto algorithm = static_cast<Algorithm>(state.range(1));
  std::mt19937_64 rng(42);
  RegionTable table;
  if (!table.replaceAll(randomRegions(regionCount, rng)).ok()) {
    state.SkipWithError("bad regions");
    return;
  }
  Router router(table);
  std::uniform_real_distribution<double> lat(-60, 70), lon(-180, 180), rtt(5, 200);
  std::vector<RouteRequest> requests(1024);
  for (auto& r : requests) {
    r.clientLocation = GeoPoint{lat(rng), lon(rng)};
    r.algorithm = algorithm;
    r.trafficClass = TrafficClass::kInteractive;
  }
  // Some observed latency so the EWMA path is exercised.
  for (int i = 0; i < 4 * regionCount; ++i) {
    (void)router.recordOutcome("region-" + std::to_string(i % regionCount), requests[i % 1024].clientLocation,
                               rtt(rng), true);
  }
  std::vector<std::int64_t> samples;
  samples.reserve(1 << 20);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto decision = router.route(requests[i++ & 1023]);
    benchmark::DoNotOptimize(decision);
    const auto end = std::chrono::steady_clock::now();
    if (samples.size() < samples.capacity()) samples.push_back((end - start).count());
  }
  state.SetLabel(std::string(toString(algorithm)));
  reportPercentiles(state, samples);
}

void BM_RateLimiterAdmit(benchmark::State& state) {
  const auto sources = static_cast<std::uint64_t>(state.range(0));
  SourceRateLimiter limiter;
  std::vector<std::int64_t> samples;
  samples.reserve(1 << 20);
  std::uint64_t i = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto admission = limiter.admitKey(0x0A000000 + (i++ % sources), 512);
    benchmark::DoNotOptimize(admission);
    const auto end = std::chrono::steady_clock::now();
    if (samples.size() < samples.capacity()) samples.push_back((end - start).count());
  }
  reportPercentiles(state, samples);
}

void routeArgs(benchmark::internal::Benchmark* b) {
  for (int regions : {5, 100, 1000}) {
    for (int algorithm = 0; algorithm < kAlgorithmCount; ++algorithm) b->Args({regions, algorithm});
  }
  b->ArgNames({"regions", "algorithm"});
}

}  // namespace

BENCHMARK(BM_RouteDecision)->Apply(routeArgs);
BENCHMARK(BM_RateLimiterAdmit)->Arg(1)->Arg(1000)->Arg(100000)->ArgName("sources");
BENCHMARK_MAIN();
