#include "engines/routing/geo.h"

#include <gtest/gtest.h>

#include <random>

#include "engines/routing/client_area.h"
#include "engines/routing/geodesic_reference_test.h"

namespace dwcp::routing {
namespace {

using testing::vincentyKm;

TEST(VincentyReference, MatchesPublishedGeodesic) {
  // Flinders Peak to Buninyong (Vincenty 1975, on GRS80/WGS84): 54 972.271 m.
  const double lat1 = -(37 + 57 / 60.0 + 3.72030 / 3600), lon1 = 144 + 25 / 60.0 + 29.52440 / 3600;
  const double lat2 = -(37 + 39 / 60.0 + 10.15610 / 3600), lon2 = 143 + 55 / 60.0 + 35.38390 / 3600;
  EXPECT_NEAR(vincentyKm(lat1, lon1, lat2, lon2), 54.972271, 0.001);
  // A quarter of the equator: 10 018.754 km on WGS 84.
  EXPECT_NEAR(vincentyKm(0, 0, 0, 90), 10018.754, 0.01);
}

TEST(Haversine, KnownDistances) {
  EXPECT_DOUBLE_EQ(haversineKm({10, 20}, {10, 20}), 0.0);
  // One degree of arc on the mean sphere.
  EXPECT_NEAR(haversineKm({0, 0}, {1, 0}), 111.195, 0.001);
  // Across the antimeridian: one degree apart, not 359.
  EXPECT_NEAR(haversineKm({0, 179.5}, {0, -179.5}), 111.195, 0.001);
  // Across the pole: 0.1 + 0.1 degrees of arc.
  EXPECT_NEAR(haversineKm({89.9, 0}, {89.9, 180}), 22.239, 0.001);
  // Pole to pole is half a great circle.
  EXPECT_NEAR(haversineKm({90, 0}, {-90, 0}), std::numbers::pi * kEarthRadiusKm, 1e-6);
}

TEST(Haversine, WithinHalfAPercentOfTheEllipsoidEverywhere) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180);
  for (int i = 0; i < 2000; ++i) {
    const GeoPoint a{lat(rng), lon(rng)}, b{lat(rng), lon(rng)};
    const double sphere = haversineKm(a, b);
    if (sphere > 19000 || sphere < 1) continue;  // Vincenty struggles near antipodes
    const double ellipsoid = vincentyKm(a.latitudeDeg, a.longitudeDeg, b.latitudeDeg, b.longitudeDeg);
    EXPECT_NEAR(sphere / ellipsoid, 1.0, 0.0056) << a.latitudeDeg << "," << a.longitudeDeg << " -> "
                                                 << b.latitudeDeg << "," << b.longitudeDeg;
    // The unit-vector form agrees with haversine.
    EXPECT_NEAR(greatCircleKm(toUnitVector(a), toUnitVector(b)), sphere, 1e-6);
  }
}

TEST(Geo, ChordRoundTripsAndIsMonotonic) {
  double previous = -1;
  for (double km = 0; km <= 20000; km += 250) {
    const double chord = chordFromKm(km);
    EXPECT_GT(chord, previous);
    previous = chord;
    EXPECT_NEAR(kmFromChord(chord), km, 1e-6);
  }
}

TEST(Geo, NormalizeAndValidate) {
  EXPECT_DOUBLE_EQ(normalizeLongitudeDeg(190), -170);
  EXPECT_DOUBLE_EQ(normalizeLongitudeDeg(-190), 170);
  EXPECT_DOUBLE_EQ(normalizeLongitudeDeg(180), -180);
  EXPECT_DOUBLE_EQ(normalizeLongitudeDeg(45), 45);
  EXPECT_TRUE(isValid({90, -180}));
  EXPECT_FALSE(isValid({90.01, 0}));
  EXPECT_FALSE(isValid({0, 180.5}));
  EXPECT_FALSE(isValid({std::nan(""), 0}));
}

TEST(ClientAreaGrid, MapsPointsToCellsAndBack) {
  ClientAreaGrid grid(15);
  EXPECT_EQ(grid.areaCount(), 12u * 24u + 1u);
  EXPECT_EQ(grid.areaOf({std::nan(""), 0}), grid.unknownArea());
  EXPECT_EQ(grid.areaOf({90, 180}), grid.areaOf({89.9, -179.9}));  // edges clamp / wrap
  for (double lat = -90; lat <= 90; lat += 7.3) {
    for (double lon = -180; lon <= 180; lon += 11.1) {
      const auto area = grid.areaOf({lat, lon});
      ASSERT_LT(area, grid.unknownArea());
      const GeoPoint centre = grid.centreOf(area);
      EXPECT_LE(std::abs(centre.latitudeDeg - lat), 7.5 + 1e-9);
      EXPECT_EQ(grid.areaOf(centre), area);
    }
  }
}

}  // namespace
}  // namespace dwcp::routing
