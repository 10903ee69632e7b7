// The VMPlacement controller: places each VM in the best region through the placement engine,
// keeps an in-memory ledger of placements so concurrent decisions never over-commit a region
// (the cache lags behind our own writes), releases capacity through a finalizer on delete,
// retries unschedulable and preempted VMs when Regions or capacity change (not by polling), and
// materializes spec.template when the chosen region is this operator's own.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/vmplacement.h"
#include "engines/placement/engine.h"
#include "engines/placement/snapshot.h"
#include "kube/client.h"
#include "kube/clock.h"
#include "kube/controller.h"
#include "kube/discovery.h"
#include "kube/events.h"
#include "kube/reflector.h"
#include "kube/store.h"

namespace dwcp::controllers {

inline constexpr const char* kVMPlacementControllerName = "vmplacement";
inline constexpr const char* kPlacementFinalizer = "federation.dwcp.io/placement";
inline constexpr const char* kFieldManager = "dwcp-operator";
inline constexpr const char* kPlacementLabel = "federation.dwcp.io/vmplacement";
inline constexpr const char* kRegionLabel = "federation.dwcp.io/region";

struct VMPlacementControllerDeps {
  const kube::Store* regions = nullptr;
  const kube::Store* vmPlacements = nullptr;
  kube::Client* client = nullptr;
  kube::Discovery* discovery = nullptr;   // maps spec.template's kind to its resource
  kube::EventRecorder* events = nullptr;  // optional
  kube::Clock* clock = nullptr;
  std::string localRegion;
  placement::EngineConfig engine;
  // Engine decision time in seconds and the result ("placed", "preempting", "unschedulable",
  // "invalid"); optional.
  std::function<void(double seconds, const std::string& result)> observeDecision;
};

class VMPlacementController {
 public:
  explicit VMPlacementController(VMPlacementControllerDeps deps);

  using Enqueue = std::function<void(const std::string& key, const std::string& reason)>;
  // VMPlacement events enqueue the VM; a delete or a release of capacity also enqueues the VMs
  // waiting for capacity. Region events enqueue every waiting VM.
  kube::EventHandler vmPlacementHandler(Enqueue enqueue);
  kube::EventHandler regionHandler(Enqueue enqueue);

  kube::ReconcileResult reconcile(const std::string& key, const std::string& reason);

  // Loads the ledger from the VMPlacement cache (call once, after it synced, before reconciles).
  void seedLedger();

  // For tests and the what-if: the ledger's placements (key -> region).
  std::map<std::string, std::string> ledger() const;

 private:
  // The federation as the engine sees it, with the ledger's VMs; built lazily, kept up to date
  // by assume/forget/commit, and dropped when a Region changes where VMs may go. Needs mu_.
  placement::Snapshot* snapshotLocked();
  void assume(const placement::PlacedVM& vm);
  void assumeLocked(const placement::PlacedVM& vm);
  void forget(const std::string& key);
  void enqueueWaiting(const std::string& reason);
  // Materializes the workload when `region` is ours, then writes `status` if it changed (the
  // object the server returned goes to *writtenObject when given).
  kube::ReconcileResult ensureWorkload(const nlohmann::json& object, const api::VMPlacement& vm,
                                       nlohmann::json status, const std::string& region,
                                       nlohmann::json* writtenObject = nullptr);

  kube::ReconcileResult finalize(const std::string& key, const nlohmann::json& object);
  kube::ReconcileResult writeStatus(const nlohmann::json& object, nlohmann::json status,
                                    nlohmann::json* writtenObject = nullptr);
  // Writes each victim's Preempted status, then deletes its workload. When a write fails (or
  // conflicts), that victim and the ones after it were not preempted: they go back into the ledger
  // (the preemptor stays there too, counted conservatively until its retry) and the result is
  // returned for the preemptor to retry.
  kube::ReconcileResult preemptVictims(const std::string& preemptor, int priority,
                                       const std::vector<placement::Victim>& victims);
  void restoreVictims(const std::vector<placement::Victim>& victims, size_t from);
  // Server-side applies spec.template in the VM's namespace; sets status.workloadRef and the
  // WorkloadReady condition in `status`. A template the API server rejects is reported there
  // (and in an event), not retried until the spec changes; returns an error only for transient
  // failures worth a retry.
  std::optional<std::string> materialize(const nlohmann::json& object, const api::VMPlacement& vm,
                                         nlohmann::json& status);
  // Adds the placement finalizer; `object` becomes the patched object.
  kube::ReconcileResult addFinalizer(nlohmann::json& object);
  kube::Status deleteWorkload(const nlohmann::json& object);

  VMPlacementControllerDeps deps_;
  placement::Engine engine_;
  mutable std::mutex mu_;  // guards the ledger; decisions and their commit happen under it
  std::map<std::string, placement::PlacedVM> ledger_;
  std::optional<placement::Snapshot> snapshot_;
  Enqueue enqueue_;
};

}  // namespace dwcp::controllers
