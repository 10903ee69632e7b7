// The DWCP YAML configuration, parsed once for every program that reads it (dwcp-operator,
// dwcp-router): the sections of the DWCP configuration files (federation regions defaults,
// placement, failover, routing, ddos protection, monitoring) plus the operator's own runtime
// knobs, as typed options. loadConfig() validates everything once; an error names the key path
// ("placement.algorithm: must be one of hybrid, latency, cost, balanced, geo-proximity").
// Unknown keys are errors, so a typo never silently falls back to a default.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engines/routing/router.h"
#include "engines/routing/types.h"
#include "routingapi/routing_service.h"

namespace dwcp::config {

// What is wrong, starting with the file and the key path.
struct Error {
  std::string message;
};
template <class T>
using Result = base::Result<T, Error>;

struct RegionDefaults {
  int priority = 50;
  bool enabled = true;
};

// A region listed in the config file (the DWCP `regions[]`). Region custom resources are the
// truth in a cluster; these entries only seed defaults and are checked for consistency.
struct ConfigRegion {
  std::string id;
  std::string name;
  std::string cloudProvider;
  double totalCpu = 0;
  double totalMemoryMiB = 0;
  int priority = 50;
  bool enabled = true;
};

struct PlacementWeights {
  double latency = 0.30;
  double cost = 0.20;
  double capacity = 0.20;
  double health = 0.20;
  double priority = 0.10;
  double spread = 0.10;  // VMs of one spreadGroup prefer distinct regions
};

// A kind spec.template may be (federation.placement.workload_kinds[]).
struct WorkloadKindConfig {
  std::string apiVersion;
  std::string kind;
};

struct PlacementConfig {
  std::string algorithm = "hybrid";
  bool enablePreemption = true;
  int maxConcurrentMigrations = 5;
  PlacementWeights weights;
  // Unset: the VMPlacement controller's default (KubeVirt VirtualMachine, ConfigMap, Deployment,
  // StatefulSet). Empty: no template is materialized.
  std::optional<std::vector<WorkloadKindConfig>> workloadKinds;
};

// The federation's peers (federation.heartbeat_interval, suspect_after, reservation_timeout).
struct PeersConfig {
  std::chrono::milliseconds heartbeatInterval{500};
  int suspectAfterHeartbeats = 3;  // a region not heard from for this many heartbeats is suspected
  // A reservation another region has not answered for this long is reported in the VM's status.
  std::chrono::milliseconds reservationTimeout{10'000};
};

struct FailoverConfig {
  bool autoFailover = true;
  double failoverThreshold = 70.0;  // health score below which a region is suspected
  std::chrono::milliseconds maxFailoverTime{30000};
};

// The `routing:` section, typed as the routing API and its engine take it; the operator and
// dwcp-router read it from the same file with this one parser.
struct RoutingConfig {
  // routing.global.algorithm: when set, every traffic class's algorithm; unset, each class keeps
  // its own default (realtime latency, interactive and standard hybrid, bulk cost).
  std::optional<routing::Algorithm> algorithm;
  // routing.global.enable_ddos_protection / enable_traffic_shaping, routing.ddos_protection.*
  routingapi::RoutingServiceOptions service;

  // The engine's options: defaults with `algorithm` applied.
  routing::RouterConfig routerConfig() const;
};

struct SlaDefinition {
  std::string id;
  std::string name;
  std::string metric;
  double target = 0;
  std::string op = "less_than";
  double compliance = 99.9;
  std::string severity = "high";
};

struct MonitoringConfig {
  std::chrono::milliseconds interval{10000};
  bool enableTracing = true;
  std::chrono::milliseconds traceRetention{7LL * 24 * 3600 * 1000};
  std::vector<SlaDefinition> slaDefinitions;
};

struct StateConfig {
  std::string consistency = "quorum";  // eventual, local, quorum, strong
  int replicationWorkers = 4;
  bool compression = false;
};

struct RuntimeConfig {
  int regionWorkers = 2;
  int vmPlacementWorkers = 16;  // reconciles wait on the API server, not the CPU
  // VMPlacement changes reach a Region's status.allocated/available in one write per region per
  // interval instead of one per change (0s: at each change). Placement itself never reads them:
  // the controller keeps its own ledger.
  std::chrono::milliseconds regionStatusInterval{500};
  std::string leaseNamespace = "dwcp-system";
  std::string leaseName = "dwcp-operator-leader";
};

struct Config {
  RegionDefaults regionDefaults;
  std::vector<ConfigRegion> regions;
  PlacementConfig placement;
  PeersConfig peers;
  FailoverConfig failover;
  RoutingConfig routing;
  MonitoringConfig monitoring;
  StateConfig state;
  RuntimeConfig runtime;
};

// Parses YAML text (the whole file). `source` names the file in error messages.
Result<Config> parseConfig(const std::string& yamlText, const std::string& source = "config");
// Reads and parses a file; an unreadable file is an error naming it.
Result<Config> loadConfig(const std::string& path);

// Parses "500ms", "5s", "10m", "1h", "7d" (and combinations such as "1h30m").
Result<std::chrono::milliseconds> parseDuration(const std::string& text);

}  // namespace dwcp::config
