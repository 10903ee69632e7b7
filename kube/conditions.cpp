#include "kube/conditions.h"

#include "base/strings.h"
#include "kube/time_format.h"

namespace dwcp::kube {

namespace {

constexpr size_t kMaxMessageBytes = 32768;
constexpr size_t kMaxTypeBytes = 316;

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Error invalid(std::string message) { return Error{422, "Invalid", std::move(message)}; }

// The name part of a qualified name: alphanumerics with '-', '_', '.' inside.
bool isQualifiedNamePart(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!isAlnum(name.front()) || !isAlnum(name.back())) return false;
  for (char c : name) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

Status validate(const Condition& c) {
  std::string_view type = c.type;
  if (type.empty() || type.size() > kMaxTypeBytes) {
    return invalid("condition type must be 1-316 characters, got \"" + c.type + "\"");
  }
  auto slash = type.rfind('/');
  if (!isQualifiedNamePart(slash == std::string_view::npos ? type : type.substr(slash + 1))) {
    return invalid("condition type \"" + c.type + "\" is not a qualified name");
  }
  if (c.status != "True" && c.status != "False" && c.status != "Unknown") {
    return invalid("condition " + c.type + ": status must be True, False or Unknown, got \"" +
                   c.status + "\"");
  }
  if (!isCamelCase(c.reason)) {
    return invalid("condition " + c.type + ": reason \"" + c.reason + "\" must be CamelCase");
  }
  if (c.message.size() > kMaxMessageBytes) {
    return invalid("condition " + c.type + ": message longer than 32768 bytes");
  }
  if (c.observedGeneration < 0) {
    return invalid("condition " + c.type + ": observedGeneration must not be negative");
  }
  return okStatus();
}

}  // namespace

bool isCamelCase(std::string_view reason) { return base::isCamelCase(reason); }

Result<bool> setCondition(json& conditions, const Condition& condition, Clock::WallTime now) {
  if (auto status = validate(condition); !status.ok()) return status.error();
  if (conditions.is_null()) conditions = json::array();
  if (!conditions.is_array()) return invalid("conditions must be an array");

  json next = {{"type", condition.type},
               {"status", condition.status},
               {"reason", condition.reason},
               {"message", condition.message},
               {"observedGeneration", condition.observedGeneration},
               {"lastTransitionTime", formatRfc3339(now)}};
  for (auto& existing : conditions) {
    if (!existing.is_object() || existing.value("type", "") != condition.type) continue;
    bool sameStatus = existing.value("status", "") == condition.status;
    if (sameStatus && existing.contains("lastTransitionTime")) {
      next["lastTransitionTime"] = existing["lastTransitionTime"];
    }
    if (existing == next) return false;
    existing = std::move(next);
    return true;
  }
  conditions.push_back(std::move(next));
  return true;
}

const json* findCondition(const json& conditions, std::string_view type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

bool isTrue(const json& conditions, std::string_view type) {
  const json* c = findCondition(conditions, type);
  return c != nullptr && c->value("status", "") == "True";
}

bool removeCondition(json& conditions, std::string_view type) {
  if (!conditions.is_array()) return false;
  for (auto it = conditions.begin(); it != conditions.end(); ++it) {
    if (it->is_object() && it->value("type", "") == type) {
      conditions.erase(it);
      return true;
    }
  }
  return false;
}

bool statusChanged(const json& oldStatus, const json& newStatus) { return oldStatus != newStatus; }

}  // namespace dwcp::kube
