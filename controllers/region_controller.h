// The Region controller. For this operator's own region it computes status from the signals
// this cluster has: phase, healthScore (API reachability, recent reconcile errors, capacity in
// use), allocated/available (summed from the VMPlacements placed here), routingWeight, peers (its
// links as measured here) and conditions. A remote region's status comes from its heartbeats
// (controllers/federation.h): phase, healthScore, allocated/available, peers (its own RTTs),
// epoch and lastHeartbeatTime; one not heard from for the suspicion time shows Unknown with a
// condition saying since when. Without federation, remote regions stay Unknown. Status is
// computed as an api::RegionStatus and written by the status writer (controllers/status_writer.h)
// only when it changed, with observedGeneration.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/region.h"
#include "controllers/federation.h"
#include "controllers/health_signals.h"
#include "controllers/status_writer.h"
#include "kube/client.h"
#include "kube/clock.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/reflector.h"
#include "kube/store.h"

namespace dwcp::controllers {

inline constexpr const char* kRegionControllerName = "region";

// The VMPlacement cache's index by status.region, which the local Region's allocation sums read
// instead of scanning every VM. Register it on that cache before it starts (the operator's setup
// does); without it the sums scan the whole cache.
inline constexpr const char* kVMPlacementsByRegion = "status.region";
kube::IndexFunc vmPlacementsByRegion();

struct RegionControllerDeps {
  const kube::Store* regions = nullptr;       // Region cache
  const kube::Store* vmPlacements = nullptr;  // VMPlacement cache (capacity in use), indexed by region
  kube::Client* client = nullptr;
  kube::EventRecorder* events = nullptr;      // optional
  kube::Clock* clock = nullptr;
  const HealthSignals* signals = nullptr;     // optional: no signals means healthy
  std::string localRegion;
  double failoverThreshold = 70.0;            // healthScore below it: Degraded
  std::function<void(const std::string& region, double score)> reportHealth;  // optional
  Federation* federation = nullptr;           // optional: none, and remote regions stay Unknown
};

// lastHeartbeatTime of a remote region is refreshed when anything else in its status changes, and
// at least this often: not at every heartbeat (a write per region per beat).
inline constexpr std::chrono::seconds kHeartbeatTimeRefresh{10};

// Inputs of the status computation, separated from I/O so it is table-testable.
struct RegionInputs {
  api::Region region;  // decoded once; its spec is not read when invalidSpec is set
  bool local = false;
  HealthSnapshot signals;
  double failoverThreshold = 70.0;
  int64_t allocatedCpu = 0, allocatedMemoryMiB = 0, allocatedStorageGiB = 0, allocatedVMs = 0;
  std::string duplicateEndpointOf;  // another Region with the same endpoint, if any
  std::string invalidSpec;          // api::parseRegion's error (names the fields), if any
  // Federation: peers run. A remote region's status then comes from `heard` (nullopt: never heard
  // since this operator started), suspected after `suspectAfter` without a heartbeat; the local
  // region lists `links`.
  bool federated = false;
  std::optional<Federation::Heard> heard;
  std::chrono::milliseconds suspectAfter{1500};
  base::Clock::SteadyTime steadyNow{};
  std::vector<api::PeerLink> links;
};

// Returns the desired status: `current` with this controller's fields (kRegionStatusOwnership)
// recomputed; fields it does not own, and conditions of other types, are kept; conditions keep
// their lastTransitionTime from `current` when their status did not change. With an invalid spec
// only observedGeneration and Valid change: figures from a spec that cannot be read are not
// recomputed. An Error names a condition the computation could not set.
kube::Result<api::RegionStatus> computeRegionStatus(const RegionInputs& in, const api::RegionStatus& current,
                                                    api::Time now);
// The status fields and condition types the Region controller writes.
const StatusOwnership& regionStatusOwnership();

class RegionController {
 public:
  explicit RegionController(RegionControllerDeps deps);

  // Handlers that map watch events to Region keys through `enqueue(key, reason)`.
  using Enqueue = std::function<void(const std::string& key, const std::string& reason)>;
  kube::EventHandler regionHandler(Enqueue enqueue) const;
  kube::EventHandler vmPlacementHandler(Enqueue enqueue) const;

  kube::ReconcileResult reconcile(const std::string& key, const std::string& reason);

  // Sums the resources of the VMPlacements whose status.region is `region`.
  RegionInputs sumAllocated(const std::string& region, RegionInputs in) const;

 private:
  RegionControllerDeps deps_;
};

}  // namespace dwcp::controllers
