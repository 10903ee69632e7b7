#include "api/slapolicy.h"

#include "api/decode.h"
#include "base/duration.h"
#include "api/groupversion.h"

namespace dwcp::api {
namespace {

constexpr std::pair<SLAMetric, std::string_view> kMetricNames[] = {
    {SLAMetric::kP99Latency, "p99_latency"},
    {SLAMetric::kPlacementLatencyP99, "placement_latency_p99"},
    {SLAMetric::kStateSyncLatencyP99, "state_sync_latency_p99"},
    {SLAMetric::kRoutingDecisionLatencyP99, "routing_decision_latency_p99"},
    {SLAMetric::kFailoverDuration, "failover_duration"},
    {SLAMetric::kMigrationDowntime, "migration_downtime"},
    {SLAMetric::kReplicationLag, "replication_lag"},
    {SLAMetric::kAvailability, "availability"},
    {SLAMetric::kRegionHealth, "region_health"},
    {SLAMetric::kStateConsistency, "state_consistency"},
};

constexpr std::pair<SLAOperator, std::string_view> kOperatorNames[] = {
    {SLAOperator::kLessThan, "less_than"},
    {SLAOperator::kGreaterThan, "greater_than"},
};

constexpr std::pair<Severity, std::string_view> kSeverityNames[] = {
    {Severity::kLow, "low"},
    {Severity::kMedium, "medium"},
    {Severity::kHigh, "high"},
    {Severity::kCritical, "critical"},
};

constexpr std::pair<SLAState, std::string_view> kStateNames[] = {
    {SLAState::kCompliant, "Compliant"},
    {SLAState::kAtRisk, "AtRisk"},
    {SLAState::kViolated, "Violated"},
};

bool isHttpUrl(const std::string& text) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (text.rfind(scheme, 0) != 0) continue;
    const size_t hostEnd = text.find_first_of(":/?#", scheme.size());
    return (hostEnd == std::string::npos ? text.size() : hostEnd) > scheme.size();
  }
  return false;
}

json toJson(const Incident& incident) {
  json j{{"id", incident.id}, {"openedAt", formatTime(incident.openedAt)}};
  detail::putOptional(j, "region", incident.region);
  if (incident.severity) j["severity"] = std::string(toString(*incident.severity));
  detail::putTime(j, "resolvedAt", incident.resolvedAt);
  detail::putOptional(j, "message", incident.message);
  return j;
}

json toJson(const std::vector<Incident>& incidents) {
  json j = json::array();
  for (const auto& incident : incidents) j.push_back(toJson(incident));
  return j;
}

}  // namespace

std::string_view toString(SLAMetric metric) { return detail::enumName(metric, kMetricNames); }
std::optional<SLAMetric> parseSLAMetric(std::string_view text) { return detail::enumValue(text, kMetricNames); }
std::string_view toString(SLAOperator op) { return detail::enumName(op, kOperatorNames); }
std::optional<SLAOperator> parseSLAOperator(std::string_view text) {
  return detail::enumValue(text, kOperatorNames);
}
std::string_view toString(Severity severity) { return detail::enumName(severity, kSeverityNames); }
std::optional<Severity> parseSeverity(std::string_view text) { return detail::enumValue(text, kSeverityNames); }
std::string_view toString(SLAState state) { return detail::enumName(state, kStateNames); }
std::optional<SLAState> parseSLAState(std::string_view text) { return detail::enumValue(text, kStateNames); }

bool isLatencyMetric(SLAMetric metric) {
  switch (metric) {
    case SLAMetric::kP99Latency:
    case SLAMetric::kPlacementLatencyP99:
    case SLAMetric::kStateSyncLatencyP99:
    case SLAMetric::kRoutingDecisionLatencyP99:
    case SLAMetric::kFailoverDuration:
    case SLAMetric::kMigrationDowntime:
    case SLAMetric::kReplicationLag:
      return true;
    case SLAMetric::kAvailability:
    case SLAMetric::kRegionHealth:
    case SLAMetric::kStateConsistency:
      return false;
  }
  return false;
}

bool isPercentMetric(SLAMetric metric) { return !isLatencyMetric(metric); }

