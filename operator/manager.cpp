#include "operator/manager.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "controllers/cached_types.h"
#include "controllers/health_signals.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/discovery.h"
#include "kube/events.h"
#include "kube/http_transport.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/leader_election.h"
#include "operator/controller_setup.h"
#include "operator/federation_setup.h"
#include "operator/health_server.h"
#include "operator/metrics.h"
#include "operator/routing_api.h"

namespace dwcp::op {

using namespace std::chrono_literals;

struct Manager::State {
  Options options;
  config::Config config;
  kube::Clock& clock = kube::RealClock::instance();
  OperatorMetrics metrics;
  controllers::HealthSignals signals;
  std::shared_ptr<kube::Transport> transport;
  std::unique_ptr<kube::Client> client;       // controllers, events: guarded by the leader elector
  std::unique_ptr<kube::Client> leaseClient;  // the elector's own, unguarded
  std::unique_ptr<RoutingApi> routing;  // outlives the informers, whose handlers point into it
  std::unique_ptr<kube::Informer> regions;
  std::unique_ptr<kube::Informer> vmPlacements;
  std::unique_ptr<kube::EventRecorder> events;
  std::unique_ptr<kube::Discovery> discovery;
  // Federated only: the peers (started by the leader before its controllers), what the
  // controllers read them through, and whom their notices wake.
  std::unique_ptr<federation::FederationNode> node;
  std::unique_ptr<NodeFederation> federation;
  FederationEvents federationEvents;
  uint64_t federationSources = 0;
  std::vector<ManagedController> controllers;  // in start order
  std::unique_ptr<kube::LeaderElector> elector;
  std::atomic<kube::LeaderElector*> guardElector{nullptr};  // set once the elector exists
  std::unique_ptr<HealthServer> health;
  uint64_t watchSources = 0;  // the informers' counter sources in `metrics`
  std::thread controllersThread;
  std::thread probeThread;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool lost = false;
  bool controllersStarted = false;
  bool shutDown = false;

  void startControllers() {
    std::lock_guard lock(mu);
    if (controllersStarted || stopping) return;
    controllersStarted = true;
    metrics.setLeader(true);
    controllersThread = std::thread([this] {
      spdlog::info("starting controllers once caches sync");
      auto fail = [this](const std::string& what) {
        spdlog::error("{}", what);
        std::lock_guard lock(mu);
        lost = true;  // nothing useful can happen: exit and let the restart policy retry
        cv.notify_all();
      };
      // The leader alone speaks for the region: its peers start with its leadership.
      if (node) {
        if (auto started = node->start(); !started.ok()) return fail("federation did not start: " + started.error().message);
        spdlog::info("federation: peers served on {}", options.peerBindAddress);
      }
      for (auto& controller : controllers) {
        if (controller.prepare) controller.prepare();
        if (auto s = controller.runner->run(); !s.ok()) {
          return fail(controller.name + " controller did not start: " + s.error().message);
        }
      }
    });
  }

  void probeLoop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      auto started = std::chrono::steady_clock::now();
      kube::Response r = client->raw({"GET", "/readyz", "", "application/json", {}});
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      signals.recordApiProbe(r.status == 200, seconds);
      if (r.status != 200) spdlog::warn("API server /readyz: {}", r.status == 0 ? r.body : std::to_string(r.status));
      lock.lock();
      cv.wait_for(lock, 10s, [this] { return stopping; });
    }
  }
};

Manager::Manager(Options options, config::Config config) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->config = std::move(config);
}

Manager::~Manager() { shutdown(); }

