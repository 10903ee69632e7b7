// Great-circle geometry on a spherical Earth (mean radius 6371.0088 km). Haversine in its
// atan2 form stays accurate for nearby, antipodal, polar and antimeridian-crossing points.
// The unit-vector form lets the router rank regions by a dot product (no trigonometry per region).
#pragma once

namespace dwcp::routing {

inline constexpr double kEarthRadiusKm = 6371.0088;

struct GeoPoint {
  double latitudeDeg = 0;   // [-90, 90], north positive
  double longitudeDeg = 0;  // [-180, 180], east positive
};

// A point on the unit sphere (Earth-centred, Earth-fixed).
struct UnitVector {
  double x = 0, y = 0, z = 0;
  double dot(const UnitVector& o) const { return x * o.x + y * o.y + z * o.z; }
};

bool isValid(const GeoPoint& p);                 // finite and within the ranges above
double normalizeLongitudeDeg(double longitudeDeg);  // into [-180, 180)
double haversineKm(const GeoPoint& a, const GeoPoint& b);
UnitVector toUnitVector(const GeoPoint& p);
// Great-circle distance between two unit vectors (robust atan2 of cross and dot products).
double greatCircleKm(const UnitVector& a, const UnitVector& b);
// Chord length on the unit sphere <-> great-circle km; chord grows monotonically with distance.
double chordFromKm(double km);
double kmFromChord(double chord);

}  // namespace dwcp::routing
