#include "config/config.h"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/duration.h"
#include "routingapi/request_source.h"
#include "routingapi/routing_service.h"

namespace dwcp::config {

namespace {

Error invalid(const std::string& source, const std::string& path, const std::string& message) {
  return Error{source + ": " + path + ": " + message};
}

// Walks a YAML mapping, rejecting keys the schema does not know and converting values with
// errors that carry the key path.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::string source)
      : node_(node), path_(std::move(path)), source_(std::move(source)) {}

  std::optional<Error> checkKeys(const std::set<std::string>& known) const {
    if (!node_ || node_.IsNull()) return std::nullopt;
    if (!node_.IsMap()) return invalid(source_, display(), "must be a mapping");
    for (const auto& kv : node_) {
      std::string key = kv.first.as<std::string>("");
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return invalid(source_, child(key), "unknown key (known: " + list + ")");
      }
    }
    return std::nullopt;
  }

  Section sub(const std::string& key) const {
    return Section(node_ && node_.IsMap() ? node_[key] : YAML::Node(), child(key), source_);
  }
  bool has(const std::string& key) const { return node_ && node_.IsMap() && node_[key]; }
  const YAML::Node& node() const { return node_; }
  std::string child(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  std::string display() const { return path_.empty() ? "(root)" : path_; }
  const std::string& source() const { return source_; }

  std::optional<Error> getBool(const std::string& key, bool& out) const {
    if (!has(key)) return std::nullopt;
    YAML::Node v = node_[key];
    bool value;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, value)) {
      return invalid(source_, child(key), "must be true or false");
    }
    out = value;
    return std::nullopt;
  }

  std::optional<Error> getNumber(const std::string& key, double& out, double min, double max) const {
    if (!has(key)) return std::nullopt;
    YAML::Node v = node_[key];
    double value;
    if (!v.IsScalar() || !YAML::convert<double>::decode(v, value) || std::isnan(value)) {
      return invalid(source_, child(key), "must be a number");
    }
    if (value < min || value > max) {
      std::ostringstream msg;
      msg << "must be between " << min << " and " << max << ", got " << value;
      return invalid(source_, child(key), msg.str());
    }
    out = value;
    return std::nullopt;
  }

  std::optional<Error> getInt(const std::string& key, int& out, int min, int max) const {
    double value = out;
    if (auto e = getNumber(key, value, min, max)) return e;
    if (value != std::floor(value)) return invalid(source_, child(key), "must be an integer");
    out = static_cast<int>(value);
    return std::nullopt;
  }

  std::optional<Error> getString(const std::string& key, std::string& out,
                                 const std::vector<std::string>& allowed = {}) const {
    if (!has(key)) return std::nullopt;
    YAML::Node v = node_[key];
    if (!v.IsScalar()) return invalid(source_, child(key), "must be a string");
    std::string value = v.as<std::string>();
    if (!allowed.empty()) {
      bool found = false;
      std::string list;
      for (const auto& a : allowed) {
        found = found || a == value;
        list += (list.empty() ? "" : ", ") + a;
      }
      if (!found) return invalid(source_, child(key), "must be one of " + list + ", got \"" + value + "\"");
    }
    out = value;
    return std::nullopt;
  }

  std::optional<Error> getDuration(const std::string& key, std::chrono::milliseconds& out) const {
    std::string text;
    if (auto e = getString(key, text)) return e;
    if (!has(key)) return std::nullopt;
    auto d = parseDuration(text);
    if (!d.ok()) return invalid(source_, child(key), d.error().message);
    if (d->count() <= 0) return invalid(source_, child(key), "must be positive");
    out = *d;
    return std::nullopt;
  }
  // A duration that may be 0 ("0s") and is at most `max`.
  std::optional<Error> getDurationUpTo(const std::string& key, std::chrono::milliseconds max,
                                       std::chrono::milliseconds& out) const {
    std::string text;
    if (auto e = getString(key, text)) return e;
    if (!has(key)) return std::nullopt;
    auto d = parseDuration(text);
    if (!d.ok()) return invalid(source_, child(key), d.error().message);
    if (d->count() < 0 || *d > max) {
      return invalid(source_, child(key), "must be within [0s, " + std::to_string(max.count()) + "ms], got " + text);
    }
    out = *d;
    return std::nullopt;
  }

 private:
  YAML::Node node_;
  std::string path_;
  std::string source_;
};

#define DWCP_TRY(expr)                  \
  do {                                  \
    if (auto dwcpErr_ = (expr)) return *dwcpErr_; \
  } while (0)

const std::vector<std::string> kPlacementAlgorithms = {"hybrid", "latency", "cost", "balanced", "geo-proximity"};
const std::vector<std::string> kRoutingAlgorithms = {"hybrid", "latency", "cost", "load-balanced", "geo-proximity"};

