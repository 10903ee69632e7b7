#include "controllers/status_writer.h"

#include <algorithm>

namespace dwcp::controllers {

using json = nlohmann::json;

kube::ReconcileResult StatusWrite::result() const {
  switch (outcome) {
    case Outcome::kConflict: return kube::ReconcileResult::conflict("status write");
    case Outcome::kFailed: return kube::ReconcileResult::failure(error);
    default: return kube::ReconcileResult::success();
  }
}

json statusApplyBody(const kube::ResourceType& type, const api::ObjectMeta& meta, const json& status,
                     const StatusOwnership& owned) {
  json metadata = {{"name", meta.name}};
  if (type.namespaced) metadata["namespace"] = meta.namespace_;
  if (!meta.resourceVersion.empty()) metadata["resourceVersion"] = meta.resourceVersion;
  json ours = json::object();
  for (const auto& field : owned.fields) {
    if (status.contains(field)) ours[field] = status[field];
  }
  if (status.contains("conditions")) {
    json conditions = json::array();
    for (const auto& condition : status["conditions"]) {
      const auto& types = owned.conditionTypes;
      if (std::find(types.begin(), types.end(), condition.value("type", "")) != types.end()) {
        conditions.push_back(condition);
      }
    }
    if (!conditions.empty()) ours["conditions"] = std::move(conditions);
  }
  return json{{"apiVersion", type.apiVersion()}, {"kind", type.kind}, {"metadata", std::move(metadata)},
              {"status", std::move(ours)}};
}

namespace {

// An owned field the apply left out survives when another manager owns it too (a status written
// by PUT, as before server-side apply, or by kubectl): a JSON Patch removes it, guarded by the
// resourceVersion the apply returned.
kube::Result<json> removeLeftovers(kube::Client& client, const kube::ResourceType& type, const json& body,
                                   json object, const StatusOwnership& owned) {
  json patch = json::array();
  const json& sent = body["status"];
  const json status = object.value("status", json::object());
  for (const auto& field : owned.fields) {
    if (!sent.contains(field) && status.is_object() && status.contains(field)) {
      patch.push_back({{"op", "remove"}, {"path", "/status/" + field}});
    }
  }
  if (patch.empty()) return object;
  patch.insert(patch.begin(), json{{"op", "test"},
                                   {"path", "/metadata/resourceVersion"},
                                   {"value", object.value("/metadata/resourceVersion"_json_pointer, std::string())}});
  auto patched = client.patch(type, body.value("/metadata/namespace"_json_pointer, std::string()),
                              body.value("/metadata/name"_json_pointer, std::string()), kube::PatchType::kJson, patch,
                              "status", kFieldManager);
  // A failed test op is a 422 (some servers: 409): the object changed since the apply.
  if (!patched.ok() && patched.error().code == 422) {
    return kube::Error{409, "Conflict", "status changed since it was applied: " + patched.error().message};
  }
  return patched;
}

}  // namespace

json applyStatusJson(kube::Client& client, const kube::ResourceType& type, const json& body,
                     const StatusOwnership& owned, StatusWrite& out) {
  auto applied = client.applyStatus(type, body, kFieldManager);
  if (applied.ok()) applied = removeLeftovers(client, type, body, std::move(applied.value()), owned);
  if (applied.ok()) {
    out.outcome = StatusWrite::Outcome::kWritten;
    return std::move(applied.value());
  }
  const kube::Error& error = applied.error();
  if (error.isConflict()) {
    out.outcome = StatusWrite::Outcome::kConflict;
  } else if (error.isNotFound()) {
    out.outcome = StatusWrite::Outcome::kGone;
  } else {
    out.outcome = StatusWrite::Outcome::kFailed;
    const std::string ns = body.value("/metadata/namespace"_json_pointer, std::string());
    out.error = type.kind + " " + (ns.empty() ? "" : ns + "/") + body.value("/metadata/name"_json_pointer, std::string()) +
                ": status write failed: " + error.toString();
  }
  return json();
}

}  // namespace dwcp::controllers
