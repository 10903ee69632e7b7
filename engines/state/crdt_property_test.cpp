// Property tests for every replicated type: join is commutative, associative and idempotent
// over reachable states; joining a mutation's delta equals applying the mutation; deltas carry
// only what changed. States come from random histories of three replicas that mutate and
// exchange state, so every state checked is one a real replica could hold.
#include <gtest/gtest.h>

#include <random>

#include "engines/state/gcounter.h"
#include "engines/state/gset.h"
#include "engines/state/lww_map.h"
#include "engines/state/lww_register.h"
#include "engines/state/orset.h"
#include "engines/state/pncounter.h"
#include "engines/state/replicated_store.h"

namespace dwcp::state {
namespace {

constexpr int kSeeds = 60;
constexpr int kSteps = 40;

// ReplicatedStore as a plain join-semilattice: join = apply the other's full state.
struct StoreState {
  explicit StoreState(ReplicaId self = 0) : store(self) {}
  void join(const StoreState& other) { store.apply(other.store.missingFrom(DotContext{})); }
  bool operator==(const StoreState& other) const { return store.sameContent(other.store); }
  ReplicatedStore store;
};

uint64_t dotCount(const DotContext& context) {
  uint64_t count = context.cloud().size();
  for (const auto& [replica, counter] : context.compact().entries()) count += counter;
  return count;
}

template <class T, class Make, class Mutate>
std::vector<T> evolve(uint64_t seed, Make make, Mutate mutate) {
  std::mt19937_64 rng(seed);
  std::vector<T> replicas = {make(1), make(2), make(3)};
  std::vector<T> snapshots;
  for (int step = 0; step < kSteps; ++step) {
    const size_t r = rng() % replicas.size();
    if (rng() % 4 == 0) {
      replicas[r].join(replicas[rng() % replicas.size()]);
    } else {
      T before = replicas[r];
      T delta = mutate(replicas[r], static_cast<ReplicaId>(r + 1), step, rng);
      T joined = before;
      joined.join(delta);
      EXPECT_TRUE(joined == replicas[r]) << "joining the delta differs from the mutation, seed " << seed;
      // A delta applies anywhere: to a replica that has not seen `before` it is still harmless.
      T other = replicas[(r + 1) % replicas.size()];
      T viaDelta = other;
      viaDelta.join(delta);
      viaDelta.join(replicas[r]);
      T viaState = other;
      viaState.join(replicas[r]);
      EXPECT_TRUE(viaDelta == viaState) << "seed " << seed;
    }
    snapshots.push_back(replicas[r]);
  }
  return snapshots;
}

template <class T>
void expectSemilattice(const std::vector<T>& states, uint64_t seed) {
  std::mt19937_64 rng(seed * 7919 + 1);
  for (int i = 0; i < 40; ++i) {
    const T& a = states[rng() % states.size()];
    const T& b = states[rng() % states.size()];
    const T& c = states[rng() % states.size()];
    T ab = a, ba = b;
    ab.join(b);
    ba.join(a);
    EXPECT_TRUE(ab == ba) << "join not commutative, seed " << seed;
    T abc1 = a;
    abc1.join(b);
    abc1.join(c);
    T bc = b;
    bc.join(c);
    T abc2 = a;
    abc2.join(bc);
    EXPECT_TRUE(abc1 == abc2) << "join not associative, seed " << seed;
    T aa = a;
    aa.join(a);
    EXPECT_TRUE(aa == a) << "join not idempotent, seed " << seed;
    T aab = ab;
    aab.join(a);
    EXPECT_TRUE(aab == ab) << "join not absorbing, seed " << seed;
  }
}

TEST(CrdtPropertiesTest, GCounter) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<GCounter>(
        seed, [](ReplicaId) { return GCounter{}; },
        [](GCounter& c, ReplicaId r, int, std::mt19937_64& rng) {
          const uint64_t before = c.value();
          GCounter delta = c.increment(r, 1 + rng() % 5);
          EXPECT_EQ(delta.slots().size(), 1u);
          EXPECT_GT(c.value(), before);
          return delta;
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, PNCounter) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<PNCounter>(
        seed, [](ReplicaId) { return PNCounter{}; },
        [](PNCounter& c, ReplicaId r, int, std::mt19937_64& rng) {
          const int64_t before = c.value();
          const uint64_t amount = 1 + rng() % 5;
          const bool up = rng() % 2 == 0;
          PNCounter delta = up ? c.increment(r, amount) : c.decrement(r, amount);
          EXPECT_EQ(delta.increments().slots().size() + delta.decrements().slots().size(), 1u);
          EXPECT_EQ(c.value(), before + (up ? 1 : -1) * static_cast<int64_t>(amount));
          return delta;
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, GSet) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<GSet>(
        seed, [](ReplicaId) { return GSet{}; },
        [](GSet& s, ReplicaId, int, std::mt19937_64& rng) {
          const std::string element = "e" + std::to_string(rng() % 12);
          const bool had = s.contains(element);
          GSet delta = s.add(element);
          EXPECT_EQ(delta.size(), had ? 0u : 1u);
          EXPECT_TRUE(s.contains(element));
          return delta;
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, ORSet) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<ORSet>(
        seed, [](ReplicaId) { return ORSet{}; },
        [](ORSet& s, ReplicaId r, int, std::mt19937_64& rng) {
          const std::string element = "e" + std::to_string(rng() % 6);
          const auto oldDots = s.contains(element) ? s.entries().at(element) : std::set<Dot>{};
          if (rng() % 3 == 0) {
            ORSet delta = s.remove(element);
            EXPECT_FALSE(s.contains(element));
            EXPECT_TRUE(delta.entries().empty());
            EXPECT_EQ(delta.context().cloud().size() + delta.context().compact().entries().size() > 0, !oldDots.empty());
            for (const Dot& d : oldDots) EXPECT_TRUE(delta.context().contains(d));
            return delta;
          }
          ORSet delta = s.add(r, element);
          EXPECT_TRUE(s.contains(element));
          EXPECT_EQ(delta.entries().size(), 1u);
          EXPECT_EQ(delta.entries().at(element).size(), 1u);
          for (const Dot& d : oldDots) EXPECT_TRUE(delta.context().contains(d));
          return delta;
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, LWWRegister) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<LWWRegister>(
        seed, [](ReplicaId) { return LWWRegister{}; },
        [](LWWRegister& reg, ReplicaId r, int step, std::mt19937_64& rng) {
          // Physical times jump around (skewed clocks); the logical part keeps them unique.
          HlcTimestamp ts{static_cast<int64_t>(rng() % 20), static_cast<uint32_t>(step), r};
          return reg.assign("v" + std::to_string(rng() % 100), ts);
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, LWWMap) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<LWWMap>(
        seed, [](ReplicaId) { return LWWMap{}; },
        [](LWWMap& map, ReplicaId r, int step, std::mt19937_64& rng) {
          HlcTimestamp ts{static_cast<int64_t>(rng() % 20), static_cast<uint32_t>(step), r};
          const std::string key = "k" + std::to_string(rng() % 5);
          LWWMap delta = rng() % 4 == 0 ? map.remove(key, ts) : map.put(key, "v" + std::to_string(step), ts);
          EXPECT_LE(delta.slots().size(), 1u);
          return delta;
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, ReplicatedStore) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto states = evolve<StoreState>(
        seed, [](ReplicaId r) { return StoreState(r); },
        [](StoreState& s, ReplicaId r, int step, std::mt19937_64& rng) {
          HlcTimestamp ts{static_cast<int64_t>(step), 0, r};
          const std::string key = "k" + std::to_string(rng() % 5);
          StoreState delta(r);
          delta.store = ReplicatedStore(r);
          StoreDelta d = rng() % 4 == 0 ? s.store.remove(key, ts) : s.store.put(key, "v" + std::to_string(step), ts);
          EXPECT_EQ(d.entries.size(), 1u);
          EXPECT_TRUE(d.context.contains(d.entries.front().dot));
          EXPECT_EQ(dotCount(d.context), 1u) << "the delta accounts for exactly its own dot";
          EXPECT_LE(d.entries.front().supersedes.entries().size(), 3u);
          EXPECT_EQ(s.store.siblings(key).size(), 1u) << "a local write replaces every version it saw";
          delta.store.apply(d);
          return delta;
        });
    expectSemilattice(states, seed);
  }
}

TEST(CrdtPropertiesTest, VersionVectorAndDotContext) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    DotContext a, b, c;
    for (int j = 0; j < 10; ++j) {
      a.add(Dot{static_cast<ReplicaId>(rng() % 3), 1 + rng() % 8});
      b.add(Dot{static_cast<ReplicaId>(rng() % 3), 1 + rng() % 8});
      c.add(Dot{static_cast<ReplicaId>(rng() % 3), 1 + rng() % 8});
    }
    DotContext ab = a, ba = b;
    ab.merge(b);
    ba.merge(a);
    EXPECT_EQ(ab, ba);
    DotContext abc1 = ab;
    abc1.merge(c);
    DotContext bc = b;
    bc.merge(c);
    DotContext abc2 = a;
    abc2.merge(bc);
    EXPECT_EQ(abc1, abc2);
    for (const Dot& d : a.cloud()) EXPECT_TRUE(ab.contains(d));
  }
}

TEST(CrdtSemanticsTest, ORSetAddWinsOverConcurrentRemove) {
  ORSet a, b;
  b.join(a.add(1, "x"));
  ORSet removal = b.remove("x");  // b saw the first add
  ORSet readd = a.add(1, "x");    // concurrent re-add at a
  a.join(removal);
  b.join(readd);
  EXPECT_TRUE(a.contains("x"));
  EXPECT_TRUE(b.contains("x"));
  EXPECT_EQ(a, b);
  // Removal leaves no tombstone: only the context remembers the dots.
  ORSet gone = a.remove("x");
  b.join(gone);
  EXPECT_TRUE(b.entries().empty());
}

TEST(CrdtSemanticsTest, StoreKeepsConcurrentWritesAndReadsHighestHlc) {
  ReplicatedStore a(1), b(2);
  StoreDelta da = a.put("k", "from-a", HlcTimestamp{100, 0, 1});
  StoreDelta db = b.put("k", "from-b", HlcTimestamp{90, 5, 2});
  a.apply(db);
  b.apply(da);
  EXPECT_EQ(a.siblings("k").size(), 2u) << "concurrent writes are both kept";
  EXPECT_EQ(a.get("k", 0), "from-a");
  EXPECT_EQ(b.get("k", 0), "from-a");
  // A later write that saw both replaces both.
  StoreDelta dc = b.put("k", "merged", HlcTimestamp{101, 0, 2});
  a.apply(dc);
  EXPECT_EQ(a.siblings("k").size(), 1u);
  EXPECT_EQ(a.get("k", 0), "merged");
  EXPECT_TRUE(a.sameContent(b));
}

TEST(CrdtSemanticsTest, CausalOverwriteBeatsFutureSkewedTimestamp) {
  // Region 1's clock runs far ahead. Region 2 sees its write and overwrites it with a smaller
  // physical time: causality, not the wall clock, decides.
  ReplicatedStore a(1), b(2);
  b.apply(a.put("k", "old", HlcTimestamp{10'000, 0, 1}));
  StoreDelta overwrite = b.put("k", "new", HlcTimestamp{500, 0, 2});
  a.apply(overwrite);
  EXPECT_EQ(a.get("k", 0), "new");
  EXPECT_EQ(b.get("k", 0), "new");
}

TEST(CrdtSemanticsTest, StoreTtlAndGarbageCollection) {
  ReplicatedStore a(1), b(2);
  b.apply(a.put("k", "v", HlcTimestamp{1000, 0, 1}, /*expiresAtMillis=*/1500));
  EXPECT_EQ(b.get("k", 1499), "v");
  EXPECT_EQ(b.get("k", 1500), std::nullopt);
  b.apply(a.remove("gone", HlcTimestamp{1001, 0, 1}));
  VersionVector notStable;  // region 2 has not reported: nothing may go
  EXPECT_EQ(a.collectGarbage(notStable, 2000), 0u);
  VersionVector stable = VersionVector::pointwiseMin(a.context().compact(), b.context().compact());
  EXPECT_EQ(a.collectGarbage(stable, 2000), 2u);
  EXPECT_EQ(a.entryCount(), 0u);
  // A stale copy arriving after collection is recognized as seen.
  EXPECT_EQ(a.apply(b.missingFrom(DotContext{})), 0u);
  EXPECT_EQ(a.get("k", 1200), std::nullopt);
}

}  // namespace
}  // namespace dwcp::state
