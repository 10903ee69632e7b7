#include "kube/conditions.h"

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using namespace std::chrono_literals;

Condition ready(std::string status, std::string reason = "AllGood", int64_t generation = 1) {
  return {"Ready", std::move(status), std::move(reason), "message", generation};
}

TEST(Conditions, NewConditionGetsNowAndGeneration) {
  FakeClock clock;
  json conditions;  // null: no status yet
  auto changed = setCondition(conditions, ready("True", "AllGood", 7), clock.wallNow());
  ASSERT_TRUE(changed.ok()) << changed.error().toString();
  EXPECT_TRUE(*changed);
  ASSERT_TRUE(conditions.is_array());
  ASSERT_EQ(conditions.size(), 1u);
  const json& c = conditions[0];
  EXPECT_EQ(c["type"], "Ready");
  EXPECT_EQ(c["status"], "True");
  EXPECT_EQ(c["reason"], "AllGood");
  EXPECT_EQ(c["message"], "message");
  EXPECT_EQ(c["observedGeneration"], 7);
  EXPECT_EQ(c["lastTransitionTime"], "2026-01-01T00:00:00Z");
}

TEST(Conditions, TransitionTimeKeptWhileStatusUnchanged) {
  FakeClock clock;
  json conditions;
  ASSERT_TRUE(setCondition(conditions, ready("True", "AllGood", 1), clock.wallNow()).ok());
  clock.advance(1h);
  Condition next = ready("True", "StillGood", 2);
  next.message = "other words";
  auto changed = setCondition(conditions, next, clock.wallNow());
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(conditions[0]["reason"], "StillGood");
  EXPECT_EQ(conditions[0]["message"], "other words");
  EXPECT_EQ(conditions[0]["observedGeneration"], 2);
}

TEST(Conditions, TransitionTimeChangesWithStatus) {
  FakeClock clock;
  json conditions;
  ASSERT_TRUE(setCondition(conditions, ready("True"), clock.wallNow()).ok());
  clock.advance(90s);
  ASSERT_TRUE(setCondition(conditions, ready("False", "Broken"), clock.wallNow()).ok());
  EXPECT_EQ(conditions[0]["status"], "False");
  EXPECT_EQ(conditions[0]["lastTransitionTime"], "2026-01-01T00:01:30Z");
  ASSERT_EQ(conditions.size(), 1u);
}

TEST(Conditions, SameFactsLaterAreNoChangeAndStatusEqual) {
  FakeClock clock;
  json status = {{"observedGeneration", 3}, {"conditions", json::array()}};
  ASSERT_TRUE(setCondition(status["conditions"], ready("True"), clock.wallNow()).ok());
  json recomputed = status;
  clock.advance(10min);
  auto changed = setCondition(recomputed["conditions"], ready("True"), clock.wallNow());
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  EXPECT_FALSE(statusChanged(status, recomputed));
  recomputed["observedGeneration"] = 4;
  EXPECT_TRUE(statusChanged(status, recomputed));
}

TEST(Conditions, SeveralTypesAreIndependent) {
  FakeClock clock;
  json conditions = json::array();
  ASSERT_TRUE(setCondition(conditions, ready("True"), clock.wallNow()).ok());
  Condition degraded{"Degraded", "False", "NoFaults", "", 1};
  ASSERT_TRUE(setCondition(conditions, degraded, clock.wallNow()).ok());
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_TRUE(isTrue(conditions, "Ready"));
  EXPECT_FALSE(isTrue(conditions, "Degraded"));
  EXPECT_FALSE(isTrue(conditions, "Missing"));
  ASSERT_NE(findCondition(conditions, "Degraded"), nullptr);
  EXPECT_EQ((*findCondition(conditions, "Degraded"))["reason"], "NoFaults");
  EXPECT_EQ(findCondition(conditions, "Missing"), nullptr);
  EXPECT_EQ(findCondition(json(), "Ready"), nullptr);

  EXPECT_TRUE(removeCondition(conditions, "Ready"));
  EXPECT_FALSE(removeCondition(conditions, "Ready"));
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0]["type"], "Degraded");
}

TEST(Conditions, RejectsBadFieldsAndLeavesConditionsAlone) {
  FakeClock clock;
  json conditions;
  ASSERT_TRUE(setCondition(conditions, ready("True"), clock.wallNow()).ok());
  const json before = conditions;
  struct Case {
    Condition condition;
    std::string mentions;
  } cases[] = {
      {ready("True", "lowerCase"), "reason"},
      {ready("True", "Has Space"), "reason"},
      {ready("True", "Snake_Case"), "reason"},
      {ready("True", ""), "reason"},
      {ready("Yes"), "status"},
      {{"", "True", "Fine", "", 1}, "type"},
      {{"bad type", "True", "Fine", "", 1}, "type"},
      {ready("True", "Fine", -1), "observedGeneration"},
      {{"Ready", "True", "Fine", std::string(40000, 'x'), 1}, "message"},
  };
  for (const auto& c : cases) {
    auto result = setCondition(conditions, c.condition, clock.wallNow());
    ASSERT_FALSE(result.ok()) << c.mentions;
    EXPECT_EQ(result.error().reason, "Invalid");
    EXPECT_NE(result.error().message.find(c.mentions), std::string::npos) << result.error().message;
  }
  EXPECT_EQ(conditions, before);
}

TEST(Conditions, AcceptsQualifiedTypesAndCamelCase) {
  FakeClock clock;
  json conditions;
  Condition placed{"dwcp.io/Placed", "Unknown", "Pending2", "", 0};
  EXPECT_TRUE(setCondition(conditions, placed, clock.wallNow()).ok());
  EXPECT_TRUE(isCamelCase("A"));
  EXPECT_TRUE(isCamelCase("RegionFailedOver"));
  EXPECT_FALSE(isCamelCase("regionFailedOver"));
  EXPECT_FALSE(isCamelCase(std::string(1025, 'A')));
}

TEST(Conditions, NonArrayConditionsIsAnError) {
  FakeClock clock;
  json conditions = json::object();
  EXPECT_FALSE(setCondition(conditions, ready("True"), clock.wallNow()).ok());
}

}  // namespace
}  // namespace dwcp::kube
