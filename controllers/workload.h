// The workload part of a VMPlacement: the object spec.template materializes in the region the VM
// was placed in, when that region is this operator's. It owns status.workloadRef and the
// WorkloadReady condition, and only ever touches the object it made: in the VMPlacement's
// namespace, of an allowed namespaced kind, labelled and controller-owned by the VM, deleted with
// its uid as a precondition. Federation runs it on its own (the VM's home region and the chosen
// region differ). Thread-safe (its client, discovery and recorder are).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/vmplacement.h"
#include "controllers/vmplacement_status.h"
#include "kube/client.h"
#include "kube/clock.h"
#include "kube/controller.h"
#include "kube/discovery.h"
#include "kube/events.h"

namespace dwcp::controllers {

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
// The WorkloadReady message of a workload applied in `region`: "VirtualMachine default/web applied in region r".
std::string appliedMessage(const api::WorkloadRef& ref, const std::string& region);

struct WorkloadDeps {
  kube::Client* client = nullptr;
  kube::Discovery* discovery = nullptr;   // maps spec.template's kind to its resource; none: no workloads
  kube::EventRecorder* events = nullptr;  // optional
  kube::Clock* clock = nullptr;
  std::string localRegion;
  // The kinds spec.template may be; any other, and any cluster-scoped kind, is refused.
  std::vector<WorkloadKind> kinds = defaultWorkloadKinds();
};

class Workloads {
 public:
  explicit Workloads(WorkloadDeps deps) : deps_(std::move(deps)) {}

  // Writes the status drafted so far (and whatever must follow it, the finalizer); a result ends
  // the reconcile with it.
  using Record = std::function<std::optional<kube::ReconcileResult>()>;
  // Brings spec.template to `region` when it is ours, recording the result in `draft`: the
  // workload is named in status.workloadRef (through `record`) before it is applied, so no failed
  // write leaves a workload the status does not name (a mirror's first one excepted: applied with
  // the mirror and owned by it, it is named once, after the apply). A template that cannot be applied is
  // reported (WorkloadReady False, an event) and not retried until the spec changes; for another
  // region, WorkloadReady Unknown says who materializes it. Returns a result to end with, or
  // nullopt when the caller records `draft` next.
  std::optional<kube::ReconcileResult> ensure(const nlohmann::json& object, const api::VMPlacement& vm,
                                              StatusDraft& draft, const std::string& region, const Record& record);

  // Deletes the workload status.workloadRef names, only when it is the object this part made for
  // `object`: same namespace, a namespaced kind, our label and a controller owner reference to
  // the VM's uid (read first), deleted with that uid as a precondition. A ref that fails a check
  // is never deleted (an event says why). Errors are transient.
  kube::Status remove(const nlohmann::json& object);

  // Applies spec.template of `object` at once, before its status names it: for a mirror
  // (mirror.h) the reservation controller has just created, so the workload does not wait for a
  // watch round trip and a status write. The workload is owned by `object` and labelled with the
  // VM's uid, and ensure() names it in status at the VMPlacement's first reconcile (applying it
  // again changes nothing). A template the checks refuse is left to ensure() to report. Returns
  // the workload applied (with its uid), nullopt when there is none to apply; errors are transient.
  kube::Result<std::optional<api::WorkloadRef>> applyEarly(const nlohmann::json& object, const api::VMPlacement& vm);

 private:
  struct Plan {
    kube::ResourceType type;
    nlohmann::json workload;  // the apply body
    api::WorkloadRef ref;     // status.workloadRef, without a uid until applied
  };
  // spec.template checked against the allowlist, discovery (namespaced kinds only) and the VM's
  // namespace. A template that cannot be applied is reported in `draft` and yields nothing; a
  // transient failure goes to `error`.
  std::optional<Plan> plan(const nlohmann::json& object, const api::VMPlacement& vm, StatusDraft& draft,
                           std::string& error, bool report = true);

  WorkloadDeps deps_;
};

}  // namespace dwcp::controllers
