// The records regions replicate: round trips, the key layout, and hostile text refused with the
// field named.
#include "api/federation.h"

#include <gtest/gtest.h>

namespace dwcp::api {
namespace {

Heartbeat sampleHeartbeat() {
  Heartbeat hb;
  hb.region = "eu-west-1";
  hb.sequence = 42;
  hb.sentAtMillis = 1'700'000'000'123;
  hb.phase = RegionPhase::kHealthy;
  hb.healthScore = 97;
  hb.allocated = RegionResources{8, 16384, 200, 2};
  hb.epoch = 3;
  hb.peers = {{"us-east-1", 1.25, true}, {"us-west-2", std::nullopt, false}};
  return hb;
}

PlacementRecord sampleRecord() {
  PlacementRecord record;
  record.uid = "6f1c2c1e-0d5b-4b5e-9a53-1a2b3c4d5e6f";
  record.namespace_ = "default";
  record.name = "web-frontend-01";
  record.home = "us-east-1";
  record.region = "eu-west-1";
  record.state = RecordState::kReserving;
  record.epoch = 1;
  record.spec.resources = {4, 8192, 100};
  record.spec.priority = 70;
  record.spec.constraints.regions = {"eu-west-1"};
  record.spec.template_ = json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"data", {{"k", "v"}}}};
  return record;
}