namespace detail {

static void read(Decoder& d, const json& j, const std::string& path, SLAMetric& out) {
  readEnum(d, j, path, out, kMetricNames);
}
static void read(Decoder& d, const json& j, const std::string& path, SLAOperator& out) {
  readEnum(d, j, path, out, kOperatorNames);
}
static void read(Decoder& d, const json& j, const std::string& path, Severity& out) {
  readEnum(d, j, path, out, kSeverityNames);
}
static void read(Decoder& d, const json& j, const std::string& path, SLAState& out) {
  readEnum(d, j, path, out, kStateNames);
}

static void read(Decoder& d, const json& j, const std::string& path, IncidentSettings& out) {
  Fields f(d, j, path);
  f.optional("enabled", out.enabled);
  f.optional("openAfter", out.openAfter);
  f.optional("webhookURL", out.webhookURL);
  if (out.webhookURL && !isHttpUrl(*out.webhookURL)) {
    d.fail(f.at("webhookURL"), "must be an http:// or https:// URL with a host");
  }
}

static void read(Decoder& d, const json& j, const std::string& path, SLAPolicySpec& out) {
  Fields f(d, j, path);
  f.required("metric", out.metric);
  f.required("target", out.target);
  f.required("operator", out.operator_);
  f.optional("compliance", out.compliance);
  f.optional("window", out.window);
  f.optional("severity", out.severity);
  if (f.has("selector")) {
    Fields selector(d, j.at("selector"), f.at("selector"));
    selector.optional("regions", out.regions);
  }
  f.optional("incidents", out.incidents);

  if (f.has("compliance") && !(out.compliance > 0 && out.compliance <= 100)) {
    d.fail(f.at("compliance"), "must be greater than 0 and at most 100");
  }
  if (f.has("window") && out.window <= std::chrono::milliseconds::zero()) {
    d.fail(f.at("window"), "must be greater than 0");
  }
  if (!f.has("metric") || !f.has("target") || !f.has("operator")) return;
  if (isLatencyMetric(out.metric)) {
    if (!(out.target > 0)) d.fail(f.at("target"), "must be greater than 0 for a latency or duration metric");
    if (out.operator_ != SLAOperator::kLessThan) {
      d.fail(f.at("operator"), "must be less_than for a latency or duration metric");
    }
  } else {
    checkRange(d, f.at("target"), out.target, 0, 100);
    if (out.operator_ != SLAOperator::kGreaterThan) {
      d.fail(f.at("operator"), "must be greater_than for a percent or score metric");
    }
  }
}

static void read(Decoder& d, const json& j, const std::string& path, BurnRate& out) {
  Fields f(d, j, path);
  f.required("window", out.window);
  f.required("rate", out.rate);
}

static void read(Decoder& d, const json& j, const std::string& path, Incident& out) {
  Fields f(d, j, path);
  f.required("id", out.id);
  f.optional("region", out.region);
  f.optional("severity", out.severity);
  f.required("openedAt", out.openedAt);
  f.optional("resolvedAt", out.resolvedAt);
  f.optional("message", out.message);
}

static void read(Decoder& d, const json& j, const std::string& path, SLAPolicyStatus& out) {
  Fields f(d, j, path);
  f.optional("observedGeneration", out.observedGeneration);
  f.optional("state", out.state);
  f.optional("currentValue", out.currentValue);
  f.optional("compliance", out.compliance);
  f.optional("errorBudgetRemaining", out.errorBudgetRemaining);
  f.optional("burnRates", out.burnRates);
  f.optional("openIncidents", out.openIncidents);
  f.optional("recentIncidents", out.recentIncidents);
  f.optional("lastEvaluationTime", out.lastEvaluationTime);
  f.optional("conditions", out.conditions);
}

static void read(Decoder& d, const json& j, const std::string& path, SLAPolicy& out) {
  Fields root(d, j, path);
  readTypeMeta(d, root, "SLAPolicy");
  root.optional("metadata", out.metadata);
  root.required("spec", out.spec);
  root.optional("status", out.status);
}

}  // namespace detail

void to_json(json& j, const SLAPolicySpec& spec) {
  j = json{{"metric", std::string(toString(spec.metric))},
           {"target", spec.target},
           {"operator", std::string(toString(spec.operator_))},
           {"compliance", spec.compliance},
           {"window", base::formatWindow(spec.window)},
           {"severity", std::string(toString(spec.severity))}};
  if (!spec.regions.empty()) j["selector"] = json{{"regions", spec.regions}};
  if (spec.incidents) {
    json incidents{{"enabled", spec.incidents->enabled}, {"openAfter", base::formatDuration(spec.incidents->openAfter)}};
    detail::putOptional(incidents, "webhookURL", spec.incidents->webhookURL);
    j["incidents"] = std::move(incidents);
  }
}

void to_json(json& j, const SLAPolicyStatus& status) {
  j = json::object();
  detail::putOptional(j, "observedGeneration", status.observedGeneration);
  if (status.state) j["state"] = std::string(toString(*status.state));
  detail::putOptional(j, "currentValue", status.currentValue);
  detail::putOptional(j, "compliance", status.compliance);
  detail::putOptional(j, "errorBudgetRemaining", status.errorBudgetRemaining);
  if (!status.burnRates.empty()) {
    json rates = json::array();
    for (const auto& rate : status.burnRates) rates.push_back({{"window", rate.window}, {"rate", rate.rate}});
    j["burnRates"] = std::move(rates);
  }
  if (!status.openIncidents.empty()) j["openIncidents"] = toJson(status.openIncidents);
  if (!status.recentIncidents.empty()) j["recentIncidents"] = toJson(status.recentIncidents);
  detail::putTime(j, "lastEvaluationTime", status.lastEvaluationTime);
  detail::putConditions(j, status.conditions);
}

void to_json(json& j, const SLAPolicy& policy) {
  j = json{{"apiVersion", std::string(kApiVersion)}, {"kind", "SLAPolicy"}, {"metadata", policy.metadata},
           {"spec", policy.spec}};
  json status = policy.status;
  if (!status.empty()) j["status"] = std::move(status);
}

void from_json(const json& j, SLAPolicy& policy) {
  auto parsed = parseSLAPolicy(j);
  if (!parsed.ok()) throw json::other_error::create(599, parsed.error().message, &j);
  policy = std::move(parsed).value();
}

kube::Result<SLAPolicy> parseSLAPolicy(const json& j) {
  return detail::decodeObject<SLAPolicy>(
      j, [](detail::Decoder& d, const json& in, SLAPolicy& out) { detail::read(d, in, "", out); });
}

kube::Result<SLAPolicyStatus> parseSLAPolicyStatus(const json& status) {
  return detail::decodeObject<SLAPolicyStatus>(status,
      [](detail::Decoder& d, const json& in, SLAPolicyStatus& out) { detail::read(d, in, "status", out); });
}

}  // namespace dwcp::api
