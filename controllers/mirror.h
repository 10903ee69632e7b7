// A mirror is the VMPlacement a region's operator creates in its own cluster for a VM whose home is
// another region, when it admits that VM's placement record (api/federation.h): it holds the
// capacity there (the placement ledger and the Region's allocation count it like any VM placed
// here), carries the workload that spec.template makes, and is deleted when the home withdraws the
// record. Labels name the home and the VM's uid; an annotation carries the record's epoch. Pure
// functions over the API types.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/federation.h"
#include "api/vmplacement.h"
#include "engines/placement/types.h"
#include "kube/store.h"

namespace dwcp::controllers {

inline constexpr const char* kHomeLabel = "federation.dwcp.io/home";
inline constexpr const char* kVMUidLabel = "federation.dwcp.io/vm-uid";
inline constexpr const char* kEpochAnnotation = "federation.dwcp.io/epoch";
inline constexpr const char* kVMNameAnnotation = "federation.dwcp.io/vm-name";

// The VMPlacement cache's indexes: by metadata.uid (a home's answers name its VMs by uid), and
// mirrors by the uid of the VM they mirror.
inline constexpr const char* kVMPlacementsByUid = "metadata.uid";
inline constexpr const char* kMirrorsByUid = "mirror.uid";
kube::IndexFunc vmPlacementsByUid();
kube::IndexFunc mirrorsByUid();

// The home region of the VM `vm` mirrors; "" when `vm` is no mirror (its home is this cluster).
std::string mirrorHome(const api::VMPlacement& vm, const std::string& localRegion);
// The uid of the VM `vm` mirrors ("" for none) and the record epoch it was admitted at (0: none).
std::string mirroredUid(const api::VMPlacement& vm);
int64_t mirrorEpoch(const api::VMPlacement& vm);
// The name of the VM `vm` mirrors, in its home cluster.
std::string mirroredName(const api::VMPlacement& vm);

// "<name>.<home>", in the record's namespace; shortened with a hash of the whole when it would
// exceed the 253 characters of a name.
std::string mirrorName(const api::PlacementRecord& record);
// The mirror to create for `record`: its spec, with spec.template named after the VM unless the
// template names itself.
nlohmann::json mirrorObject(const api::PlacementRecord& record);
// The spec a mirror of `record` carries (what mirrorObject puts in spec).
api::VMPlacementSpec mirrorSpec(const api::PlacementRecord& record);

// The room a mirror holds in the placement ledger: never a preemption victim here, whatever its
// spec says (its home placed it; this region admitted it).
placement::PlacedVM mirrorHold(const std::string& key, const std::string& region, const api::VMPlacementSpec& spec);

}  // namespace dwcp::controllers
