#include "routingapi/metrics.h"

#include <fmt/format.h>

#include <mutex>

namespace dwcp::routingapi {
namespace {

constexpr std::string_view kLatency = "dwcp_federation_routing_decision_latency_seconds";

std::string escapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view verdictLabel(routing::AdmissionVerdict verdict) {
  switch (verdict) {
    case routing::AdmissionVerdict::kRateLimited: return "rate_limited";
    case routing::AdmissionVerdict::kBlacklisted: return "blacklisted";
    case routing::AdmissionVerdict::kTooLarge: return "too_large";
    case routing::AdmissionVerdict::kAdmitted: break;
  }
  return "admitted";
}

}  // namespace

RoutingMetrics::PerRegion& RoutingMetrics::regionCounters(std::string_view region) {
  {
    std::shared_lock lock(regionsMu_);
    if (auto it = decisions_.find(region); it != decisions_.end()) return *it->second;
  }
  std::unique_lock lock(regionsMu_);
  auto [it, inserted] = decisions_.try_emplace(std::string(region));
  if (inserted) it->second = std::make_unique<PerRegion>();
  return *it->second;
}

void RoutingMetrics::recordDecision(double latencySeconds, routing::Algorithm algorithm,
                                    routing::TrafficClass trafficClass, std::string_view region) {
  for (std::size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    if (latencySeconds <= kLatencyBucketsSeconds[i]) {
      latencyBuckets_[i].fetch_add(1, std::memory_order_relaxed);  // cumulated at render time
      break;
    }
  }
  latencyCount_.fetch_add(1, std::memory_order_relaxed);
  latencySumNanos_.fetch_add(static_cast<std::uint64_t>(latencySeconds * 1e9), std::memory_order_relaxed);
  auto& counters = regionCounters(region);
  counters[static_cast<std::size_t>(algorithm) * routing::kTrafficClassCount + static_cast<std::size_t>(trafficClass)]
      .fetch_add(1, std::memory_order_relaxed);
}

void RoutingMetrics::recordRateLimited(routing::AdmissionVerdict verdict) {
  rateLimited_[static_cast<std::size_t>(verdict) % rateLimited_.size()].fetch_add(1, std::memory_order_relaxed);
}

void RoutingMetrics::recordShed(routing::TrafficClass trafficClass, routing::ShapingVerdict verdict) {
  shed_[static_cast<std::size_t>(trafficClass)][static_cast<std::size_t>(verdict) % 3].fetch_add(
      1, std::memory_order_relaxed);
}

void RoutingMetrics::recordNoEligibleRegion() { noEligibleRegion_.fetch_add(1, std::memory_order_relaxed); }

void RoutingMetrics::recordResponse(int httpStatus) {
  if (httpStatus >= 100 && httpStatus < static_cast<int>(responses_.size())) {
    responses_[static_cast<std::size_t>(httpStatus)].fetch_add(1, std::memory_order_relaxed);
  }
}

std::string RoutingMetrics::render(const Gauges& gauges) const {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);

