// Reading fields of objects as the API server (or anyone writing around the CRD schema) sent
// them: a missing field, or one of another type, reads as empty, zero or null. Nothing throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dwcp::kube {

// object[key], or a null when `object` is not an object or has no such member.
const nlohmann::json& member(const nlohmann::json& object, std::string_view key);
// object[key] as a string (no copy, no JSON-pointer parsing: scans over every cached object use
// it), or "" when absent or not a string.
std::string_view memberString(const nlohmann::json& object, std::string_view key);
// object[key] as an integer, or 0 when absent or not an integer.
int64_t memberInt(const nlohmann::json& object, std::string_view key);

// The string or integer at `pointer`, or "" / 0 when absent or of another type.
std::string stringAt(const nlohmann::json& object, const nlohmann::json::json_pointer& pointer);
int64_t intAt(const nlohmann::json& object, const nlohmann::json::json_pointer& pointer);

}  // namespace dwcp::kube
