// How the operator's caches hold Regions and VMPlacements: decoded once, when they arrive, into
// api::Region and api::VMPlacement (kube::Store's typed form), so reconciles, indexes and event
// handlers read typed fields and nothing parses the same object twice. An object the API types
// refuse is kept as JSON with the reason, and its controller reports that reason in status.
#pragma once

#include "api/region.h"
#include "api/vmplacement.h"
#include "kube/store.h"

namespace dwcp::controllers {

// A VMPlacement whose status does not parse (written around the schema) is not the spec's fault:
// it is decoded without its status, and the next status write replaces what the controller owns.
kube::Decoder vmPlacementDecoder();
kube::Decoder regionDecoder();

// The typed value of a cached object, or nullptr when it was kept as JSON.
inline const api::VMPlacement* asVMPlacement(const kube::CachedObject& object) {
  return object.as<api::VMPlacement>();
}
inline const api::Region* asRegion(const kube::CachedObject& object) { return object.as<api::Region>(); }

}  // namespace dwcp::controllers
