#include "api/meta.h"

#include <gtest/gtest.h>

#include "api/groupversion.h"

namespace dwcp::api {
namespace {

using namespace std::chrono;

Time at(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return time_point_cast<system_clock::duration>(sys_days(year{y} / month{mo} / day{d}) + hours(h) +
                                                 minutes(mi) + seconds(s));
}

TEST(TimeTest, ParsesUtcAndOffsets) {
  EXPECT_EQ(parseTime("2024-05-01T12:00:00Z"), at(2024, 5, 1, 12, 0, 0));
  EXPECT_EQ(parseTime("2024-05-01T14:30:00+02:30"), at(2024, 5, 1, 12, 0, 0));
  EXPECT_EQ(parseTime("2024-05-01T07:00:00-05:00"), at(2024, 5, 1, 12, 0, 0));
  EXPECT_EQ(parseTime("2024-02-29T00:00:00z"), at(2024, 2, 29, 0, 0, 0));
  auto fractional = parseTime("2024-05-01T12:00:00.25Z");
  ASSERT_TRUE(fractional.has_value());
  EXPECT_EQ(*fractional - at(2024, 5, 1, 12, 0, 0), milliseconds(250));
}

TEST(TimeTest, RejectsMalformed) {
  for (const char* bad : {"", "2024-05-01", "2024-05-01T12:00:00", "2024-05-01 12:00:00Z", "2024-13-01T12:00:00Z",
                          "2023-02-29T12:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z",
                          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+0200", "2024-05-01T12:00:00Zjunk",
                          "yesterday"}) {
    EXPECT_EQ(parseTime(bad), std::nullopt) << bad;
  }
}

TEST(TimeTest, FormatsAsRfc3339Utc) {
  EXPECT_EQ(formatTime(at(2024, 5, 1, 12, 3, 4)), "2024-05-01T12:03:04Z");
  EXPECT_EQ(formatTime(at(1999, 12, 31, 23, 59, 59) + milliseconds(500)), "1999-12-31T23:59:59.5Z");
  const Time t = at(2030, 1, 2, 3, 4, 5) + microseconds(123456);
  EXPECT_EQ(parseTime(formatTime(t)), t);
}

TEST(ObjectMetaTest, ParsesTheSubsetAndIgnoresTheRest) {
  const json j = {{"name", "web"},
                  {"namespace", "default"},
                  {"uid", "u-1"},
                  {"resourceVersion", "42"},
                  {"generation", 3},
                  {"labels", {{"app", "web"}}},
                  {"annotations", {{"note", "x"}}},
                  {"finalizers", {"federation.dwcp.io/cleanup"}},
                  {"ownerReferences",
                   {{{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"name", "owner"},
                     {"uid", "u-0"},
                     {"controller", true}}}},
                  {"creationTimestamp", "2024-05-01T12:00:00Z"},
                  {"deletionTimestamp", nullptr},
                  {"managedFields", json::array({{{"manager", "kubectl"}}})}};
  auto meta = parseObjectMeta(j);
  ASSERT_TRUE(meta.ok()) << meta.error().message;
  EXPECT_EQ(meta->name, "web");
  EXPECT_EQ(meta->namespace_, "default");
  EXPECT_EQ(meta->generation, 3);
  EXPECT_EQ(meta->labels.at("app"), "web");
  ASSERT_EQ(meta->ownerReferences.size(), 1u);
  EXPECT_EQ(meta->ownerReferences[0].controller, true);
  EXPECT_EQ(meta->ownerReferences[0].blockOwnerDeletion, std::nullopt);
  EXPECT_EQ(meta->creationTimestamp, at(2024, 5, 1, 12, 0, 0));
  EXPECT_EQ(meta->deletionTimestamp, std::nullopt);

  json out = *meta;
  EXPECT_FALSE(out.contains("managedFields"));
  EXPECT_FALSE(out.contains("deletionTimestamp"));
  EXPECT_EQ(out["creationTimestamp"], "2024-05-01T12:00:00Z");
  auto again = parseObjectMeta(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *meta);
}

TEST(ObjectMetaTest, BadFieldsAreNamed) {
  auto meta = parseObjectMeta({{"name", 7},
                               {"generation", "3"},
                               {"labels", {{"app", 1}}},
                               {"ownerReferences", {{{"apiVersion", "v1"}, {"kind", "X"}, {"name", "o"}}}},
                               {"creationTimestamp", "last tuesday"}});
  ASSERT_FALSE(meta.ok());
  const std::string& message = meta.error().message;
  EXPECT_EQ(meta.error().code, 422);
  EXPECT_EQ(meta.error().reason, "Invalid");
  EXPECT_NE(message.find("metadata.name: must be a string"), std::string::npos) << message;
  EXPECT_NE(message.find("metadata.generation: must be an integer"), std::string::npos) << message;
  EXPECT_NE(message.find("metadata.labels.app: must be a string"), std::string::npos) << message;
  EXPECT_NE(message.find("metadata.ownerReferences[0].uid: is required"), std::string::npos) << message;
  EXPECT_NE(message.find("metadata.creationTimestamp: must be an RFC 3339"), std::string::npos) << message;
}

TEST(ObjectMetaTest, NotAnObject) {
  auto meta = parseObjectMeta(json::array());
  ASSERT_FALSE(meta.ok());
  EXPECT_EQ(meta.error().message, "metadata: must be an object");
}

TEST(ConditionTest, RoundTrips) {
  const json j = {{"type", "Ready"},      {"status", "False"},
                  {"reason", "NoQuorum"}, {"message", "1/3 regions answered"},
                  {"lastTransitionTime", "2024-05-01T12:00:00Z"}, {"observedGeneration", 4}};
  auto condition = parseCondition(j);
  ASSERT_TRUE(condition.ok()) << condition.error().message;
  EXPECT_EQ(condition->status, ConditionStatus::kFalse);
  EXPECT_EQ(condition->observedGeneration, 4);
  EXPECT_EQ(json(*condition), j);
}

TEST(ConditionTest, RejectsBadStatusAndMissingFields) {
  auto condition = parseCondition({{"type", "Ready"}, {"status", "Yes"}});
  ASSERT_FALSE(condition.ok());
  EXPECT_NE(condition.error().message.find("status: must be one of: True, False, Unknown"), std::string::npos);
  EXPECT_NE(condition.error().message.find("lastTransitionTime: is required"), std::string::npos);
}

TEST(ConditionTest, SetConditionKeepsTransitionTimeWhileStatusHolds) {
  std::vector<Condition> conditions;
  const Time t0 = at(2024, 1, 1, 0, 0, 0), t1 = t0 + minutes(1), t2 = t0 + minutes(2);
  Condition ready{"Ready", ConditionStatus::kTrue, "Healthy", "ok", {}, 1};

  EXPECT_TRUE(setCondition(conditions, ready, t0).value());
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].lastTransitionTime, t0);

