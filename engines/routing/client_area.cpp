#include "engines/routing/client_area.h"

#include <algorithm>
#include <cmath>

namespace dwcp::routing {

ClientAreaGrid::ClientAreaGrid(double cellDegrees)
    : cellDegrees_(std::isfinite(cellDegrees) ? std::clamp(cellDegrees, 1.0, 90.0) : 15.0),
      rows_(static_cast<std::uint32_t>(std::ceil(180.0 / cellDegrees_))),
      columns_(static_cast<std::uint32_t>(std::ceil(360.0 / cellDegrees_))) {}

std::uint32_t ClientAreaGrid::areaOf(const GeoPoint& p) const {
  if (!isValid(p)) return unknownArea();
  const auto row = std::min(rows_ - 1, static_cast<std::uint32_t>((p.latitude + 90.0) / cellDegrees_));
  const double lon = base::normalizeLongitude(p.longitude) + 180.0;  // [0, 360)
  const auto column = std::min(columns_ - 1, static_cast<std::uint32_t>(lon / cellDegrees_));
  return row * columns_ + column;
}

GeoPoint ClientAreaGrid::centreOf(std::uint32_t area) const {
  if (area >= unknownArea()) return {};
  const std::uint32_t row = area / columns_;
  const double lat = -90.0 + (row + 0.5) * cellDegrees_;
  const double lon = -180.0 + (area % columns_ + 0.5) * cellDegrees_;
  return {std::min(lat, 90.0), base::normalizeLongitude(lon)};
}

}  // namespace dwcp::routing
