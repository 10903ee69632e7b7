// The one HTTP server under connections that never speak (idle sockets are closed at the
// handshake, read and idle deadlines), above its connection cap (closed at once while a
// certified peer keeps being served), with oversized requests, a throwing handler, a taken
// port, a TLS context replaced while it runs, and failed handshakes logged once per source.
#include "base/testing/eventually.h"
#include "net/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "net/testing/pki.h"
#include "net/tls.h"

namespace dwcp::net {
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

std::shared_ptr<TlsContextSource> serverTls(const PemPair& leaf = TestPki::get().server) {
  return std::make_shared<TlsContextSource>(makeTlsContext(TestPki::get().material(leaf), TlsRole::kServer).value());
}

HttpServerOptions tlsOptions() {
  HttpServerOptions options;
  options.tls = serverTls();
  return options;
}

void echoNames(const HttpRequest& request, HttpResponse& response) {
  response.contentType = "text/plain";
  for (const auto& name : *request.peerNames) response.body += name + ";";
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
  // The status and body of GET / (POST / with a body), or the error.
  std::pair<unsigned, std::string> get(const std::string& body = {}) {
    if (ec_) return {0, ec_.message()};
    http::request<http::string_body> request{body.empty() ? http::verb::get : http::verb::post, "/", 11};
    request.set(http::field::host, "us-east-1");
    request.keep_alive(true);
    if (!body.empty()) {
      request.body() = body;
      request.prepare_payload();
    }
    http::write(stream_, request, ec_);
    http::response<http::string_body> response;
    if (!ec_) http::read(stream_, buffer_, response, ec_);
    if (ec_) return {0, ec_.message()};
    return {response.result_int(), response.body()};
  }
  int fd() { return stream_.lowest_layer().native_handle(); }
  // The DNS SANs of the certificate the server presented.
  std::vector<std::string> serverNames() { return ec_ ? std::vector<std::string>{} : certificateNames(stream_.native_handle()); }

 private:
  boost::asio::io_context io_;
  std::shared_ptr<ssl::context> context_;
  ssl::stream<tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
  boost::system::error_code ec_;
};

TEST(HttpServerTest, IdleTcpConnectionsAreClosedAtTheHandshakeDeadline) {
  HttpServerOptions options = tlsOptions();
  options.handshakeTimeout = std::chrono::milliseconds(200);
  auto server = makeHttpServer(options, echoNames);
  ASSERT_TRUE(server->start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(connectIdle(server->port()));
  EXPECT_EQ(closedByServer(idle), idle.size()) << "idle sockets before the TLS handshake must be closed";
  closeAll(idle);
  EXPECT_TRUE(eventually([&] { return server->openConnections() == 0; }));
  EXPECT_GE(server->handshakeFailures(), 16u);
  EXPECT_EQ(TlsClient(server->port()).get().first, 200u) << "the server still serves afterwards";
}

TEST(HttpServerTest, IdlePlainConnectionsAreClosedAtTheReadDeadline) {
  HttpServerOptions options;
  options.readTimeout = std::chrono::milliseconds(200);
  auto server = makeHttpServer(options, echoNames);
  ASSERT_TRUE(server->start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) idle.push_back(connectIdle(server->port()));
  EXPECT_EQ(closedByServer(idle), idle.size());
  closeAll(idle);
}

TEST(HttpServerTest, KeptAliveConnectionIsClosedAtTheIdleDeadline) {
  HttpServerOptions options = tlsOptions();
  options.idleTimeout = std::chrono::milliseconds(200);
  auto server = makeHttpServer(options, echoNames);
  ASSERT_TRUE(server->start().ok());
  TlsClient client(server->port());
  const auto reply = client.get();
  ASSERT_EQ(reply.first, 200u) << reply.second;
  EXPECT_EQ(reply.second, "eu-west-1;");
  EXPECT_EQ(closedByServer({client.fd()}), 1u) << "a kept-alive connection with no next request must be closed";
}

TEST(HttpServerTest, ConnectionsAboveTheCapAreClosedAtOnceWhileACertifiedPeerIsServed) {
  HttpServerOptions options = tlsOptions();
  options.maxConnections = 4;
  options.handshakeTimeout = std::chrono::minutes(10);  // only the cap can close a connection here
  options.idleTimeout = std::chrono::minutes(10);
  auto server = makeHttpServer(options, echoNames);
  ASSERT_TRUE(server->start().ok());
  TlsClient peer(server->port());
  ASSERT_EQ(peer.get().first, 200u);

  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(connectIdle(server->port()));
  ASSERT_TRUE(eventually([&] { return server->openConnections() == 4; })) << server->openConnections();
  std::vector<int> extra;
  for (int i = 0; i < 5; ++i) extra.push_back(connectIdle(server->port()));
  EXPECT_EQ(closedByServer(extra), extra.size()) << "connections above the cap must be closed";
  EXPECT_EQ(server->refusedConnections(), 5u);
  closeAll(extra);

  const auto reply = peer.get();
  EXPECT_EQ(reply.first, 200u) << "the certified peer's connection is still served: " << reply.second;
  EXPECT_EQ(reply.second, "eu-west-1;");

  closeAll(idle);
  ASSERT_TRUE(eventually([&] { return server->openConnections() == 1; })) << server->openConnections();
  EXPECT_EQ(TlsClient(server->port()).get().first, 200u) << "room again once the idle sockets left";
}

TEST(HttpServerTest, AThrowingHandlerIsAnsweredWith500AndTheServerCarriesOn) {
  std::atomic<int> calls{0};
  auto server = makeHttpServer(tlsOptions(), [&](const HttpRequest& request, HttpResponse& response) {
    if (++calls == 1) throw std::runtime_error("handler bug");
    echoNames(request, response);
  });
  ASSERT_TRUE(server->start().ok());
  const auto failed = TlsClient(server->port()).get();
  EXPECT_EQ(failed.first, 500u);
  EXPECT_EQ(failed.second, R"({"error":"internal error"})") << "the exception's text is not sent to the client";
  EXPECT_EQ(TlsClient(server->port()).get().first, 200u);
}

TEST(HttpServerTest, StopClosesIdleConnectionsAndReturns) {
  HttpServerOptions options = tlsOptions();
  options.handshakeTimeout = std::chrono::minutes(10);
  auto server = makeHttpServer(options, echoNames);
  ASSERT_TRUE(server->start().ok());
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(connectIdle(server->port()));
  ASSERT_TRUE(eventually([&] { return server->openConnections() == 8; }));
  server->stop();
  EXPECT_EQ(closedByServer(idle), idle.size());
  closeAll(idle);
}

TEST(HttpServerTest, OversizedBodiesAndHeadersAreAnsweredUnreadNamingThePart) {
  HttpServerOptions options = tlsOptions();
  options.bodyLimitBytes = 1024;
  options.headerLimitBytes = 2048;
  std::atomic<int> calls{0};
  auto server = makeHttpServer(options, [&](const HttpRequest& request, HttpResponse& response) {
    ++calls;
    echoNames(request, response);
  });
  ASSERT_TRUE(server->start().ok());
  TlsClient client(server->port());
  const auto body = client.get(std::string(4096, 'x'));
  EXPECT_EQ(body.first, 413u);
  EXPECT_EQ(body.second, R"({"error":"request body exceeds the limit of 1024 bytes","field":"body"})");

  boost::asio::io_context io;
  HttpServerOptions plain;
  plain.headerLimitBytes = 2048;
  auto plainServer = makeHttpServer(plain, echoNames);
  ASSERT_TRUE(plainServer->start().ok());
  tcp::socket plainSocket(io);
  plainSocket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), plainServer->port()));
  http::request<http::string_body> big{http::verb::get, "/", 11};
  big.set("X-Padding", std::string(4096, 'p'));
  http::write(plainSocket, big);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(plainSocket, buffer, response);
  EXPECT_EQ(response.result_int(), 431u);
  EXPECT_NE(response.body().find(R"("field":"headers")"), std::string::npos) << response.body();
  EXPECT_EQ(calls.load(), 0) << "an oversized request never reaches the handler";
  EXPECT_EQ(client.get().first, 0u) << "the connection is closed after the refusal";
  EXPECT_EQ(TlsClient(server->port()).get().first, 200u);
}

