#include "engines/routing/client_area.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dwcp::routing {
namespace {

TEST(ClientAreaGridTest, MapsPointsToCellsAndBack) {
  ClientAreaGrid grid(15);
  EXPECT_EQ(grid.areaCount(), 12u * 24u + 1u);
  EXPECT_EQ(grid.areaOf({std::nan(""), 0}), grid.unknownArea());
  EXPECT_EQ(grid.areaOf({90, 180}), grid.areaOf({89.9, -179.9}));  // edges clamp / wrap
  for (double lat = -90; lat <= 90; lat += 7.3) {
    for (double lon = -180; lon <= 180; lon += 11.1) {
      const auto area = grid.areaOf({lat, lon});
      ASSERT_LT(area, grid.unknownArea());
      const GeoPoint centre = grid.centreOf(area);
      EXPECT_LE(std::abs(centre.latitude - lat), 7.5 + 1e-9);
      EXPECT_EQ(grid.areaOf(centre), area);
    }
  }
}

}  // namespace
}  // namespace dwcp::routing
