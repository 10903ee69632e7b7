// Hybrid logical clock rules: monotonic whatever the physical clock does, past every observed
// timestamp, replica id as the final tie-break, bounded pull from a far-future peer.
#include "engines/state/hlc.h"

#include <gtest/gtest.h>

namespace dwcp::state {
namespace {

TEST(HlcTest, MonotonicWhenThePhysicalClockStallsOrGoesBack) {
  base::FakeClock clock(1000);
  HybridLogicalClock hlc(1, clock);
  const HlcTimestamp a = hlc.now();
  const HlcTimestamp b = hlc.now();
  clock.setWallMillis(900);  // NTP step backwards
  const HlcTimestamp c = hlc.now();
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(c.physicalMillis, 1000);
  clock.setWallMillis(2000);
  EXPECT_EQ(hlc.now(), (HlcTimestamp{2000, 0, 1}));
}

TEST(HlcTest, NextTimestampFollowsEveryObservedOne) {
  base::FakeClock clock(1000);
  HybridLogicalClock hlc(1, clock);
  const HlcTimestamp remote{1400, 7, 2};  // a peer 400 ms ahead
  hlc.observe(remote);
  const HlcTimestamp next = hlc.now();
  EXPECT_LT(remote, next);
  EXPECT_EQ(next.physicalMillis, 1400);
  EXPECT_EQ(hlc.maxObservedSkewMillis(), 400);
}

TEST(HlcTest, ReplicaIdBreaksTies) {
  EXPECT_LT((HlcTimestamp{5, 1, 1}), (HlcTimestamp{5, 1, 2}));
  EXPECT_LT((HlcTimestamp{5, 1, 9}), (HlcTimestamp{5, 2, 1}));
  EXPECT_LT((HlcTimestamp{4, 9, 9}), (HlcTimestamp{5, 0, 0}));
}

TEST(HlcTest, FarFutureTimestampDoesNotDragTheClock) {
  base::FakeClock clock(1000);
  HybridLogicalClock hlc(1, clock, /*maxForwardDriftMillis=*/60'000);
  hlc.observe(HlcTimestamp{1000 + 3'600'000, 0, 2});
  EXPECT_EQ(hlc.rejectedDriftCount(), 1u);
  EXPECT_EQ(hlc.now().physicalMillis, 1000);
}

}  // namespace
}  // namespace dwcp::state
