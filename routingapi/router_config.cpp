#include "routingapi/router_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/duration.h"

namespace dwcp::routingapi {
namespace {

using routing::Error;
using routing::ErrorCode;
using routing::Status;

Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
}

Status mapOf(const YAML::Node& node, const std::string& field) {
  if (!node.IsMap()) return invalid(field, "must be a map");
  return routing::okStatus();
}

Status readBool(const YAML::Node& node, const std::string& field, bool& out) {
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, out)) return invalid(field, "must be true or false");
  return routing::okStatus();
}

Status readPositive(const YAML::Node& node, const std::string& field, double& out) {
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, out) || !std::isfinite(out) || out <= 0)
    return invalid(field, "must be a number > 0");
  return routing::okStatus();
}

Status parseGlobal(const YAML::Node& node, RouterFileConfig& out) {
  if (auto s = mapOf(node, "routing.global"); !s.ok()) return s;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar(), field = "routing.global." + key;
    if (key == "algorithm") {
      auto a = kv.second.IsScalar() ? routing::parseAlgorithm(kv.second.Scalar()) : std::nullopt;
      if (!a) return invalid(field, "must be one of hybrid, latency, cost, load-balanced, geo-proximity");
      out.algorithm = *a;
    } else if (key == "enable_ddos_protection") {
      if (auto s = readBool(kv.second, field, out.service.ddosProtection); !s.ok()) return s;
    } else if (key == "enable_traffic_shaping") {
      if (auto s = readBool(kv.second, field, out.service.trafficShaping); !s.ok()) return s;
    } else {
      return invalid(field, "unknown key");
    }
  }
  return routing::okStatus();
}

Status parseDdos(const YAML::Node& node, RouterFileConfig& out) {
  if (auto s = mapOf(node, "routing.ddos_protection"); !s.ok()) return s;
  auto& limiter = out.service.rateLimiter;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar(), field = "routing.ddos_protection." + key;
    if (key == "thresholds") {
      if (auto s = mapOf(kv.second, field); !s.ok()) return s;
      for (const auto& t : kv.second) {
        const std::string tkey = t.first.Scalar(), tfield = field + "." + tkey;
        if (tkey == "max_requests_per_sec") {
          if (auto s = readPositive(t.second, tfield, limiter.maxRequestsPerSec); !s.ok()) return s;
        } else if (tkey == "max_bytes_per_sec") {
          if (auto s = readPositive(t.second, tfield, limiter.maxBytesPerSec); !s.ok()) return s;
        } else {
          return invalid(tfield, "unknown key");
        }
      }
    } else if (key == "blacklist_duration") {
      auto d = kv.second.IsScalar() ? parseDurationSeconds(kv.second.Scalar())
                                    : routing::Result<std::chrono::seconds>(invalid("", "must be a duration"));
      if (!d.ok()) return invalid(field, d.error().message);
      limiter.blacklistDuration = *d;
    } else if (key == "trusted_proxies") {
      if (!kv.second.IsSequence()) return invalid(field, "must be a list of IP addresses or CIDRs");
      std::vector<std::string> entries;
      for (std::size_t i = 0; i < kv.second.size(); ++i) {
        if (!kv.second[i].IsScalar()) return invalid(field + "[" + std::to_string(i) + "]", "must be a string");
        entries.push_back(kv.second[i].Scalar());
      }
      auto proxies = TrustedProxies::parse(entries);
      if (!proxies.ok()) return invalid(field + proxies.error().field, proxies.error().message);
      out.service.trustedProxies = std::move(*proxies);
    } else {
      return invalid(field, "unknown key");
    }
  }
  return routing::okStatus();
}

}  // namespace

routing::Result<std::chrono::seconds> parseDurationSeconds(const std::string& text) {
  std::string why;
  auto d = base::parseDuration(text, &why);
  if (!d) return invalid("", "invalid duration \"" + text + "\": " + why);
  if (*d < std::chrono::seconds(1) || *d > std::chrono::days(365))
    return invalid("", "invalid duration \"" + text + "\": must be between 1s and 365d");
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

void RouterFileConfig::applyTo(routing::RouterConfig& config) const {
  if (!algorithm) return;
  for (auto& policy : config.classes) policy.algorithm = *algorithm;
}

routing::Result<RouterFileConfig> parseRouterConfig(const std::string& yamlText) {
  RouterFileConfig out;
  try {
    const YAML::Node root = YAML::Load(yamlText);
    if (root.IsNull()) return out;
    if (!root.IsMap()) return invalid("", "the configuration must be a map");
    const YAML::Node routingNode = root["routing"];
    if (!routingNode) return out;
    if (auto s = mapOf(routingNode, "routing"); !s.ok()) return s.error();
    for (const auto& kv : routingNode) {
      const std::string key = kv.first.Scalar();
      Status s = routing::okStatus();
      if (key == "global") {
        s = parseGlobal(kv.second, out);
      } else if (key == "ddos_protection") {
        s = parseDdos(kv.second, out);
      } else {
        s = invalid("routing." + key, "unknown key");
      }
      if (!s.ok()) return s.error();
    }
  } catch (const YAML::Exception& e) {
    return invalid("", "not valid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (auto s = validate(out.service); !s.ok()) return s.error();
  return out;
}

routing::Result<RouterFileConfig> loadRouterConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid("--config", "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto config = parseRouterConfig(text.str());
  if (!config.ok()) {
    auto e = config.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return config;
}

}  // namespace dwcp::routingapi
