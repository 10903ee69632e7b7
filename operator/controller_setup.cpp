#include "operator/controller_setup.h"

#include "controllers/region_controller.h"
#include "controllers/vmplacement_controller.h"

namespace dwcp::op {

namespace {

// The runner's options every controller shares: workers, cache sync, queue and reconcile metrics,
// and the reconcile outcomes the Region health score counts.
kube::ControllerOptions runnerOptions(const ControllerContext& ctx, const std::string& name, int workers) {
  kube::ControllerOptions options;
  options.name = name;
  options.workers = workers;
  kube::Informer* regions = ctx.regions;
  kube::Informer* vms = ctx.vmPlacements;
  options.hasSynced = {[regions] { return regions->hasSynced(); }, [vms] { return vms->hasSynced(); }};
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
  auto controller = std::make_shared<controllers::VMPlacementController>(std::move(deps));

  const std::string name = controllers::kVMPlacementControllerName;
  auto runner = std::make_unique<kube::Controller>(
      runnerOptions(ctx, name, ctx.config->runtime.vmPlacementWorkers),
      [controller](const std::string& key, const std::string& reason) { return controller->reconcile(key, reason); });
  kube::Controller* queue = runner.get();
  auto enqueue = [queue](const std::string& key, const std::string& reason) { queue->enqueue(key, reason); };
  ctx.vmPlacements->addHandler(controller->vmPlacementHandler(enqueue));
  ctx.regions->addHandler(controller->regionHandler(enqueue));
  // The placement ledger is loaded from the synced cache before the first placement.
  return {name, controller, std::move(runner), [controller] { controller->seedLedger(); }};
}

std::vector<ManagedController> setupControllers(const ControllerContext& ctx) {
  std::vector<ManagedController> out;
  out.push_back(setupRegionController(ctx));
  out.push_back(setupVMPlacementController(ctx));
  return out;
}

}  // namespace dwcp::op
