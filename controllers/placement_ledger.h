// The VMPlacement controller's ledger of capacity: which VM holds room in which region, as this
// operator decided it. The informer cache lags behind our own status writes, so decisions are
// made against the ledger (and a placement snapshot built from the Region cache plus the ledger),
// and each placing decision is recorded in the same critical section it was made in: concurrent
// reconciles never over-commit a region. Thread-safe.
//
// Federated (peers run): this region's ledger is the authority for its own capacity only; it
// holds the VMs placed here (this cluster's own and the mirrors of other homes' VMs it admitted)
// and the reservations this home has asked other regions for and not heard back about. A remote
// region's allocation is what its heartbeats report (its Region status.allocated), which counts
// the VMs it admitted, so an admitted reservation leaves this ledger (forget) when it is answered.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engines/placement/engine.h"
#include "engines/placement/snapshot.h"
#include "kube/result.h"
#include "kube/store.h"

namespace dwcp::controllers {

class PlacementLedger {
 public:
  // `regions`: the Region cache the snapshot is built from; it outlives the ledger.
  explicit PlacementLedger(const kube::Store* regions, std::string localRegion = "", bool federated = false)
      : regions_(regions), localRegion_(std::move(localRegion)), federated_(federated) {}

  // Loads every VMPlacement of the cache that holds capacity (Placed or Migrating, with a region
  // and a valid spec; federated, only those in this region, and every mirror, admitted here by
  // existing). Call once the cache synced, before the first decision.
  void seed(const kube::Store& vmPlacements);
  // Records `vm` where it is (after a restart, another writer, a spec change that still fits).
  void assume(const placement::PlacedVM& vm);
  // Records several at once (victims whose preemption did not go through), in one critical
  // section: no decision sees some of them back and not the others.
  void assume(const std::vector<placement::PlacedVM>& vms);
  // The VM holds nothing any more (deleted, invalid, moved off by a failed write).
  void forget(const std::string& key);
  // A Region changed where VMs may go: the next decision rebuilds the snapshot.
  void regionsChanged();

  // Whether `vm` (with its changed spec, `request`) still fits the region it holds; when it does,
  // its entry is updated in the same critical section. Errors: no snapshot could be built.
  kube::Result<std::optional<placement::Rejection>> recheck(const placement::Engine& engine,
                                                            const placement::Request& request,
                                                            const placement::PlacedVM& vm);
  struct Placement {
    placement::Decision decision;
    double seconds = 0;  // the engine's decision time
  };
  // Decides where `request` goes. A placing decision records `vm` (its region set to the chosen
  // one) and drops the victims; any other outcome forgets the VM. Errors: no snapshot.
  kube::Result<Placement> place(const placement::Engine& engine, const placement::Request& request,
                                placement::PlacedVM vm);

  // key -> region, for tests and the what-if.
  std::map<std::string, std::string> placements() const;
  // region -> the resources the ledger's VMs hold there (VM count in `vms`).
  struct Held {
    int64_t cpu = 0, memoryMiB = 0, storageGiB = 0, vms = 0;
  };
  std::map<std::string, Held> held() const;

 private:
  placement::Snapshot* snapshotLocked();
  void assumeLocked(const placement::PlacedVM& vm);
  void forgetLocked(const std::string& key);

  const kube::Store* regions_;
  const std::string localRegion_;
  const bool federated_;
  mutable std::mutex mu_;
  std::map<std::string, placement::PlacedVM> ledger_;
  std::optional<placement::Snapshot> snapshot_;  // built lazily; kept by assume/forget/commit
};

}  // namespace dwcp::controllers
