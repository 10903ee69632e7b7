// The Prometheus exposition of the state metrics, from hand-made snapshots: exact bucket
// arithmetic, the per-peer lag series, label escaping and a parseable line format.
#include "federation/state_exposition.h"

#include <gtest/gtest.h>

#include <cstring>
#include <regex>
#include <set>
#include <sstream>

namespace dwcp::federation {
namespace {

bool hasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(StateExpositionTest, HistogramBucketsAreCumulativeWithA250MillisecondBucket) {
  state::StateMetrics metrics;
  for (double seconds : {0.004, 0.2, 0.3, 20.0, -0.5}) metrics.syncLatency.observe(seconds);
  const std::string text = renderStateExposition(metrics, TransportStats{}, {});
  const std::string name = "dwcp_federation_state_sync_latency_seconds";
  EXPECT_TRUE(hasLine(text, "# TYPE " + name + " histogram")) << text;
  EXPECT_TRUE(hasLine(text, name + "_bucket{le=\"0.001\"} 1")) << text;  // the negative sample, clamped to 0
  EXPECT_TRUE(hasLine(text, name + "_bucket{le=\"0.005\"} 2")) << text;
  EXPECT_TRUE(hasLine(text, name + "_bucket{le=\"0.25\"} 3")) << text;
  EXPECT_TRUE(hasLine(text, name + "_bucket{le=\"0.5\"} 4")) << text;
  EXPECT_TRUE(hasLine(text, name + "_bucket{le=\"10\"} 4")) << text;
  EXPECT_TRUE(hasLine(text, name + "_bucket{le=\"+Inf\"} 5")) << text;
  EXPECT_TRUE(hasLine(text, name + "_count 5")) << text;
  EXPECT_TRUE(hasLine(text, name + "_sum 20.504")) << text;
}

TEST(StateExpositionTest, LagGaugesPerPeerCountersAndEscapedLabels) {
  state::StateMetrics metrics;
  metrics.lagByPeer[2] = state::PeerLag{3, 1500};
  metrics.lagByPeer[3] = state::PeerLag{0, 0};
  metrics.lagByPeer[4] = state::PeerLag{1, 20};
  metrics.bytesSent = 1234;
  metrics.bytesReceived = 99;
  metrics.framesRejected = 2;
  metrics.antiEntropyRepairs = 7;
  metrics.quorumFailures = 1;
  TransportStats transport;
  transport.handshakeFailures = 5;
  const std::string text = renderStateExposition(metrics, transport, {{2, "eu-west-1"}, {4, "odd\"re\\gion\n"}});
  const std::string p = "dwcp_federation_state_";
  EXPECT_TRUE(hasLine(text, "# TYPE " + p + "replication_lag_seconds gauge")) << text;
  EXPECT_TRUE(hasLine(text, p + "replication_lag_seconds{peer=\"eu-west-1\"} 1.5")) << text;
  EXPECT_TRUE(hasLine(text, p + "replication_lag_seconds{peer=\"3\"} 0")) << text;  // no region name: the id
  EXPECT_TRUE(hasLine(text, p + "replication_lag_seconds{peer=\"odd\\\"re\\\\gion\\n\"} 0.02")) << text;
  EXPECT_TRUE(hasLine(text, p + "unacknowledged_writes{peer=\"eu-west-1\"} 3")) << text;
  EXPECT_TRUE(hasLine(text, p + "unacknowledged_writes{peer=\"3\"} 0")) << text;
  EXPECT_TRUE(hasLine(text, "# TYPE " + p + "bytes_sent_total counter")) << text;
  EXPECT_TRUE(hasLine(text, p + "bytes_sent_total 1234")) << text;
  EXPECT_TRUE(hasLine(text, p + "bytes_received_total 99")) << text;
  EXPECT_TRUE(hasLine(text, p + "frames_rejected_total 2")) << text;
  EXPECT_TRUE(hasLine(text, p + "anti_entropy_repairs_total 7")) << text;
  EXPECT_TRUE(hasLine(text, p + "quorum_failures_total 1")) << text;
  EXPECT_TRUE(hasLine(text, p + "transport_handshake_failures_total 5")) << text;

  // Every line is a comment or `name{labels} value`, and every series has a TYPE line before it.
  const std::regex sample(R"re(^([a-z_:][a-z0-9_:]*)(\{([a-z_]+="([^"\\]|\\.)*")(,[a-z_]+="([^"\\]|\\.)*")*\})? (\S+)$)re");
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> typed;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
    std::string family = match[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!typed.count(family) && family.size() > strlen(suffix) && family.ends_with(suffix)) {
        family.resize(family.size() - strlen(suffix));
      }
    }
    EXPECT_TRUE(typed.count(family)) << "no TYPE before " << line;
  }
}

}  // namespace
}  // namespace dwcp::federation
