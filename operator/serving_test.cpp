// The operator's own endpoints over real sockets: /metrics and the health probes on net/'s
// server, what they answer off their paths, and a taken port named by its flag.
#include <gtest/gtest.h>

#include <atomic>

#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "operator/health_server.h"
#include "operator/metrics.h"

namespace dwcp::op {
namespace {
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct Reply {
  unsigned status = 0;
  std::string contentType;
  std::string body;
};

Reply get(int port, const std::string& target, http::verb method = http::verb::get) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "operator");
  http::write(socket, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  return {response.result_int(), std::string(response[http::field::content_type]), response.body()};
}

TEST(OperatorServingTest, MetricsAreTheRegistryAsPrometheusTextAndNothingElse) {
  OperatorMetrics metrics;
  metrics.setLeader(true);
  metrics.setRegionHealth("eu-west-1", 87);
  auto port = metrics.serve("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.error().message;
  const Reply scrape = get(*port, "/metrics");
  EXPECT_EQ(scrape.status, 200u);
  EXPECT_EQ(scrape.contentType, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(scrape.body.find("dwcp_federation_operator_leader 1"), std::string::npos) << scrape.body;
  EXPECT_NE(scrape.body.find("dwcp_federation_region_health_score{region=\"eu-west-1\"} 87"), std::string::npos);
  EXPECT_EQ(scrape.body, metrics.serialize()) << "the scrape is the registry's serialization";
  EXPECT_EQ(get(*port, "/").status, 404u);
  EXPECT_EQ(get(*port, "/metricsx").status, 404u);
}

TEST(OperatorServingTest, ProbesRunTheirChecksAndRefuseOtherMethods) {
  std::atomic<bool> ready{false};
  HealthServer health({{"ping", [] { return kube::okStatus(); }}},
                      {{"caches", [&]() -> kube::Status {
                          if (ready) return kube::okStatus();
                          return kube::Error{0, "NotSynced", "not synced yet"};
                        }}});
  auto port = health.start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.error().message;
  EXPECT_EQ(get(*port, "/healthz").status, 200u);
  const Reply notReady = get(*port, "/readyz");
  EXPECT_EQ(notReady.status, 503u);
  EXPECT_NE(notReady.body.find("[-]caches failed: not synced yet"), std::string::npos) << notReady.body;
  ready = true;
  EXPECT_EQ(get(*port, "/readyz?verbose").body, "[+]caches ok\nok\n");
  EXPECT_EQ(get(*port, "/readyz", http::verb::post).status, 405u);
  EXPECT_EQ(get(*port, "/nothing").status, 404u);
}

TEST(OperatorServingTest, ATakenPortIsAnErrorNamingTheFlag) {
  OperatorMetrics first;
  auto port = first.serve("127.0.0.1:0");
  ASSERT_TRUE(port.ok());
  HealthServer health({}, {});
  auto taken = health.start("127.0.0.1:" + std::to_string(*port));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().message.rfind("--health-probe-bind-address: cannot bind 127.0.0.1:", 0), 0u)
      << taken.error().message;
  OperatorMetrics second;
  auto bad = second.serve("127.0.0.1:99999");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("--metrics-bind-address"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace dwcp::op
