#include "engines/routing/traffic_shaper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

namespace dwcp::routing {
namespace {

ShaperConfig roomy() {
  ShaperConfig config;
  config.capacity = 100000;
  for (auto& c : config.classes) {
    c.queueLimit = 100000;
    c.shedAtDepthFraction = 1.0;
  }
  return config;
}

TEST(TrafficShaperTest, ServesClassesInProportionToTheirWeights) {
  TrafficShaper shaper(roomy());  // weights 8:4:2:1
  std::uint64_t id = 0;
  for (int i = 0; i < 200; ++i) {
    for (int c = 0; c < kTrafficClassCount; ++c) {
      ASSERT_TRUE(shaper.offer({id++, static_cast<TrafficClass>(c), 1}).queued());
    }
  }
  std::array<int, kTrafficClassCount> served{};
  for (int i = 0; i < 150; ++i) {
    auto next = shaper.next();
    ASSERT_TRUE(next.has_value());
    ++served[static_cast<int>(next->trafficClass)];
  }
  EXPECT_EQ(served, (std::array<int, 4>{80, 40, 20, 10}));
}

TEST(TrafficShaperTest, FifoWithinAClassAndWorkConserving) {
  TrafficShaper shaper(roomy());
  EXPECT_FALSE(shaper.next().has_value());
  for (std::uint64_t id = 1; id <= 5; ++id) ASSERT_TRUE(shaper.offer({id, TrafficClass::kBulk, 1}).queued());
  for (std::uint64_t id = 1; id <= 5; ++id) EXPECT_EQ(shaper.next()->id, id);  // bulk alone gets it all
  EXPECT_FALSE(shaper.next().has_value());
  EXPECT_EQ(shaper.depth(), 0u);
}

TEST(TrafficShaperTest, LargerRequestsCostMoreOfTheDeficit) {
  TrafficShaper shaper(roomy());
  for (std::uint64_t id = 0; id < 40; ++id) {
    ASSERT_TRUE(shaper.offer({id, TrafficClass::kRealtime, 4}).queued());  // 4 units each
    ASSERT_TRUE(shaper.offer({100 + id, TrafficClass::kInteractive, 1}).queued());
  }
  std::array<int, kTrafficClassCount> served{};
  for (int i = 0; i < 30; ++i) ++served[static_cast<int>(shaper.next()->trafficClass)];
  // Per round: realtime 8 units = 2 requests, interactive 4 units = 4 requests.
  EXPECT_EQ(served[0], 10);
  EXPECT_EQ(served[1], 20);
}

TEST(TrafficShaperTest, ShedsTheLowestClassesFirstWith503) {
  ShaperConfig config;
  config.capacity = 100;  // shed bulk at 50, standard at 75, interactive at 90, realtime at 100
  TrafficShaper shaper(config);
  const std::array<std::size_t, kTrafficClassCount> threshold{100, 90, 75, 50};
  std::vector<int> shedOrder;  // classes in the order they were first shed
  std::uint64_t id = 0;
  for (int i = 0; i < 400; ++i) {
    const int c = i % kTrafficClassCount;
    const std::size_t depth = shaper.depth();
    auto result = shaper.offer({id++, static_cast<TrafficClass>(c), 1});
    EXPECT_EQ(result.queued(), depth < threshold[c]) << "class " << c << " at depth " << depth;
    if (!result.queued()) {
      EXPECT_EQ(result.httpStatus, 503);
      EXPECT_GE(result.retryAfterSeconds, 1u);
      if (std::find(shedOrder.begin(), shedOrder.end(), c) == shedOrder.end()) shedOrder.push_back(c);
    }
  }
  EXPECT_EQ(shedOrder, (std::vector<int>{3, 2, 1, 0}));  // bulk, standard, interactive, realtime
  EXPECT_EQ(shaper.depth(), 100u);
}

TEST(TrafficShaperTest, FullClassQueueGets429WithRetryAfter) {
  ShaperConfig config;
  config.classes[2].queueLimit = 3;
  config.serviceRatePerSec = 1;
  TrafficShaper shaper(config);
  for (std::uint64_t id = 0; id < 3; ++id) ASSERT_TRUE(shaper.offer({id, TrafficClass::kStandard, 1}).queued());
  auto result = shaper.offer({9, TrafficClass::kStandard, 1});
  EXPECT_EQ(result.verdict, ShapingVerdict::kShedClassFull);
  EXPECT_EQ(result.httpStatus, 429);
  // 4 waiting at 1/s with a 2/15 share of the service: 30 s.
  EXPECT_EQ(result.retryAfterSeconds, 30u);
  EXPECT_TRUE(shaper.offer({10, TrafficClass::kRealtime, 1}).queued());
}

TEST(TrafficShaperTest, ValidateNamesTheField) {
  EXPECT_TRUE(validate(ShaperConfig{}).ok());
  ShaperConfig c;
  c.capacity = 0;
  EXPECT_EQ(validate(c).error().field, "capacity");
  c = {};
  c.classes[1].shedAtDepthFraction = 1.5;
  EXPECT_EQ(validate(c).error().field, "classes.interactive.shedAtDepthFraction");
}

}  // namespace
}  // namespace dwcp::routing