std::optional<Error> parseFederation(const Section& s, Config& c) {
  DWCP_TRY(s.checkKeys({"region_defaults", "regions", "placement", "failover", "heartbeat_interval", "suspect_after",
                        "reservation_timeout"}));
  DWCP_TRY(s.getDuration("heartbeat_interval", c.peers.heartbeatInterval));
  DWCP_TRY(s.getInt("suspect_after", c.peers.suspectAfterHeartbeats, 1, 100));
  DWCP_TRY(s.getDuration("reservation_timeout", c.peers.reservationTimeout));
  if (c.peers.heartbeatInterval < std::chrono::milliseconds(50) || c.peers.heartbeatInterval > std::chrono::minutes(1)) {
    return invalid(s.source(), s.child("heartbeat_interval"), "must be between 50ms and 1m");
  }
  Section d = s.sub("region_defaults");
  DWCP_TRY(d.checkKeys({"priority", "enabled"}));
  DWCP_TRY(d.getInt("priority", c.regionDefaults.priority, 0, 100));
  DWCP_TRY(d.getBool("enabled", c.regionDefaults.enabled));

  Section regions = s.sub("regions");
  if (regions.node() && !regions.node().IsNull()) {
    if (!regions.node().IsSequence()) return invalid("", regions.display(), "must be a list");
  }
  std::set<std::string> ids;
  for (size_t i = 0; regions.node() && regions.node().IsSequence() && i < regions.node().size(); ++i) {
    Section r(regions.node()[i], regions.display() + "[" + std::to_string(i) + "]", "");
    DWCP_TRY(r.checkKeys({"id", "name", "cloud_provider", "capacity", "priority", "enabled"}));
    ConfigRegion region;
    region.priority = c.regionDefaults.priority;
    region.enabled = c.regionDefaults.enabled;
    DWCP_TRY(r.getString("id", region.id));
    if (region.id.empty()) return invalid("", r.child("id"), "is required");
    if (!ids.insert(region.id).second) return invalid("", r.child("id"), "duplicate region id \"" + region.id + "\"");
    DWCP_TRY(r.getString("name", region.name));
    DWCP_TRY(r.getString("cloud_provider", region.cloudProvider));
    Section cap = r.sub("capacity");
    DWCP_TRY(cap.checkKeys({"total_cpu", "total_memory"}));
    DWCP_TRY(cap.getNumber("total_cpu", region.totalCpu, 0, 1e9));
    DWCP_TRY(cap.getNumber("total_memory", region.totalMemoryMiB, 0, 1e12));
    DWCP_TRY(r.getInt("priority", region.priority, 0, 100));
    DWCP_TRY(r.getBool("enabled", region.enabled));
    c.regions.push_back(region);
  }

  Section p = s.sub("placement");
  DWCP_TRY(p.checkKeys({"algorithm", "enable_preemption", "max_concurrent_migrations", "weights", "workload_kinds"}));
  DWCP_TRY(p.getString("algorithm", c.placement.algorithm, kPlacementAlgorithms));
  DWCP_TRY(p.getBool("enable_preemption", c.placement.enablePreemption));
  DWCP_TRY(p.getInt("max_concurrent_migrations", c.placement.maxConcurrentMigrations, 1, 10000));
  Section w = p.sub("weights");
  DWCP_TRY(w.checkKeys({"latency", "cost", "capacity", "health", "priority", "spread"}));
  auto& wt = c.placement.weights;
  DWCP_TRY(w.getNumber("latency", wt.latency, 0, 1000));
  DWCP_TRY(w.getNumber("cost", wt.cost, 0, 1000));
  DWCP_TRY(w.getNumber("capacity", wt.capacity, 0, 1000));
  DWCP_TRY(w.getNumber("health", wt.health, 0, 1000));
  DWCP_TRY(w.getNumber("priority", wt.priority, 0, 1000));
  DWCP_TRY(w.getNumber("spread", wt.spread, 0, 1000));
  if (wt.latency + wt.cost + wt.capacity + wt.health + wt.priority + wt.spread <= 0) {
    return invalid("", w.display(), "at least one weight must be positive");
  }
  if (p.has("workload_kinds")) {
    Section kinds = p.sub("workload_kinds");
    if (!kinds.node().IsSequence()) return invalid("", kinds.display(), "must be a list of {api_version, kind}");
    std::vector<WorkloadKindConfig> list;
    for (size_t i = 0; i < kinds.node().size(); ++i) {
      Section k(kinds.node()[i], kinds.display() + "[" + std::to_string(i) + "]", "");
      DWCP_TRY(k.checkKeys({"api_version", "kind"}));
      WorkloadKindConfig kind;
      DWCP_TRY(k.getString("api_version", kind.apiVersion));
      DWCP_TRY(k.getString("kind", kind.kind));
      const auto slash = kind.apiVersion.find('/');
      if (kind.apiVersion.empty()) return invalid("", k.child("api_version"), "is required");
      if (slash == 0 || slash + 1 == kind.apiVersion.size() ||
          (slash != std::string::npos && kind.apiVersion.find('/', slash + 1) != std::string::npos)) {
        return invalid("", k.child("api_version"), "must be VERSION or GROUP/VERSION, got \"" + kind.apiVersion + "\"");
      }
      if (kind.kind.empty()) return invalid("", k.child("kind"), "is required");
      for (const auto& seen : list) {
        if (seen.apiVersion == kind.apiVersion && seen.kind == kind.kind) {
          return invalid("", k.display(), "duplicate " + kind.apiVersion + " " + kind.kind);
        }
      }
      list.push_back(kind);
    }
    c.placement.workloadKinds = std::move(list);
  }

  Section f = s.sub("failover");
  DWCP_TRY(f.checkKeys({"auto_failover", "failover_threshold", "max_failover_time"}));
  DWCP_TRY(f.getBool("auto_failover", c.failover.autoFailover));
  DWCP_TRY(f.getNumber("failover_threshold", c.failover.failoverThreshold, 0, 100));
  DWCP_TRY(f.getDuration("max_failover_time", c.failover.maxFailoverTime));
  return std::nullopt;
}

