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
#include <vector>

#include <nlohmann/json.hpp>

#include "api/vmplacement.h"
#include "controllers/status_writer.h"
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
inline constexpr const char* kPlacementLabel = "federation.dwcp.io/vmplacement";
inline constexpr const char* kRegionLabel = "federation.dwcp.io/region";

// A kind spec.template may materialize, e.g. {"kubevirt.io/v1", "VirtualMachine"}.
struct WorkloadKind {
  std::string apiVersion;
  std::string kind;
  bool operator==(const WorkloadKind&) const = default;
};
// KubeVirt VirtualMachine, ConfigMap, Deployment and StatefulSet.
std::vector<WorkloadKind> defaultWorkloadKinds();

// What this controller owns of VMPlacement status (server-side apply under kFieldManager): every
// field but those another controller adds later (a Migration's), and the Placed and
// WorkloadReady conditions.
const StatusOwnership& vmPlacementStatusOwnership();

// A VMPlacement status being built by one reconcile. A condition the typed helper refuses is kept
// as `error` (the first one), and the write reports it instead of writing.
struct StatusDraft {
  api::VMPlacementStatus status;
  std::string error;
  // Sets a condition at `generation`; a message over the API's 32768-byte limit is cut at a
  // UTF-8 character boundary.
  void condition(const char* type, api::ConditionStatus value, const char* reason, std::string message,
                 int64_t generation, api::Time now);
};

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
  // The federation as the engine sees it, with the ledger's VMs; built lazily, kept up to date
  // by assume/forget/commit, and dropped when a Region changes where VMs may go. Needs mu_.
  placement::Snapshot* snapshotLocked();
  void assume(const placement::PlacedVM& vm);
  void assumeLocked(const placement::PlacedVM& vm);
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
  struct WorkloadPlan {
    kube::ResourceType type;
    nlohmann::json workload;  // the apply body
    api::WorkloadRef ref;     // status.workloadRef, without a uid until applied
  };
  // spec.template checked against the allowlist, discovery (namespaced kinds only) and the VM's
  // namespace. A template that cannot be applied is reported in `status` (WorkloadReady False,
  // an event; not retried until the spec changes) and yields nothing; a transient failure goes
  // to `error`.
  std::optional<WorkloadPlan> planWorkload(const nlohmann::json& object, const api::VMPlacement& vm,
                                           StatusDraft& draft, std::string& error);

  kube::ReconcileResult finalize(const std::string& key, const nlohmann::json& object);
  // Writes each victim's Preempted status, then deletes its workload. When a write fails (or
  // conflicts), that victim and the ones after it were not preempted: they go back into the ledger
  // (the preemptor stays there too, counted conservatively until its retry) and the result is
  // returned for the preemptor to retry.
  kube::ReconcileResult preemptVictims(const std::string& preemptor, int priority,
                                       const std::vector<placement::Victim>& victims);
  void restoreVictims(const std::vector<placement::Victim>& victims, size_t from);
  // Deletes the workload status.workloadRef names, only when it is the object this controller
  // made for `object`: same namespace, a namespaced kind, our label and a controller owner
  // reference to the VM's uid (read first), deleted with that uid as a precondition. A ref that
  // fails a check is never deleted (an event says why). Errors are transient.
  kube::Status deleteWorkload(const nlohmann::json& object);

  VMPlacementControllerDeps deps_;
  placement::Engine engine_;
  mutable std::mutex mu_;  // guards the ledger; decisions and their commit happen under it
  std::map<std::string, placement::PlacedVM> ledger_;
  std::optional<placement::Snapshot> snapshot_;
  Enqueue enqueue_;
};

}  // namespace dwcp::controllers
