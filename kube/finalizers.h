// Adding and removing one finalizer without clobbering any other controller's: each write is a
// JSON Patch guarded by a `test` op, so a concurrent change makes the server reject it and the
// caller gets an Error with isConflict() (re-read, then retry). Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/result.h"

namespace dwcp::kube {

bool hasFinalizer(const json& object, std::string_view name);

// Appends `name` to metadata.finalizers of `object` (as last read). Returns the updated object,
// or `object` itself with no request when the finalizer is already there. A deleting object
// (deletionTimestamp set) cannot take new finalizers: Error reason "Invalid".
// `fieldManager` (optional) names the writer in managedFields, as the controller's other writes do.
Result<json> addFinalizer(Client& client, const ResourceType& type, const json& object,
                          const std::string& name, const std::string& fieldManager = "");
// Removes `name`, keeping every other finalizer. Returns the updated object, or `object` itself
// with no request when the finalizer is absent. A 404 is returned as is (the object is gone).
Result<json> removeFinalizer(Client& client, const ResourceType& type, const json& object,
                             const std::string& name, const std::string& fieldManager = "");

// The JSON Patches the two calls send (exposed for tests and dry runs).
json addFinalizerPatch(const json& object, const std::string& name);
json removeFinalizerPatch(const json& object, const std::string& name);

}  // namespace dwcp::kube
