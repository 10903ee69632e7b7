#include "engines/placement/explain.h"

#include <gtest/gtest.h>

#include "engines/placement/engine.h"
#include "engines/placement/test_fixtures.h"

namespace dwcp::placement {
namespace {

using testing::fiveRegions;
using testing::makeRequest;

Rejection rej(std::string region, Reason reason, std::string subject = "", double actual = 0, double limit = 0) {
  return Rejection{std::move(region), reason, std::move(subject), actual, limit};
}

struct DescribeCase {
  Rejection rejection;
  const char* text;
  const char* phrase;
  const char* code;
};
void PrintTo(const DescribeCase& c, std::ostream* os) { *os << c.text; }

class DescribeTest : public ::testing::TestWithParam<DescribeCase> {};

TEST_P(DescribeTest, TextPhraseAndCode) {
  const DescribeCase& c = GetParam();
  EXPECT_EQ(describe(c.rejection), c.text);
  EXPECT_EQ(summaryPhrase(c.rejection), c.phrase);
  EXPECT_EQ(reasonCode(c.rejection.reason), c.code);
}

INSTANTIATE_TEST_SUITE_P(
    EveryReason, DescribeTest,
    ::testing::Values(
        DescribeCase{rej("r", Reason::kRegionDisabled), "region disabled", "disabled", "RegionDisabled"},
        DescribeCase{rej("r", Reason::kRegionFailed), "region failed", "failed", "RegionFailed"},
        DescribeCase{rej("r", Reason::kRegionDraining), "region draining", "draining", "RegionDraining"},
        DescribeCase{rej("r", Reason::kRegionUnreachable), "region unreachable (no heartbeat)", "unreachable",
                     "RegionUnreachable"},
        DescribeCase{rej("r", Reason::kNotAllowed), "not in allowed regions", "not in allowed regions", "NotAllowed"},
        DescribeCase{rej("r", Reason::kExcluded), "excluded", "excluded", "Excluded"},
        DescribeCase{rej("r", Reason::kContinent, "asia"), "continent asia not allowed", "outside allowed continents",
                     "ContinentMismatch"},
        DescribeCase{rej("r", Reason::kCountry, "IN"), "country IN not allowed", "outside allowed countries",
                     "CountryMismatch"},
        DescribeCase{rej("r", Reason::kCountry, ""), "country unset not allowed", "outside allowed countries",
                     "CountryMismatch"},
        DescribeCase{rej("r", Reason::kCompliance, "gdpr"), "lacks compliance gdpr", "lack compliance gdpr",
                     "MissingCompliance"},
        DescribeCase{rej("r", Reason::kHealth, "", 62.5, 80), "health 62.5 under min 80", "health under min",
                     "HealthTooLow"},
        DescribeCase{rej("r", Reason::kHealth, "", -1, 80),
                     "health unknown under min 80", "health under min", "HealthTooLow"},
        DescribeCase{rej("r", Reason::kLatency, "", 120, 50), "latency 120 ms over max 50 ms", "latency over max",
                     "LatencyTooHigh"},
        DescribeCase{rej("r", Reason::kCost, "", 1.5234, 1), "cost 1.52/h over max 1.00/h", "cost over max",
                     "CostTooHigh"},
        DescribeCase{rej("r", Reason::kInsufficientCpu, "", 2, 4), "insufficient cpu: 2 free, 4 requested",
                     "insufficient cpu", "InsufficientCpu"},
        DescribeCase{rej("r", Reason::kInsufficientMemory, "", 1024, 4096),
                     "insufficient memory: 1024 MiB free, 4096 MiB requested", "insufficient memory",
                     "InsufficientMemory"},
        DescribeCase{rej("r", Reason::kInsufficientStorage, "", 0, 100),
                     "insufficient storage: 0 GiB free, 100 GiB requested", "insufficient storage",
                     "InsufficientStorage"},
        DescribeCase{rej("r", Reason::kNoVmSlots, "", 0, 1), "no vm slots", "no vm slots", "NoVmSlots"}));

TEST(SummarizeTest, GroupsByPhraseCountDescThenText) {
  std::vector<Rejection> rejections = {
      rej("a", Reason::kCompliance, "gdpr"), rej("b", Reason::kInsufficientCpu),   rej("c", Reason::kCompliance, "gdpr"),
      rej("d", Reason::kCompliance, "gdpr"), rej("e", Reason::kInsufficientCpu),   rej("f", Reason::kExcluded),
      rej("g", Reason::kCompliance, "hipaa"), rej("h", Reason::kContinent, "asia"), rej("i", Reason::kContinent, "europe"),
  };
  EXPECT_EQ(summarize(10, 1, rejections),
            "1/10 regions fit: 3 lack compliance gdpr, 2 insufficient cpu, 2 outside allowed continents, "
            "1 excluded, 1 lack compliance hipaa");
}

TEST(SummarizeTest, NoRejections) {
  EXPECT_EQ(summarize(5, 5, {}), "5/5 regions fit");
  EXPECT_EQ(summarize(0, 0, {}), "0/0 regions fit");
}

TEST(ExplainTest, IssueExampleEndToEnd) {
  auto snapshot = Snapshot::build(fiveRegions());
  ASSERT_TRUE(snapshot.ok());
  Request request = makeRequest("default/big", 3000, 8192, 10);
  request.constraints.compliance = {"gdpr"};
  const Decision d = Engine().place(snapshot.value(), request);
  EXPECT_EQ(d.outcome, Outcome::kUnschedulable);
  EXPECT_EQ(d.message, "0/5 regions fit: 3 lack compliance gdpr, 2 insufficient cpu");
  ASSERT_EQ(d.rejections.size(), 5u);
  EXPECT_EQ(d.rejections[2].region, "eu-west-1");
  EXPECT_EQ(describe(d.rejections[2]), "insufficient cpu: 2048 free, 3000 requested");
  EXPECT_EQ(describe(d.rejections[4]), "lacks compliance gdpr");
  EXPECT_TRUE(d.candidates.empty());
  EXPECT_TRUE(d.region.empty());
}

TEST(ExplainTest, PlacedDecisionSummarizesTheRest) {
  auto snapshot = Snapshot::build(fiveRegions());
  ASSERT_TRUE(snapshot.ok());
  Request request = makeRequest("default/eu");
  request.constraints.continents = {Continent::kEurope};
  request.constraints.excludeRegions = {"eu-west-1"};
  const Decision d = Engine().place(snapshot.value(), request);
  EXPECT_EQ(d.outcome, Outcome::kPlaced);
  EXPECT_EQ(d.region, "eu-central-1");
  EXPECT_EQ(d.message, "1/5 regions fit: 3 outside allowed continents, 1 excluded");
}

}  // namespace
}  // namespace dwcp::placement
