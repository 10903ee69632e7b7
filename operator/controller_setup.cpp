#include "operator/controller_setup.h"

#include "controllers/mirror.h"
#include "controllers/region_controller.h"
#include "controllers/reservation_controller.h"
#include "controllers/vmplacement_controller.h"

namespace dwcp::op {

namespace {

// The runner's options every controller shares: workers, cache sync, queue and reconcile metrics,
// and the reconcile outcomes the Region health score counts.
// `federationSynced`: the controller also waits for the replicated state to catch up.
kube::ControllerOptions runnerOptions(const ControllerContext& ctx, const std::string& name, int workers,
                                      bool federationSynced = false) {
  kube::ControllerOptions options;
  options.name = name;
  options.workers = workers;
  kube::Informer* regions = ctx.regions;
  kube::Informer* vms = ctx.vmPlacements;
  options.hasSynced = {[regions] { return regions->hasSynced(); }, [vms] { return vms->hasSynced(); }};
  if (federationSynced && ctx.federationSynced) options.hasSynced.push_back(ctx.federationSynced);
  options.queue.name = name;
  options.queue.metrics = ctx.metrics->queueHooks(name);
  auto hooks = ctx.metrics->controllerHooks(name);
  controllers::HealthSignals* signals = ctx.signals;
  options.metrics.reconciled = [signals, hooks](std::string_view result, double seconds) {
    signals->recordReconcile(result != kube::kReconcileError);
    hooks.reconciled(result, seconds);
  };
  return options;
}

}  // namespace

ManagedController setupRegionController(const ControllerContext& ctx) {
  controllers::RegionControllerDeps deps;
  deps.regions = &ctx.regions->store();
  deps.vmPlacements = &ctx.vmPlacements->store();
  deps.client = ctx.client;
  deps.events = ctx.events;
  deps.clock = ctx.clock;
  deps.signals = ctx.signals;
  deps.localRegion = ctx.localRegion;
  deps.failoverThreshold = ctx.config->failover.failoverThreshold;
  OperatorMetrics* metrics = ctx.metrics;
  deps.reportHealth = [metrics](const std::string& region, double score) { metrics->setRegionHealth(region, score); };
  deps.federation = ctx.federation;
  auto controller = std::make_shared<controllers::RegionController>(std::move(deps));
  ctx.vmPlacements->addIndex(controllers::kVMPlacementsByRegion, controllers::vmPlacementsByRegion());

  const std::string name = controllers::kRegionControllerName;
  auto runner = std::make_unique<kube::Controller>(
      runnerOptions(ctx, name, ctx.config->runtime.regionWorkers),
      [controller](const std::string& key, const std::string& reason) { return controller->reconcile(key, reason); });
  kube::Controller* queue = runner.get();
  auto enqueue = [queue](const std::string& key, const std::string& reason) { queue->enqueue(key, reason); };
  ctx.regions->addHandler(controller->regionHandler(enqueue));
  // VMPlacement churn folds into one Region status write per region per interval: the delayed
  // add keeps the earliest due time, so a steady stream of changes cannot postpone the write.
  const auto interval = ctx.config->runtime.regionStatusInterval;
  auto enqueueAllocation = [queue, interval](const std::string& key, const std::string& reason) {
    if (interval.count() == 0) return queue->enqueue(key, reason);
    queue->queue().addAfter(key, interval, reason);
  };
  ctx.vmPlacements->addHandler(controller->vmPlacementHandler(enqueueAllocation));
  if (ctx.federationEvents) {
    ctx.federationEvents->heartbeat.push_back([queue](const std::string& region) { queue->enqueue(region, "heartbeat"); });
  }
  return {name, controller, std::move(runner), nullptr};
}

ManagedController setupVMPlacementController(const ControllerContext& ctx) {
  controllers::VMPlacementControllerDeps deps;
  deps.regions = &ctx.regions->store();
  deps.vmPlacements = &ctx.vmPlacements->store();
  deps.client = ctx.client;
  deps.discovery = ctx.discovery;
  deps.events = ctx.events;
  deps.clock = ctx.clock;
  deps.localRegion = ctx.localRegion;
  const config::PlacementConfig& placement = ctx.config->placement;
  if (const auto& kinds = placement.workloadKinds) {
    deps.workloadKinds.clear();
    for (const auto& k : *kinds) deps.workloadKinds.push_back({k.apiVersion, k.kind});
  }
  const auto& w = placement.weights;
  deps.engine.hybridWeights = {w.latency, w.cost, w.capacity, w.health, w.priority, w.spread};
  deps.engine.enablePreemption = placement.enablePreemption;
  OperatorMetrics* metrics = ctx.metrics;
  deps.observeDecision = [metrics](double seconds, const std::string& result) {
    metrics->observePlacement(seconds, result);
  };
  deps.federation = ctx.federation;
  deps.reservationTimeout = ctx.config->peers.reservationTimeout;
  auto controller = std::make_shared<controllers::VMPlacementController>(std::move(deps));

  const std::string name = controllers::kVMPlacementControllerName;
  auto runner = std::make_unique<kube::Controller>(
      runnerOptions(ctx, name, ctx.config->runtime.vmPlacementWorkers, /*federationSynced=*/true),
      [controller](const std::string& key, const std::string& reason) { return controller->reconcile(key, reason); });
  kube::Controller* queue = runner.get();
  auto enqueue = [queue](const std::string& key, const std::string& reason) { queue->enqueue(key, reason); };
  ctx.vmPlacements->addHandler(controller->vmPlacementHandler(enqueue));
  ctx.regions->addHandler(controller->regionHandler(enqueue));
  if (ctx.federationEvents) {
    // A record or an answer about one of this home's VMs wakes it.
    const kube::Store* store = &ctx.vmPlacements->store();
    auto byUid = [store, queue](const std::string& uid, const std::string& why) {
      for (const auto& vm : store->byIndex(controllers::kVMPlacementsByUid, uid)) queue->enqueue(vm->key(), why);
    };
    ctx.federationEvents->record.push_back([byUid](const std::string& uid) { byUid(uid, "placement record changed"); });
    ctx.federationEvents->answer.push_back(
        [byUid](const std::string& region, const std::string& uid) { byUid(uid, "answer from region " + region); });
  }
  // The placement ledger is loaded from the synced cache before the first placement.
  return {name, controller, std::move(runner), [controller] { controller->seedLedger(); }};
}

ManagedController setupReservationController(const ControllerContext& ctx, const ManagedController& vmPlacements) {
  auto placementController = std::static_pointer_cast<controllers::VMPlacementController>(vmPlacements.owner);
  controllers::ReservationControllerDeps deps;
  deps.vmPlacements = &ctx.vmPlacements->store();
  deps.client = ctx.client;
  deps.events = ctx.events;
  deps.clock = ctx.clock;
  deps.localRegion = ctx.localRegion;
  deps.federation = ctx.federation;
  deps.ledger = placementController->placementLedger();
  deps.engine = &placementController->engine();
  deps.workloads = &placementController->workloads();
  auto controller = std::make_shared<controllers::ReservationController>(std::move(deps));
  // The engine lives in the VMPlacement controller: keep it alive as long as this one.
  auto owner = std::shared_ptr<void>(
      std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(controller, placementController));

  const std::string name = controllers::kReservationControllerName;
  auto runner = std::make_unique<kube::Controller>(
      runnerOptions(ctx, name, ctx.config->runtime.vmPlacementWorkers, /*federationSynced=*/true),
      [controller](const std::string& uid, const std::string& reason) { return controller->reconcile(uid, reason); });
  kube::Controller* queue = runner.get();
  auto enqueue = [queue](const std::string& uid, const std::string& reason) { queue->enqueue(uid, reason); };
  ctx.vmPlacements->addHandler(controller->vmPlacementHandler(enqueue));
  ctx.federationEvents->record.push_back([enqueue](const std::string& uid) { enqueue(uid, "placement record changed"); });
  return {name, owner, std::move(runner), [controller, enqueue] {
            for (const std::string& uid : controller->knownUids()) enqueue(uid, "start");
          }};
}

std::vector<ManagedController> setupControllers(const ControllerContext& ctx) {
  std::vector<ManagedController> out;
  if (ctx.federation) {
    ctx.vmPlacements->addIndex(controllers::kVMPlacementsByUid, controllers::vmPlacementsByUid());
    ctx.vmPlacements->addIndex(controllers::kMirrorsByUid, controllers::mirrorsByUid());
  }
  out.push_back(setupRegionController(ctx));
  out.push_back(setupVMPlacementController(ctx));
  if (ctx.federation) out.push_back(setupReservationController(ctx, out.back()));
  return out;
}

}  // namespace dwcp::op
