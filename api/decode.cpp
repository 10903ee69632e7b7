#include "api/decode.h"

#include <cmath>
#include <limits>

#include "base/duration.h"
#include "api/groupversion.h"

namespace dwcp::api::detail {
namespace {

std::string number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  json j = value;  // shortest round-trip form, e.g. 0.5
  return j.dump();
}

bool integral(const json& j, int64_t& out) {
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    out = j.get<int64_t>();
    return true;
  }
  if (j.is_number_unsigned()) {
    const auto value = j.get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    out = static_cast<int64_t>(value);
    return true;
  }
  if (j.is_number_float()) {  // YAML and JavaScript tools may write 4 as 4.0
    const double value = j.get<double>();
    if (std::floor(value) != value || std::fabs(value) > 9.0e15) return false;
    out = static_cast<int64_t>(value);
    return true;
  }
  return false;
}

}  // namespace

void Decoder::fail(const std::string& path, const std::string& message) {
  for (const auto& [existing, ignored] : errors_) {
    if (existing == path) return;
  }
  errors_.emplace_back(path, message);
}

kube::Error Decoder::error() const {
  std::string text;
  for (const auto& [path, message] : errors_) {
    if (!text.empty()) text += "; ";
    text += path.empty() ? message : path + ": " + message;
  }
  return kube::Error{422, "Invalid", text};
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void read(Decoder& d, const json& j, const std::string& path, std::string& out) {
  if (!j.is_string()) return d.fail(path, "must be a string");
  out = j.get<std::string>();
}

void read(Decoder& d, const json& j, const std::string& path, bool& out) {
  if (!j.is_boolean()) return d.fail(path, "must be a boolean");
  out = j.get<bool>();
}

void read(Decoder& d, const json& j, const std::string& path, int& out) {
  int64_t value = 0;
  if (!integral(j, value)) return d.fail(path, "must be an integer");
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    return d.fail(path, "must be a 32-bit integer");
  }
  out = static_cast<int>(value);
}

void read(Decoder& d, const json& j, const std::string& path, int64_t& out) {
  if (!integral(j, out)) d.fail(path, "must be an integer");
}

void read(Decoder& d, const json& j, const std::string& path, double& out) {
  if (!j.is_number()) return d.fail(path, "must be a number");
  out = j.get<double>();
}

void read(Decoder& d, const json& j, const std::string& path, Time& out) {
  if (!j.is_string()) return d.fail(path, "must be an RFC 3339 date-time string");
  auto time = parseTime(j.get_ref<const std::string&>());
  if (!time) return d.fail(path, "must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z");
  out = *time;
}

void read(Decoder& d, const json& j, const std::string& path, std::chrono::milliseconds& out) {
  if (!j.is_string()) return d.fail(path, "must be a duration string such as 5s");
  auto duration = base::parseDuration(j.get_ref<const std::string&>());
  if (!duration) return d.fail(path, "must be a duration such as 500ms, 5s, 1m30s or 30d");
  out = *duration;
}

void read(Decoder&, const json& j, const std::string&, json& out) { out = j; }

void read(Decoder& d, const json& j, const std::string& path, std::map<std::string, std::string>& out) {
  if (!j.is_object()) return d.fail(path, "must be an object of strings");
  out.clear();
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string()) {
      d.fail(join(path, key), "must be a string");
      continue;
    }
    out[key] = value.get<std::string>();
  }
}

Fields::Fields(Decoder& d, const json& j, std::string path)
    : d_(d), object_(j.is_object() ? &j : nullptr), path_(std::move(path)) {
  if (object_ == nullptr) d_.fail(path_, "must be an object");
}

const json* Fields::find(std::string_view key) const {
  if (object_ == nullptr) return nullptr;
  auto it = object_->find(std::string(key));
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

void checkRange(Decoder& d, const std::string& path, double value, double min, double max) {
  if (!(value >= min && value <= max)) {
    d.fail(path, "must be between " + number(min) + " and " + number(max));
  }
}

void checkAtLeast(Decoder& d, const std::string& path, double value, double min) {
  if (!(value >= min)) d.fail(path, "must be at least " + number(min));
}

void checkGreaterThan(Decoder& d, const std::string& path, double value, double bound) {
  if (!(value > bound)) d.fail(path, "must be greater than " + number(bound));
}

void readTypeMeta(Decoder& d, Fields& root, std::string_view kind) {
  std::string apiVersion, actualKind;
  root.optional("apiVersion", apiVersion);
  root.optional("kind", actualKind);
  if (!apiVersion.empty() && apiVersion != kApiVersion) {
    d.fail("apiVersion", "must be " + std::string(kApiVersion));
  }
  if (!actualKind.empty() && actualKind != kind) d.fail("kind", "must be " + std::string(kind));
}

void putTime(json& j, const char* key, const std::optional<Time>& time) {
  if (time) j[key] = formatTime(*time);
}

void putConditions(json& j, const std::vector<Condition>& conditions) {
  if (!conditions.empty()) j["conditions"] = conditions;
}

}  // namespace dwcp::api::detail