TEST(HttpServerTest, AReplacedTlsContextServesNewConnectionsWhileOpenOnesKeepTheirs) {
  const PemPair rotated = issueCertificate(TestPki::get().ca, "us-east-1-rotated").value();
  HttpServerOptions options = tlsOptions();
  auto server = makeHttpServer(options, echoNames);
  ASSERT_TRUE(server->start().ok());
  TlsClient before(server->port());
  ASSERT_EQ(before.get().first, 200u);
  EXPECT_EQ(before.serverNames(), std::vector<std::string>{"us-east-1"});

  options.tls->replace(makeTlsContext(TestPki::get().material(rotated), TlsRole::kServer).value());
  TlsClient after(server->port());
  ASSERT_EQ(after.get().first, 200u);
  EXPECT_EQ(after.serverNames(), std::vector<std::string>{"us-east-1-rotated"}) << "a new connection gets the new certificate";
  const auto reply = before.get();
  EXPECT_EQ(reply.first, 200u) << "the connection opened before the rotation is still served: " << reply.second;
}

TEST(HttpServerTest, ATakenPortIsAnErrorNamingTheAddressAndStartCanBeRetried) {
  for (const bool reusePort : {true, false}) {
    SCOPED_TRACE(reusePort ? "one listener per thread (SO_REUSEPORT)" : "one listener");
    HttpServerOptions options;
    options.threads = 2;
    options.reusePort = reusePort;
    auto first = makeHttpServer(options, [](const HttpRequest&, HttpResponse& response) { response.body = "first"; });
    ASSERT_TRUE(first->start().ok());
    options.port = first->port();
    auto second = makeHttpServer(options, [](const HttpRequest&, HttpResponse& response) { response.body = "second"; });
    auto status = second->start();
    ASSERT_FALSE(status.ok()) << "the second server joined the first one's port";
    EXPECT_NE(status.error().message.find("cannot bind 127.0.0.1:" + std::to_string(options.port)), std::string::npos)
        << status.error().message;
    first->stop();
    ASSERT_TRUE(second->start().ok()) << "a failed start() leaves the server startable";
    boost::asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), second->port()));
    http::request<http::string_body> request{http::verb::get, "/", 11};
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    EXPECT_EQ(response.body(), "second");
  }
}

