#include "routingapi/route_request.h"

#include <arpa/inet.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace dwcp::routingapi {
namespace {

using routing::Error;
using routing::ErrorCode;
using Json = nlohmann::json;

constexpr int kMaxNestingDepth = 8;

Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
}

// Rejects deep nesting before the DOM parser sees it (the request has depth 2).
bool nestingWithin(std::string_view body, int maxDepth) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (char c : body) {
    if (inString) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > maxDepth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

const char* typeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::binary: return "binary";
    case Json::value_t::discarded: return "invalid";
    default: return "a number";
  }
}

Error wrongType(const std::string& field, const char* expected, const Json& v) {
  return invalid(field, std::string("must be ") + expected + ", not " + typeName(v));
}

routing::Status readNumber(const Json& v, const std::string& field, double& out) {
  if (!v.is_number()) return wrongType(field, "a number", v);
  out = v.get<double>();
  if (!std::isfinite(out)) return invalid(field, "must be finite");
  return routing::okStatus();
}

routing::Status readString(const Json& v, const std::string& field, std::size_t maxLength, std::string& out) {
  if (!v.is_string()) return wrongType(field, "a string", v);
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > maxLength) return invalid(field, "longer than " + std::to_string(maxLength) + " characters");
  out = s;
  return routing::okStatus();
}

bool isIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

routing::Status parseLocation(const Json& v, routing::GeoPoint& out) {
  if (!v.is_object()) return wrongType("location", "an object", v);
  bool hasLatitude = false, hasLongitude = false;
  for (const auto& [key, value] : v.items()) {
    if (key == "latitude") {
      if (auto s = readNumber(value, "location.latitude", out.latitudeDeg); !s.ok()) return s;
      if (out.latitudeDeg < -90 || out.latitudeDeg > 90) return invalid("location.latitude", "must be within [-90, 90]");
      hasLatitude = true;
    } else if (key == "longitude") {
      if (auto s = readNumber(value, "location.longitude", out.longitudeDeg); !s.ok()) return s;
      if (out.longitudeDeg < -180 || out.longitudeDeg > 180)
        return invalid("location.longitude", "must be within [-180, 180]");
      hasLongitude = true;
    } else {
      return invalid("location." + key, "unknown field");
    }
  }
  if (!hasLatitude) return invalid("location.latitude", "is required");
  if (!hasLongitude) return invalid("location.longitude", "is required");
  return routing::okStatus();
}

routing::Status parseField(const std::string& key, const Json& value, RouteApiRequest& out) {
  if (key == "clientAddress") {
    if (auto s = readString(value, key, kMaxClientAddressLength, out.clientAddress); !s.ok()) return s;
    if (!isIpAddress(out.clientAddress)) return invalid(key, "must be an IPv4 or IPv6 address");
  } else if (key == "location") {
    routing::GeoPoint p;
    if (auto s = parseLocation(value, p); !s.ok()) return s;
    out.location = p;
  } else if (key == "regionHint") {
    if (auto s = readString(value, key, kMaxRegionNameLength, out.regionHint); !s.ok()) return s;
  } else if (key == "trafficClass") {
    if (!value.is_string()) return wrongType(key, "a string", value);
    auto c = routing::parseTrafficClass(value.get_ref<const std::string&>());
    if (!c) return invalid(key, "must be one of realtime, interactive, standard, bulk");
    out.trafficClass = *c;
  } else if (key == "requestBytes") {
    if (value.is_number_unsigned()) {
      out.requestBytes = value.get<std::uint64_t>();
    } else if (value.is_number_integer()) {
      return invalid(key, "must be >= 0");
    } else {
      return wrongType(key, "a non-negative integer", value);
    }
    if (out.requestBytes > kMaxRequestBytes) return invalid(key, "must be at most 1 TiB");
  } else if (key == "algorithm") {
    if (!value.is_string()) return wrongType(key, "a string", value);
    auto a = routing::parseAlgorithm(value.get_ref<const std::string&>());
    if (!a) return invalid(key, "must be one of latency, cost, load-balanced, geo-proximity, hybrid");
    out.algorithm = *a;
  } else if (key == "maxLatencyMs") {
    double ms = 0;
    if (auto s = readNumber(value, key, ms); !s.ok()) return s;
    if (ms <= 0 || ms > 600000) return invalid(key, "must be within (0, 600000]");
    out.maxLatencyMs = ms;
  } else if (key.empty()) {
    return invalid("body", "empty field name");
  } else {
    return invalid(key.size() > 64 ? key.substr(0, 64) + "..." : key, "unknown field");
  }
  return routing::okStatus();
}

}  // namespace

routing::RouteRequest RouteApiRequest::toEngineRequest() const {
  routing::RouteRequest r;
  r.clientLocation = location;
  r.regionHint = regionHint;
  r.trafficClass = trafficClass;
  r.algorithm = algorithm;
  r.maxLatencyMs = maxLatencyMs;
  return r;
}

routing::Result<RouteApiRequest> parseRouteRequest(std::string_view body) {
  if (body.empty()) return invalid("body", "empty body; expected a JSON object");
  if (!nestingWithin(body, kMaxNestingDepth)) return invalid("body", "JSON nested too deeply");
  Json doc;
  try {
    doc = Json::parse(body);
  } catch (const Json::parse_error& e) {
    return invalid("body", "malformed JSON at byte " + std::to_string(e.byte));
  } catch (const std::exception&) {
    return invalid("body", "malformed JSON");
  }
  if (!doc.is_object()) return invalid("body", std::string("must be a JSON object, not ") + typeName(doc));
  RouteApiRequest out;
  try {
    for (const auto& [key, value] : doc.items()) {
      if (auto s = parseField(key, value, out); !s.ok()) return s.error();
    }
  } catch (const std::exception&) {  // not expected: every access above is type-checked
    return invalid("body", "unreadable request");
  }
  if (out.clientAddress.empty() && !out.location) return invalid("location", "clientAddress or location is required");
  return out;
}

std::string renderDecision(const routing::Decision& decision) {
  nlohmann::ordered_json alternatives = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < decision.alternativeCount; ++i) {
    const auto& region = decision.alternativeRegion(i);
    alternatives.push_back(
        {{"region", region.spec.name}, {"endpoint", region.spec.endpoint}, {"score", decision.alternatives[i].score}});
  }
  nlohmann::ordered_json out = {{"region", decision.regionName()},
              {"endpoint", decision.endpoint()},
              {"algorithm", routing::toString(decision.algorithm)},
              {"trafficClass", routing::toString(decision.trafficClass)},
              {"score", decision.score},
              {"hintHonoured", decision.hintHonoured},
              {"failover", decision.failover},
              {"withinLatencyBound", decision.withinLatencyBound},
              {"alternatives", std::move(alternatives)}};
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string renderError(std::string_view message, std::string_view field) {
  Json out = {{"error", message}};
  if (!field.empty()) out["field"] = field;
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace dwcp::routingapi
