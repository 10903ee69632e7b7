// The reservation controller (federated only): this region's side of the placement records other
// regions write (api/federation.h), keyed by the VM's uid.
//
// A record that places a VM here is admitted or refused against this region's capacity, in the
// VMPlacement controller's ledger (the one authority over it: concurrent records for the last room
// never both pass), and answered. An admitted VM becomes a mirror in this cluster (mirror.h),
// created before the answer says so: the mirror is the admission, and it outlives a restart. A
// record that moves elsewhere, or is withdrawn, deletes the mirror (its finalizer deletes the
// workload and frees the room) — an absent record only once this operator has caught up with the
// home, so a restart never takes a record not heard yet for one withdrawn. A changed record (its
// spec, its epoch) is admitted again or refused. The answer carries what the mirror reports of its
// workload. It also withdraws this home's own records whose VMPlacement no longer exists (a delete
// that a restart forgot).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controllers/federation.h"
#include "controllers/placement_ledger.h"
#include "controllers/workload.h"
#include "engines/placement/engine.h"
#include "kube/client.h"
#include "kube/clock.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/reflector.h"
#include "kube/store.h"

namespace dwcp::controllers {

inline constexpr const char* kReservationControllerName = "reservation";

struct ReservationControllerDeps {
  const kube::Store* vmPlacements = nullptr;  // indexed by kMirrorsByUid and kVMPlacementsByUid (mirror.h)
  kube::Client* client = nullptr;
  kube::EventRecorder* events = nullptr;  // optional
  kube::Clock* clock = nullptr;
  std::string localRegion;
  Federation* federation = nullptr;
  std::shared_ptr<PlacementLedger> ledger;  // the VMPlacement controller's
  const placement::Engine* engine = nullptr;
  Workloads* workloads = nullptr;  // the VMPlacement controller's: a new mirror's workload is applied at once
};

class ReservationController {
 public:
  explicit ReservationController(ReservationControllerDeps deps);

  using Enqueue = std::function<void(const std::string& uid, const std::string& reason)>;
  // Mirrors map to the uid they mirror; this home's VMs, when deleted, to their uid.
  kube::EventHandler vmPlacementHandler(Enqueue enqueue) const;

  kube::ReconcileResult reconcile(const std::string& uid, const std::string& reason);

  // Every uid worth a look now: records placed here, this home's records, answers given, mirrors.
  std::vector<std::string> knownUids() const;

 private:
  // Admits (creating the mirror) or refuses a record placed here that has no mirror yet.
  kube::ReconcileResult admit(const api::PlacementRecord& record);
  // Brings an existing mirror to its record and answers.
  kube::ReconcileResult converge(const api::PlacementRecord& record, const kube::CachedObject& mirror);
  void refuse(const api::PlacementRecord& record, const std::string& reason);

  ReservationControllerDeps deps_;
};

}  // namespace dwcp::controllers
