#include "base/geo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/geodesic_reference_test.h"

namespace dwcp::base {
namespace {

using testing::vincentyKm;


struct CityPair {
  const char* name;
  GeoPoint a;
  GeoPoint b;
  double geodesicKm;  // WGS 84 geodesic distance
};
void PrintTo(const CityPair& c, std::ostream* os) { *os << c.name; }

class GreatCircleTest : public ::testing::TestWithParam<CityPair> {};

TEST_P(GreatCircleTest, WithinHalfPercentOfGeodesic) {
  const CityPair& p = GetParam();
  const double haversine = greatCircleKm(p.a, p.b);
  EXPECT_NEAR(haversine, p.geodesicKm, p.geodesicKm * 0.005) << p.name;
  // The unit-vector form the hot loop uses agrees with haversine.
  EXPECT_NEAR(greatCircleKm(toUnitVector(p.a), toUnitVector(p.b)), haversine, 1e-6) << p.name;
  // Symmetric.
  EXPECT_NEAR(greatCircleKm(p.b, p.a), haversine, 1e-9) << p.name;
}

INSTANTIATE_TEST_SUITE_P(
    KnownCities, GreatCircleTest,
    ::testing::Values(CityPair{"London-Paris", {51.5074, -0.1278}, {48.8566, 2.3522}, 343.9},
                      CityPair{"NewYork-London", {40.7128, -74.0060}, {51.5074, -0.1278}, 5585.2},
                      CityPair{"Sydney-LosAngeles", {-33.8688, 151.2093}, {34.0522, -118.2437}, 12063.1},
                      CityPair{"Tokyo-SanFrancisco", {35.6762, 139.6503}, {37.7749, -122.4194}, 8293.4},
                      CityPair{"Frankfurt-Mumbai", {50.11, 8.68}, {19.08, 72.88}, 6569.9},
                      CityPair{"Auckland-Honolulu", {-36.8485, 174.7633}, {21.3069, -157.8583}, 7050.1}));

TEST(GreatCircleDistanceTest, AntimeridianIsTheShortWay) {
  // Two points one degree apart on the equator, either side of 180 degrees.
  const double km = greatCircleKm(GeoPoint{0, 179.5}, GeoPoint{0, -179.5});
  EXPECT_NEAR(km, 111.195, 0.01);
  EXPECT_NEAR(greatCircleKm(toUnitVector({0, 179.5}), toUnitVector({0, -179.5})), km, 1e-6);
  // 180 and -180 are the same meridian.
  EXPECT_NEAR(greatCircleKm(GeoPoint{10, 180}, GeoPoint{10, -180}), 0.0, 1e-6);
}

TEST(GreatCircleDistanceTest, ZeroPolesAndAntipodes) {
  EXPECT_DOUBLE_EQ(greatCircleKm(GeoPoint{48.0, 11.0}, GeoPoint{48.0, 11.0}), 0.0);
  // Every longitude at a pole is the same point.
  EXPECT_NEAR(greatCircleKm(GeoPoint{90, 0}, GeoPoint{90, 123}), 0.0, 1e-6);
  const double halfCircumference = 3.141592653589793 * kEarthRadiusKm;
  EXPECT_NEAR(greatCircleKm(GeoPoint{0, 0}, GeoPoint{0, 180}), halfCircumference, 1e-6);
  EXPECT_NEAR(greatCircleKm(GeoPoint{90, 0}, GeoPoint{-90, 0}), halfCircumference, 1e-6);
  EXPECT_NEAR(greatCircleKm(toUnitVector({0, 0}), toUnitVector({0, 180})), halfCircumference, 1e-6);
}

TEST(EstimateRttTest, GrowsWithDistance) {
  EXPECT_DOUBLE_EQ(estimateRttMs(0), kRttBaseMs);
  EXPECT_DOUBLE_EQ(estimateRttMs(1000), kRttBaseMs + 15.0);
  EXPECT_LT(estimateRttMs(343.9), estimateRttMs(5585.2));
  EXPECT_DOUBLE_EQ(estimateRttMs(-5), kRttBaseMs);  // never below the base
}



TEST(VincentyReferenceTest, MatchesPublishedGeodesic) {
  // Flinders Peak to Buninyong (Vincenty 1975, on GRS80/WGS84): 54 972.271 m.
  const double lat1 = -(37 + 57 / 60.0 + 3.72030 / 3600), lon1 = 144 + 25 / 60.0 + 29.52440 / 3600;
  const double lat2 = -(37 + 39 / 60.0 + 10.15610 / 3600), lon2 = 143 + 55 / 60.0 + 35.38390 / 3600;
  EXPECT_NEAR(vincentyKm(lat1, lon1, lat2, lon2), 54.972271, 0.001);
  // A quarter of the equator: 10 018.754 km on WGS 84.
  EXPECT_NEAR(vincentyKm(0, 0, 0, 90), 10018.754, 0.01);
}

TEST(HaversineTest, KnownDistances) {
  EXPECT_DOUBLE_EQ(greatCircleKm(GeoPoint{10, 20}, GeoPoint{10, 20}), 0.0);
  // One degree of arc on the mean sphere.
  EXPECT_NEAR(greatCircleKm(GeoPoint{0, 0}, GeoPoint{1, 0}), 111.195, 0.001);
  // Across the antimeridian: one degree apart, not 359.
  EXPECT_NEAR(greatCircleKm(GeoPoint{0, 179.5}, GeoPoint{0, -179.5}), 111.195, 0.001);
  // Across the pole: 0.1 + 0.1 degrees of arc.
  EXPECT_NEAR(greatCircleKm(GeoPoint{89.9, 0}, GeoPoint{89.9, 180}), 22.239, 0.001);
  // Pole to pole is half a great circle.
  EXPECT_NEAR(greatCircleKm(GeoPoint{90, 0}, GeoPoint{-90, 0}), std::numbers::pi * kEarthRadiusKm, 1e-6);
}

TEST(HaversineTest, WithinHalfAPercentOfTheEllipsoidEverywhere) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180);
  for (int i = 0; i < 2000; ++i) {
    const GeoPoint a{lat(rng), lon(rng)}, b{lat(rng), lon(rng)};
    const double sphere = greatCircleKm(a, b);
    if (sphere > 19000 || sphere < 1) continue;  // Vincenty struggles near antipodes
    const double ellipsoid = vincentyKm(a.latitude, a.longitude, b.latitude, b.longitude);
    EXPECT_NEAR(sphere / ellipsoid, 1.0, 0.0056) << a.latitude << "," << a.longitude << " -> "
                                                 << b.latitude << "," << b.longitude;
    // The unit-vector form agrees with haversine.
    EXPECT_NEAR(greatCircleKm(toUnitVector(a), toUnitVector(b)), sphere, 1e-6);
  }
}

TEST(GeoTest, ChordRoundTripsAndIsMonotonic) {
  double previous = -1;
  for (double km = 0; km <= 20000; km += 250) {
    const double chord = chordFromKm(km);
    EXPECT_GT(chord, previous);
    previous = chord;
    EXPECT_NEAR(kmFromChord(chord), km, 1e-6);
  }
}

TEST(GeoTest, NormalizeAndValidate) {
  EXPECT_DOUBLE_EQ(normalizeLongitude(190), -170);
  EXPECT_DOUBLE_EQ(normalizeLongitude(-190), 170);
  EXPECT_DOUBLE_EQ(normalizeLongitude(180), -180);
  EXPECT_DOUBLE_EQ(normalizeLongitude(45), 45);
  EXPECT_TRUE(isValid({90, -180}));
  EXPECT_FALSE(isValid({90.01, 0}));
  EXPECT_FALSE(isValid({0, 180.5}));
  EXPECT_FALSE(isValid({std::nan(""), 0}));
}

}  // namespace
}  // namespace dwcp::base
