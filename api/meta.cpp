#include "api/meta.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "api/decode.h"
#include "base/strings.h"

namespace dwcp::api {
namespace {

using namespace std::chrono;

constexpr std::pair<ConditionStatus, std::string_view> kConditionStatusNames[] = {
    {ConditionStatus::kTrue, "True"},
    {ConditionStatus::kFalse, "False"},
    {ConditionStatus::kUnknown, "Unknown"},
};

// Reads exactly `width` digits at text[pos].
bool digits(std::string_view text, size_t pos, size_t width, int& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<Time> parseTime(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, s;
  if (text.size() < 20 || !digits(text, 0, 4, y) || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d) || (text[10] != 'T' && text[10] != 't') ||
      !digits(text, 11, 2, h) || text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' ||
      !digits(text, 17, 2, s)) {
    return std::nullopt;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  size_t pos = 19;
  nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t value = 0, scale = 1'000'000'000;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (scale > 1) {
        scale /= 10;
        value += (text[pos] - '0') * scale;
      }
      ++pos;
    }
    if (pos == start) return std::nullopt;
    fraction = nanoseconds(value);
  }
  minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = hours(oh) + minutes(om);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(s) + fraction;
  return time_point_cast<system_clock::duration>(local - offset);
}

std::string formatTime(Time time) {
  const auto nanos = time_point_cast<nanoseconds>(time);
  const auto dayStart = floor<days>(nanos);
  const year_month_day date{dayStart};
  const hh_mm_ss clock{floor<nanoseconds>(nanos - dayStart)};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  std::string out = buffer;
  if (const auto sub = clock.subseconds().count(); sub != 0) {
    std::snprintf(buffer, sizeof buffer, ".%09lld", static_cast<long long>(sub));
    std::string fraction = buffer;
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  return out + "Z";
}

std::string_view toString(ConditionStatus status) {
  return detail::enumName(status, kConditionStatusNames);
}

std::optional<ConditionStatus> parseConditionStatus(std::string_view text) {
  return detail::enumValue(text, kConditionStatusNames);
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& condition : conditions) {
    if (condition.type == type) return &condition;
  }
  return nullptr;
}

kube::Result<bool> setCondition(std::vector<Condition>& conditions, Condition condition, Time now) {
  auto invalid = [&](const std::string& what) {
    return kube::Error{422, "Invalid", "condition " + condition.type + ": " + what};
  };
  std::string_view type = condition.type;
  const auto slash = type.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? type : type.substr(slash + 1);
  const bool nameOk = !name.empty() && name.size() <= 63 && std::isalnum(static_cast<unsigned char>(name.front())) &&
                      std::isalnum(static_cast<unsigned char>(name.back())) &&
                      std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                      });
  if (type.empty() || type.size() > 316 || !nameOk) return invalid("type: must be a qualified name of 1-316 characters");
  if (!base::isCamelCase(condition.reason)) return invalid("reason: \"" + condition.reason + "\" must be CamelCase");
  if (condition.message.size() > 32768) return invalid("message: must be at most 32768 bytes");
  if (condition.observedGeneration && *condition.observedGeneration < 0) {
    return invalid("observedGeneration: must not be negative");
  }
  const Time second = floor<seconds>(now);
  for (auto& existing : conditions) {
    if (existing.type != condition.type) continue;
    condition.lastTransitionTime = existing.status == condition.status ? existing.lastTransitionTime : second;
    if (existing == condition) return false;
    existing = std::move(condition);
    return true;
  }
  condition.lastTransitionTime = second;
  conditions.push_back(std::move(condition));
  return true;
}

void to_json(json& j, const OwnerReference& owner) {
  j = json{{"apiVersion", owner.apiVersion}, {"kind", owner.kind}, {"name", owner.name}, {"uid", owner.uid}};
  detail::putOptional(j, "controller", owner.controller);
  detail::putOptional(j, "blockOwnerDeletion", owner.blockOwnerDeletion);
}

void to_json(json& j, const ObjectMeta& meta) {
  j = json::object();
  if (!meta.name.empty()) j["name"] = meta.name;
  if (!meta.namespace_.empty()) j["namespace"] = meta.namespace_;
  if (!meta.uid.empty()) j["uid"] = meta.uid;
  if (!meta.resourceVersion.empty()) j["resourceVersion"] = meta.resourceVersion;
  if (meta.generation != 0) j["generation"] = meta.generation;
  if (!meta.labels.empty()) j["labels"] = meta.labels;
  if (!meta.annotations.empty()) j["annotations"] = meta.annotations;
  detail::putList(j, "finalizers", meta.finalizers);
  detail::putList(j, "ownerReferences", meta.ownerReferences);
  detail::putTime(j, "creationTimestamp", meta.creationTimestamp);
  detail::putTime(j, "deletionTimestamp", meta.deletionTimestamp);
}

void to_json(json& j, const Condition& condition) {
  j = json{{"type", condition.type},
           {"status", std::string(toString(condition.status))},
           {"reason", condition.reason},
           {"message", condition.message},
           {"lastTransitionTime", formatTime(condition.lastTransitionTime)}};
  detail::putOptional(j, "observedGeneration", condition.observedGeneration);
}

kube::Result<ObjectMeta> parseObjectMeta(const json& j) {
  return detail::decodeObject<ObjectMeta>(
      j, [](detail::Decoder& d, const json& in, ObjectMeta& out) { detail::read(d, in, "metadata", out); });
}

kube::Result<Condition> parseCondition(const json& j) {
  return detail::decodeObject<Condition>(
      j, [](detail::Decoder& d, const json& in, Condition& out) { detail::read(d, in, "", out); });
}

namespace detail {

void read(Decoder& d, const json& j, const std::string& path, ConditionStatus& out) {
  readEnum(d, j, path, out, kConditionStatusNames);
}

void read(Decoder& d, const json& j, const std::string& path, OwnerReference& out) {
  Fields f(d, j, path);
  f.required("apiVersion", out.apiVersion);
  f.required("kind", out.kind);
  f.required("name", out.name);
  f.required("uid", out.uid);
  f.optional("controller", out.controller);
  f.optional("blockOwnerDeletion", out.blockOwnerDeletion);
}

void read(Decoder& d, const json& j, const std::string& path, ObjectMeta& out) {
  Fields f(d, j, path);
  f.optional("name", out.name);
  f.optional("namespace", out.namespace_);
  f.optional("uid", out.uid);
  f.optional("resourceVersion", out.resourceVersion);
  f.optional("generation", out.generation);
  f.optional("labels", out.labels);
  f.optional("annotations", out.annotations);
  f.optional("finalizers", out.finalizers);
  f.optional("ownerReferences", out.ownerReferences);
  f.optional("creationTimestamp", out.creationTimestamp);
  f.optional("deletionTimestamp", out.deletionTimestamp);
}

void read(Decoder& d, const json& j, const std::string& path, Condition& out) {
  Fields f(d, j, path);
  f.required("type", out.type);
  f.required("status", out.status);
  f.optional("reason", out.reason);
  f.optional("message", out.message);
  f.required("lastTransitionTime", out.lastTransitionTime);
  f.optional("observedGeneration", out.observedGeneration);
}

}  // namespace detail
}  // namespace dwcp::api
