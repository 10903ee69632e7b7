#include "routingapi/route_request.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <optional>

#include "routingapi/json_scanner.h"

namespace dwcp::routingapi {
namespace {

using routing::Error;
using routing::ErrorCode;

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

// The JSON kinds a request value can have, as named in error messages.
enum class Kind { kNull, kBoolean, kNumber, kString, kObject, kArray };

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::kNull: return "null";
    case Kind::kBoolean: return "a boolean";
    case Kind::kNumber: return "a number";
    case Kind::kString: return "a string";
    case Kind::kObject: return "an object";
    case Kind::kArray: return "an array";
  }
  return "a value";
}

Error wrongType(std::string_view field, const char* expected, Kind kind) {
  return invalid(std::string(field), std::string("must be ") + expected + ", not " + kindName(kind));
}

bool isIpAddress(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// Fills a RouteApiRequest from JsonScanner's SAX events without building a DOM (the request path
// of the routing API: no allocation beyond the request's own strings). The first field error is
// kept and parsing continues, so malformed JSON anywhere in the body still wins ("body").
class RequestReader {
 public:
  using Number = double;

  explicit RequestReader(RouteApiRequest& out) : out_(out) {}

  const std::optional<Error>& fieldError() const { return error_; }

  // --- the SAX interface JsonScanner drives ---
  bool null() { return scalar(Kind::kNull); }
  bool boolean(bool) { return scalar(Kind::kBoolean); }
  bool number_integer(std::int64_t value) {
    if (!routed()) return true;
    if (inTop() && key_ == "requestBytes") return fail(invalid("requestBytes", "must be >= 0"));
    return number(static_cast<Number>(value));
  }
  bool number_unsigned(std::uint64_t value) {
    if (!routed()) return true;
    if (inTop() && key_ == "requestBytes") {
      if (value > kMaxRequestBytes) return fail(invalid("requestBytes", "must be at most 1 TiB"));
      out_.requestBytes = value;
      return true;
    }
    return number(static_cast<Number>(value));
  }
  bool number_float(Number value, const std::string&) {
    if (!routed()) return true;
    if (inTop() && key_ == "requestBytes") return fail(wrongType("requestBytes", "a non-negative integer", Kind::kNumber));
    return number(value);
  }
  bool string(std::string& value) {
    if (!routed()) return true;
    if (inLocation()) return scalar(Kind::kString);
    if (!inTop()) return scalar(Kind::kString);
    if (key_ == "clientAddress") {
      if (value.size() > kMaxClientAddressLength)
        return fail(invalid(key_, "longer than " + std::to_string(kMaxClientAddressLength) + " characters"));
      if (!isIpAddress(value)) return fail(invalid(key_, "must be an IPv4 or IPv6 address"));
      out_.clientAddress = std::move(value);
    } else if (key_ == "regionHint") {
      if (value.size() > kMaxRegionNameLength)
        return fail(invalid(key_, "longer than " + std::to_string(kMaxRegionNameLength) + " characters"));
      out_.regionHint = std::move(value);
    } else if (key_ == "trafficClass") {
      auto c = routing::parseTrafficClass(value);
      if (!c) return fail(invalid(key_, "must be one of realtime, interactive, standard, bulk"));
      out_.trafficClass = *c;
    } else if (key_ == "algorithm") {
      auto a = routing::parseAlgorithm(value);
      if (!a) return fail(invalid(key_, "must be one of latency, cost, load-balanced, geo-proximity, hybrid"));
      out_.algorithm = *a;
    } else {
      return scalar(Kind::kString);
    }
    return true;
  }
  bool start_object(std::size_t) { return open(Kind::kObject); }
  bool start_array(std::size_t) { return open(Kind::kArray); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& name) {
    if (skipDepth_ != 0) return true;
    if (inTop()) {
      key_ = std::move(name);
      if (key_.empty()) return fail(invalid("body", "empty field name"));
      if (!isTopField(key_)) {
        return fail(invalid(key_.size() > 64 ? key_.substr(0, 64) + "..." : key_, "unknown field"));
      }
    } else if (inLocation()) {
      locationKey_ = std::move(name);
      if (!knownLocationKey()) return fail(invalid("location." + locationKey_, "unknown field"));
    }
    return true;
  }

  // After a successful parse: the checks that need the whole object.
  void finish() {
    if (sawLocation_ && !locationBad_) {
      if (!hasLatitude_) {
        fail(invalid("location.latitude", "is required"));
      } else if (!hasLongitude_) {
        fail(invalid("location.longitude", "is required"));
      } else {
        out_.location = location_;
      }
    }
    if (out_.clientAddress.empty() && !out_.location) fail(invalid("location", "clientAddress or location is required"));
  }

 private:
  static bool isTopField(const std::string& k) {
    return k == "clientAddress" || k == "location" || k == "regionHint" || k == "trafficClass" ||
           k == "requestBytes" || k == "algorithm" || k == "maxLatencyMs";
  }
  bool knownLocationKey() const { return locationKey_ == "latitude" || locationKey_ == "longitude"; }
  bool inTop() const { return depth_ == 1 && skipDepth_ == 0; }
  bool inLocation() const { return depth_ == 2 && inLocation_ && skipDepth_ == 0; }
  // False while skipping the inside of a value already judged (or the unknown field's value).
  bool routed() const { return skipDepth_ == 0 && !(depth_ == 1 && !isTopField(key_)); }

  bool fail(Error e) {
    if (!error_) error_ = std::move(e);
    return true;  // keep parsing: a syntax error later in the body takes precedence
  }

  // The field a scalar of `kind` lands on was expecting something else.
  bool scalar(Kind kind) {
    if (!routed()) return true;
    if (depth_ == 0) return fail(invalid("body", std::string("must be a JSON object, not ") + kindName(kind)));
    if (inLocation()) {
      return knownLocationKey() ? fail(wrongType("location." + locationKey_, "a number", kind)) : true;
    }
    if (!inTop()) return true;
    if (key_ == "location") {
      locationBad_ = true;
      return fail(wrongType(key_, "an object", kind));
    }
    if (key_ == "requestBytes") return fail(wrongType(key_, "a non-negative integer", kind));
    if (key_ == "maxLatencyMs") return fail(wrongType(key_, "a number", kind));
    return fail(wrongType(key_, "a string", kind));  // clientAddress, regionHint, trafficClass, algorithm
  }

  bool number(Number value) {
    if (depth_ == 0) return scalar(Kind::kNumber);
    if (inLocation()) {
      if (!knownLocationKey()) return true;  // already reported as an unknown field
      const std::string field = "location." + locationKey_;
      if (!std::isfinite(value)) return fail(invalid(field, "must be finite"));
      if (locationKey_ == "latitude") {
        if (value < -90 || value > 90) return fail(invalid(field, "must be within [-90, 90]"));
        location_.latitude = value;
        hasLatitude_ = true;
      } else {
        if (value < -180 || value > 180) return fail(invalid(field, "must be within [-180, 180]"));
        location_.longitude = value;
        hasLongitude_ = true;
      }
      return true;
    }
    if (!inTop()) return true;
    if (key_ == "maxLatencyMs") {
      if (!std::isfinite(value)) return fail(invalid(key_, "must be finite"));
      if (value <= 0 || value > 600000) return fail(invalid(key_, "must be within (0, 600000]"));
      out_.maxLatencyMs = value;
      return true;
    }
    return scalar(Kind::kNumber);
  }

  bool open(Kind kind) {
    ++depth_;
    if (skipDepth_ != 0) return true;
    if (depth_ == 1) {
      if (kind == Kind::kObject) return true;
      skipDepth_ = depth_;
      return fail(invalid("body", std::string("must be a JSON object, not ") + kindName(kind)));
    }
    if (depth_ == 2 && isTopField(key_)) {
      if (key_ == "location" && kind == Kind::kObject) {
        inLocation_ = true;
        sawLocation_ = true;
        hasLatitude_ = hasLongitude_ = false;
        return true;
      }
      --depth_;  // judge the value at the field's own level, then skip its inside
      const bool ok = scalar(kind);
      ++depth_;
      skipDepth_ = depth_;
      return ok;
    }
    if (depth_ == 3 && inLocation_) {
      skipDepth_ = depth_;
      return knownLocationKey() ? fail(wrongType("location." + locationKey_, "a number", kind)) : true;
    }
    skipDepth_ = depth_;  // inside an unknown field's value
    return true;
  }

  bool close() {
    if (skipDepth_ == depth_) skipDepth_ = 0;
    if (depth_ == 2 && skipDepth_ == 0) inLocation_ = false;
    --depth_;
    return true;
  }

  RouteApiRequest& out_;
  std::optional<Error> error_;
  int depth_ = 0;
  int skipDepth_ = 0;  // != 0: ignoring everything until the container opened at this depth closes
  std::string key_;
  std::string locationKey_;
  bool inLocation_ = false;
  bool sawLocation_ = false;
  bool locationBad_ = false;
  bool hasLatitude_ = false;
  bool hasLongitude_ = false;
  routing::GeoPoint location_;
};

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
  RouteApiRequest out;
  RequestReader reader(out);
  JsonScanner<RequestReader> scanner(body, reader);
  if (!scanner.run()) return invalid("body", "malformed JSON at byte " + std::to_string(scanner.errorOffset()));
  reader.finish();
  if (reader.fieldError()) return *reader.fieldError();
  return out;
}