std::optional<Error> parseRouting(const Section& s, Config& c) {
  DWCP_TRY(s.checkKeys({"global", "ddos_protection"}));
  routingapi::RoutingServiceOptions& service = c.routing.service;
  Section g = s.sub("global");
  DWCP_TRY(g.checkKeys({"algorithm", "enable_ddos_protection", "enable_traffic_shaping"}));
  if (g.has("algorithm")) {
    std::string algorithm;
    DWCP_TRY(g.getString("algorithm", algorithm, kRoutingAlgorithms));
    c.routing.algorithm = routing::parseAlgorithm(algorithm);
  }
  DWCP_TRY(g.getBool("enable_ddos_protection", service.ddosProtection));
  DWCP_TRY(g.getBool("enable_traffic_shaping", service.trafficShaping));
  Section d = s.sub("ddos_protection");
  DWCP_TRY(d.checkKeys({"thresholds", "blacklist_duration", "trusted_proxies"}));
  Section t = d.sub("thresholds");
  DWCP_TRY(t.checkKeys({"max_requests_per_sec", "max_bytes_per_sec"}));
  DWCP_TRY(t.getNumber("max_requests_per_sec", service.rateLimiter.maxRequestsPerSec, 1, 1e9));
  DWCP_TRY(t.getNumber("max_bytes_per_sec", service.rateLimiter.maxBytesPerSec, 1, 1e15));
  if (d.has("blacklist_duration")) {
    std::chrono::milliseconds blacklist{0};
    DWCP_TRY(d.getDuration("blacklist_duration", blacklist));
    if (blacklist < std::chrono::seconds(1) || blacklist > std::chrono::days(365)) {
      return invalid("", d.child("blacklist_duration"), "must be between 1s and 365d");
    }
    service.rateLimiter.blacklistDuration = std::chrono::ceil<std::chrono::seconds>(blacklist);
  }
  Section proxies = d.sub("trusted_proxies");
  if (proxies.node() && !proxies.node().IsNull()) {
    if (!proxies.node().IsSequence()) return invalid("", proxies.display(), "must be a list of IP addresses or CIDRs");
    std::vector<std::string> entries;
    for (size_t i = 0; i < proxies.node().size(); ++i) {
      const std::string entry = proxies.display() + "[" + std::to_string(i) + "]";
      if (!proxies.node()[i].IsScalar()) return invalid("", entry, "must be a string");
      entries.push_back(proxies.node()[i].as<std::string>());
    }
    auto parsed = routingapi::TrustedProxies::parse(entries);
    if (!parsed.ok()) return invalid("", proxies.display() + parsed.error().field, parsed.error().message);
    service.trustedProxies = std::move(*parsed);
  }
  // What the routing API and its engine check of their own options, named under routing.
  if (auto valid = routingapi::validate(service); !valid.ok()) {
    return invalid("", s.child(valid.error().field), valid.error().message);
  }
  if (auto valid = routing::validate(c.routing.routerConfig()); !valid.ok()) {
    return invalid("", s.child(valid.error().field), valid.error().message);
  }
  return std::nullopt;
}

