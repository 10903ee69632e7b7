// HttpServer under connections that never speak: idle sockets are closed at the handshake,
// header and idle deadlines; connections above the cap are closed at once while a certified
// peer keeps being served; a throwing handler is a 500, not a crash.
#include "base/testing/eventually.h"
#include "statenet/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "statenet/pki.h"
#include "statenet/tls.h"

namespace dwcp::statenet {
namespace {
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// A bound on hanging, not a timing claim: every deadline under test is far shorter.
constexpr auto kGuard = std::chrono::seconds(10);

struct TestPki {
  PemPair ca, server, client;
  static const TestPki& get() {
    static const TestPki pki = [] {
      TestPki p;
      p.ca = makeCertificateAuthority("http server test CA").value();
      p.server = issueCertificate(p.ca, "us-east-1").value();
      p.client = issueCertificate(p.ca, "eu-west-1").value();
      return p;
    }();
    return pki;
  }
  TlsMaterial material(const PemPair& leaf) const { return TlsMaterial{ca.certificatePem, leaf.certificatePem, leaf.privateKeyPem}; }
};

using dwcp::base::testing::eventually;

HttpServerConfig tlsConfig() {
  HttpServerConfig config;
  config.tls = makeTlsContext(TestPki::get().material(TestPki::get().server), TlsRole::kServer).value();
  return config;
}

HttpResponse echoNames(const HttpRequest& request, const std::vector<std::string>& names) {
  std::string body;
  for (const auto& name : names) body += name + ";";
  return textResponse(request, http::status::ok, body);
}

// A TCP connection that sends nothing.
int connectIdle(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// How many of `fds` the server closed (EOF or reset, after whatever it sent) within kGuard.
size_t closedByServer(const std::vector<int>& fds) {
  std::vector<bool> closed(fds.size(), false);
  size_t count = 0;
  const auto deadline = Clock::now() + kGuard;
  while (count < fds.size() && Clock::now() < deadline) {
    std::vector<pollfd> polled;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!closed[i]) polled.push_back(pollfd{fds[i], POLLIN, 0});
    }
    if (::poll(polled.data(), polled.size(), 50) <= 0) continue;
    for (const pollfd& p : polled) {
      if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char byte[512];
      const ssize_t got = ::recv(p.fd, byte, sizeof byte, MSG_DONTWAIT);
      if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR))) continue;  // e.g. a TLS alert first
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i] == p.fd && !closed[i]) {
          closed[i] = true;
          ++count;
        }
      }
    }
  }
  return count;
}

void closeAll(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

// A certified mutual-TLS client on one kept-alive connection.
class TlsClient {
 public:
  explicit TlsClient(uint16_t port)
      : context_(makeTlsContext(TestPki::get().material(TestPki::get().client), TlsRole::kClient).value()),
        stream_(io_, *context_) {
    stream_.lowest_layer().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec_);
    if (!ec_) stream_.handshake(ssl::stream_base::client, ec_);
  }
  // The status and body of GET /, or the error.
  std::pair<unsigned, std::string> get() {
    if (ec_) return {0, ec_.message()};
    http::request<http::string_body> request{http::verb::get, "/", 11};
    request.set(http::field::host, "us-east-1");
    request.keep_alive(true);
    http::write(stream_, request, ec_);
    http::response<http::string_body> response;
    if (!ec_) http::read(stream_, buffer_, response, ec_);
    if (ec_) return {0, ec_.message()};
    return {response.result_int(), response.body()};
  }
  int fd() { return stream_.lowest_layer().native_handle(); }

 private:
  boost::asio::io_context io_;
  std::shared_ptr<ssl::context> context_;
  ssl::stream<tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code ec_;
};