kube::Status Manager::start() {
  State& s = *state_;
  auto rest = kube::loadDefault(s.options.kubeconfig, s.options.context);
  if (!rest.ok()) return rest.error();
  spdlog::info("dwcp-operator for region {} using {}", s.options.region, rest->redacted());
  auto transport = kube::HttpTransport::create(*rest);
  if (!transport.ok()) return transport.error();
  s.transport = transport.value();
  s.client = std::make_unique<kube::Client>(s.transport);
  if (s.options.leaderElect) {
    // Writes of a replica that is not (or no longer) the leader are refused before they are
    // sent: leadership ends on the local clock at the renew deadline, whatever the lease I/O does.
    s.client->setWriteGuard([&s]() -> kube::Status {
      kube::LeaderElector* elector = s.guardElector.load();
      if (elector && elector->isLeader()) return kube::okStatus();
      return kube::Error{0, "NotLeader", "write refused: this replica is not the leader"};
    });
  }

  // Both caches hold typed objects, decoded once as they arrive (controllers/cached_types.h),
  // and start from the streaming list where the API server offers it (a paged LIST otherwise).
  kube::ReflectorOptions reflectorOptions;
  reflectorOptions.streamingList = true;
  s.regions = std::make_unique<kube::Informer>(*s.client, api::kRegionResource, s.clock, reflectorOptions,
                                               controllers::regionDecoder());
  s.vmPlacements = std::make_unique<kube::Informer>(*s.client, api::kVMPlacementResource, s.clock,
                                                    reflectorOptions, controllers::vmPlacementDecoder());

  kube::EventRecorderConfig eventConfig;
  eventConfig.reportingController = "federation.dwcp.io/dwcp-operator";
  eventConfig.reportingInstance = "dwcp-operator-" + s.options.region;
  s.events = std::make_unique<kube::EventRecorder>(*s.client, s.clock, eventConfig);

  s.discovery = std::make_unique<kube::Discovery>(*s.client, s.clock);
  ControllerContext context{s.client.get(), s.regions.get(), s.vmPlacements.get(), s.events.get(), s.discovery.get(),
                            &s.clock,       s.options.region, &s.config,          &s.metrics,    &s.signals};
  if (s.options.federated()) {
    auto node = makeFederationNode(s.options, s.config);
    if (!node.ok()) return node.error();
    s.node = std::move(node).value();
    s.federation = std::make_unique<NodeFederation>(*s.node);
    context.federation = s.federation.get();
    context.federationEvents = &s.federationEvents;
    federation::FederationNode* nodePtr = s.node.get();
    context.federationSynced = [nodePtr] { return nodePtr->initialSyncDone(); };
    // What this region's heartbeats say: its Region's status as its controller last wrote it.
    const kube::Store* regionStore = &s.regions->store();
    const std::string local = s.options.region;
    s.node->setLocalState([regionStore, local] {
      api::Heartbeat heartbeat;
      if (auto object = regionStore->get(local)) {
        if (const api::Region* region = controllers::asRegion(*object)) {
          heartbeat.phase = region->status.phase.value_or(api::RegionPhase::kUnknown);
          heartbeat.healthScore = region->status.healthScore.value_or(0);
          heartbeat.allocated = region->status.allocated.value_or(api::RegionResources{});
          if (!heartbeat.allocated.vms) heartbeat.allocated.vms = 0;
          heartbeat.epoch = region->status.epoch.value_or(0);
        }
      }
      return heartbeat;
    });
    // The peers are the Regions every cluster holds, followed as they change.
    auto followRegions = [nodePtr, regionStore] {
      std::vector<federation::RegionPeer> peers;
      for (const auto& object : regionStore->list()) {
        if (const api::Region* region = controllers::asRegion(*object)) {
          peers.push_back({region->metadata.name, region->spec.endpoint});
        }
      }
      nodePtr->setRegions(peers);
    };
    kube::EventHandler regionsToPeers;
    regionsToPeers.onAdd = [followRegions](const kube::CachedObject&) { followRegions(); };
    regionsToPeers.onUpdate = [followRegions](const kube::CachedObject& before, const kube::CachedObject& after) {
      if (before.generation() != after.generation()) followRegions();
    };
    regionsToPeers.onDelete = [followRegions](const kube::CachedObject&) { followRegions(); };
    s.regions->addHandler(std::move(regionsToPeers));
    spdlog::info("federation on: peers on {} (mutual TLS with {})", s.options.peerBindAddress, s.options.peerCa);
  } else {
    spdlog::info("federation off (no --peer-tls-* flags): remote regions stay Unknown and VMs are placed from this "
                 "cluster's view alone");
  }
  s.controllers = setupControllers(context);
  if (s.node) {
    connectEvents(*s.node, s.federationEvents);
    s.federationSources = s.metrics.addCounterSources(federationMetrics(*s.node));
  }

  std::vector<CounterSource> sources;
  for (kube::Informer* informer : {s.regions.get(), s.vmPlacements.get()}) {
    const std::string resource = informer->type().resource;
    sources.push_back({"dwcp_watch_restarts_total", "Watches restarted after the first, per resource.",
                       {{"resource", resource}}, [informer] { return double(informer->reflector().watchRestarts()); }});
    sources.push_back({"dwcp_watch_relists_total", "Full relists after the first list, per resource.",
                       {{"resource", resource}}, [informer] { return double(informer->reflector().relists()); }});
    sources.push_back({"dwcp_watch_events_total", "Watch events received, per resource.",
                       {{"resource", resource}}, [informer] { return double(informer->reflector().events()); }});
  }
  s.watchSources = s.metrics.addCounterSources(std::move(sources));
  s.metrics.setLeader(false);

  if (s.options.metricsBindAddress != "0") {
    auto port = s.metrics.serve(s.options.metricsBindAddress);
    if (!port.ok()) return port.error();
    spdlog::info("serving metrics on {}", s.options.metricsBindAddress);
  }
  std::vector<HealthCheck> liveness = {{"ping", [] { return kube::okStatus(); }}};
  if (s.options.leaderElect) {
    // The elector is created below, after the probes start; until then nothing can be stuck.
    liveness.push_back({"leader-election", [&s]() -> kube::Status {
                          return s.elector ? s.elector->checkProgress() : kube::okStatus();
                        }});
  }
  std::vector<HealthCheck> readiness = {
      {"informers-synced", [&s]() -> kube::Status {
         if (s.regions->hasSynced() && s.vmPlacements->hasSynced()) return kube::okStatus();
         return kube::Error{0, "NotSynced", "Region and VMPlacement caches not synced yet"};
       }}};
  if (s.options.healthProbeBindAddress != "0") {
    s.health = std::make_unique<HealthServer>(std::move(liveness), std::move(readiness));
    auto port = s.health->start(s.options.healthProbeBindAddress);
    if (!port.ok()) return port.error();
    spdlog::info("serving health probes on {}", s.options.healthProbeBindAddress);
  }
  // The routing API serves on every replica: it reads the Region cache, never writes. Until the
  // cache has synced its table is empty and POST /v1/route answers 503.
  if (s.options.routingBindAddress != "0") {
    s.routing = std::make_unique<RoutingApi>(s.config.routing);
    s.regions->addHandler(s.routing->regionHandler(s.regions->store()));
    auto port = s.routing->start(s.options.routingBindAddress);
    if (!port.ok()) return port.error();
    spdlog::info("serving the routing API on {}", s.options.routingBindAddress);
  }

  s.events->start();
  s.regions->start();
  s.vmPlacements->start();
  s.probeThread = std::thread([&s] { s.probeLoop(); });

  if (!s.options.leaderElect) {
    s.startControllers();
    return kube::okStatus();
  }
  kube::LeaderElectionConfig le;
  le.leaseNamespace = s.options.leaderElectionNamespace.empty() ? s.config.runtime.leaseNamespace
                                                                : s.options.leaderElectionNamespace;
  le.leaseName = (s.options.leaderElectionId.empty() ? s.config.runtime.leaseName : s.options.leaderElectionId);
  kube::LeaderCallbacks callbacks;
  callbacks.onStartedLeading = [&s] {
    spdlog::info("became leader");
    s.startControllers();
  };
  callbacks.onStoppedLeading = [&s] {
    std::lock_guard lock(s.mu);
    s.metrics.setLeader(false);
    if (!s.stopping && s.controllersStarted) {
      spdlog::error("stopped leading");
      s.lost = true;
      s.cv.notify_all();
    }
  };
  callbacks.onNewLeader = [](const std::string& id) { spdlog::info("leader is now {}", id.empty() ? "(none)" : id); };
  s.leaseClient = std::make_unique<kube::Client>(s.transport);
  auto elector = kube::LeaderElector::create(*s.leaseClient, s.clock, le, callbacks);
  if (!elector.ok()) return elector.error();
  s.elector = std::move(elector.value());
  s.guardElector = s.elector.get();
  spdlog::info("leader election on Lease {}/{} as {}", le.leaseNamespace, le.leaseName, s.elector->identity());
  s.elector->start();
  return kube::okStatus();
}

