#include "routingapi/routing_service.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "routingapi/route_request.h"

namespace dwcp::routingapi {
namespace {

std::string_view pathOf(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

void error(net::HttpResponse& response, int status, std::string_view message, std::string_view field = {},
           std::uint32_t retryAfterSeconds = 0) {
  response.status = status;
  response.contentType = "application/json";
  response.body = renderError(message, field);
  response.retryAfterSeconds = retryAfterSeconds;
}

}  // namespace

routing::Status validate(const RoutingServiceOptions& options) {
  if (auto s = routing::validate(options.rateLimiter); !s.ok()) {
    auto e = s.error();
    e.field = "rateLimiter." + e.field;
    return e;
  }
  if (auto s = routing::validate(options.shaper); !s.ok()) {
    auto e = s.error();
    e.field = "shaper." + e.field;
    return e;
  }
  return routing::okStatus();
}

RoutingService::RoutingService(routing::RegionTable& table, routing::Router& router, RoutingServiceOptions options,
                               const base::Clock& clock)
    : table_(table),
      router_(router),
      options_(std::move(options)),
      clock_(clock),
      limiter_(options_.rateLimiter, clock),
      shaper_(options_.shaper) {}

net::HttpServerOptions routingServerOptions() {
  net::HttpServerOptions options;
  options.name = "routing api";
  options.port = 8090;
  options.threads = 0;
  options.reusePort = true;
  options.maxConnections = 0;  // a flood is the rate limiter's to answer, per source
  return options;
}

void RoutingService::handle(const net::HttpRequest& request, net::HttpResponse& response) {
  const auto path = pathOf(request.target);
  const bool get = request.method == "GET";
  if (path == "/v1/route") {
    if (request.method != "POST") {
      error(response, 405, "use POST");
    } else {
      route(request, response);
    }
  } else if (path == "/v1/regions" && get) {
    regions(response);
  } else if (path == "/healthz" && get) {
    response.contentType = "text/plain";
    response.body = "ok\n";
  } else if (path == "/metrics" && get) {
    renderMetrics(response);
  } else if (path == "/v1/regions" || path == "/healthz" || path == "/metrics") {
    error(response, 405, "use GET");
  } else {
    error(response, 404, "no such endpoint");
  }
  metrics_.recordResponse(response.status);
}

void RoutingService::route(const net::HttpRequest& request, net::HttpResponse& response) {
  const auto start = std::chrono::steady_clock::now();
  if (options_.ddosProtection) {
    // Before parsing: garbage counts against its sender like any other request.
    std::string forwardedSource;
    std::string_view source = request.peerAddress;
    if (!options_.trustedProxies.empty()) {
      forwardedSource = requestSource(request.peerAddress, request.forwardedFor, options_.trustedProxies);
      source = forwardedSource;
    }
    auto admission = limiter_.admit(source, request.receivedBytes);
    if (!admission.admitted()) {
      metrics_.recordRateLimited(admission.verdict);
      const bool tooLarge = admission.verdict == routing::AdmissionVerdict::kTooLarge;
      const char* message = admission.verdict == routing::AdmissionVerdict::kBlacklisted ? "source blacklisted"
                            : tooLarge ? "request larger than the source's byte budget"
                                       : "rate limited";
      return error(response, admission.httpStatus, message, tooLarge ? "body" : "", admission.retryAfterSeconds);
    }
  }
  auto parsed = parseRouteRequest(request.body);
  if (!parsed.ok()) return error(response, 400, parsed.error().message, parsed.error().field);
  const RouteApiRequest& body = *parsed;

  // Shaping is applied synchronously: the request holds a queue slot of its class while the
  // engine decides, so the shaper's depth is the number of decisions in progress.
  bool queued = false;
  if (options_.trafficShaping) {
    auto shaping = shaper_.offer({0, body.trafficClass, 1});
    if (!shaping.queued()) {
      metrics_.recordShed(body.trafficClass, shaping.verdict);
      return error(response, shaping.httpStatus,
                   std::string("traffic class ") + std::string(routing::toString(body.trafficClass)) + " shed under load",
                   {}, shaping.retryAfterSeconds);
    }
    queued = true;
  }
  auto decision = router_.route(body.toEngineRequest());
  if (queued) (void)shaper_.next();
  if (!decision.ok()) {
    const auto& e = decision.error();
    if (e.code == routing::ErrorCode::kNoEligibleRegion) {
      metrics_.recordNoEligibleRegion();
      return error(response, 503, e.message, {}, 1);
    }
    return error(response, 400, e.message, e.field);
  }
  response.status = 200;
  response.body = renderDecision(*decision);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.recordDecision(seconds, decision->algorithm, decision->trafficClass, decision->regionName());
}

void RoutingService::regions(net::HttpResponse& response) const {
  auto snapshot = table_.snapshot();
  const auto nowNanos = clock_.steadyNanos();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& region : snapshot->regions()) {
    const auto& live = *region.live;
    list.push_back({{"name", region.spec.name},
                    {"endpoint", region.spec.endpoint},
                    {"location", {{"latitude", region.spec.location.latitude},
                                  {"longitude", region.spec.location.longitude}}},
                    {"phase", routing::toString(region.spec.phase)},
                    {"healthScore", region.spec.healthScore},
                    {"weight", region.spec.capacityWeight},
                    {"costPerRequest", region.effectiveCost},
                    {"acceptsTraffic", region.acceptsTraffic},
                    {"ejected", live.outlier.isEjected(nowNanos)},
                    {"load", routing::normalizedLoad(region)},
                    {"inFlight", live.inFlight.load(std::memory_order_relaxed)}});
  }
  nlohmann::json out = {{"version", snapshot->version()}, {"regions", std::move(list)}};
  response.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void RoutingService::renderMetrics(net::HttpResponse& response) const {
  RoutingMetrics::Gauges gauges;
  gauges.blacklistedSources = limiter_.blacklistedSources();
  gauges.trackedSources = limiter_.trackedSources();
  auto snapshot = table_.snapshot();
  gauges.regions = snapshot->regions().size();
  const auto nowNanos = clock_.steadyNanos();
  for (auto index : snapshot->acceptingTraffic()) {
    gauges.routableRegions += routing::isRoutable(snapshot->regions()[index], nowNanos) ? 1 : 0;
  }
  response.contentType = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics_.render(gauges);
}

}  // namespace dwcp::routingapi
