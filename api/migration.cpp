#include "api/migration.h"

#include "api/decode.h"
#include "base/duration.h"
#include "api/groupversion.h"

namespace dwcp::api {
namespace {

constexpr std::pair<MigrationStrategy, std::string_view> kStrategyNames[] = {
    {MigrationStrategy::kLive, "live"},
    {MigrationStrategy::kCold, "cold"},
};

constexpr std::pair<MigrationPhase, std::string_view> kPhaseNames[] = {
    {MigrationPhase::kPending, "Pending"},         {MigrationPhase::kReserving, "Reserving"},
    {MigrationPhase::kCopying, "Copying"},         {MigrationPhase::kCuttingOver, "CuttingOver"},
    {MigrationPhase::kCompleted, "Completed"},     {MigrationPhase::kFailed, "Failed"},
    {MigrationPhase::kRolledBack, "RolledBack"},
};

constexpr std::chrono::milliseconds kMaxDowntimeLimit = std::chrono::hours(24);

}  // namespace

std::string_view toString(MigrationStrategy strategy) { return detail::enumName(strategy, kStrategyNames); }
std::optional<MigrationStrategy> parseMigrationStrategy(std::string_view text) {
  return detail::enumValue(text, kStrategyNames);
}
std::string_view toString(MigrationPhase phase) { return detail::enumName(phase, kPhaseNames); }
std::optional<MigrationPhase> parseMigrationPhase(std::string_view text) {
  return detail::enumValue(text, kPhaseNames);
}

bool isTerminal(MigrationPhase phase) {
  return phase == MigrationPhase::kCompleted || phase == MigrationPhase::kFailed ||
         phase == MigrationPhase::kRolledBack;
}

namespace detail {

static void read(Decoder& d, const json& j, const std::string& path, MigrationStrategy& out) {
  readEnum(d, j, path, out, kStrategyNames);
}

static void read(Decoder& d, const json& j, const std::string& path, MigrationPhase& out) {
  readEnum(d, j, path, out, kPhaseNames);
}

static void read(Decoder& d, const json& j, const std::string& path, MigrationSpec& out) {
  Fields f(d, j, path);
  f.required("vmPlacement", out.vmPlacement);
  f.optional("targetRegion", out.targetRegion);
  f.optional("maxDowntime", out.maxDowntime);
  f.optional("strategy", out.strategy);
  f.optional("reason", out.reason);
  if (f.has("vmPlacement") && out.vmPlacement.empty()) d.fail(f.at("vmPlacement"), "must not be empty");
  if (out.targetRegion && out.targetRegion->empty()) d.fail(f.at("targetRegion"), "must not be empty");
  if (out.maxDowntime <= std::chrono::milliseconds::zero() || out.maxDowntime > kMaxDowntimeLimit) {
    d.fail(f.at("maxDowntime"), "must be greater than 0s and at most 24h");
  }
}

// status.downtimeMs: integer milliseconds.
static void readDowntime(Decoder& d, Fields& f, std::optional<std::chrono::milliseconds>& out) {
  std::optional<int64_t> ms;
  f.optional("downtimeMs", ms);
  if (ms) out = std::chrono::milliseconds(*ms);
  checkAtLeast(d, f.at("downtimeMs"), ms, 0);
}

static void read(Decoder& d, const json& j, const std::string& path, MigrationStatus& out) {
  Fields f(d, j, path);
  f.optional("observedGeneration", out.observedGeneration);
  f.optional("phase", out.phase);
  f.optional("sourceRegion", out.sourceRegion);
  f.optional("targetRegion", out.targetRegion);
  f.optional("startTime", out.startTime);
  f.optional("completionTime", out.completionTime);
  readDowntime(d, f, out.downtime);
  f.optional("message", out.message);
  f.optional("conditions", out.conditions);
}

static void read(Decoder& d, const json& j, const std::string& path, Migration& out) {
  Fields root(d, j, path);
  readTypeMeta(d, root, "Migration");
  root.optional("metadata", out.metadata);
  root.required("spec", out.spec);
  root.optional("status", out.status);
}

}  // namespace detail

void to_json(json& j, const MigrationSpec& spec) {
  j = json{{"vmPlacement", spec.vmPlacement},
           {"maxDowntime", base::formatDuration(spec.maxDowntime)},
           {"strategy", std::string(toString(spec.strategy))}};
  detail::putOptional(j, "targetRegion", spec.targetRegion);
  detail::putOptional(j, "reason", spec.reason);
}

void to_json(json& j, const MigrationStatus& status) {
  j = json::object();
  detail::putOptional(j, "observedGeneration", status.observedGeneration);
  if (status.phase) j["phase"] = std::string(toString(*status.phase));
  detail::putOptional(j, "sourceRegion", status.sourceRegion);
  detail::putOptional(j, "targetRegion", status.targetRegion);
  detail::putTime(j, "startTime", status.startTime);
  detail::putTime(j, "completionTime", status.completionTime);
  if (status.downtime) j["downtimeMs"] = status.downtime->count();
  detail::putOptional(j, "message", status.message);
  detail::putConditions(j, status.conditions);
}

void to_json(json& j, const Migration& migration) {
  j = json{{"apiVersion", std::string(kApiVersion)}, {"kind", "Migration"},
           {"metadata", migration.metadata}, {"spec", migration.spec}};
  json status = migration.status;
  if (!status.empty()) j["status"] = std::move(status);
}

void from_json(const json& j, Migration& migration) {
  auto parsed = parseMigration(j);
  if (!parsed.ok()) throw json::other_error::create(599, parsed.error().message, &j);
  migration = std::move(parsed).value();
}

kube::Result<Migration> parseMigration(const json& j) {
  return detail::decodeObject<Migration>(
      j, [](detail::Decoder& d, const json& in, Migration& out) { detail::read(d, in, "", out); });
}

kube::Result<MigrationStatus> parseMigrationStatus(const json& status) {
  return detail::decodeObject<MigrationStatus>(status,
      [](detail::Decoder& d, const json& in, MigrationStatus& out) { detail::read(d, in, "status", out); });
}

}  // namespace dwcp::api
