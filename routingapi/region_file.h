// Reads the standalone router's region list (dwcp-router --regions FILE). Accepted shapes, in
// YAML or JSON: a list of regions, a map with a `regions` list, or a (multi-document) stream of
// Region custom resources as in examples/regions.yaml. Errors name the document and field
// ("regions[2].latitude", "documents[1].spec.location.latitude"). Pure functions. (dwcp-operator
// reads its Region cache through api::parseRegion instead: operator/routing_api.h.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engines/routing/region_table.h"
#include "engines/routing/result.h"

namespace dwcp::routingapi {

// A plain entry: {name, endpoint, latitude, longitude (or location: {latitude, longitude}),
// phase (default Healthy), healthScore (100), costPerRequest, costPerCpuHour, capacityWeight (1),
// failoverRegions}. A Region resource: metadata.name, spec.endpoint, spec.location, spec.cost.cpuHour,
// spec.capacity.cpu as the capacity weight, spec.enabled (false -> Disabled), and when present
// status.phase and status.healthScore.
routing::Result<std::vector<routing::RegionSpec>> parseRegions(const std::string& text);
routing::Result<std::vector<routing::RegionSpec>> loadRegionsFile(const std::string& path);

}  // namespace dwcp::routingapi
