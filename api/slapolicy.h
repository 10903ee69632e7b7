// SLAPolicy (namespaced, federation.dwcp.io/v1alpha1): a service level over one federation metric,
// evaluated over a rolling window; status carries compliance, error budget, burn rates and
// incidents. Value types mirroring crds/slapolicies.yaml; parsing never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "kube/result.h"

namespace dwcp::api {

// Latency and duration metrics are in milliseconds; availability and stateConsistency in
// percent; regionHealth is the 0-100 health score.
enum class SLAMetric {
  kP99Latency,  // request latency through the global router
  kPlacementLatencyP99,
  kStateSyncLatencyP99,
  kRoutingDecisionLatencyP99,
  kFailoverDuration,
  kMigrationDowntime,
  kReplicationLag,
  kAvailability,
  kRegionHealth,
  kStateConsistency,
};
std::string_view toString(SLAMetric metric);  // "p99_latency", "placement_latency_p99", ...
std::optional<SLAMetric> parseSLAMetric(std::string_view text);
bool isLatencyMetric(SLAMetric metric);  // milliseconds, lower is better
bool isPercentMetric(SLAMetric metric);  // 0..100, higher is better

enum class SLAOperator { kLessThan, kGreaterThan };
std::string_view toString(SLAOperator op);  // "less_than", "greater_than"
std::optional<SLAOperator> parseSLAOperator(std::string_view text);

enum class Severity { kLow, kMedium, kHigh, kCritical };
std::string_view toString(Severity severity);
std::optional<Severity> parseSeverity(std::string_view text);

struct IncidentSettings {
  bool enabled = true;
  std::chrono::milliseconds openAfter = std::chrono::minutes(5);  // JSON: "5m"
  std::optional<std::string> webhookURL;
  bool operator==(const IncidentSettings&) const = default;
};

struct SLAPolicySpec {
  SLAMetric metric = SLAMetric::kP99Latency;
  double target = 0;  // in the metric's unit
  SLAOperator operator_ = SLAOperator::kLessThan;
  double compliance = 99.9;  // percent of good samples, (0, 100]
  std::chrono::milliseconds window = std::chrono::hours(24 * 30);  // JSON: "30d"
  Severity severity = Severity::kMedium;
  std::vector<std::string> regions;  // spec.selector.regions; every region when empty
  std::optional<IncidentSettings> incidents;
  bool operator==(const SLAPolicySpec&) const = default;
};

enum class SLAState { kCompliant, kAtRisk, kViolated };
std::string_view toString(SLAState state);
std::optional<SLAState> parseSLAState(std::string_view text);

struct BurnRate {
  std::string window;  // lookback window as written, e.g. "1h"
  double rate = 0;     // 1 = spending the budget exactly over the SLA window
  bool operator==(const BurnRate&) const = default;
};

struct Incident {
  std::string id;
  std::optional<std::string> region;
  std::optional<Severity> severity;
  Time openedAt{};
  std::optional<Time> resolvedAt;
  std::optional<std::string> message;
  bool operator==(const Incident&) const = default;
};

struct SLAPolicyStatus {
  std::optional<int64_t> observedGeneration;
  std::optional<SLAState> state;
  std::optional<double> currentValue;
  std::optional<double> compliance;            // percent
  std::optional<double> errorBudgetRemaining;  // percent of the budget; negative once overspent
  std::vector<BurnRate> burnRates;
  std::vector<Incident> openIncidents;
  std::vector<Incident> recentIncidents;  // newest first
  std::optional<Time> lastEvaluationTime;
  std::vector<Condition> conditions;
  bool operator==(const SLAPolicyStatus&) const = default;
};

struct SLAPolicy {
  ObjectMeta metadata;
  SLAPolicySpec spec;
  SLAPolicyStatus status;
  bool operator==(const SLAPolicy&) const = default;
};

void to_json(json& j, const SLAPolicy& policy);
void to_json(json& j, const SLAPolicySpec& spec);
void to_json(json& j, const SLAPolicyStatus& status);
// For j.get<SLAPolicy>(): throws json::other_error with parseSLAPolicy's message.
void from_json(const json& j, SLAPolicy& policy);

// Validates types, required fields, ranges and the metric rules (a latency metric needs a target
// above 0 and less_than; a percent metric a target in 0..100 and greater_than). The Error (422
// Invalid) names each bad field, e.g. "spec.compliance: must be greater than 0".
kube::Result<SLAPolicy> parseSLAPolicy(const json& j);
kube::Result<SLAPolicyStatus> parseSLAPolicyStatus(const json& status);

}  // namespace dwcp::api
