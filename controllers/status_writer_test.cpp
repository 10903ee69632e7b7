#include "controllers/status_writer.h"

#include <memory>

#include <gtest/gtest.h>

#include "api/groupversion.h"
#include "api/region.h"
#include "kube/testing/fake_transport.h"

namespace dwcp::controllers {
namespace {

using json = nlohmann::json;

const StatusOwnership kOwned{{"phase", "healthScore"}, {"Ready"}};

api::ObjectMeta meta() {
  api::ObjectMeta m;
  m.name = "us-east-1";
  m.resourceVersion = "42";
  return m;
}

api::Condition condition(const char* type) {
  return api::Condition{type, api::ConditionStatus::kTrue, "Fine", "", {}, 1};
}

TEST(StatusWriterTest, ApplyBodyCarriesOnlyTheOwnedFieldsAndConditionTypes) {
  api::RegionStatus status;
  status.phase = api::RegionPhase::kHealthy;
  status.healthScore = 90;
  status.epoch = 3;  // another writer's
  status.conditions = {condition("Ready"), condition("FailoverReady")};

  const json body = statusApplyBody(api::kRegionResource, meta(), json(status), kOwned);

  EXPECT_EQ(body["apiVersion"], "federation.dwcp.io/v1alpha1");
  EXPECT_EQ(body["kind"], "Region");
  EXPECT_EQ(body["metadata"], (json{{"name", "us-east-1"}, {"resourceVersion", "42"}}));  // cluster-scoped
  EXPECT_EQ(body["status"]["phase"], "Healthy");
  EXPECT_FALSE(body["status"].contains("epoch")) << body.dump();
  ASSERT_EQ(body["status"]["conditions"].size(), 1u);
  EXPECT_EQ(body["status"]["conditions"][0]["type"], "Ready");
}

struct WriteCase {
  const char* name;
  int code;
  StatusWrite::Outcome want;
};
void PrintTo(const WriteCase& c, std::ostream* os) { *os << c.name; }

class StatusWriterOutcomeTest : public ::testing::TestWithParam<WriteCase> {};

TEST_P(StatusWriterOutcomeTest, MapsTheServerAnswer) {
  const WriteCase& c = GetParam();
  auto transport = std::make_shared<kube::FakeTransport>();
  const json body = {{"kind", "Status"}, {"code", c.code}, {"reason", "Scripted"}, {"message", "scripted"}};
  transport->expect("PATCH", "/apis/federation.dwcp.io/v1alpha1/regions/us-east-1/status",
                    {c.code, c.code == 200 ? R"({"kind":"Region"})" : body.dump()});
  kube::Client client(transport);
  api::RegionStatus current, desired;
  desired.phase = api::RegionPhase::kDegraded;

  StatusWrite write = writeStatus(client, api::kRegionResource, meta(), current, desired, kOwned);

  EXPECT_EQ(write.outcome, c.want);
  EXPECT_EQ(write.result().ok(), c.want != StatusWrite::Outcome::kFailed);
  EXPECT_EQ(write.result().conflicted(), c.want == StatusWrite::Outcome::kConflict);
  if (c.want == StatusWrite::Outcome::kFailed) {
    EXPECT_NE(write.error.find("Region us-east-1"), std::string::npos) << write.error;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, StatusWriterOutcomeTest,
                         ::testing::Values(WriteCase{"Written", 200, StatusWrite::Outcome::kWritten},
                                           WriteCase{"ConflictIsAPromptRetry", 409, StatusWrite::Outcome::kConflict},
                                           WriteCase{"NotFoundIsDone", 404, StatusWrite::Outcome::kGone},
                                           WriteCase{"ServerErrorFails", 500, StatusWrite::Outcome::kFailed}),
                         [](const ::testing::TestParamInfo<WriteCase>& info) { return std::string(info.param.name); });

TEST(StatusWriterTest, OwnedFieldThatSurvivesTheApplyIsRemovedUnderTheReturnedVersion) {
  // healthScore was written by PUT before server-side apply: the apply that leaves it out does
  // not remove it, so a guarded JSON Patch does.
  auto transport = std::make_shared<kube::FakeTransport>();
  const std::string path = "/apis/federation.dwcp.io/v1alpha1/regions/us-east-1/status";
  const json afterApply = {{"kind", "Region"},
                           {"metadata", {{"name", "us-east-1"}, {"resourceVersion", "43"}}},
                           {"status", {{"phase", "Unknown"}, {"healthScore", 100}, {"epoch", 3}}}};
  transport->expect("PATCH", path + "?fieldManager=dwcp-operator&force=true", {200, afterApply.dump()});
  transport->expect("PATCH", path + "?fieldManager=dwcp-operator", {200, R"({"kind":"Region"})"});
  kube::Client client(transport);
  api::RegionStatus current, desired;
  current.phase = api::RegionPhase::kHealthy;
  current.healthScore = 100;
  desired.phase = api::RegionPhase::kUnknown;

  StatusWrite write = writeStatus(client, api::kRegionResource, meta(), current, desired, kOwned);

  EXPECT_EQ(write.outcome, StatusWrite::Outcome::kWritten);
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].contentType, "application/json-patch+json");
  EXPECT_EQ(json::parse(requests[1].body),
            json::parse(R"([{"op": "test", "path": "/metadata/resourceVersion", "value": "43"},
                            {"op": "remove", "path": "/status/healthScore"}])"))
      << "epoch is not ours: left alone";
}

TEST(StatusWriterTest, EqualStatusIsNotWritten) {
  auto transport = std::make_shared<kube::FakeTransport>();
  kube::Client client(transport);
  api::RegionStatus status;
  status.phase = api::RegionPhase::kHealthy;
  StatusWrite write = writeStatus(client, api::kRegionResource, meta(), status, status, kOwned);
  EXPECT_EQ(write.outcome, StatusWrite::Outcome::kUnchanged);
  EXPECT_TRUE(transport->requests().empty());
}

}  // namespace
}  // namespace dwcp::controllers
