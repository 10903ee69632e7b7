#include "engines/placement/geo.h"

#include <gtest/gtest.h>

namespace dwcp::placement {
namespace {

struct CityPair {
  const char* name;
  GeoPoint a;
  GeoPoint b;
  double geodesicKm;  // WGS 84 geodesic distance
};

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

TEST(GreatCircle, AntimeridianIsTheShortWay) {
  // Two points one degree apart on the equator, either side of 180 degrees.
  const double km = greatCircleKm(GeoPoint{0, 179.5}, GeoPoint{0, -179.5});
  EXPECT_NEAR(km, 111.195, 0.01);
  EXPECT_NEAR(greatCircleKm(toUnitVector({0, 179.5}), toUnitVector({0, -179.5})), km, 1e-6);
  // 180 and -180 are the same meridian.
  EXPECT_NEAR(greatCircleKm(GeoPoint{10, 180}, GeoPoint{10, -180}), 0.0, 1e-6);
}

TEST(GreatCircle, ZeroPolesAndAntipodes) {
  EXPECT_DOUBLE_EQ(greatCircleKm(GeoPoint{48.0, 11.0}, GeoPoint{48.0, 11.0}), 0.0);
  // Every longitude at a pole is the same point.
  EXPECT_NEAR(greatCircleKm(GeoPoint{90, 0}, GeoPoint{90, 123}), 0.0, 1e-6);
  const double halfCircumference = 3.141592653589793 * kEarthRadiusKm;
  EXPECT_NEAR(greatCircleKm(GeoPoint{0, 0}, GeoPoint{0, 180}), halfCircumference, 1e-6);
  EXPECT_NEAR(greatCircleKm(GeoPoint{90, 0}, GeoPoint{-90, 0}), halfCircumference, 1e-6);
  EXPECT_NEAR(greatCircleKm(toUnitVector({0, 0}), toUnitVector({0, 180})), halfCircumference, 1e-6);
}

TEST(EstimateRtt, GrowsWithDistance) {
  EXPECT_DOUBLE_EQ(estimateRttMs(0), kRttBaseMs);
  EXPECT_DOUBLE_EQ(estimateRttMs(1000), kRttBaseMs + 15.0);
  EXPECT_LT(estimateRttMs(343.9), estimateRttMs(5585.2));
  EXPECT_DOUBLE_EQ(estimateRttMs(-5), kRttBaseMs);  // never below the base
}

}  // namespace
}  // namespace dwcp::placement
