#include "kube/json_fields.h"

namespace dwcp::kube {

using json = nlohmann::json;

const json& member(const json& object, std::string_view key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string_view memberString(const json& object, std::string_view key) {
  const json& value = member(object, key);
  return value.is_string() ? std::string_view(value.get_ref<const std::string&>()) : std::string_view();
}

int64_t memberInt(const json& object, std::string_view key) {
  const json& value = member(object, key);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

std::string stringAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return {};
  const json& value = object.at(pointer);
  return value.is_string() ? value.get<std::string>() : std::string();
}

int64_t intAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return 0;
  const json& value = object.at(pointer);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

}  // namespace dwcp::kube
