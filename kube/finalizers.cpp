#include "kube/finalizers.h"

#include <spdlog/spdlog.h>

#include "kube/json_fields.h"

namespace dwcp::kube {

namespace {

const json& finalizersOf(const json& object) {
  static const json kNone;
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return kNone;
  auto finalizers = metadata->find("finalizers");
  return finalizers == metadata->end() ? kNone : *finalizers;
}

std::string keyOf(const json& object) {
  std::string ns = stringAt(object, "/metadata/namespace"_json_pointer);
  std::string name = stringAt(object, "/metadata/name"_json_pointer);
  return ns.empty() ? name : ns + "/" + name;
}

// A finalizer is a qualified name: an optional DNS-subdomain prefix and "/", then a name part.
bool isValidFinalizerName(std::string_view name) {
  auto lowerAlnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  auto alnum = [&](char c) { return lowerAlnum(c) || (c >= 'A' && c <= 'Z'); };
  auto slash = name.find('/');
  std::string_view prefix = slash == std::string_view::npos ? "" : name.substr(0, slash);
  std::string_view part = slash == std::string_view::npos ? name : name.substr(slash + 1);
  if (slash != std::string_view::npos) {
    if (prefix.empty() || prefix.size() > 253 || !lowerAlnum(prefix.front()) ||
        !lowerAlnum(prefix.back())) {
      return false;
    }
    for (char c : prefix) {
      if (!lowerAlnum(c) && c != '-' && c != '.') return false;
    }
  }
  if (part.empty() || part.size() > 63 || !alnum(part.front()) || !alnum(part.back())) return false;
  for (char c : part) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// The server rejects a failed `test` op with 422 (some versions 409): both mean the object
// changed since it was read.
Result<json> sendPatch(Client& client, const ResourceType& type, const json& object,
                       const json& patch, const std::string& what, const std::string& fieldManager) {
  std::string ns = type.namespaced ? stringAt(object, "/metadata/namespace"_json_pointer) : "";
  auto result = client.patch(type, ns, stringAt(object, "/metadata/name"_json_pointer), PatchType::kJson, patch, "", fieldManager);
  if (result.ok()) return result;
  Error error = result.error();
  if (error.code == 409 || error.code == 422) {
    spdlog::debug("{} {} {}: object changed since read, re-read and retry ({})", what, type.kind,
                  keyOf(object), error.toString());
    return Error{409, "Conflict",
                 what + " on " + type.kind + " " + keyOf(object) +
                     ": object changed since it was read: " + error.message};
  }
  return error;
}

Status validateName(const std::string& name) {
  if (isValidFinalizerName(name)) return okStatus();
  return Error{422, "Invalid", "finalizer \"" + name + "\" is not a qualified name"};
}

}  // namespace

bool hasFinalizer(const json& object, std::string_view name) {
  const json& finalizers = finalizersOf(object);
  if (!finalizers.is_array()) return false;
  for (const auto& f : finalizers) {
    if (f.is_string() && f.get_ref<const std::string&>() == name) return true;
  }
  return false;
}

json addFinalizerPatch(const json& object, const std::string& name) {
  const json& finalizers = finalizersOf(object);
  if (finalizers.is_array()) {
    // Guard the whole list: someone else's concurrent change fails the test, never gets lost.
    return json::array({{{"op", "test"}, {"path", "/metadata/finalizers"}, {"value", finalizers}},
                        {{"op", "add"}, {"path", "/metadata/finalizers/-"}, {"value", name}}});
  }
  // No list yet: "add" would replace a list created concurrently, so guard on resourceVersion.
  return json::array({{{"op", "test"},
                       {"path", "/metadata/resourceVersion"},
                       {"value", stringAt(object, "/metadata/resourceVersion"_json_pointer)}},
                      {{"op", "add"}, {"path", "/metadata/finalizers"}, {"value", {name}}}});
}

json removeFinalizerPatch(const json& object, const std::string& name) {
  const json& finalizers = finalizersOf(object);
  json kept = json::array();
  if (finalizers.is_array()) {
    for (const auto& f : finalizers) {
      if (!(f.is_string() && f.get_ref<const std::string&>() == name)) kept.push_back(f);
    }
  }
  return json::array({{{"op", "test"}, {"path", "/metadata/finalizers"}, {"value", finalizers}},
                      {{"op", "replace"}, {"path", "/metadata/finalizers"}, {"value", kept}}});
}

Result<json> addFinalizer(Client& client, const ResourceType& type, const json& object,
                          const std::string& name, const std::string& fieldManager) {
  if (auto status = validateName(name); !status.ok()) return status.error();
  if (hasFinalizer(object, name)) return object;
  if (!stringAt(object, "/metadata/deletionTimestamp"_json_pointer).empty()) {
    return Error{422, "Invalid",
                 type.kind + " " + keyOf(object) + " is being deleted; finalizer \"" + name +
                     "\" cannot be added"};
  }
  return sendPatch(client, type, object, addFinalizerPatch(object, name), "add finalizer " + name, fieldManager);
}

Result<json> removeFinalizer(Client& client, const ResourceType& type, const json& object,
                             const std::string& name, const std::string& fieldManager) {
  if (!hasFinalizer(object, name)) return object;
  return sendPatch(client, type, object, removeFinalizerPatch(object, name), "remove finalizer " + name,
                   fieldManager);
}

}  // namespace dwcp::kube
