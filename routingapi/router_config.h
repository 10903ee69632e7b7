// The `routing:` section of the DWCP configuration file (dwcp-router --config dwcp.yaml):
// global.algorithm, global.enable_ddos_protection, global.enable_traffic_shaping,
// ddos_protection.thresholds.max_requests_per_sec / max_bytes_per_sec and
// ddos_protection.blacklist_duration ("30m", "1h"), ddos_protection.trusted_proxies (IPs and
// CIDRs whose X-Forwarded-For is believed; default none). Other top-level sections belong to the
// operator and are ignored here; unknown keys inside `routing` are errors naming the key path.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "engines/routing/result.h"
#include "engines/routing/router.h"
#include "engines/routing/types.h"
#include "routingapi/routing_service.h"

namespace dwcp::routingapi {

struct RouterFileConfig {
  RoutingServiceOptions service;
  std::optional<routing::Algorithm> algorithm;  // the default of every traffic class when set

  // Sets the engine options this file controls (the classes' default algorithm).
  void applyTo(routing::RouterConfig& config) const;
};

routing::Result<RouterFileConfig> parseRouterConfig(const std::string& yamlText);
routing::Result<RouterFileConfig> loadRouterConfig(const std::string& path);

// "500ms", "10s", "30m", "1h", "7d" and sums such as "1h30m"; whole seconds at least 1.
routing::Result<std::chrono::seconds> parseDurationSeconds(const std::string& text);

}  // namespace dwcp::routingapi