TEST(HttpServerTest, AnAddressThatIsNeitherIpNorAResolvableNameIsRefusedByName) {
  HttpServerOptions options;
  options.name = "metrics";
  options.address = "no such host.invalid";
  auto server = makeHttpServer(options, echoNames);
  auto status = server->start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("cannot listen on no such host.invalid:0"), std::string::npos)
      << status.error().message;
}

// A TLS client presenting `material`'s certificate (none when it is empty) that handshakes and
// hangs up; whether the server accepted it shows in the server's counters.
void handshakeAs(uint16_t port, const TlsMaterial& material) {
  ssl::context context(ssl::context::tls_client);
  boost::system::error_code ec;
  if (!material.certificatePem.empty()) {
    context.use_certificate_chain(boost::asio::buffer(material.certificatePem), ec);
    context.use_private_key(boost::asio::buffer(material.privateKeyPem), ssl::context::pem, ec);
  }
  context.set_verify_mode(ssl::verify_none);
  boost::asio::io_context io;
  ssl::stream<tcp::socket> stream(io, context);
  stream.lowest_layer().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
  if (!ec) stream.handshake(ssl::stream_base::client, ec);
}

TEST(HttpServerTest, FailedHandshakesAreLoggedOncePerSourceAndErrorAndEachIsCounted) {
  // The default logger captured; restored after the server's threads are gone.
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1024);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  auto lines = [&sink](const std::string& text) {
    size_t count = 0;
    for (const std::string& line : sink->last_formatted()) count += line.find(text) != std::string::npos ? 1 : 0;
    return count;
  };
  {
    HttpServerOptions options = tlsOptions();
    options.name = "peers";
    auto server = makeHttpServer(options, echoNames);
    EXPECT_TRUE(server->start().ok());
    const PemPair rogueCa = makeCertificateAuthority("rogue CA").value();
    const PemPair rogue = issueCertificate(rogueCa, "eu-west-1").value();
    for (int i = 0; i < 3; ++i) handshakeAs(server->port(), TlsMaterial{});
    for (int i = 0; i < 2; ++i) handshakeAs(server->port(), TlsMaterial{"", rogue.certificatePem, rogue.privateKeyPem});
    EXPECT_TRUE(eventually([&] { return server->handshakeFailures() == 5; })) << server->handshakeFailures();
    EXPECT_EQ(lines("peers: TLS handshake from 127.0.0.1 failed: "), 2u) << "one line per error text";
    EXPECT_EQ(TlsClient(server->port()).get().first, 200u) << "a certified client is still served";
  }
  spdlog::set_default_logger(previous);
}

TEST(HttpServerTest, ErrorBodiesAreEscapedJson) {
  EXPECT_EQ(errorBody("a \"quoted\" \\ line\n\x01", "spec.x"),
            R"({"error":"a \"quoted\" \\ line\n\u0001","field":"spec.x"})");
  EXPECT_EQ(errorBody("plain"), R"({"error":"plain"})");
}

}  // namespace
}  // namespace dwcp::net