TEST(HttpServer, IdleTcpConnectionsAreClosedAtTheHandshakeDeadline) {
  HttpServerConfig config = tlsConfig();
  config.handshakeTimeoutMillis = 200;
  HttpServer server(config, echoNames);
  ASSERT_TRUE(server.start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(connectIdle(server.port()));
  EXPECT_EQ(closedByServer(idle), idle.size()) << "idle sockets before the TLS handshake must be closed";
  closeAll(idle);
  EXPECT_TRUE(eventually([&] { return server.openConnections() == 0; }));
  EXPECT_GE(server.handshakeFailures(), 16u);
  EXPECT_EQ(TlsClient(server.port()).get().first, 200u) << "the server still serves afterwards";
}

TEST(HttpServer, IdlePlainConnectionsAreClosedAtTheHeaderDeadline) {
  HttpServerConfig config;
  config.headerTimeoutMillis = 200;
  HttpServer server(config, echoNames);
  ASSERT_TRUE(server.start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(connectIdle(server.port()));
  EXPECT_EQ(closedByServer(idle), idle.size());
  closeAll(idle);
}

TEST(HttpServer, KeptAliveConnectionIsClosedAtTheIdleDeadline) {
  HttpServerConfig config = tlsConfig();
  config.idleTimeoutMillis = 200;
  HttpServer server(config, echoNames);
  ASSERT_TRUE(server.start().ok());
  TlsClient client(server.port());
  const auto reply = client.get();
  ASSERT_EQ(reply.first, 200u) << reply.second;
  EXPECT_EQ(reply.second, "eu-west-1;");
  EXPECT_EQ(closedByServer({client.fd()}), 1u) << "a kept-alive connection with no next request must be closed";
}

TEST(HttpServer, ConnectionsAboveTheCapAreClosedAtOnceWhileACertifiedPeerIsServed) {
  HttpServerConfig config = tlsConfig();
  config.maxConnections = 4;
  config.handshakeTimeoutMillis = 600'000;  // only the cap can close a connection here
  config.idleTimeoutMillis = 600'000;
  HttpServer server(config, echoNames);
  ASSERT_TRUE(server.start().ok());
  TlsClient peer(server.port());
  ASSERT_EQ(peer.get().first, 200u);

  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(connectIdle(server.port()));
  ASSERT_TRUE(eventually([&] { return server.openConnections() == 4; })) << server.openConnections();
  std::vector<int> extra;
  for (int i = 0; i < 5; ++i) extra.push_back(connectIdle(server.port()));
  EXPECT_EQ(closedByServer(extra), extra.size()) << "connections above the cap must be closed";
  EXPECT_EQ(server.refusedConnections(), 5u);
  closeAll(extra);

  const auto reply = peer.get();
  EXPECT_EQ(reply.first, 200u) << "the certified peer's connection is still served: " << reply.second;
  EXPECT_EQ(reply.second, "eu-west-1;");

  closeAll(idle);
  ASSERT_TRUE(eventually([&] { return server.openConnections() == 1; })) << server.openConnections();
  EXPECT_EQ(TlsClient(server.port()).get().first, 200u) << "room again once the idle sockets left";
}

TEST(HttpServer, AThrowingHandlerIsAnsweredWith500AndTheServerCarriesOn) {
  HttpServerConfig config = tlsConfig();
  std::atomic<int> calls{0};
  HttpServer server(config, [&](const HttpRequest& request, const std::vector<std::string>& names) {
    if (++calls == 1) throw std::runtime_error("handler bug");
    return echoNames(request, names);
  });
  ASSERT_TRUE(server.start().ok());
  EXPECT_EQ(TlsClient(server.port()).get().first, 500u);
  EXPECT_EQ(TlsClient(server.port()).get().first, 200u);
}

TEST(HttpServer, StopClosesIdleConnectionsAndReturns) {
  HttpServerConfig config = tlsConfig();
  config.handshakeTimeoutMillis = 600'000;
  auto server = std::make_unique<HttpServer>(config, echoNames);
  ASSERT_TRUE(server->start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(connectIdle(server->port()));
  ASSERT_TRUE(eventually([&] { return server->openConnections() == 8; }));
  server->stop();
  EXPECT_EQ(closedByServer(idle), idle.size());
  closeAll(idle);
}

}  // namespace
}  // namespace dwcp::statenet
