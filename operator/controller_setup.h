// One setup function per controller: each builds its controller from what the manager shares
// (client, caches, events, clock, configuration, metrics), registers its event handlers and
// returns it ready to run. Manager::start lists them; a new controller is one line there.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "controllers/federation.h"
#include "controllers/health_signals.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/discovery.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "config/config.h"
#include "operator/federation_setup.h"
#include "operator/metrics.h"

namespace dwcp::op {

// What the manager shares with every controller; it outlives them all.
struct ControllerContext {
  kube::Client* client = nullptr;  // guarded by the leader elector
  kube::Informer* regions = nullptr;
  kube::Informer* vmPlacements = nullptr;
  kube::EventRecorder* events = nullptr;
  kube::Discovery* discovery = nullptr;
  kube::Clock* clock = nullptr;
  std::string localRegion;
  const config::Config* config = nullptr;
  OperatorMetrics* metrics = nullptr;
  controllers::HealthSignals* signals = nullptr;
  // Federated only (null otherwise): the peers, what controllers ask to hear of them, and whether
  // the replicated state has caught up since start (controllers that write it wait for it).
  controllers::Federation* federation = nullptr;
  FederationEvents* federationEvents = nullptr;
  std::function<bool()> federationSynced{};
};

// A controller the manager runs: `prepare` (optional) runs once the caches synced, just before the
// first reconcile; `owner` keeps the controller its runner and handlers call into alive.
struct ManagedController {
  std::string name;
  std::shared_ptr<void> owner;
  std::unique_ptr<kube::Controller> runner;
  std::function<void()> prepare;
};

ManagedController setupRegionController(const ControllerContext& ctx);
ManagedController setupVMPlacementController(const ControllerContext& ctx);
// Federated only; after the VMPlacement controller, whose ledger it shares.
ManagedController setupReservationController(const ControllerContext& ctx, const ManagedController& vmPlacements);

// Every controller of this operator, in start order.
std::vector<ManagedController> setupControllers(const ControllerContext& ctx);

}  // namespace dwcp::op
