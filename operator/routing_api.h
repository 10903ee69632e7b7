// The routing API inside dwcp-operator (issue 5): the Region informer cache feeds a
// routing::RegionTable, a Router and a RoutingService decide, a Beast HTTP server serves them on
// --routing-bind-address. It only reads the cache, so every replica serves, leader or not.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/region.h"
#include "engines/routing/region_table.h"
#include "engines/routing/router.h"
#include "kube/reflector.h"
#include "kube/result.h"
#include "kube/store.h"
#include "config/config.h"
#include "net/http_server.h"
#include "routingapi/routing_service.h"

namespace dwcp::op {

// A Region as the routing engine sees it: metadata.name, spec.endpoint, spec.location,
// spec.cost.cpuHour, spec.capacity.cpu as the capacity weight; Disabled when spec.enabled is
// false, else status.phase (Healthy before the first status) and status.healthScore.
routing::RegionSpec routingRegionOf(const api::Region& region);
// The share of its tightest resource a Region reports in use (status.allocated against
// spec.capacity, 0..1), which the table takes as the region's reported load; nullopt without an
// allocation (a remote region not heard from, or no federation).
std::optional<double> reportedLoadOf(const api::Region& region);
// The same for an object of the Region cache, through api::parseRegion: an error names the field.
kube::Result<routing::RegionSpec> routingRegionOf(const nlohmann::json& object);
// The same for a cached Region (decoded once, or kept as JSON with the reason it was refused).
kube::Result<routing::RegionSpec> routingRegionOf(const kube::CachedObject& object);

class RoutingApi {
 public:
  // `config` was validated when the file was parsed (config::parseConfig).
  explicit RoutingApi(const config::RoutingConfig& config);
  ~RoutingApi();  // stops the server
  RoutingApi(const RoutingApi&) = delete;
  RoutingApi& operator=(const RoutingApi&) = delete;

  // Replaces the table with every Region in `regions` (a handful: a full rebuild is simplest).
  // Live state (latency EWMA, load) of regions that stay is kept by the table. A Region that
  // does not convert is left out and logged once per resourceVersion; the others stay.
  void rebuild(const kube::Store& regions);
  // Rebuilds on every add, update and delete of the Region informer that owns `regions`.
  kube::EventHandler regionHandler(const kube::Store& regions);
  // Names of the Regions left out by the last rebuild, with the reason.
  std::map<std::string, std::string> leftOut() const;

  // Listens on "HOST:PORT" (empty HOST: every address; a host name is resolved). Returns the
  // bound port; an error names --routing-bind-address.
  kube::Result<int> start(const std::string& bindAddress);
  // Stops accepting and lets requests in progress finish. Idempotent.
  void stop();

  const routing::RegionTable& table() const { return table_; }
  routingapi::RoutingService& service() { return service_; }

 private:
  struct LeftOut {
    std::string resourceVersion;
    std::string reason;
  };

  routing::RegionTable table_;
  routing::Router router_;
  routingapi::RoutingService service_;
  std::unique_ptr<net::HttpServer> server_;  // declared last: stops before the rest goes

  mutable std::mutex mu_;  // rebuilds and leftOut_
  std::map<std::string, LeftOut> leftOut_;
};

}  // namespace dwcp::op
