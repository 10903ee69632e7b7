// The VMPlacement status as a pure function of what a reconcile concluded: one table row per
// outcome and starting status, then the details (epoch, placedAt, rounding, kept transition
// times, preserved preemption messages, oversized messages).
#include "controllers/vmplacement_status.h"

#include <gtest/gtest.h>

#include <string>

namespace dwcp::controllers {
namespace {

using api::ConditionStatus;
using api::PlacementPhase;
using Kind = PlacementOutcome::Kind;

const api::Time kNow = api::parseTime("2026-03-01T12:00:00.750Z").value();
const api::Time kEarlier = api::parseTime("2026-02-01T08:00:00Z").value();

api::VMPlacementStatus placedIn(const std::string& region) {
  api::VMPlacementStatus s;
  s.observedGeneration = 1;
  s.phase = PlacementPhase::kPlaced;
  s.region = region;
  s.score = 71.5;
  s.candidates = {{region, 71.5, std::nullopt}};
  s.message = "1/5 regions fit";
  s.placedAt = kEarlier;
  s.epoch = 3;
  s.workloadRef = api::WorkloadRef{"v1", "ConfigMap", "default", "web", "uid-1"};
  s.conditions = {{"Placed", ConditionStatus::kTrue, "Placed", "placed in " + region, kEarlier, 1}};
  return s;
}

const api::Condition* placedCondition(const api::VMPlacementStatus& s) {
  for (const auto& c : s.conditions) {
    if (c.type == "Placed") return &c;
  }
  return nullptr;
}

struct Row {
  const char* name;
  PlacementOutcome outcome;
  api::VMPlacementStatus current;
  PlacementPhase phase;
  std::optional<std::string> region;
  ConditionStatus placed;
  const char* reason;
  std::string message;
  bool keepsWorkload;
};
void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

api::VMPlacementStatus preemptedBefore() {
  api::VMPlacementStatus s;
  s.phase = PlacementPhase::kPreempted;
  s.message = "preempted by prod/db (priority 90) to free capacity in eu-west-1; waiting for capacity";
  return s;
}

class ComputeStatusTableTest : public testing::TestWithParam<Row> {};

TEST_P(ComputeStatusTableTest, PhaseRegionConditionAndMessage) {
  const Row& row = GetParam();
  const StatusDraft draft = computeStatus(row.outcome, row.current, /*generation=*/2, kNow);
  ASSERT_TRUE(draft.error.empty()) << draft.error;
  const api::VMPlacementStatus& s = draft.status;
  EXPECT_EQ(s.phase, row.phase);
  EXPECT_EQ(s.region, row.region);
  EXPECT_EQ(s.message, row.message);
  EXPECT_EQ(s.observedGeneration, 2);
  EXPECT_EQ(s.workloadRef.has_value(), row.keepsWorkload);
  const api::Condition* placed = placedCondition(s);
  ASSERT_NE(placed, nullptr);
  EXPECT_EQ(placed->status, row.placed);
  EXPECT_EQ(placed->reason, row.reason);
  EXPECT_EQ(placed->observedGeneration, 2);
  EXPECT_EQ(computeStatus(row.outcome, row.current, 2, kNow).status, s) << "the same inputs give the same status";
}

INSTANTIATE_TEST_SUITE_P(
    Outcomes, ComputeStatusTableTest,
    testing::Values(
        Row{"invalid_spec_of_a_placed_vm", {Kind::kInvalidSpec, "", 0, {}, "spec.resources.cpu: must be > 0"},
            placedIn("eu-west-1"), PlacementPhase::kFailed, "eu-west-1", ConditionStatus::kFalse, "InvalidSpec",
            "spec.resources.cpu: must be > 0", false},
        Row{"invalid_spec_of_a_new_vm", {Kind::kInvalidSpec, "", 0, {}, "no regions given"}, {},
            PlacementPhase::kFailed, std::nullopt, ConditionStatus::kFalse, "InvalidSpec", "no regions given", false},
        Row{"spec_change_that_still_fits", {Kind::kStillFits, "eu-west-1", 0, {}, ""}, placedIn("eu-west-1"),
            PlacementPhase::kPlaced, "eu-west-1", ConditionStatus::kTrue, "Placed",
            "spec changed; region eu-west-1 still satisfies every constraint", true},
        Row{"new_vm_placed", {Kind::kPlaced, "us-east-1", 80, {{"us-east-1", 80, std::nullopt}}, "2/5 regions fit"},
            {}, PlacementPhase::kPlaced, "us-east-1", ConditionStatus::kTrue, "Placed", "2/5 regions fit", false},
        Row{"moved_from_the_local_region",
            {Kind::kPlaced, "us-east-1", 80, {}, "region eu-west-1 no longer fits: cpu; 1/5 regions fit", true},
            placedIn("eu-west-1"), PlacementPhase::kPlaced, "us-east-1", ConditionStatus::kTrue, "Placed",
            "region eu-west-1 no longer fits: cpu; 1/5 regions fit", false},
        Row{"moved_from_a_remote_region", {Kind::kPlaced, "us-east-1", 80, {}, "1/5 regions fit", false},
            placedIn("eu-west-1"), PlacementPhase::kPlaced, "us-east-1", ConditionStatus::kTrue, "Placed",
            "1/5 regions fit", true},
        Row{"nothing_fits", {Kind::kUnschedulable, "", 0, {}, "0/5 regions fit: eu-west-1 cpu"}, placedIn("eu-west-1"),
            PlacementPhase::kUnschedulable, std::nullopt, ConditionStatus::kFalse, "Unschedulable",
            "0/5 regions fit: eu-west-1 cpu", false},
        Row{"preempted_and_still_waiting", {Kind::kUnschedulable, "", 0, {}, "0/5 regions fit"}, preemptedBefore(),
            PlacementPhase::kPreempted, std::nullopt, ConditionStatus::kFalse, "Preempted",
            "preempted by prod/db (priority 90) to free capacity in eu-west-1; waiting for capacity: 0/5 regions fit",
            false},
        Row{"preempted_once_placed_again", {Kind::kPlaced, "eu-west-1", 60, {}, "1/5 regions fit"}, preemptedBefore(),
            PlacementPhase::kPlaced, "eu-west-1", ConditionStatus::kTrue, "Placed", "1/5 regions fit", false}),
    [](const testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

TEST(ComputeStatusTest, PlacingRaisesTheEpochStampsWholeSecondsAndRoundsTheScore) {
  const StatusDraft first = computeStatus({Kind::kPlaced, "eu-west-1", 71.23456, {}, "fits"}, {}, 1, kNow);
  EXPECT_EQ(first.status.epoch, 1);
  EXPECT_EQ(first.status.placedAt, api::parseTime("2026-03-01T12:00:00Z").value());
  EXPECT_EQ(first.status.score, 71.23);
  const StatusDraft again = computeStatus({Kind::kPlaced, "us-east-1", 50, {}, "fits"}, first.status, 2, kNow);
  EXPECT_EQ(again.status.epoch, 2) << "every placement is a new epoch: fencing tells a stale copy by it";
  const StatusDraft stays = computeStatus({Kind::kStillFits, "us-east-1", 0, {}, ""}, again.status, 3, kNow);
  EXPECT_EQ(stays.status.epoch, 2) << "staying put is not a new placement";
  EXPECT_EQ(stays.status.placedAt, again.status.placedAt);
}

TEST(ComputeStatusTest, AnUnchangedConditionKeepsItsTransitionTime) {
  const StatusDraft stays = computeStatus({Kind::kStillFits, "eu-west-1", 0, {}, ""}, placedIn("eu-west-1"), 2, kNow);
  ASSERT_NE(placedCondition(stays.status), nullptr);
  EXPECT_EQ(placedCondition(stays.status)->lastTransitionTime, kEarlier);
  const StatusDraft flips = computeStatus({Kind::kUnschedulable, "", 0, {}, "0/5"}, placedIn("eu-west-1"), 2, kNow);
  EXPECT_EQ(placedCondition(flips.status)->lastTransitionTime, std::chrono::floor<std::chrono::seconds>(kNow))
      << "a flip is stamped now, in whole seconds as the API stores it";
}

// The status draft: conditions through the typed helper, whose refusals are kept, not dropped.

TEST(StatusDraftTest, LongMessagesAreCutAtACharacterBoundary) {
  StatusDraft draft;
  const api::Time now = std::chrono::sys_days{std::chrono::January / 1 / 2026};
  std::string message(32767, 'a');
  message += "\xE2\x82\xAC and more";  // a 3-byte character across the 32768-byte limit
  draft.condition("Placed", api::ConditionStatus::kFalse, "Unschedulable", message, 2, now);
  EXPECT_EQ(draft.error, "");
  ASSERT_EQ(draft.status.conditions.size(), 1u);
  EXPECT_EQ(draft.status.conditions[0].message, std::string(32767, 'a'));
  EXPECT_EQ(draft.status.conditions[0].observedGeneration, 2);
  EXPECT_NO_THROW((void)nlohmann::json(draft.status).dump());
}

TEST(StatusDraftTest, ARefusedConditionIsKeptAsTheFirstError) {
  StatusDraft draft;
  const api::Time now = std::chrono::sys_days{std::chrono::January / 1 / 2026};
  draft.condition("Placed", api::ConditionStatus::kTrue, "not camel case", "m", 1, now);
  draft.condition("Placed", api::ConditionStatus::kTrue, "Placed", "m", -1, now);
  EXPECT_NE(draft.error.find("reason"), std::string::npos) << draft.error;
  EXPECT_TRUE(draft.status.conditions.empty());
}

TEST(PreemptedStatusTest, SaysWhoAndWhereAndRaisesTheEpoch) {
  const StatusDraft draft = preemptedStatus(placedIn("eu-west-1"), "prod/db", 90, "eu-west-1", 1, kNow);
  ASSERT_TRUE(draft.error.empty()) << draft.error;
  const api::VMPlacementStatus& s = draft.status;
  EXPECT_EQ(s.phase, PlacementPhase::kPreempted);
  EXPECT_FALSE(s.region || s.score || s.workloadRef);
  EXPECT_EQ(s.epoch, 4);
  EXPECT_EQ(s.message, "preempted by prod/db (priority 90) to free capacity in eu-west-1; waiting for capacity");
  EXPECT_EQ(placedCondition(s)->reason, "Preempted");
  EXPECT_EQ(placedCondition(s)->status, ConditionStatus::kFalse);
}

}  // namespace
}  // namespace dwcp::controllers
