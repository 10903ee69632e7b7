// Geography for placement: great-circle distance on a spherical Earth (haversine, mean radius)
// and the round trip estimated from a distance when no RTT was measured. Pure functions,
// thread-safe. Spherical distances differ from WGS 84 geodesics by at most about 0.5%.
#pragma once

#include "engines/placement/types.h"

namespace dwcp::placement {

inline constexpr double kEarthRadiusKm = 6371.0088;  // IUGG mean radius

// Estimated round trip: a fixed overhead plus light in fiber (about 200 km per ms one way) on a
// path 1.5 times the great circle, there and back: 1 ms + 0.015 ms per km.
inline constexpr double kRttBaseMs = 1.0;
inline constexpr double kRttMsPerKm = 0.015;

// Distance in km along the Earth's surface; handles the antimeridian and the poles.
double greatCircleKm(GeoPoint a, GeoPoint b);

double estimateRttMs(double distanceKm);

// A point as a unit vector: distances between precomputed vectors need no trigonometry but one
// asin, which is what the engine's hot loop uses.
struct UnitVector {
  double x = 0, y = 0, z = 0;
};
UnitVector toUnitVector(GeoPoint point);
double greatCircleKm(const UnitVector& a, const UnitVector& b);

}  // namespace dwcp::placement