std::optional<Error> parseMonitoring(const Section& s, Config& c) {
  DWCP_TRY(s.checkKeys({"interval", "enable_tracing", "trace_retention", "sla_definitions"}));
  DWCP_TRY(s.getDuration("interval", c.monitoring.interval));
  DWCP_TRY(s.getBool("enable_tracing", c.monitoring.enableTracing));
  DWCP_TRY(s.getDuration("trace_retention", c.monitoring.traceRetention));
  Section list = s.sub("sla_definitions");
  if (list.node() && !list.node().IsNull() && !list.node().IsSequence()) {
    return invalid("", list.display(), "must be a list");
  }
  std::set<std::string> ids;
  for (size_t i = 0; list.node() && list.node().IsSequence() && i < list.node().size(); ++i) {
    Section d(list.node()[i], list.display() + "[" + std::to_string(i) + "]", "");
    DWCP_TRY(d.checkKeys({"id", "name", "metric", "target", "operator", "compliance", "severity"}));
    SlaDefinition sla;
    DWCP_TRY(d.getString("id", sla.id));
    if (sla.id.empty()) return invalid("", d.child("id"), "is required");
    if (!ids.insert(sla.id).second) return invalid("", d.child("id"), "duplicate SLA id \"" + sla.id + "\"");
    DWCP_TRY(d.getString("name", sla.name));
    DWCP_TRY(d.getString("metric", sla.metric));
    if (sla.metric.empty()) return invalid("", d.child("metric"), "is required");
    if (!d.has("target")) return invalid("", d.child("target"), "is required");
    DWCP_TRY(d.getNumber("target", sla.target, 0, 1e15));
    DWCP_TRY(d.getString("operator", sla.op, {"less_than", "greater_than"}));
    DWCP_TRY(d.getNumber("compliance", sla.compliance, 0, 100));
    DWCP_TRY(d.getString("severity", sla.severity, {"low", "medium", "high", "critical"}));
    c.monitoring.slaDefinitions.push_back(sla);
  }
  return std::nullopt;
}

std::optional<Error> parseRoot(const Section& root, Config& c) {
  DWCP_TRY(root.checkKeys({"federation", "routing", "monitoring", "state", "runtime"}));
  DWCP_TRY(parseFederation(root.sub("federation"), c));
  DWCP_TRY(parseRouting(root.sub("routing"), c));
  DWCP_TRY(parseMonitoring(root.sub("monitoring"), c));
  Section st = root.sub("state");
  DWCP_TRY(st.checkKeys({"consistency", "replication_workers", "compression"}));
  DWCP_TRY(st.getString("consistency", c.state.consistency, {"eventual", "local", "quorum", "strong"}));
  DWCP_TRY(st.getInt("replication_workers", c.state.replicationWorkers, 1, 256));
  DWCP_TRY(st.getBool("compression", c.state.compression));
  Section rt = root.sub("runtime");
  DWCP_TRY(rt.checkKeys(
      {"region_workers", "vmplacement_workers", "region_status_interval", "lease_namespace", "lease_name"}));
  DWCP_TRY(rt.getInt("region_workers", c.runtime.regionWorkers, 1, 64));
  DWCP_TRY(rt.getDurationUpTo("region_status_interval", std::chrono::minutes(1), c.runtime.regionStatusInterval));
  DWCP_TRY(rt.getInt("vmplacement_workers", c.runtime.vmPlacementWorkers, 1, 64));
  DWCP_TRY(rt.getString("lease_namespace", c.runtime.leaseNamespace));
  DWCP_TRY(rt.getString("lease_name", c.runtime.leaseName));
  return std::nullopt;
}

}  // namespace

routing::RouterConfig RoutingConfig::routerConfig() const {
  routing::RouterConfig config;
  if (algorithm) {
    for (auto& policy : config.classes) policy.algorithm = *algorithm;
  }
  return config;
}

Result<std::chrono::milliseconds> parseDuration(const std::string& text) {
  std::string why;
  if (auto d = base::parseDuration(text, &why)) return *d;
  return Error{"invalid duration \"" + text + "\": " + why + " (e.g. 500ms, 5s, 10m, 1h, 7d)"};
}

Result<Config> parseConfig(const std::string& yamlText, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yamlText);
  } catch (const YAML::Exception& e) {
    return Error{source + ": not valid YAML: " + e.what()};
  }
  Config config;
  Section section(root, "", source);
  if (auto error = parseRoot(section, config)) {
    // Sub-sections are built without the source name; add it once here.
    if (error->message.rfind(source + ": ", 0) != 0) error->message = source + error->message;
    return *error;
  }
  return config;
}

Result<Config> loadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"config file " + path + ": cannot be read"};
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parseConfig(buffer.str(), path);
}

}  // namespace dwcp::config
