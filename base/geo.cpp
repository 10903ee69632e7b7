#include "base/geo.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dwcp::base {
namespace {
constexpr double kRadPerDeg = std::numbers::pi / 180.0;
}

bool isValid(const GeoPoint& p) {
  return std::isfinite(p.latitude) && std::isfinite(p.longitude) && p.latitude >= -90 && p.latitude <= 90 &&
         p.longitude >= -180 && p.longitude <= 180;
}

double normalizeLongitude(double longitudeDeg) {
  double l = std::fmod(longitudeDeg + 180.0, 360.0);
  if (l < 0) l += 360.0;
  return l - 180.0;
}

double greatCircleKm(const GeoPoint& a, const GeoPoint& b) {
  const double phi1 = a.latitude * kRadPerDeg, phi2 = b.latitude * kRadPerDeg;
  const double dPhi = phi2 - phi1;
  const double dLambda = (b.longitude - a.longitude) * kRadPerDeg;  // sin^2 is 2pi-periodic
  const double s1 = std::sin(dPhi / 2), s2 = std::sin(dLambda / 2);
  const double h = std::clamp(s1 * s1 + std::cos(phi1) * std::cos(phi2) * s2 * s2, 0.0, 1.0);
  return 2.0 * kEarthRadiusKm * std::atan2(std::sqrt(h), std::sqrt(1.0 - h));
}

double estimateRttMs(double distanceKm) { return kRttBaseMs + kRttMsPerKm * std::max(0.0, distanceKm); }

UnitVector toUnitVector(const GeoPoint& p) {
  const double phi = p.latitude * kRadPerDeg, lambda = p.longitude * kRadPerDeg;
  const double c = std::cos(phi);
  return {c * std::cos(lambda), c * std::sin(lambda), std::sin(phi)};
}

double greatCircleKm(const UnitVector& a, const UnitVector& b) {
  const double cx = a.y * b.z - a.z * b.y, cy = a.z * b.x - a.x * b.z, cz = a.x * b.y - a.y * b.x;
  return kEarthRadiusKm * std::atan2(std::sqrt(cx * cx + cy * cy + cz * cz), a.dot(b));
}

double chordFromKm(double km) {
  const double angle = std::clamp(km / kEarthRadiusKm, 0.0, std::numbers::pi);
  return 2.0 * std::sin(angle / 2.0);
}

double kmFromChord(double chord) { return 2.0 * kEarthRadiusKm * std::asin(std::clamp(chord / 2.0, 0.0, 1.0)); }

}  // namespace dwcp::base
