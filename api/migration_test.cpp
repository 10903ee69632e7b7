#include "api/migration.h"

#include <gtest/gtest.h>

#include "api/test_fixtures.h"

namespace dwcp::api {
namespace {

using std::chrono::milliseconds;
using testing::loadFixture;

json minimalMigration() {
  return json::parse(R"({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "Migration",
    "metadata": {"name": "move-vm-001", "namespace": "default"},
    "spec": {"vmPlacement": "vm-001"}})");
}

std::string errorOf(const json& j) {
  auto migration = parseMigration(j);
  return migration.ok() ? "" : migration.error().message;
}

TEST(MigrationTest, ParsesTheApiServerObject) {
  const json fixture = loadFixture("migration.json");
  ASSERT_FALSE(fixture.is_null());
  auto migration = parseMigration(fixture);
  ASSERT_TRUE(migration.ok()) << migration.error().message;
  EXPECT_EQ(migration->spec.vmPlacement, "web-frontend-01");
  EXPECT_EQ(migration->spec.targetRegion, "eu-central-1");
  EXPECT_EQ(migration->spec.maxDowntime, milliseconds(5000));
  EXPECT_EQ(migration->spec.strategy, MigrationStrategy::kLive);
  EXPECT_EQ(migration->status.phase, MigrationPhase::kCompleted);
  EXPECT_EQ(migration->status.sourceRegion, "eu-west-1");
  EXPECT_EQ(migration->status.downtime, milliseconds(1840));
  ASSERT_TRUE(migration->status.startTime && migration->status.completionTime);
  EXPECT_EQ(*migration->status.completionTime - *migration->status.startTime, std::chrono::seconds(42));
}

TEST(MigrationTest, SerializesSpecAndStatusAsTheApiServerDoes) {
  const json fixture = loadFixture("migration.json");
  auto migration = parseMigration(fixture);
  ASSERT_TRUE(migration.ok()) << migration.error().message;
  json out = *migration;
  EXPECT_EQ(out["kind"], "Migration");
  EXPECT_EQ(out["spec"], fixture["spec"]);
  EXPECT_EQ(out["status"], fixture["status"]);
}

TEST(MigrationTest, RoundTripIsLossless) {
  for (const json& input : {loadFixture("migration.json"), minimalMigration()}) {
    auto first = parseMigration(input);
    ASSERT_TRUE(first.ok()) << first.error().message;
    auto second = parseMigration(json(*first));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_EQ(*second, *first);
  }
}

TEST(MigrationTest, DefaultsMatchTheCrd) {
  auto migration = parseMigration(minimalMigration());
  ASSERT_TRUE(migration.ok()) << migration.error().message;
  EXPECT_EQ(migration->spec.maxDowntime, milliseconds(5000));
  EXPECT_EQ(migration->spec.strategy, MigrationStrategy::kLive);
  EXPECT_EQ(migration->spec.targetRegion, std::nullopt);
  EXPECT_EQ(json(*migration)["spec"]["maxDowntime"], "5s");
}

TEST(MigrationTest, MaxDowntimeUnits) {
  for (auto [text, expected] : {std::pair{"500ms", 500}, std::pair{"5s", 5000}, std::pair{"1m30s", 90'000},
                                std::pair{"2h", 7'200'000}}) {
    json j = minimalMigration();
    j["spec"]["maxDowntime"] = text;
    auto migration = parseMigration(j);
    ASSERT_TRUE(migration.ok()) << text << ": " << migration.error().message;
    EXPECT_EQ(migration->spec.maxDowntime, milliseconds(expected)) << text;
    EXPECT_EQ(json(*migration)["spec"]["maxDowntime"], text) << "canonical text survives";
  }
}

TEST(MigrationTest, BadInputNamesTheField) {
  struct Case {
    const char* pointer;
    json value;
    const char* expected;
  };
  const Case cases[] = {
      {"/spec/vmPlacement", nullptr, "spec.vmPlacement: is required"},
      {"/spec/vmPlacement", "", "spec.vmPlacement: must not be empty"},
      {"/spec/vmPlacement", 12, "spec.vmPlacement: must be a string"},
      {"/spec/maxDowntime", "5 seconds", "spec.maxDowntime: must be a duration"},
      {"/spec/maxDowntime", 5, "spec.maxDowntime: must be a duration string"},
      {"/spec/maxDowntime", "0s", "spec.maxDowntime: must be greater than 0s and at most 24h"},
      {"/spec/maxDowntime", "25h", "spec.maxDowntime: must be greater than 0s and at most 24h"},
      {"/spec/strategy", "warm", "spec.strategy: must be one of: live, cold (got \"warm\")"},
      {"/status/phase", "Done", "status.phase: must be one of: Pending, Reserving"},
      {"/status/downtimeMs", -1, "status.downtimeMs: must be at least 0"},
      {"/status/downtimeMs", "1.8s", "status.downtimeMs: must be an integer"},
  };
  for (const Case& c : cases) {
    json j = minimalMigration();
    j[json::json_pointer(c.pointer)] = c.value;
    const std::string message = errorOf(j);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.pointer << " -> '" << message << "'";
  }
}

TEST(MigrationTest, TerminalPhases) {
  EXPECT_TRUE(isTerminal(MigrationPhase::kCompleted));
  EXPECT_TRUE(isTerminal(MigrationPhase::kFailed));
  EXPECT_TRUE(isTerminal(MigrationPhase::kRolledBack));
  EXPECT_FALSE(isTerminal(MigrationPhase::kCuttingOver));
  EXPECT_FALSE(isTerminal(MigrationPhase::kPending));
  EXPECT_EQ(parseMigrationPhase("CuttingOver"), MigrationPhase::kCuttingOver);
  EXPECT_EQ(toString(MigrationPhase::kRolledBack), "RolledBack");
}

TEST(MigrationTest, NlohmannGetThrowsOnlyThroughFromJson) {
  json bad = minimalMigration();
  bad["spec"]["strategy"] = "teleport";
  EXPECT_THROW((void)bad.get<Migration>(), json::other_error);
  EXPECT_FALSE(parseMigration(bad).ok());
}

}  // namespace
}  // namespace dwcp::api
