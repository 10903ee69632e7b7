// Benchmarks of the geo-distributed state engine (Google Benchmark; run bench_state, add
// --benchmark_format=json for JSON):
//   BM_JoinDelta/<type>      merge throughput: joining single-mutation deltas into a replica of
//                            1,000 elements, per type
//   BM_JoinFullState/<type>  joining two whole replicas of 1,000 elements each
//   BM_WireBytesPerUpdate    bytes of the delta-batch frame per update vs the update's payload
//   BM_HealAfterPartition    bytes a region receives after a partition in which 10% of a
//                            100,000-key state changed, vs the full state encoded
#include <benchmark/benchmark.h>

#include <random>

#include "engines/state/testing/federation_harness.h"
#include "engines/state/gcounter.h"
#include "engines/state/gset.h"
#include "engines/state/lww_map.h"
#include "engines/state/lww_register.h"
#include "engines/state/orset.h"
#include "engines/state/pncounter.h"
#include "engines/state/replicated_store.h"
#include "engines/state/wire.h"

namespace dwcp::state {
namespace {

constexpr int kElements = 1000;

struct StoreState {
  explicit StoreState(ReplicaId self = 1) : store(self) {}
  void join(const StoreState& other) { store.apply(other.store.missingFrom(DotContext{})); }
  ReplicatedStore store;
};

// Builds (replica A with kElements, deltas from replica B) for each type.
template <class T>
struct Workload;

template <>
struct Workload<GCounter> {
  static void build(GCounter& a, std::vector<GCounter>& deltas) {
    for (int i = 0; i < kElements; ++i) a.increment(static_cast<ReplicaId>(i % 64));
    GCounter b;
    for (int i = 0; i < kElements; ++i) deltas.push_back(b.increment(static_cast<ReplicaId>(100 + i % 64)));
  }
};
template <>
struct Workload<PNCounter> {
  static void build(PNCounter& a, std::vector<PNCounter>& deltas) {
    for (int i = 0; i < kElements; ++i) a.increment(static_cast<ReplicaId>(i % 64));
    PNCounter b;
    for (int i = 0; i < kElements; ++i) {
      deltas.push_back(i % 2 ? b.increment(static_cast<ReplicaId>(100 + i % 64)) : b.decrement(100 + i % 64));
    }
  }
};
template <>
struct Workload<GSet> {
  static void build(GSet& a, std::vector<GSet>& deltas) {
    for (int i = 0; i < kElements; ++i) a.add("vm-" + std::to_string(i));
    GSet b;
    for (int i = 0; i < kElements; ++i) deltas.push_back(b.add("vm-b-" + std::to_string(i)));
  }
};
template <>
struct Workload<ORSet> {
  static void build(ORSet& a, std::vector<ORSet>& deltas) {
    for (int i = 0; i < kElements; ++i) a.add(1, "vm-" + std::to_string(i));
    ORSet b;
    for (int i = 0; i < kElements; ++i) {
      deltas.push_back(i % 4 == 3 ? b.remove("vm-b-" + std::to_string(i - 1)) : b.add(2, "vm-b-" + std::to_string(i)));
    }
  }
};
template <>
struct Workload<LWWRegister> {
  static void build(LWWRegister& a, std::vector<LWWRegister>& deltas) {
    a.assign("initial", HlcTimestamp{1, 0, 1});
    LWWRegister b;
    for (int i = 0; i < kElements; ++i) deltas.push_back(b.assign("v" + std::to_string(i), HlcTimestamp{i + 2, 0, 2}));
  }
};
template <>
struct Workload<LWWMap> {
  static void build(LWWMap& a, std::vector<LWWMap>& deltas) {
    for (int i = 0; i < kElements; ++i) a.put("k" + std::to_string(i), "value", HlcTimestamp{i, 0, 1});
    LWWMap b;
    for (int i = 0; i < kElements; ++i) {
      deltas.push_back(b.put("k" + std::to_string(i), "other", HlcTimestamp{i + kElements, 0, 2}));
    }
  }
};
template <>
struct Workload<StoreState> {
  static void build(StoreState& a, std::vector<StoreState>& deltas) {
    for (int i = 0; i < kElements; ++i) a.store.put("k" + std::to_string(i), "value", HlcTimestamp{i, 0, 1});
    ReplicatedStore b(2);
    for (int i = 0; i < kElements; ++i) {
      StoreState delta(2);
      delta.store.apply(b.put("k" + std::to_string(i), "other", HlcTimestamp{i + kElements, 0, 2}));
      deltas.push_back(std::move(delta));
    }
  }
};

template <class T>
void BM_JoinDelta(benchmark::State& state) {
  T replica;
  std::vector<T> deltas;
  Workload<T>::build(replica, deltas);
  for (auto _ : state) {
    T target = replica;
    for (const T& delta : deltas) target.join(delta);
    benchmark::DoNotOptimize(target);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(deltas.size()));
  state.SetLabel("items = delta joins (includes one copy of the 1,000-element replica per iteration)");
}

template <class T>
void BM_JoinFullState(benchmark::State& state) {
  T replica;
  std::vector<T> deltas;
  Workload<T>::build(replica, deltas);
  T other = deltas.empty() ? T{} : deltas.front();
  for (const T& delta : deltas) other.join(delta);
  for (auto _ : state) {
    T target = replica;
    target.join(other);
    benchmark::DoNotOptimize(target);
  }
  state.SetItemsProcessed(state.iterations());
}

#define DWCP_JOIN_BENCHMARKS(T)                                   \
  BENCHMARK_TEMPLATE(BM_JoinDelta, T)->Unit(benchmark::kMicrosecond); \
  BENCHMARK_TEMPLATE(BM_JoinFullState, T)->Unit(benchmark::kMicrosecond);
DWCP_JOIN_BENCHMARKS(GCounter)
DWCP_JOIN_BENCHMARKS(PNCounter)
DWCP_JOIN_BENCHMARKS(GSet)
DWCP_JOIN_BENCHMARKS(ORSet)
DWCP_JOIN_BENCHMARKS(LWWRegister)
DWCP_JOIN_BENCHMARKS(LWWMap)
DWCP_JOIN_BENCHMARKS(StoreState)

// One update (a 24-byte key and a value of range(0) bytes) pushed as its own batch, the way a
// quorum write goes out; the ack back is counted separately.
void BM_WireBytesPerUpdate(benchmark::State& state) {
  const size_t valueBytes = static_cast<size_t>(state.range(0));
  ReplicatedStore store(3);
  for (int i = 0; i < 100; ++i) store.put("placement/vm-" + std::to_string(i), "x", HlcTimestamp{1'767'225'600'000 + i, 0, 3});
  const std::string key = "placement/vm-000000000042";  // 24 bytes
  const std::string value(valueBytes, 'v');
  size_t frameBytes = 0, payload = 0, ackBytes = 0;
  uint64_t seq = 1;
  for (auto _ : state) {
    StoreDelta delta = store.put(key, value, HlcTimestamp{1'767'225'700'000 + static_cast<int64_t>(seq), 0, 3});
    payload = payloadBytes(delta.entries.front());
    const auto frame = encodeFrame(Frame{3, DeltaBatch{seq++, std::move(delta)}});
    frameBytes = frame.size();
    benchmark::DoNotOptimize(frame);
  }
  VersionVector seen;
  for (ReplicaId r = 1; r <= 5; ++r) seen.raise(r, 1'000'000);
  ackBytes = encodeFrame(Frame{4, Ack{seq, seen}}).size();
  state.counters["payload_bytes"] = static_cast<double>(payload);
  state.counters["frame_bytes"] = static_cast<double>(frameBytes);
  state.counters["frame_over_payload"] = static_cast<double>(frameBytes) / static_cast<double>(payload);
  state.counters["ack_bytes"] = static_cast<double>(ackBytes);
}
BENCHMARK(BM_WireBytesPerUpdate)->Arg(8)->Arg(64)->Arg(256)->Arg(1024);

// Three regions over the simulated network. Region 3 is cut off while 10% of the keys change,
// then the partition heals; counts every byte region 3 receives until it has converged.
void BM_HealAfterPartition(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  double healBytes = 0, fullBytes = 0;
  for (auto _ : state) {
    GeoStateConfig config;
    config.antiEntropyIntervalMillis = 200;
    config.retransmitGiveUpMillis = 100;  // the partition outlasts retransmission: anti-entropy repairs
    config.maxBatchEntries = 4096;
    FederationHarness fed(3, 7, config);
    const std::string value(32, 'v');
    for (int i = 0; i < keys; ++i) fed.region(1).put("placement/vm-" + std::to_string(i), value, WriteOptions{});
    fed.run(1000, 5);
    fed.network().partition({{1, 2}, {3}});
    for (int i = 0; i < keys; i += 10) fed.region(1).put("placement/vm-" + std::to_string(i), "moved", WriteOptions{});
    fed.run(1000, 5);
    const uint64_t before = fed.region(3).metrics().bytesReceived;
    fed.network().heal();
    fed.run(1000, 5);
    if (!fed.region(3).snapshot().sameContent(fed.region(1).snapshot())) state.SkipWithError("region 3 did not converge");
    healBytes = static_cast<double>(fed.region(3).metrics().bytesReceived - before);
    fullBytes = static_cast<double>(
        encodeFrame(Frame{1, DigestResponse{0, fed.region(1).snapshot().missingFrom(DotContext{})}}).size());
  }
  state.counters["heal_bytes"] = healBytes;
  state.counters["full_state_bytes"] = fullBytes;
  state.counters["heal_over_full"] = healBytes / fullBytes;
}
BENCHMARK(BM_HealAfterPartition)->Arg(10'000)->Arg(100'000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dwcp::state

BENCHMARK_MAIN();