  fmt::format_to(it, "# HELP {} Time to answer one POST /v1/route that produced a decision (parse, admission, "
                     "engine, response body).\n# TYPE {} histogram\n", kLatency, kLatency);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBucketsSeconds.size(); ++i) {
    cumulative += latencyBuckets_[i].load(std::memory_order_relaxed);
    fmt::format_to(it, "{}_bucket{{le=\"{}\"}} {}\n", kLatency, kLatencyBucketsSeconds[i], cumulative);
  }
  const std::uint64_t count = latencyCount_.load(std::memory_order_relaxed);
  fmt::format_to(it, "{}_bucket{{le=\"+Inf\"}} {}\n", kLatency, std::max(count, cumulative));
  fmt::format_to(it, "{}_sum {}\n", kLatency, static_cast<double>(latencySumNanos_.load(std::memory_order_relaxed)) / 1e9);
  fmt::format_to(it, "{}_count {}\n", kLatency, std::max(count, cumulative));

  fmt::format_to(it, "# HELP dwcp_federation_routing_decisions_total Routing decisions by algorithm applied, traffic "
                     "class and chosen region.\n# TYPE dwcp_federation_routing_decisions_total counter\n");
  {
    std::shared_lock lock(regionsMu_);
    for (const auto& [region, counters] : decisions_) {
      const std::string label = escapeLabel(region);
      for (int a = 0; a < routing::kAlgorithmCount; ++a) {
        for (int c = 0; c < routing::kTrafficClassCount; ++c) {
          const auto n = (*counters)[a * routing::kTrafficClassCount + c].load(std::memory_order_relaxed);
          if (n == 0) continue;
          fmt::format_to(it,
                         "dwcp_federation_routing_decisions_total{{algorithm=\"{}\",traffic_class=\"{}\",region=\"{}\"}} "
                         "{}\n",
                         routing::toString(static_cast<routing::Algorithm>(a)),
                         routing::toString(static_cast<routing::TrafficClass>(c)), label, n);
        }
      }
    }
  }

  fmt::format_to(it, "# HELP dwcp_federation_routing_rate_limited_total Requests refused by the per-source DDoS "
                     "protection.\n# TYPE dwcp_federation_routing_rate_limited_total counter\n");
  for (auto verdict : {routing::AdmissionVerdict::kRateLimited, routing::AdmissionVerdict::kBlacklisted,
                       routing::AdmissionVerdict::kTooLarge}) {
    fmt::format_to(it, "dwcp_federation_routing_rate_limited_total{{reason=\"{}\"}} {}\n", verdictLabel(verdict),
                   rateLimited_[static_cast<std::size_t>(verdict)].load(std::memory_order_relaxed));
  }

  fmt::format_to(it, "# HELP dwcp_federation_routing_shed_total Requests shed by traffic shaping.\n"
                     "# TYPE dwcp_federation_routing_shed_total counter\n");
  for (int c = 0; c < routing::kTrafficClassCount; ++c) {
    const auto name = routing::toString(static_cast<routing::TrafficClass>(c));
    fmt::format_to(it, "dwcp_federation_routing_shed_total{{traffic_class=\"{}\",reason=\"overload\"}} {}\n", name,
                   shed_[c][static_cast<std::size_t>(routing::ShapingVerdict::kShedOverload)].load());
    fmt::format_to(it, "dwcp_federation_routing_shed_total{{traffic_class=\"{}\",reason=\"class_queue_full\"}} {}\n",
                   name, shed_[c][static_cast<std::size_t>(routing::ShapingVerdict::kShedClassFull)].load());
  }

  fmt::format_to(it, "# HELP dwcp_federation_routing_no_eligible_region_total Requests answered 503 because no "
                     "region could take them.\n# TYPE dwcp_federation_routing_no_eligible_region_total counter\n"
                     "dwcp_federation_routing_no_eligible_region_total {}\n",
                 noEligibleRegion_.load(std::memory_order_relaxed));

  fmt::format_to(it, "# HELP dwcp_federation_routing_blacklisted_sources Sources currently blacklisted.\n"
                     "# TYPE dwcp_federation_routing_blacklisted_sources gauge\n"
                     "dwcp_federation_routing_blacklisted_sources {}\n", gauges.blacklistedSources);
  fmt::format_to(it, "# HELP dwcp_federation_routing_tracked_sources Sources tracked by the rate limiter.\n"
                     "# TYPE dwcp_federation_routing_tracked_sources gauge\n"
                     "dwcp_federation_routing_tracked_sources {}\n", gauges.trackedSources);
  fmt::format_to(it, "# HELP dwcp_federation_routing_regions Regions in the routing table, and those routable now.\n"
                     "# TYPE dwcp_federation_routing_regions gauge\n"
                     "dwcp_federation_routing_regions{{state=\"known\"}} {}\n"
                     "dwcp_federation_routing_regions{{state=\"routable\"}} {}\n",
                 gauges.regions, gauges.routableRegions);

  fmt::format_to(it, "# HELP dwcp_federation_routing_http_responses_total Routing API responses by status code.\n"
                     "# TYPE dwcp_federation_routing_http_responses_total counter\n");
  for (std::size_t code = 100; code < responses_.size(); ++code) {
    const auto n = responses_[code].load(std::memory_order_relaxed);
    if (n > 0) fmt::format_to(it, "dwcp_federation_routing_http_responses_total{{code=\"{}\"}} {}\n", code, n);
  }
  return fmt::to_string(out);
}

}  // namespace dwcp::routingapi