  EXPECT_FALSE(setCondition(conditions, ready, t1).value()) << "identical condition is no change";
  EXPECT_EQ(conditions[0].lastTransitionTime, t0);

  ready.message = "still ok";
  EXPECT_TRUE(setCondition(conditions, ready, t1).value());
  EXPECT_EQ(conditions[0].message, "still ok");
  EXPECT_EQ(conditions[0].lastTransitionTime, t0) << "same status keeps the transition time";

  ready.status = ConditionStatus::kFalse;
  EXPECT_TRUE(setCondition(conditions, ready, t2).value());
  EXPECT_EQ(conditions[0].lastTransitionTime, t2);

  EXPECT_TRUE(setCondition(conditions, Condition{"Synced", ConditionStatus::kTrue, "Done", "", {}, {}}, t2).value());
  EXPECT_EQ(conditions.size(), 2u);
  ASSERT_NE(findCondition(conditions, "Synced"), nullptr);
  EXPECT_EQ(findCondition(conditions, "Missing"), nullptr);
}

TEST(ConditionTest, SetConditionStoresTheTransitionInWholeSeconds) {
  std::vector<Condition> conditions;
  const Time t0 = at(2024, 1, 1, 0, 0, 0);
  ASSERT_TRUE(setCondition(conditions, {"Ready", ConditionStatus::kTrue, "Healthy", "", {}, 1}, t0 + milliseconds(750)).ok());
  EXPECT_EQ(conditions[0].lastTransitionTime, t0) << "metav1.Time has no fraction: a stored copy compares equal";
}

TEST(ConditionTest, SetConditionRejectsBadFieldsNamingThemAndLeavesConditionsAlone) {
  std::vector<Condition> conditions;
  const Time t0 = at(2024, 1, 1, 0, 0, 0);
  ASSERT_TRUE(setCondition(conditions, {"Ready", ConditionStatus::kTrue, "Healthy", "", {}, 1}, t0).ok());
  const auto before = conditions;
  auto ready = [](std::string reason, std::optional<int64_t> generation = 1) {
    return Condition{"Ready", ConditionStatus::kFalse, std::move(reason), "", {}, generation};
  };
  struct Case {
    Condition condition;
    std::string mentions;
  } cases[] = {
      {ready("lowerCase"), "reason"},
      {ready("Has Space"), "reason"},
      {ready("Snake_Case"), "reason"},
      {ready(""), "reason"},
      {{"", ConditionStatus::kTrue, "Fine", "", {}, 1}, "type"},
      {{"bad type", ConditionStatus::kTrue, "Fine", "", {}, 1}, "type"},
      {ready("Fine", -1), "observedGeneration"},
      {{"Ready", ConditionStatus::kTrue, "Fine", std::string(40000, 'x'), {}, 1}, "message"},
  };
  for (const auto& c : cases) {
    auto result = setCondition(conditions, c.condition, t0 + minutes(1));
    ASSERT_FALSE(result.ok()) << c.mentions;
    EXPECT_EQ(result.error().reason, "Invalid");
    EXPECT_NE(result.error().message.find(c.mentions), std::string::npos) << result.error().message;
  }
  EXPECT_EQ(conditions, before);
  EXPECT_TRUE(setCondition(conditions, {"dwcp.io/Placed", ConditionStatus::kUnknown, "Pending2", "", {}, 0}, t0).ok());
}

TEST(GroupVersionTest, ResourceTypes) {
  EXPECT_EQ(kRegionResource.apiVersion(), "federation.dwcp.io/v1alpha1");
  EXPECT_EQ(kRegionResource.apiVersion(), kApiVersion);
  EXPECT_FALSE(kRegionResource.namespaced);
  EXPECT_EQ(kRegionResource.resource, "regions");
  EXPECT_TRUE(kVMPlacementResource.namespaced);
  EXPECT_EQ(kVMPlacementResource.kind, "VMPlacement");
  EXPECT_EQ(kMigrationResource.resource, "migrations");
  EXPECT_EQ(kSLAPolicyResource.resource, "slapolicies");
  EXPECT_EQ(kSLAPolicyResource.kind, "SLAPolicy");
}

}  // namespace
}  // namespace dwcp::api
