// Internal to api/: reads JSON into the API types, collecting every problem with its field path
// ("spec.capacity.cpu: must be an integer") instead of throwing. A Decoder is used by one thread
// for one parse.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/meta.h"
#include "base/vocabulary.h"
#include "kube/result.h"

namespace dwcp::api {
struct RegionResources;
struct VMPlacementSpec;
struct WorkloadRef;
}  // namespace dwcp::api

namespace dwcp::api::detail {

class Decoder {
 public:
  // Records a problem; only the first one at each path is kept (a field that is not a number
  // is not also reported out of range).
  void fail(const std::string& path, const std::string& message);
  bool ok() const { return errors_.empty(); }
  // code 422, reason "Invalid", message: "path: problem" joined by "; ".
  kube::Error error() const;

 private:
  std::vector<std::pair<std::string, std::string>> errors_;  // path, message
};

// "spec" + "cpu" -> "spec.cpu"; "" + "spec" -> "spec"; index("a", 2) -> "a[2]".
std::string join(const std::string& path, std::string_view key);
std::string index(const std::string& path, size_t i);

void read(Decoder& d, const json& j, const std::string& path, std::string& out);
void read(Decoder& d, const json& j, const std::string& path, bool& out);
void read(Decoder& d, const json& j, const std::string& path, int& out);
void read(Decoder& d, const json& j, const std::string& path, int64_t& out);
void read(Decoder& d, const json& j, const std::string& path, double& out);
void read(Decoder& d, const json& j, const std::string& path, Time& out);
void read(Decoder& d, const json& j, const std::string& path, std::chrono::milliseconds& out);
void read(Decoder& d, const json& j, const std::string& path, json& out);
void read(Decoder& d, const json& j, const std::string& path, std::map<std::string, std::string>& out);
// The metadata types; defined in meta.cpp.
void read(Decoder& d, const json& j, const std::string& path, ConditionStatus& out);
void read(Decoder& d, const json& j, const std::string& path, OwnerReference& out);
void read(Decoder& d, const json& j, const std::string& path, ObjectMeta& out);
void read(Decoder& d, const json& j, const std::string& path, Condition& out);
// Defined with their kinds (region.cpp, vmplacement.cpp); the federation records reuse them.
void read(Decoder& d, const json& j, const std::string& path, base::RegionPhase& out);
void read(Decoder& d, const json& j, const std::string& path, RegionResources& out);
void read(Decoder& d, const json& j, const std::string& path, VMPlacementSpec& out);
void read(Decoder& d, const json& j, const std::string& path, WorkloadRef& out);

// A list; an element that fails is reported at "path[i]" and left out.
template <class T>
void read(Decoder& d, const json& j, const std::string& path, std::vector<T>& out) {
  if (!j.is_array()) {
    d.fail(path, "must be a list");
    return;
  }
  out.clear();
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    T element{};
    read(d, j[i], index(path, i), element);
    out.push_back(std::move(element));
  }
}

// An enum written as one of a fixed set of strings.
template <class E, size_t N>
void readEnum(Decoder& d, const json& j, const std::string& path, E& out,
              const std::pair<E, std::string_view> (&names)[N]) {
  if (j.is_string()) {
    const auto& text = j.get_ref<const std::string&>();
    for (const auto& [value, name] : names) {
      if (text == name) {
        out = value;
        return;
      }
    }
  }
  std::string allowed;
  for (const auto& [value, name] : names) allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  std::string got = j.dump();
  if (got.size() > 64) got = got.substr(0, 61) + "...";
  d.fail(path, "must be one of: " + allowed + " (got " + got + ")");
}

using base::enumName;
using base::enumValue;

// The members of one JSON object at `path`. A missing or null member counts as absent.
class Fields {
 public:
  // Reports "must be an object" when j is not one; every read is then a no-op.
  Fields(Decoder& d, const json& j, std::string path);

  template <class T>
  void required(std::string_view key, T& out) {
    if (const json* member = find(key)) {
      read(d_, *member, at(key), out);
    } else if (object_ != nullptr) {
      d_.fail(at(key), "is required");
    }
  }
  // Leaves out unchanged (its default) when absent.
  template <class T>
  void optional(std::string_view key, T& out) {
    if (const json* member = find(key)) read(d_, *member, at(key), out);
  }
  template <class T>
  void optional(std::string_view key, std::optional<T>& out) {
    if (const json* member = find(key)) {
      T value{};
      read(d_, *member, at(key), value);
      out = std::move(value);
    }
  }

  bool has(std::string_view key) const { return find(key) != nullptr; }
  std::string at(std::string_view key) const { return join(path_, key); }
  Decoder& decoder() { return d_; }

 private:
  const json* find(std::string_view key) const;

  Decoder& d_;
  const json* object_;
  std::string path_;
};

// Range checks that report "path: must be between MIN and MAX" (or at least / greater than).
void checkRange(Decoder& d, const std::string& path, double value, double min, double max);
void checkAtLeast(Decoder& d, const std::string& path, double value, double min);
void checkGreaterThan(Decoder& d, const std::string& path, double value, double bound);
template <class T>
void checkRange(Decoder& d, const std::string& path, const std::optional<T>& value, double min,
                double max) {
  if (value) checkRange(d, path, static_cast<double>(*value), min, max);
}
template <class T>
void checkAtLeast(Decoder& d, const std::string& path, const std::optional<T>& value, double min) {
  if (value) checkAtLeast(d, path, static_cast<double>(*value), min);
}

// Checks apiVersion and kind when present (a List's items may lack them).
void readTypeMeta(Decoder& d, Fields& root, std::string_view kind);

// Runs a top-level parse: catches anything nlohmann might still throw, so callers never see one.
template <class T, class Body>
kube::Result<T> decodeObject(const json& j, Body body) {
  Decoder d;
  T out{};
  try {
    body(d, j, out);
  } catch (const std::exception& e) {
    d.fail("", std::string("unexpected input: ") + e.what());
  }
  if (!d.ok()) return d.error();
  return out;
}

// Writing helpers: an optional member is written only when set.
void putTime(json& j, const char* key, const std::optional<Time>& time);
template <class T>
void putOptional(json& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}
template <class T>
void putList(json& j, const char* key, const std::vector<T>& values) {
  if (!values.empty()) j[key] = values;
}
void putConditions(json& j, const std::vector<Condition>& conditions);

}  // namespace dwcp::api::detail
