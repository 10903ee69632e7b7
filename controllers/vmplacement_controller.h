// The VMPlacement controller: places each VM in the best region through the placement engine,
// deciding against the placement ledger (placement_ledger.h) so concurrent decisions never
// over-commit a region, releases capacity through a finalizer on delete, retries unschedulable
// and preempted VMs when Regions or capacity change (not by polling), preempts, and hands
// spec.template to the workload part (workload.h) for the region it chose.
//
// Federated (deps.federation set), a VM placed in another region is reserved there first: its home
// (this cluster) writes a placement record naming the region (api/federation.h), that region's
// operator admits or refuses it against its own capacity (reservation_controller.h), and only an
// admission makes the VM Placed here, with the workloadRef and WorkloadReady the region reports; a
// refusal re-places it without that region. Every placed VM has a record (survivors re-create it
// from there); deleting the VMPlacement withdraws it. Mirrors (mirror.h), the VMPlacements other
// homes' VMs hold here, are Placed here as admitted and never decided again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/vmplacement.h"
#include "controllers/federation.h"
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
  Federation* federation = nullptr;  // optional: none, and this operator places alone (a planner)
  // A reservation with no answer for this long shows in status (it keeps waiting while the region
  // is heard from).
  std::chrono::milliseconds reservationTimeout{10'000};
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
  // The capacity ledger and engine, shared with the reservation controller (the one authority
  // over this region's capacity).
  const std::shared_ptr<PlacementLedger>& placementLedger() const { return ledger_; }
  const placement::Engine& engine() const { return engine_; }
  Workloads& workloads() { return workloads_; }

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

  // Federated: a VM whose home is another region, placed here by its admitted record.
  kube::ReconcileResult reconcileMirror(const std::string& key, nlohmann::json& object, const api::VMPlacement& vm,
                                        const std::string& home);
  // What the last decision of a reservation said, to write when it is admitted.
  struct Pending {
    std::string uid;
    std::string region;
    int64_t epoch = 0;
    int64_t generation = 0;
    double score = 0;
    std::vector<api::PlacementCandidate> candidates;
    std::string message;
    base::Clock::SteadyTime since{};
    bool reported = false;  // the wait was written to status
  };
  // Where a reservation in flight stands: a result to end the reconcile with (admitted and written,
  // or still waiting), or nullopt to decide again without `excluded` (refused, or gone unheard).
  std::optional<kube::ReconcileResult> continueReservation(const std::string& key, nlohmann::json& object,
                                                           const api::VMPlacement& vm, const api::PlacementRecord& record,
                                                           bool hadFinalizer, std::string& excluded, std::string& note);
  // Writes a record that asks `region` to admit the VM and remembers the decision.
  kube::ReconcileResult startReservation(const std::string& key, const api::VMPlacement& vm, const std::string& region,
                                         const placement::Decision& decision, const std::string& note);
  // The record of a VM placed (or being placed) in `region` at `epoch`.
  api::PlacementRecord recordOf(const api::VMPlacement& vm, const std::string& region, api::RecordState state,
                                int64_t epoch) const;
  // Withdraws this home's record of the VM (key, uid): the region holding it lets it go.
  void withdrawRecord(const std::string& key, const std::string& uid);

  VMPlacementControllerDeps deps_;
  placement::Engine engine_;
  std::shared_ptr<PlacementLedger> ledger_;
  // Regions that refused a VM, by key then region: excluded from its decisions while that Region
  // object is unchanged (its next reported allocation may make room).
  struct Refusal {
    std::string reason;
    std::string regionVersion;  // the Region's resourceVersion when it refused
    int64_t generation = 0;     // the VM's, when it was refused
    int64_t epoch = 0;          // of the refused attempt
    bool excluding = true;      // until the Region or the VM changes
  };
  // Excludes the regions that refused `vm` (at its generation) since they last changed; says so
  // in `note`.
  void excludeRefusers(const std::string& key, int64_t generation, placement::Request& request, std::string& note);

  std::mutex pendingMu_;
  std::map<std::string, Pending> pending_;  // by key
  std::map<std::string, std::map<std::string, Refusal>> refusals_;  // by key, then region
  Workloads workloads_;  // decisions and their commit happen in one of its critical sections
  Enqueue enqueue_;
};

}  // namespace dwcp::controllers
