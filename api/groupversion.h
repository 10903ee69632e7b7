// The API group federation.dwcp.io/v1alpha1 and the REST collection of each of its kinds, for
// kube::Client calls. Immutable constants, safe from any thread.
#pragma once

#include <string_view>

#include "kube/client.h"

namespace dwcp::api {

inline constexpr std::string_view kGroup = "federation.dwcp.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "federation.dwcp.io/v1alpha1";

inline const kube::ResourceType kRegionResource{"federation.dwcp.io", "v1alpha1", "regions", "Region",
                                                /*namespaced=*/false};
inline const kube::ResourceType kVMPlacementResource{"federation.dwcp.io", "v1alpha1", "vmplacements",
                                                     "VMPlacement", /*namespaced=*/true};
inline const kube::ResourceType kMigrationResource{"federation.dwcp.io", "v1alpha1", "migrations",
                                                   "Migration", /*namespaced=*/true};
inline const kube::ResourceType kSLAPolicyResource{"federation.dwcp.io", "v1alpha1", "slapolicies",
                                                   "SLAPolicy", /*namespaced=*/true};

}  // namespace dwcp::api
