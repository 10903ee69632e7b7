// Client areas: a fixed latitude/longitude grid (cellDegrees on a side) that keys the observed
// latency table, plus one extra area for clients of unknown location. Immutable, thread-safe.
#pragma once

#include <cstdint>

#include "base/geo.h"

namespace dwcp::routing {

using base::GeoPoint;
using base::UnitVector;

class ClientAreaGrid {
 public:
  // cellDegrees is clamped to [1, 90]; 15 gives 12 x 24 = 288 areas.
  explicit ClientAreaGrid(double cellDegrees = 15.0);
  std::uint32_t areaCount() const { return rows_ * columns_ + 1; }  // including unknownArea()
  std::uint32_t unknownArea() const { return rows_ * columns_; }
  std::uint32_t areaOf(const GeoPoint& p) const;  // an invalid point maps to unknownArea()
  GeoPoint centreOf(std::uint32_t area) const;    // unknownArea() maps to (0, 0)
  double cellDegrees() const { return cellDegrees_; }

 private:
  double cellDegrees_;
  std::uint32_t rows_, columns_;
};

}  // namespace dwcp::routing
