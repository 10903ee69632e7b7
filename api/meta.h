// Kubernetes object metadata, conditions and timestamps shared by the four federation kinds.
// Plain value types; parsing reports errors as values and never throws. Members named after a
// C++ keyword carry a trailing underscore (namespace_ is JSON "namespace").
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/result.h"

namespace dwcp::api {

using json = nlohmann::json;

// metav1.Time: an instant, written as RFC 3339 in UTC ("2024-05-01T12:00:00Z"; fractional seconds
// only when present).
using Time = std::chrono::system_clock::time_point;

// Parses RFC 3339 ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.25+02:00"); nullopt otherwise.
std::optional<Time> parseTime(std::string_view text);
std::string formatTime(Time time);

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> blockOwnerDeletion;
  bool operator==(const OwnerReference&) const = default;
};

// The subset of metav1.ObjectMeta the operator reads and writes.
struct ObjectMeta {
  std::string name;
  std::string namespace_;
  std::string uid;
  std::string resourceVersion;
  int64_t generation = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> finalizers;
  std::vector<OwnerReference> ownerReferences;
  std::optional<Time> creationTimestamp;
  std::optional<Time> deletionTimestamp;
  bool operator==(const ObjectMeta&) const = default;
};

enum class ConditionStatus { kTrue, kFalse, kUnknown };
std::string_view toString(ConditionStatus status);  // "True", "False", "Unknown"
std::optional<ConditionStatus> parseConditionStatus(std::string_view text);

// metav1.Condition. reason is CamelCase; lastTransitionTime changes only when status changes.
struct Condition {
  std::string type;
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;
  std::string message;
  Time lastTransitionTime{};
  std::optional<int64_t> observedGeneration;
  bool operator==(const Condition&) const = default;
};

// The condition of the given type, or nullptr.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);
// Adds or updates the condition of condition.type. lastTransitionTime is kept when the status is
// unchanged and set to `now` (in whole seconds, as metav1.Time stores it) when it changes or the
// condition is new. Returns true when anything changed (so callers write status only when it
// did), or an Error (422 Invalid) naming the bad field (type not a qualified name, reason not
// CamelCase, message over 32768 bytes, negative observedGeneration), leaving `conditions` alone.
kube::Result<bool> setCondition(std::vector<Condition>& conditions, Condition condition, Time now);

void to_json(json& j, const OwnerReference& owner);
void to_json(json& j, const ObjectMeta& meta);
void to_json(json& j, const Condition& condition);

// Parse outside input; the Error (code 422, reason "Invalid") names every bad field by its path,
// e.g. "metadata.generation: must be an integer".
kube::Result<ObjectMeta> parseObjectMeta(const json& j);
kube::Result<Condition> parseCondition(const json& j);

}  // namespace dwcp::api
