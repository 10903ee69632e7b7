// Test helpers: objects as the operator's caches hold them (controllers/cached_types.h), for
// calling event handlers and filling stores the way the informers do.
#pragma once

#include <nlohmann/json.hpp>

#include "controllers/cached_types.h"
#include "kube/store.h"

namespace dwcp::controllers {

// Stores that decode as the operator's Region and VMPlacement informers do.
inline kube::Store regionStore() { return kube::Store(regionDecoder()); }
inline kube::Store vmPlacementStore() { return kube::Store(vmPlacementDecoder()); }

// One object decoded as its cache would; never null for an object with a name.
inline kube::ObjectPtr cachedRegion(const nlohmann::json& object) { return kube::Store(regionDecoder()).decode(object); }
inline kube::ObjectPtr cachedVMPlacement(const nlohmann::json& object) {
  return kube::Store(vmPlacementDecoder()).decode(object);
}

}  // namespace dwcp::controllers
