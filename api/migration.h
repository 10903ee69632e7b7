// Migration (namespaced, federation.dwcp.io/v1alpha1): move one VMPlacement to another region
// within a downtime bound; status records the phases and the measured downtime. Value types
// mirroring crds/migrations.yaml; parsing never throws.
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

enum class MigrationStrategy { kLive, kCold };
std::string_view toString(MigrationStrategy strategy);  // "live", "cold"
std::optional<MigrationStrategy> parseMigrationStrategy(std::string_view text);

struct MigrationSpec {
  std::string vmPlacement;                 // name, in the Migration's namespace
  std::optional<std::string> targetRegion;  // unset: the placement engine picks
  std::chrono::milliseconds maxDowntime{5000};  // JSON: duration string, e.g. "5s"
  MigrationStrategy strategy = MigrationStrategy::kLive;
  std::optional<std::string> reason;
  bool operator==(const MigrationSpec&) const = default;
};

enum class MigrationPhase { kPending, kReserving, kCopying, kCuttingOver, kCompleted, kFailed, kRolledBack };
std::string_view toString(MigrationPhase phase);
std::optional<MigrationPhase> parseMigrationPhase(std::string_view text);
// Completed, Failed and RolledBack: nothing more will happen.
bool isTerminal(MigrationPhase phase);

struct MigrationStatus {
  std::optional<int64_t> observedGeneration;
  std::optional<MigrationPhase> phase;
  std::optional<std::string> sourceRegion;
  std::optional<std::string> targetRegion;
  std::optional<Time> startTime;
  std::optional<Time> completionTime;
  std::optional<std::chrono::milliseconds> downtime;  // JSON: downtimeMs (integer)
  std::optional<std::string> message;
  std::vector<Condition> conditions;
  bool operator==(const MigrationStatus&) const = default;
};

struct Migration {
  ObjectMeta metadata;
  MigrationSpec spec;
  MigrationStatus status;
  bool operator==(const Migration&) const = default;
};

void to_json(json& j, const Migration& migration);
void to_json(json& j, const MigrationSpec& spec);
void to_json(json& j, const MigrationStatus& status);
// For j.get<Migration>(): throws json::other_error with parseMigration's message.
void from_json(const json& j, Migration& migration);

// Validates types, required fields and ranges (maxDowntime above 0 and at most 24h). The Error
// (422 Invalid) names each bad field, e.g. "spec.maxDowntime: must be a duration ...".
kube::Result<Migration> parseMigration(const json& j);
kube::Result<MigrationStatus> parseMigrationStatus(const json& status);

}  // namespace dwcp::api
