// Haversine for GeoPoints; for unit vectors the chord length c gives the angle 2*asin(c/2), which
// is as well conditioned as haversine for short and long distances alike.
#include "engines/placement/geo.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dwcp::placement {
namespace {
constexpr double kRadiansPerDegree = std::numbers::pi / 180.0;
}

double greatCircleKm(GeoPoint a, GeoPoint b) {
  const double lat1 = a.latitude * kRadiansPerDegree;
  const double lat2 = b.latitude * kRadiansPerDegree;
  const double dLat = lat2 - lat1;
  const double dLon = (b.longitude - a.longitude) * kRadiansPerDegree;
  const double sinLat = std::sin(dLat / 2);
  const double sinLon = std::sin(dLon / 2);
  double h = sinLat * sinLat + std::cos(lat1) * std::cos(lat2) * sinLon * sinLon;
  h = std::clamp(h, 0.0, 1.0);
  return 2 * kEarthRadiusKm * std::asin(std::sqrt(h));
}

double estimateRttMs(double distanceKm) { return kRttBaseMs + kRttMsPerKm * std::max(0.0, distanceKm); }

UnitVector toUnitVector(GeoPoint point) {
  const double lat = point.latitude * kRadiansPerDegree;
  const double lon = point.longitude * kRadiansPerDegree;
  const double cosLat = std::cos(lat);
  return {cosLat * std::cos(lon), cosLat * std::sin(lon), std::sin(lat)};
}

double greatCircleKm(const UnitVector& a, const UnitVector& b) {
  const double dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
  const double chord = std::sqrt(dx * dx + dy * dy + dz * dz);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, chord / 2));
}

}  // namespace dwcp::placement
