// The routing API's request handling, independent of the HTTP library: POST /v1/route (per-source
// admission -> parse -> traffic-class shaping -> engine -> JSON), GET /v1/regions, /healthz and
// /metrics. The source is the TCP peer (or what a trusted proxy forwards, see request_source.h),
// charged the bytes received; the body's clientAddress and requestBytes never affect admission. Owns the rate limiter, the shaper and the metrics; borrows the region table and
// the router, which must outlive it. handle() is thread-safe.
#pragma once

#include <memory>

#include "base/clock.h"
#include "engines/routing/rate_limiter.h"
#include "engines/routing/region_table.h"
#include "engines/routing/router.h"
#include "engines/routing/traffic_shaper.h"
#include "net/http_server.h"
#include "routingapi/metrics.h"
#include "routingapi/request_source.h"

namespace dwcp::routingapi {

struct RoutingServiceOptions {
  bool ddosProtection = true;        // DWCP routing.global.enable_ddos_protection
  bool trafficShaping = true;        // DWCP routing.global.enable_traffic_shaping
  routing::RateLimiterConfig rateLimiter;
  TrustedProxies trustedProxies;     // DWCP routing.ddos_protection.trusted_proxies
  routing::ShaperConfig shaper;
};

// Field names like "rateLimiter.maxRequestsPerSec", "shaper.capacity".
routing::Status validate(const RoutingServiceOptions& options);

// The HTTP server settings the routing API is measured with (docs/BENCHMARKS.md): one io thread
// per core, one SO_REUSEPORT listener per thread, port 8090, keep-alive for a minute.
net::HttpServerOptions routingServerOptions();

class RoutingService {
 public:
  // options assumed valid (see validate()); the clock must outlive the service.
  RoutingService(routing::RegionTable& table, routing::Router& router, RoutingServiceOptions options,
                 const base::Clock& clock = base::RealClock::instance());

  void handle(const net::HttpRequest& request, net::HttpResponse& response);
  net::HttpHandler handler() {
    return [this](const net::HttpRequest& request, net::HttpResponse& response) { handle(request, response); };
  }

  const RoutingMetrics& metrics() const { return metrics_; }

 private:
  void route(const net::HttpRequest& request, net::HttpResponse& response);
  void regions(net::HttpResponse& response) const;
  void renderMetrics(net::HttpResponse& response) const;

  routing::RegionTable& table_;
  routing::Router& router_;
  const RoutingServiceOptions options_;
  const base::Clock& clock_;
  routing::SourceRateLimiter limiter_;
  routing::TrafficShaper shaper_;
  RoutingMetrics metrics_;
};

}  // namespace dwcp::routingapi