namespace {

// Appends `text` as a JSON string. Region names and endpoints are plain ASCII in practice; the
// slow path escapes quotes, backslashes and control characters and replaces invalid UTF-8 with
// U+FFFD (as nlohmann's serializer with error_handler_t::replace does elsewhere).
void appendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    // The common case: a run of printable ASCII, appended at once.
    std::size_t run = i;
    while (run < text.size()) {
      const auto r = static_cast<unsigned char>(text[run]);
      if (r < 0x20 || r >= 0x80 || r == '"' || r == '\\') break;
      ++run;
    }
    if (run != i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == text.size()) break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
      }
      ++i;
    } else {
      // A UTF-8 sequence: copy it when well formed, else one replacement character per bad byte.
      const std::size_t length = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
      bool valid = length != 0 && i + length <= text.size();
      std::uint32_t code = length == 4 ? (c & 0x07u) : length == 3 ? (c & 0x0fu) : (c & 0x1fu);
      for (std::size_t k = 1; valid && k < length; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        valid = (next & 0xc0) == 0x80;
        code = (code << 6) | (next & 0x3fu);
      }
      if (valid && length == 3) valid = code >= 0x800 && (code < 0xd800 || code > 0xdfff);
      if (valid && length == 4) valid = code >= 0x10000 && code <= 0x10ffff;
      if (valid) {
        out.append(text.data() + i, length);
        i += length;
      } else {
        out += "\xef\xbf\xbd";
        ++i;
      }
    }
  }
  out.push_back('"');
}

void appendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round trip
  out.append(buffer, ec == std::errc{} ? end : buffer);
}

void appendField(std::string& out, std::string_view name) {
  out.push_back('"');
  out.append(name);  // our own field names: no escaping needed
  out += "\":";
}

}  // namespace

std::string renderDecision(const routing::Decision& decision) {
  // Field names, punctuation and the enum names are ours and need no escaping: appended as
  // literals, only region names and endpoints go through appendJsonString.
  std::string out;
  out.reserve(320 + 128 * decision.alternativeCount);
  out += "{\"region\":";
  appendJsonString(out, decision.regionName());
  out += ",\"endpoint\":";
  appendJsonString(out, decision.endpoint());
  out += ",\"algorithm\":\"";
  out += routing::toString(decision.algorithm);
  out += "\",\"trafficClass\":\"";
  out += routing::toString(decision.trafficClass);
  out += "\",\"score\":";
  appendJsonNumber(out, decision.score);
  out += decision.hintHonoured ? ",\"hintHonoured\":true" : ",\"hintHonoured\":false";
  out += decision.failover ? ",\"failover\":true" : ",\"failover\":false";
  out += decision.withinLatencyBound ? ",\"withinLatencyBound\":true" : ",\"withinLatencyBound\":false";
  out += ",\"alternatives\":[";
  for (std::size_t i = 0; i < decision.alternativeCount; ++i) {
    const auto& region = decision.alternativeRegion(i);
    out += i == 0 ? "{\"region\":" : ",{\"region\":";
    appendJsonString(out, region.spec.name);
    out += ",\"endpoint\":";
    appendJsonString(out, region.spec.endpoint);
    out += ",\"score\":";
    appendJsonNumber(out, decision.alternatives[i].score);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string renderError(std::string_view message, std::string_view field) {
  std::string out;
  out.reserve(32 + message.size() + field.size());
  out.push_back('{');
  appendField(out, "error");
  appendJsonString(out, message);
  if (!field.empty()) {
    out.push_back(',');
    appendField(out, "field");
    appendJsonString(out, field);
  }
  out.push_back('}');
  return out;
}

}  // namespace dwcp::routingapi
