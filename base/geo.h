// Geodesy on a spherical Earth (IUGG mean radius), shared by the placement and routing engines.
// Spherical distances differ from WGS 84 geodesics by at most about 0.5%. Haversine in its atan2
// form stays accurate for nearby, antipodal, polar and antimeridian-crossing points; the
// unit-vector form lets hot loops rank regions with a dot product and no trigonometry per region.
// Pure functions, thread-safe.
#pragma once

namespace dwcp::base {

inline constexpr double kEarthRadiusKm = 6371.0088;

// Estimated round trip when none was measured: a fixed overhead plus light in fiber (about 200 km
// per ms one way) on a path 1.5 times the great circle, there and back: 1 ms + 0.015 ms per km.
inline constexpr double kRttBaseMs = 1.0;
inline constexpr double kRttMsPerKm = 0.015;

struct GeoPoint {
  double latitude = 0;   // degrees north, [-90, 90]
  double longitude = 0;  // degrees east, [-180, 180]
};

// A point on the unit sphere (Earth-centred, Earth-fixed).
struct UnitVector {
  double x = 0, y = 0, z = 0;
  double dot(const UnitVector& o) const { return x * o.x + y * o.y + z * o.z; }
};

bool isValid(const GeoPoint& p);                    // finite and within the ranges above
double normalizeLongitude(double longitudeDeg);     // into [-180, 180)
double greatCircleKm(const GeoPoint& a, const GeoPoint& b);  // haversine
double estimateRttMs(double distanceKm);
UnitVector toUnitVector(const GeoPoint& p);
// Great-circle distance between two unit vectors (robust atan2 of cross and dot products).
double greatCircleKm(const UnitVector& a, const UnitVector& b);
// Chord length on the unit sphere <-> great-circle km; chord grows monotonically with distance.
double chordFromKm(double km);
double kmFromChord(double chord);

}  // namespace dwcp::base