void Manager::waitUntil(const std::atomic<bool>& stop) {
  std::unique_lock lock(state_->mu);
  while (!stop && !state_->lost) state_->cv.wait_for(lock, 100ms);
}

void Manager::shutdown() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mu);
    if (s.shutDown) return;
    s.shutDown = true;
    s.stopping = true;
    s.cv.notify_all();
  }
  // Stop taking work and let in-flight reconciles finish, then hand the lease over.
  for (auto it = s.controllers.rbegin(); it != s.controllers.rend(); ++it) it->runner->stop();
  if (s.controllersThread.joinable()) s.controllersThread.join();
  if (s.elector) s.elector->stop();
  // The peers go with the controllers that wrote through them.
  if (s.node) {
    s.metrics.removeCounterSources(s.federationSources);
    s.node->stop();
  }
  // Routing requests in progress finish before the cache that feeds the table stops.
  if (s.routing) s.routing->stop();
  // No scrape reads the informers once they stop (and later are destroyed before the metrics).
  s.metrics.removeCounterSources(s.watchSources);
  if (s.regions) s.regions->stop();
  if (s.vmPlacements) s.vmPlacements->stop();
  if (s.probeThread.joinable()) s.probeThread.join();
  if (s.events) s.events->stop();
  if (s.health) s.health->stop();
}

}  // namespace dwcp::op