TEST(FederationRecordsTest, EveryRecordRoundTrips) {
  const Heartbeat hb = sampleHeartbeat();
  auto parsedHb = parseHeartbeat(serialize(hb));
  ASSERT_TRUE(parsedHb.ok()) << parsedHb.error().message;
  EXPECT_EQ(*parsedHb, hb);

  const PlacementRecord record = sampleRecord();
  auto parsedRecord = parsePlacementRecord(serialize(record));
  ASSERT_TRUE(parsedRecord.ok()) << parsedRecord.error().message;
  EXPECT_EQ(*parsedRecord, record);

  ReservationAnswer answer;
  answer.uid = record.uid;
  answer.region = "eu-west-1";
  answer.epoch = 1;
  answer.admitted = true;
  answer.reason = "admitted: 4 cpu of 2040 free";
  answer.mirror = "web-frontend-01.us-east-1";
  answer.workloadRef = WorkloadRef{"v1", "ConfigMap", "default", "web-frontend-01", "abc", "eu-west-1"};
  answer.workloadReady = Condition{"WorkloadReady", ConditionStatus::kTrue, "Materialized", "applied",
                                   Time{std::chrono::seconds(1'700'000'000)}, 1};
  auto parsedAnswer = parseReservationAnswer(serialize(answer));
  ASSERT_TRUE(parsedAnswer.ok()) << parsedAnswer.error().message;
  EXPECT_EQ(*parsedAnswer, answer);
}

TEST(FederationRecordsTest, KeysParseBackAndRefuseWhatNoRegionWrites) {
  auto hb = parseRecordKey(heartbeatKey("eu-west-1"));
  ASSERT_TRUE(hb);
  EXPECT_EQ(hb->kind, RecordKey::Kind::kHeartbeat);
  EXPECT_EQ(hb->region, "eu-west-1");
  auto vm = parseRecordKey(recordKey("abc-123"));
  ASSERT_TRUE(vm);
  EXPECT_EQ(vm->kind, RecordKey::Kind::kRecord);
  EXPECT_EQ(vm->uid, "abc-123");
  auto answer = parseRecordKey(answerKey("us-east-1", "abc-123"));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->kind, RecordKey::Kind::kAnswer);
  EXPECT_EQ(answer->region, "us-east-1");
  EXPECT_EQ(answer->uid, "abc-123");
  const std::vector<std::string> bad = {"",        "hb/",     "hb/EU",    "hb/-a",      "vm/",     "vm/A B",
                                       "resv/x",  "resv//u", "resv/r/",  "resv/r/u/v", "other/x", "hb/" + std::string(70, 'a')};
  for (const std::string& key : bad) {
    EXPECT_FALSE(parseRecordKey(key)) << key;
  }
}

struct BadText {
  std::string name;
  std::string text;
  std::string error;  // a substring of the message
};
void PrintTo(const BadText& c, std::ostream* os) { *os << c.name; }

class HostileHeartbeatTest : public testing::TestWithParam<BadText> {};

TEST_P(HostileHeartbeatTest, IsRefusedNamingTheField) {
  auto parsed = parseHeartbeat(GetParam().text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find(GetParam().error), std::string::npos) << parsed.error().message;
  EXPECT_EQ(parsed.error().message.rfind("heartbeat: ", 0), 0u) << parsed.error().message;
}

std::string heartbeatWith(const std::string& field, const json& value) {
  json j = json::parse(serialize(sampleHeartbeat()));
  if (value.is_null()) {
    j.erase(field);
  } else {
    j[field] = value;
  }
  return j.dump();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HostileHeartbeatTest,
    testing::Values(
        BadText{"NotJson", "{\"region\":", "not valid JSON"}, BadText{"NotAnObject", "[1,2]", "must be an object"},
        BadText{"Oversized", std::string(kMaxRecordBytes + 1, ' '), "above the limit"},
        BadText{"MissingRegion", heartbeatWith("region", nullptr), "region: is required"},
        BadText{"RegionNotAName", heartbeatWith("region", "EU West"), "region: must be a region name"},
        BadText{"SequenceNegative", heartbeatWith("sequence", -1), "sequence: must be at least 0"},
        BadText{"SequenceText", heartbeatWith("sequence", "7"), "sequence: must be an integer"},
        BadText{"HealthAbove100", heartbeatWith("healthScore", 101), "healthScore: must be between 0 and 100"},
        BadText{"UnknownPhase", heartbeatWith("phase", "Exploded"), "phase: must be one of"},
        BadText{"NegativeAllocation", heartbeatWith("allocated", json{{"cpu", -1}, {"memoryMiB", 0}, {"storageGiB", 0}}),
                "allocated.cpu: must be at least 0"},
        BadText{"TooManyPeers", heartbeatWith("peers", json(std::vector<json>(257, json{{"region", "a"}}))),
                "peers: must list at most 256"},
        BadText{"PeerRttNegative", heartbeatWith("peers", json::array({json{{"region", "a"}, {"rttMs", -3}}})),
                "peers[0].rttMs: must be a finite number"}));

TEST(FederationRecordsTest, AHostileRecordOrAnswerIsRefusedNamingTheField) {
  json record = json::parse(serialize(sampleRecord()));
  record["spec"]["resources"]["cpu"] = 0;
  auto badSpec = parsePlacementRecord(record.dump());
  ASSERT_FALSE(badSpec.ok());
  EXPECT_NE(badSpec.error().message.find("spec.resources.cpu"), std::string::npos) << badSpec.error().message;

  record = json::parse(serialize(sampleRecord()));
  record["uid"] = "../../etc";
  auto badUid = parsePlacementRecord(record.dump());
  ASSERT_FALSE(badUid.ok());
  EXPECT_NE(badUid.error().message.find("uid: must be a uid"), std::string::npos) << badUid.error().message;

  record = json::parse(serialize(sampleRecord()));
  record["state"] = "Stolen";
  EXPECT_FALSE(parsePlacementRecord(record.dump()).ok());

  auto answer = parseReservationAnswer(R"({"uid":"u1","region":"eu-west-1","epoch":1,"admitted":"yes"})");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("admitted: must be a boolean"), std::string::npos) << answer.error().message;
  auto longReason = parseReservationAnswer(
      json{{"uid", "u1"}, {"region", "eu-west-1"}, {"epoch", 1}, {"admitted", false}, {"reason", std::string(5000, 'x')}}
          .dump());
  ASSERT_FALSE(longReason.ok());
  EXPECT_NE(longReason.error().message.find("reason: must be at most 4096"), std::string::npos);
}

}  // namespace
}  // namespace dwcp::api
