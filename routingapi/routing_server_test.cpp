// The routing API end to end in one process: a real Beast server on an ephemeral loopback port,
// real HTTP requests from a small Beast client.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "base/clock.h"
#include "net/http_server.h"
#include "routingapi/routing_service.h"

namespace dwcp::routingapi {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

struct Reply {
  int status = 0;
  std::string body;
  std::string retryAfter;
  bool keepAlive = false;
  Json json() const { return Json::parse(body, nullptr, false); }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One keep-alive connection, from `source` (any 127.0.0.0/8 address is this host's loopback).
class Client {
 public:
  explicit Client(std::uint16_t port, const std::string& source = "127.0.0.1") : socket_(io_) {
    socket_.open(tcp::v4());
    socket_.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  Reply send(http::verb method, const std::string& target, const std::string& body = {},
             const std::string& contentType = "application/json", const Headers& headers = {}) {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.insert(name, value);
    if (!body.empty() || method == http::verb::post) {
      request.set(http::field::content_type, contentType);
      request.body() = body;
      request.prepare_payload();
    }
    http::write(socket_, request);
    return read();
  }
  Reply read() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    beast::error_code ec;
    http::read(socket_, buffer_, parser, ec);
    if (ec) return Reply{-1, ec.message(), "", false};
    const auto& response = parser.get();
    return Reply{static_cast<int>(response.result_int()), response.body(),
                 std::string(response[http::field::retry_after]), response.keep_alive()};
  }
  tcp::socket& socket() { return socket_; }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

routing::RegionSpec region(const char* name, double lat, double lon, routing::RegionPhase phase,
                           double costPerRequest = 0.0001) {
  routing::RegionSpec s;
  s.name = name;
  s.endpoint = std::string("https://") + name + ".example.com";
  s.location = {lat, lon};
  s.phase = phase;
  s.costPerRequest = costPerRequest;
  return s;
}

class RoutingServerTest : public testing::Test {
 protected:
  void startServer(RoutingServiceOptions options = {}, net::HttpServerOptions serverOptions = routingServerOptions()) {
    ASSERT_TRUE(table_.replaceAll({region("eu-west-1", 53.35, -6.26, routing::RegionPhase::kHealthy),
                                   region("us-east-1", 38.13, -78.45, routing::RegionPhase::kHealthy),
                                   region("ap-south-1", 19.08, 72.88, routing::RegionPhase::kFailed)})
                    .ok());
    router_.emplace(table_, routing::RouterConfig{}, clock_);
    service_.emplace(table_, *router_, options, clock_);
    serverOptions.port = 0;
    serverOptions.threads = 2;
    server_ = net::makeHttpServer(serverOptions, service_->handler());
    auto status = server_->start();
    ASSERT_TRUE(status.ok()) << status.error().message;
    ASSERT_NE(server_->port(), 0);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  Reply post(const std::string& body) { return Client(server_->port()).send(http::verb::post, "/v1/route", body); }
  // POST /v1/route on `client` with extra header fields.
  static Reply postWith(Client& client, const std::string& body, const Headers& headers) {
    return client.send(http::verb::post, "/v1/route", body, "application/json", headers);
  }

  base::FakeClock clock_;
  routing::RegionTable table_;
  std::optional<routing::Router> router_;
  std::optional<RoutingService> service_;
  std::unique_ptr<net::HttpServer> server_;
};

TEST_F(RoutingServerTest, RoutesAGoodRequest) {
  startServer();
  auto reply = post(R"({"clientAddress":"198.51.100.1","location":{"latitude":51.5,"longitude":-0.1},)"
                    R"("trafficClass":"interactive","algorithm":"geo-proximity","requestBytes":512})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto json = reply.json();
  EXPECT_EQ(json["region"], "eu-west-1");
  EXPECT_EQ(json["endpoint"], "https://eu-west-1.example.com");
  EXPECT_EQ(json["algorithm"], "geo-proximity");
  EXPECT_EQ(json["trafficClass"], "interactive");
  ASSERT_EQ(json["alternatives"].size(), 1u);  // the Failed region is never offered
  EXPECT_EQ(json["alternatives"][0]["region"], "us-east-1");
}

TEST_F(RoutingServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  startServer();
  Client client(server_->port());
  for (int i = 0; i < 20; ++i) {
    auto reply = client.send(http::verb::post, "/v1/route", R"({"location":{"latitude":40,"longitude":-75}})");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(reply.keepAlive);
    EXPECT_EQ(reply.json()["region"], "us-east-1");
  }
}

TEST_F(RoutingServerTest, ManyConnectionsAcrossTheReusePortListenersAreAllServed) {
  startServer({}, {.address = "127.0.0.1", .port = 0, .threads = 2});
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 24; ++i) clients.push_back(std::make_unique<Client>(server_->port()));
  for (int round = 0; round < 3; ++round) {
    for (auto& client : clients) {
      auto reply = client->send(http::verb::get, "/healthz");
      ASSERT_EQ(reply.status, 200) << reply.body;
      EXPECT_TRUE(reply.keepAlive);
    }
  }
}

TEST_F(RoutingServerTest, PipelinedAndSplitRequestsAreAnsweredInOrder) {
  startServer();
  Client client(server_->port());
  const std::string body = R"({"location":{"latitude":40,"longitude":-75}})";
  const std::string post = "POST /v1/route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  // Three requests in one write: answered one after the other on the same connection.
  asio::write(client.socket(), asio::buffer(post + get + post));
  auto first = client.read();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.json()["region"], "us-east-1");
  auto second = client.read();
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "ok\n");
  auto third = client.read();
  EXPECT_EQ(third.json()["region"], "us-east-1");
  // One request in pieces, the header cut in the middle of a field.
  const std::string pieces[] = {post.substr(0, 10), post.substr(10, 30), post.substr(40)};
  for (const auto& piece : pieces) {
    asio::write(client.socket(), asio::buffer(piece));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto split = client.read();
  EXPECT_EQ(split.status, 200) << split.body;
  EXPECT_EQ(split.json()["region"], "us-east-1");
}

TEST_F(RoutingServerTest, IdleAndStalledConnectionsAreClosedAfterTheirTimeouts) {
  net::HttpServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.readTimeout = std::chrono::milliseconds(200);
  options.idleTimeout = std::chrono::milliseconds(200);
  startServer({}, options);
  // Idle after one request on a kept-alive connection: the server closes it (EOF to a read).
  Client idle(server_->port());
  ASSERT_EQ(idle.send(http::verb::get, "/healthz").status, 200);
  auto afterIdle = idle.read();  // blocks until the server closes the connection
  EXPECT_EQ(afterIdle.status, -1);
  // A request that never completes: closed too, without an answer.
  Client stalled(server_->port());
  asio::write(stalled.socket(), asio::buffer(std::string("POST /v1/route HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")));
  auto afterStall = stalled.read();
  EXPECT_EQ(afterStall.status, -1);
  // The server itself is fine.
  Client fresh(server_->port());
  EXPECT_EQ(fresh.send(http::verb::get, "/healthz").status, 200);
}

TEST_F(RoutingServerTest, BadInputsGet400NamingTheField) {
  startServer();
  const std::pair<std::string, std::string> cases[] = {
      {"{not json", "body"},
      {R"({"location":{"latitude":91,"longitude":0}})", "location.latitude"},
      {R"({"location":{"latitude":"north","longitude":0}})", "location.latitude"},
      {R"({"trafficClass":"bulk"})", "location"},
      {R"({"location":{"latitude":1,"longitude":0},"requestBytes":-5})", "requestBytes"},
      {R"({"location":{"latitude":1,"longitude":0},"algorithm":7})", "algorithm"},
      {R"({"location":{"latitude":1,"longitude":0},"surprise":true})", "surprise"},
      {"", "body"},
  };
  Client client(server_->port());
  for (const auto& [body, field] : cases) {
    auto reply = client.send(http::verb::post, "/v1/route", body);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(reply.json()["field"], field) << body << " -> " << reply.body;
    EXPECT_TRUE(reply.json()["error"].is_string());
  }
  // The connection survived every bad body.
  EXPECT_EQ(client.send(http::verb::get, "/healthz").status, 200);
}

TEST_F(RoutingServerTest, OversizedBodyGets413) {
  net::HttpServerOptions serverOptions;
  serverOptions.bodyLimitBytes = 1024;
  startServer({}, serverOptions);
  auto reply = post(R"({"location":{"latitude":1,"longitude":0},"regionHint":")" + std::string(4000, 'x') + "\"}");
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.json()["field"], "body");
  EXPECT_FALSE(reply.keepAlive);
  // The server still answers others.
  EXPECT_EQ(post(R"({"location":{"latitude":1,"longitude":0}})").status, 200);
}

TEST_F(RoutingServerTest, MalformedHttpGets400AndTheServerLivesOn) {
  startServer();
  {
    Client client(server_->port());
    asio::write(client.socket(), asio::buffer(std::string("GARBAGE / NOT-HTTP\r\n\r\n")));
    auto reply = client.read();
    EXPECT_EQ(reply.status, 400) << reply.body;
  }
  EXPECT_EQ(post(R"({"location":{"latitude":1,"longitude":0}})").status, 200);
}

TEST_F(RoutingServerTest, SourceOverItsLimitGets429WithRetryAfter) {
  RoutingServiceOptions options;
  options.rateLimiter.maxRequestsPerSec = 3;
  options.rateLimiter.burstSeconds = 1;
  startServer(options);
  Client client(server_->port());
  const std::string request = R"({"location":{"latitude":1,"longitude":0}})";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.send(http::verb::post, "/v1/route", request).status, 200) << i;
  auto limited = client.send(http::verb::post, "/v1/route", request);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_FALSE(limited.retryAfter.empty());
  EXPECT_GE(std::stoi(limited.retryAfter), 1);
  // Another source (another TCP peer address) is not affected.
  Client other(server_->port(), "127.0.0.2");
  EXPECT_EQ(other.send(http::verb::post, "/v1/route", request).status, 200);
  // Tokens come back with time (the injected clock, no sleeping).
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(client.send(http::verb::post, "/v1/route", request).status, 200);
  auto metrics = client.send(http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("dwcp_federation_routing_rate_limited_total{reason=\"rate_limited\"} 1"), std::string::npos)
      << metrics;
}

std::string randomIpv4(std::mt19937& random) {
  std::uniform_int_distribution<int> octet(1, 254);
  return std::to_string(octet(random)) + "." + std::to_string(octet(random)) + "." + std::to_string(octet(random)) +
         "." + std::to_string(octet(random));
}

std::string bodyFrom(const std::string& clientAddress) {
  return R"({"clientAddress":")" + clientAddress + R"(","location":{"latitude":1,"longitude":0}})";
}

// The body's clientAddress is the client's own claim: rotating it must not buy a fresh budget,
// and the source that gets blacklisted is the connection's, not an address it named.
TEST_F(RoutingServerTest, RotatingClientAddressesOnOneConnectionAreLimitedByThePeer) {
  RoutingServiceOptions options;
  options.rateLimiter.maxRequestsPerSec = 100;
  options.rateLimiter.burstSeconds = 1;
  options.rateLimiter.sustainedAbuse = std::chrono::seconds(2);
  options.rateLimiter.blacklistDuration = std::chrono::hours(1);
  startServer(options);
  std::mt19937 random(7);
  std::vector<std::string> claimed;
  Client flooder(server_->port());
  int ok = 0, limited = 0, other = 0;
  for (int i = 0; i < 10000; ++i) {
    claimed.push_back(randomIpv4(random));
    const int status = flooder.send(http::verb::post, "/v1/route", bodyFrom(claimed.back())).status;
    (status == 200 ? ok : status == 429 ? limited : other)++;
    clock_.advance(std::chrono::milliseconds(1));  // 10,000 requests over 10 s: 10 x the limit
  }
  EXPECT_EQ(other, 0);
  EXPECT_GT(limited, 0);
  // At most the burst plus the refill over the 10 s the requests were spread over.
  EXPECT_LE(ok, 100 + 100 * 10 + 1) << limited << " limited";
  // The flooder's address is blacklisted, whatever address a new request claims...
  Client again(server_->port());
  auto blacklisted = again.send(http::verb::post, "/v1/route", bodyFrom("192.0.2.200"));
  EXPECT_EQ(blacklisted.status, 429) << blacklisted.body;
  EXPECT_EQ(blacklisted.json()["error"], "source blacklisted") << blacklisted.body;
  // ...and a client that really has one of the addresses the flooder named is served.
  Client innocent(server_->port(), "127.0.0.2");
  EXPECT_EQ(innocent.send(http::verb::post, "/v1/route", bodyFrom(claimed.front())).status, 200);
  EXPECT_EQ(innocent.send(http::verb::post, "/v1/route", bodyFrom(claimed.back())).status, 200);
  auto metrics = innocent.send(http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("dwcp_federation_routing_blacklisted_sources 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("dwcp_federation_routing_tracked_sources 2\n"), std::string::npos) << metrics;
}

// The byte budget is charged what arrived on the connection, not the requestBytes the body
// declares.
TEST_F(RoutingServerTest, BytesAreChargedAsReceivedNotAsDeclared) {
  RoutingServiceOptions options;
  options.rateLimiter.maxRequestsPerSec = 1000;
  options.rateLimiter.maxBytesPerSec = 2000;
  options.rateLimiter.burstSeconds = 1;
  startServer(options);
  Client client(server_->port());
  // Declaring a huge size costs nothing: only the few bytes sent count.
  auto declaredHuge = client.send(http::verb::post, "/v1/route",
                                  R"({"location":{"latitude":1,"longitude":0},"requestBytes":1000000000000})");
  EXPECT_EQ(declaredHuge.status, 200) << declaredHuge.body;
  // Declaring nothing while sending 700 bytes a time: the 2000-byte budget runs out.
  const std::string padded = R"({"location":{"latitude":1,"longitude":0},"requestBytes":0)" + std::string(640, ' ') + "}";
  int admitted = 0;
  Reply reply;
  for (int i = 0; i < 5; ++i) {
    reply = client.send(http::verb::post, "/v1/route", padded);
    if (reply.status != 200) break;
    ++admitted;
  }
  EXPECT_EQ(reply.status, 429) << reply.body;
  EXPECT_GE(admitted, 1);
  EXPECT_LE(admitted, 2);
  // A request larger than the whole byte budget can never pass: 413, naming the body.
  clock_.advance(std::chrono::seconds(10));
  auto tooLarge = client.send(http::verb::post, "/v1/route",
                              R"({"location":{"latitude":1,"longitude":0})" + std::string(3000, ' ') + "}");
  EXPECT_EQ(tooLarge.status, 413) << tooLarge.body;
  EXPECT_EQ(tooLarge.json()["field"], "body") << tooLarge.body;
}

RoutingServiceOptions forwardingOptions(const std::vector<std::string>& trustedProxies) {
  RoutingServiceOptions options;
  options.rateLimiter.maxRequestsPerSec = 3;
  options.rateLimiter.burstSeconds = 1;
  auto proxies = TrustedProxies::parse(trustedProxies);
  EXPECT_TRUE(proxies.ok());
  if (proxies.ok()) options.trustedProxies = *proxies;
  return options;
}

TEST_F(RoutingServerTest, ForgedForwardedForFromAnUntrustedPeerIsLimitedByThePeer) {
  startServer(forwardingOptions({"127.0.0.1/32"}));  // the proxy is 127.0.0.1; this client is not it
  Client client(server_->port(), "127.0.0.2");
  std::mt19937 random(11);
  int ok = 0, limited = 0;
  for (int i = 0; i < 20; ++i) {
    const auto forged = randomIpv4(random);
    const int status = postWith(client, bodyFrom(forged), {{"X-Forwarded-For", forged}}).status;
    (status == 200 ? ok : limited)++;
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(limited, 17);
  // The peer's own budget is spent, with or without the header, on any connection.
  Client again(server_->port(), "127.0.0.2");
  EXPECT_EQ(postWith(again, bodyFrom("192.0.2.1"), {}).status, 429);
}

TEST_F(RoutingServerTest, TrustedProxyIsLimitedByTheForwardedAddress) {
  startServer(forwardingOptions({"127.0.0.1", "10.0.0.0/8"}));
  Client proxy(server_->port());  // from 127.0.0.1, the trusted proxy
  const std::string body = bodyFrom("198.51.100.50");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(postWith(proxy, body, {{"X-Forwarded-For", "203.0.113.5"}}).status, 200) << i;
  EXPECT_EQ(postWith(proxy, body, {{"X-Forwarded-For", "203.0.113.5"}}).status, 429);
  // What the client prepends is not believed: the rightmost untrusted hop is the source...
  EXPECT_EQ(postWith(proxy, body, {{"X-Forwarded-For", "198.51.100.9, 203.0.113.5"}}).status, 429);
  // ...also behind a second trusted proxy, and with the hops split over two header fields.
  EXPECT_EQ(postWith(proxy, body, {{"X-Forwarded-For", "203.0.113.5, 10.1.2.3"}}).status, 429);
  EXPECT_EQ(postWith(proxy, body, {{"X-Forwarded-For", "203.0.113.5"}, {"X-Forwarded-For", "10.1.2.3"}}).status, 429);
  // Another client behind the same proxy has its own budget; so has the proxy itself.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(postWith(proxy, body, {{"x-forwarded-for", "6.6.6.6, 203.0.113.6"}}).status, 200) << i;
  }
  EXPECT_EQ(postWith(proxy, body, {}).status, 200);
  auto metrics = proxy.send(http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("dwcp_federation_routing_tracked_sources 3\n"), std::string::npos) << metrics;
}

// A clock that, once armed, holds the first caller until released: a request stays inside the
// engine (holding its traffic-shaping slot) for as long as the test wants.
class GateClock final : public base::Clock {
 public:
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    return cv.wait_until(lock, deadline, done);
  }
  SteadyTime steadyNow() const override {
    std::unique_lock lock(mu_);
    if (armed_) {
      armed_ = false;
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
    }
    return std::chrono::steady_clock::now();
  }
  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  bool waitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [this] { return entered_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable bool armed_ = false, entered_ = false;
  bool released_ = false;
};

TEST(RoutingServerShapingTest, ShedClassGets503WithRetryAfterWhileTheQueueIsFull) {
  base::FakeClock clock;
  GateClock gate;
  routing::RegionTable table;
  ASSERT_TRUE(table.replaceAll({region("eu-west-1", 53.35, -6.26, routing::RegionPhase::kHealthy)}).ok());
  routing::Router router(table, routing::RouterConfig{}, gate);
  RoutingServiceOptions options;
  options.shaper.capacity = 1;  // bulk is shed once the depth reaches 50% of 1, realtime at 100%
  RoutingService service(table, router, options, clock);
  // Round robin: the held request blocks one io thread, the next connection goes to the other.
  auto server = net::makeHttpServer({.address = "127.0.0.1", .port = 0, .threads = 2, .reusePort = false},
                                    service.handler());
  ASSERT_TRUE(server->start().ok());
  // Two connections, accepted before anything blocks: one per io thread.
  Client first(server->port()), second(server->port());
  ASSERT_EQ(first.send(http::verb::get, "/healthz").status, 200);
  ASSERT_EQ(second.send(http::verb::get, "/healthz").status, 200);

  gate.arm();
  Reply held;
  std::thread inEngine([&] {
    held = first.send(http::verb::post, "/v1/route", R"({"location":{"latitude":1,"longitude":0},"trafficClass":"bulk"})");
  });
  ASSERT_TRUE(gate.waitEntered());
  auto shed = second.send(http::verb::post, "/v1/route",
                          R"({"location":{"latitude":1,"longitude":0},"trafficClass":"bulk"})");
  gate.release();
  inEngine.join();
  EXPECT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(shed.status, 503) << shed.body;
  EXPECT_FALSE(shed.retryAfter.empty());
  EXPECT_NE(shed.json()["error"].get<std::string>().find("bulk"), std::string::npos);
  // The slot is free again.
  EXPECT_EQ(second.send(http::verb::post, "/v1/route",
                        R"({"location":{"latitude":1,"longitude":0},"trafficClass":"bulk"})").status,
            200);
  auto metrics = second.send(http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find("dwcp_federation_routing_shed_total{traffic_class=\"bulk\",reason=\"overload\"} 1"),
            std::string::npos) << metrics;
  server->stop();
}

TEST_F(RoutingServerTest, NoEligibleRegionGets503WithTheEngineMessage) {
  startServer();
  ASSERT_TRUE(table_.setPhase("eu-west-1", routing::RegionPhase::kDraining).ok());
  ASSERT_TRUE(table_.setPhase("us-east-1", routing::RegionPhase::kFailed).ok());
  auto reply = post(R"({"location":{"latitude":1,"longitude":0}})");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.json()["error"], "no eligible region among 3: 2 Failed, 1 Draining");
  EXPECT_FALSE(reply.retryAfter.empty());
}

TEST_F(RoutingServerTest, RegionsListsPhaseHealthWeightAndEjection) {
  startServer();
  auto reply = Client(server_->port()).send(http::verb::get, "/v1/regions");
  ASSERT_EQ(reply.status, 200);
  auto regions = reply.json()["regions"];
  ASSERT_EQ(regions.size(), 3u);
  EXPECT_EQ(regions[0]["name"], "ap-south-1");
  EXPECT_EQ(regions[0]["phase"], "Failed");
  EXPECT_EQ(regions[0]["acceptsTraffic"], false);
  EXPECT_EQ(regions[1]["name"], "eu-west-1");
  EXPECT_EQ(regions[1]["phase"], "Healthy");
  EXPECT_EQ(regions[1]["healthScore"], 100.0);
  EXPECT_EQ(regions[1]["weight"], 1.0);
  EXPECT_EQ(regions[1]["ejected"], false);
}

TEST_F(RoutingServerTest, MetricsHaveTheHistogramAndDecisionCounts) {
  startServer();
  Client client(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(client.send(http::verb::post, "/v1/route",
                          R"({"location":{"latitude":50,"longitude":0},"algorithm":"geo-proximity"})")
                  .status,
              200);
  }
  auto reply = client.send(http::verb::get, "/metrics");
  ASSERT_EQ(reply.status, 200);
  const auto& text = reply.body;
  EXPECT_NE(text.find("# TYPE dwcp_federation_routing_decision_latency_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("dwcp_federation_routing_decision_latency_seconds_bucket{le=\"0.1\"} 3"), std::string::npos)
      << text;
  EXPECT_NE(text.find("dwcp_federation_routing_decision_latency_seconds_count 3"), std::string::npos);
  EXPECT_NE(text.find("dwcp_federation_routing_decisions_total{algorithm=\"geo-proximity\",traffic_class=\"standard\","
                      "region=\"eu-west-1\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dwcp_federation_routing_blacklisted_sources 0"), std::string::npos);
  EXPECT_NE(text.find("dwcp_federation_routing_shed_total{traffic_class=\"bulk\",reason=\"overload\"} 0"),
            std::string::npos);
}

TEST_F(RoutingServerTest, UnknownPathsAndMethods) {
  startServer();
  Client client(server_->port());
  EXPECT_EQ(client.send(http::verb::get, "/nope").status, 404);
  EXPECT_EQ(client.send(http::verb::get, "/v1/route").status, 405);
  EXPECT_EQ(client.send(http::verb::post, "/v1/regions", "{}").status, 405);
  EXPECT_EQ(client.send(http::verb::get, "/healthz?verbose=1").status, 200);
}

TEST_F(RoutingServerTest, StopClosesIdleConnectionsAndRefusesNewOnes) {
  startServer();
  const auto port = server_->port();
  Client idle(port);
  ASSERT_EQ(idle.send(http::verb::get, "/healthz").status, 200);
  server_->stop();
  EXPECT_EQ(idle.read().status, -1);  // closed by the server
  asio::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
  server_->stop();  // idempotent
}

}  // namespace
}  // namespace dwcp::routingapi
