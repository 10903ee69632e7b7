// The one status writer every controller ends its reconcile with. It compares the status read
// from the cache with the one computeStatus returned and, only when they differ, applies the
// fields the controller owns to the status subresource: a forced server-side apply under
// kFieldManager, with the cached resourceVersion as precondition. Fields and condition types
// other writers own are left out of the apply, so they survive; owned fields the new status
// drops are removed even when another manager co-owns them. Thread-safe (the client is).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/meta.h"
#include "kube/client.h"
#include "kube/controller.h"

namespace dwcp::controllers {

// The field manager of everything this operator applies (statuses and materialized workloads).
inline constexpr const char* kFieldManager = "dwcp-operator";

// What a controller owns of its kind's status: top-level fields and condition types.
struct StatusOwnership {
  std::vector<std::string> fields;
  std::vector<std::string> conditionTypes;
};

struct StatusWrite {
  enum class Outcome { kUnchanged, kWritten, kGone, kConflict, kFailed };
  Outcome outcome = Outcome::kUnchanged;
  nlohmann::json object;  // the server's copy after kWritten
  std::string error;      // kFailed: what failed, naming the object
  // kUnchanged, kWritten, kGone (404: nothing left to converge): success; kConflict (409: the
  // cache is behind): ReconcileResult::conflict, a prompt retry; kFailed: failure.
  kube::ReconcileResult result() const;
  bool written() const { return outcome == Outcome::kWritten; }
};

// The apply body: apiVersion, kind, metadata (name, namespace, resourceVersion) and the owned
// part of `status` (JSON of an api:: status).
nlohmann::json statusApplyBody(const kube::ResourceType& type, const api::ObjectMeta& meta,
                               const nlohmann::json& status, const StatusOwnership& owned);

// Sends `body` (statusApplyBody) and records the outcome in `out`; returns the server's copy when
// written. An owned field left out of `body` that survives the apply (another manager owns it
// too, e.g. a status written by PUT) is then removed with a JSON Patch guarded by the returned
// resourceVersion.
nlohmann::json applyStatusJson(kube::Client& client, const kube::ResourceType& type, const nlohmann::json& body,
                               const StatusOwnership& owned, StatusWrite& out);
// Applies the owned part of `desired` when it differs from `current` (api:: status types, compared
// with operator==); writes nothing when they are equal.
template <class Status>
StatusWrite writeStatus(kube::Client& client, const kube::ResourceType& type, const api::ObjectMeta& meta,
                        const Status& current, const Status& desired, const StatusOwnership& owned) {
  StatusWrite out;
  if (current == desired) return out;
  out.object = applyStatusJson(client, type, statusApplyBody(type, meta, nlohmann::json(desired), owned), owned, out);
  return out;
}

}  // namespace dwcp::controllers
