// The VMPlacement controller: places each VM in the best region through the placement engine,
// deciding against the placement ledger (placement_ledger.h) so concurrent decisions never
// over-commit a region, releases capacity through a finalizer on delete, retries unschedulable
// and preempted VMs when Regions or capacity change (not by polling), preempts, and hands
// spec.template to the workload part (workload.h) for the region it chose.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/vmplacement.h"
#include "controllers/placement_ledger.h"
#include "controllers/status_writer.h"
#include "controllers/vmplacement_status.h"
#include "controllers/workload.h"
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
struct VMPlacementControllerDeps {
  const kube::Store* regions = nullptr;
  const kube::Store* vmPlacements = nullptr;
  kube::Client* client = nullptr;
  kube::Discovery* discovery = nullptr;   // maps spec.template's kind to its resource
  kube::EventRecorder* events = nullptr;  // optional
  kube::Clock* clock = nullptr;
  std::string localRegion;
  // The kinds spec.template may be; any other, and any cluster-scoped kind, is refused.
  std::vector<WorkloadKind> workloadKinds = defaultWorkloadKinds();
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
  void forget(const std::string& key);
  void enqueueWaiting(const std::string& reason);

  // A write to the VMPlacement went through (or had nothing to write) unless `stop` is set: the
  // reconcile then ends with it (a conflict to requeue, an error, or success when the VM is gone,
  // its capacity released).
  struct Write {
    std::optional<kube::ReconcileResult> stop;
    bool gone = false;
  };
  static kube::ReconcileResult done(const Write& write);
  // The VM no longer exists on the server: it holds nothing.
  Write gone(const std::string& key);
  // Applies `draft` when it differs from the status `object` holds; `object` becomes the server's
  // copy.
  Write writeStatus(nlohmann::json& object, const StatusDraft& draft);
  // Adds the placement finalizer; `object` becomes the patched object.
  Write addFinalizer(nlohmann::json& object);

  // Records `status` (then the finalizer when `addFinalizerAfter`) and, when `region` is ours,
  // materializes spec.template. The workload is named in status.workloadRef (and the finalizer
  // added) before it is applied, so no failed write leaves a workload the status does not name.
  Write ensureWorkload(nlohmann::json& object, const api::VMPlacement& vm, StatusDraft draft,
                       const std::string& region, bool addFinalizerAfter = false);
  kube::ReconcileResult finalize(const std::string& key, const nlohmann::json& object);
  // Writes each victim's Preempted status, then deletes its workload. When a write fails (or
  // conflicts), that victim and the ones after it were not preempted: they go back into the ledger
  // (the preemptor stays there too, counted conservatively until its retry) and the result is
  // returned for the preemptor to retry.
  kube::ReconcileResult preemptVictims(const std::string& preemptor, int priority,
                                       const std::vector<placement::Victim>& victims);
  void restoreVictims(const std::vector<placement::Victim>& victims, size_t from);

  VMPlacementControllerDeps deps_;
  placement::Engine engine_;
  PlacementLedger ledger_;
  Workloads workloads_;  // decisions and their commit happen in one of its critical sections
  Enqueue enqueue_;
};

}  // namespace dwcp::controllers
