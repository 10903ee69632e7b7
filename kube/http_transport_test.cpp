// HttpTransport against a tiny local HTTP(S) server on 127.0.0.1 (raw sockets, one thread per
// connection, OpenSSL for TLS) whose handlers are scripted per test. Pauses in a response are
// Gates the test opens, so nothing depends on timing except the one idle-timeout test, which
// only checks the outcome.
#include "kube/http_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ReadResult = Stream::ReadResult;

constexpr auto kGenerous = 15s;  // upper bound for waits that normally take milliseconds

fs::path testdata() { return fs::path(DWCP_SOURCE_DIR) / "kube" / "testdata"; }

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A one-shot latch a server handler waits on; the wait gives up after kGenerous so a failing
// test cannot hang the binary.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kGenerous, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

struct RawRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string clientCertSubject;  // TLS only
  std::string serverName;         // TLS only: the SNI the client sent

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}

  bool write(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ssl_ ? SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent))
                             : ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  ssize_t readSome(char* buffer, size_t size) {
    return ssl_ ? SSL_read(ssl_, buffer, static_cast<int>(size)) : ::recv(fd_, buffer, size, 0);
  }
  void respond(int status, const std::string& body, const std::string& contentType = "application/json") {
    write("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + contentType +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }
  void startChunked(int status = 200) {
    write("HTTP/1.1 " + std::to_string(status) +
          " OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
          "Connection: close\r\n\r\n");
  }
  void writeChunk(const std::string& data) {
    std::ostringstream size;
    size << std::hex << data.size();
    write(size.str() + "\r\n" + data + "\r\n");
  }
  void endChunks() { write("0\r\n\r\n"); }
  // Drops the connection with a TCP reset.
  void reset() {
    linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
    ::shutdown(fd_, SHUT_RDWR);
  }

 private:
  int fd_;
  SSL* ssl_;
};

class TestServer {
 public:
  using Handler = std::function<void(const RawRequest&, Conn&)>;

  // tls: nullptr for plain HTTP; otherwise a server SSL_CTX the server takes ownership of.
  explicit TestServer(Handler handler, SSL_CTX* tls = nullptr) : handler_(std::move(handler)), tls_(tls) {
    listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listenFd_, 16) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptThread_ = std::thread([this] { acceptLoop(); });
  }

  ~TestServer() {
    stopping_ = true;
    ::shutdown(listenFd_, SHUT_RDWR);
    acceptThread_.join();
    ::close(listenFd_);
    {
      std::lock_guard lock(mu_);
      for (int fd : openFds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : connThreads_) t.join();
    if (tls_) SSL_CTX_free(tls_);
  }

  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  int handled() const { return handled_; }
  int tlsFailures() const { return tlsFailures_; }

 private:
  void acceptLoop() {
    while (!stopping_) {
      const int fd = ::accept(listenFd_, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      std::lock_guard lock(mu_);
      openFds_.push_back(fd);
      connThreads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    SSL* ssl = nullptr;
    std::string subject;
    if (tls_) {
      ssl = SSL_new(tls_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) {
        ++tlsFailures_;
        SSL_free(ssl);
        closeFd(fd);
        return;
      }
      if (X509* peer = SSL_get_peer_certificate(ssl)) {
        char name[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof(name));
        subject = name;
        X509_free(peer);
      }
    }
    Conn conn(fd, ssl);
    RawRequest request;
    if (readRequest(conn, request)) {
      request.clientCertSubject = subject;
      if (ssl) {
        const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        request.serverName = sni ? sni : "";
      }
      ++handled_;
      handler_(request, conn);
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    closeFd(fd);
  }

  void closeFd(int fd) {
    std::lock_guard lock(mu_);
    std::erase(openFds_, fd);
    ::close(fd);
  }

  static bool readRequest(Conn& conn, RawRequest& request) {
    std::string data;
    char buffer[4096];
    size_t headerEnd;
    while ((headerEnd = data.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = conn.readSome(buffer, sizeof(buffer));
      if (n <= 0) return false;
      data.append(buffer, static_cast<size_t>(n));
    }
    std::istringstream head(data.substr(0, headerEnd));
    std::string line;
    std::getline(head, line);
    std::istringstream requestLine(line);
    requestLine >> request.method >> request.target;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    request.body = data.substr(headerEnd + 4);
    const size_t length = request.headers.count("content-length")
                              ? std::stoul(request.headers["content-length"])
                              : 0;
    while (request.body.size() < length) {
      const ssize_t n = conn.readSome(buffer, sizeof(buffer));
      if (n <= 0) return false;
      request.body.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }

  Handler handler_;
  SSL_CTX* tls_;
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> handled_{0};
  std::atomic<int> tlsFailures_{0};
  std::thread acceptThread_;
  std::mutex mu_;
  std::vector<int> openFds_;
  std::vector<std::thread> connThreads_;
};

// A server TLS context with the fixture server certificate; optionally requires a client
// certificate signed by the fixture CA.
SSL_CTX* serverTls(bool requireClientCert) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate_file(ctx, (testdata() / "server.crt").c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_use_PrivateKey_file(ctx, (testdata() / "server.key").c_str(), SSL_FILETYPE_PEM);
  if (requireClientCert) {
    SSL_CTX_load_verify_locations(ctx, (testdata() / "ca.crt").c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// Keeps the last request a handler saw, for assertions on the test thread.
class Recorder {
 public:
  void record(const RawRequest& request) {
    std::lock_guard lock(mu_);
    last_ = request;
  }
  RawRequest last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  RawRequest last_;
};

std::shared_ptr<HttpTransport> makeTransport(const RestConfig& config, HttpTransportOptions options = {}) {
  auto transport = HttpTransport::create(config, std::move(options));
  EXPECT_TRUE(transport.ok()) << (transport.ok() ? "" : transport.error().message);
  return transport.ok() ? transport.value() : nullptr;
}

Request req(std::string method, std::string path, std::string body = "") {
  Request request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.body = std::move(body);
  return request;
}

RestConfig plainConfig(const std::string& server) {
  RestConfig config;
  config.server = server;
  return config;
}

// One read() with an upper bound, so a broken transport fails the test instead of hanging it.
ReadResult readBounded(Stream& stream, std::string& out) {
  auto pending = std::async(std::launch::async, [&] { return stream.read(out); });
  if (pending.wait_for(kGenerous) != std::future_status::ready) {
    ADD_FAILURE() << "read() did not return";
    stream.cancel();
  }
  return pending.get();
}

// Reads until `out` has at least `size` bytes or read() reports something other than data.
ReadResult readAtLeast(Stream& stream, std::string& out, size_t size) {
  ReadResult result = ReadResult::kData;
  while (out.size() < size && result == ReadResult::kData) result = readBounded(stream, out);
  return result;
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  return bound ? ntohs(addr.sin_port) : 0;
}

class HttpTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }
};

TEST_F(HttpTransportTest, GetReturnsStatusAndBodyAndSendsHeaders) {
  Recorder recorder;
  TestServer server([&](const RawRequest& request, Conn& conn) {
    recorder.record(request);
    conn.respond(200, R"({"kind":"Namespace"})");
  });
  RestConfig config = plainConfig(server.url());
  config.token = "static-token";
  config.allowPlaintextCredentials = true;  // the test server speaks plain HTTP
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);

  Request request;
  request.path = "/api/v1/namespaces/default?labelSelector=app%3Dweb&limit=5";
  Response response = transport->send(request);

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"kind":"Namespace"})");
  RawRequest seen = recorder.last();
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/api/v1/namespaces/default?labelSelector=app%3Dweb&limit=5");
  EXPECT_EQ(seen.header("authorization"), "Bearer static-token");
  EXPECT_EQ(seen.header("accept"), "application/json");
  EXPECT_EQ(seen.header("user-agent"), "dwcp-federation");
}

TEST_F(HttpTransportTest, PostSendsBodyContentTypeAndExtraHeaders) {
  Recorder recorder;
  TestServer server([&](const RawRequest& request, Conn& conn) {
    recorder.record(request);
    conn.respond(201, request.body);
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);

  Request request;
  request.method = "PATCH";
  request.path = "/apis/x/v1/things/a";
  request.body = "spec: {}\n";
  request.contentType = "application/apply-patch+yaml";
  request.headers["Accept"] = "application/yaml";
  Response response = transport->send(request);

  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "spec: {}\n");
  RawRequest seen = recorder.last();
  EXPECT_EQ(seen.method, "PATCH");
  EXPECT_EQ(seen.header("content-type"), "application/apply-patch+yaml");
  EXPECT_EQ(seen.header("accept"), "application/yaml");
  EXPECT_EQ(seen.header("authorization"), "");  // no credentials configured
}

TEST_F(HttpTransportTest, ErrorStatusKeepsTheBody) {
  TestServer server([&](const RawRequest&, Conn& conn) {
    conn.respond(409, R"({"kind":"Status","reason":"Conflict"})");
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);
  Response response = transport->send(req("PUT", "/api/v1/x", "{}"));
  EXPECT_EQ(response.status, 409);
  EXPECT_THAT(response.body, HasSubstr("Conflict"));
}

TEST_F(HttpTransportTest, ServerPathPrefixIsKept) {
  Recorder recorder;
  TestServer server([&](const RawRequest& request, Conn& conn) {
    recorder.record(request);
    conn.respond(200, "ok", "text/plain");
  });
  auto transport = makeTransport(plainConfig(server.url() + "/k8s/clusters/c1"));
  ASSERT_TRUE(transport);
  EXPECT_EQ(transport->send(req("GET", "/readyz")).status, 200);
  EXPECT_EQ(recorder.last().target, "/k8s/clusters/c1/readyz");
}

TEST_F(HttpTransportTest, TokenFileIsReReadWhenItChangesAndAfterTheInterval) {
  Recorder recorder;
  TestServer server([&](const RawRequest& request, Conn& conn) {
    recorder.record(request);
    conn.respond(200, "{}");
  });
  const fs::path tokenPath = fs::temp_directory_path() / ("dwcp-token-" + std::to_string(::getpid()));
  auto writeToken = [&](const std::string& token, fs::file_time_type mtime) {
    std::ofstream(tokenPath, std::ios::trunc) << token << "\n";
    fs::last_write_time(tokenPath, mtime);
  };
  const auto t0 = fs::file_time_type::clock::now() - 1h;
  writeToken("token-one", t0);

  FakeClock clock;
  HttpTransportOptions options;
  options.clock = &clock;
  RestConfig config = plainConfig(server.url());
  config.tokenFile = tokenPath.string();
  config.token = "static-fallback";
  config.allowPlaintextCredentials = true;  // the test server speaks plain HTTP
  auto transport = makeTransport(config, options);
  ASSERT_TRUE(transport);
  auto authorization = [&] {
    EXPECT_EQ(transport->send(req("GET", "/api")).status, 200);
    return recorder.last().header("authorization");
  };

  EXPECT_EQ(authorization(), "Bearer token-one");
  // Rotated: new content and mtime.
  writeToken("token-two", t0 + 1s);
  EXPECT_EQ(authorization(), "Bearer token-two");
  // Same size and mtime: cached until the refresh interval passes on the injected clock.
  writeToken("token-3ab", t0 + 1s);
  EXPECT_EQ(authorization(), "Bearer token-two");
  clock.advance(61s);
  EXPECT_EQ(authorization(), "Bearer token-3ab");
  // A vanished file keeps the last good token.
  fs::remove(tokenPath);
  clock.advance(61s);
  EXPECT_EQ(authorization(), "Bearer token-3ab");
}

TEST_F(HttpTransportTest, StreamDeliversChunksAsTheyArrive) {
  const std::string first = R"({"type":"ADDED","object":)";
  const std::string second = "{\"a\":1}}\n";
  Gate sendSecond, sendEnd;
  Recorder recorder;
  TestServer server([&](const RawRequest& request, Conn& conn) {
    recorder.record(request);
    conn.startChunked();
    conn.writeChunk(first);  // half an event
    sendSecond.wait();
    conn.writeChunk(second);
    sendEnd.wait();
    conn.endChunks();
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);

  StreamResponse opened = transport->openStream(req("GET", "/api/v1/pods?watch=true"), 30s);
  ASSERT_EQ(opened.response.status, 200) << opened.response.body;
  ASSERT_TRUE(opened.stream);
  EXPECT_EQ(recorder.last().target, "/api/v1/pods?watch=true");

  std::string received;
  // The server holds the rest back until the gate opens, so this proves incremental delivery.
  EXPECT_EQ(readAtLeast(*opened.stream, received, first.size()), ReadResult::kData);
  EXPECT_EQ(received, first);
  sendSecond.open();
  EXPECT_EQ(readAtLeast(*opened.stream, received, first.size() + second.size()), ReadResult::kData);
  EXPECT_EQ(received, first + second);
  sendEnd.open();
  EXPECT_EQ(readBounded(*opened.stream, received), ReadResult::kEnd);
  EXPECT_EQ(readBounded(*opened.stream, received), ReadResult::kEnd);  // stays ended
  EXPECT_EQ(received, first + second);
}

TEST_F(HttpTransportTest, StreamReportsIdleTimeout) {
  Gate release;
  TestServer server([&](const RawRequest&, Conn& conn) {
    conn.startChunked();
    conn.writeChunk("{}\n");
    release.wait();  // then silence
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);

  StreamResponse opened = transport->openStream(req("GET", "/watch"), 1s);
  ASSERT_TRUE(opened.stream) << opened.response.body;
  std::string received;
  EXPECT_EQ(readAtLeast(*opened.stream, received, 3), ReadResult::kData);
  EXPECT_EQ(readBounded(*opened.stream, received), ReadResult::kIdleTimeout);
  EXPECT_EQ(received, "{}\n");
  release.open();
}

TEST_F(HttpTransportTest, CancelUnblocksRead) {
  Gate release;
  TestServer server([&](const RawRequest&, Conn& conn) {
    conn.startChunked();
    release.wait();
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);
  StreamResponse opened = transport->openStream(req("GET", "/watch"), 60s);
  ASSERT_TRUE(opened.stream) << opened.response.body;

  std::string received;
  auto reader = std::async(std::launch::async, [&] { return opened.stream->read(received); });
  // Cancelling before or during the read must both end it as cancelled.
  opened.stream->cancel();
  ASSERT_EQ(reader.wait_for(kGenerous), std::future_status::ready);
  EXPECT_EQ(reader.get(), ReadResult::kCancelled);
  EXPECT_EQ(opened.stream->read(received), ReadResult::kCancelled);
  release.open();
}

TEST_F(HttpTransportTest, StreamReportsErrorWhenTheServerDropsTheConnection) {
  TestServer server([&](const RawRequest&, Conn& conn) {
    conn.startChunked();
    conn.writeChunk("{\"type\":");
    conn.write("20\r\npartial");  // a chunk cut short
    conn.reset();
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);
  StreamResponse opened = transport->openStream(req("GET", "/watch"), 30s);
  ASSERT_TRUE(opened.stream) << opened.response.body;
  std::string received;
  ReadResult result = readBounded(*opened.stream, received);
  while (result == ReadResult::kData) result = readBounded(*opened.stream, received);
  EXPECT_EQ(result, ReadResult::kError);
  EXPECT_EQ(received, "{\"type\":");
}

TEST_F(HttpTransportTest, StreamWithErrorStatusReturnsBodyAndNoStream) {
  TestServer server([&](const RawRequest&, Conn& conn) {
    conn.respond(410, R"({"kind":"Status","reason":"Expired"})");
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);
  StreamResponse opened = transport->openStream(req("GET", "/watch"), 30s);
  EXPECT_EQ(opened.response.status, 410);
  EXPECT_THAT(opened.response.body, HasSubstr("Expired"));
  EXPECT_FALSE(opened.stream);
}

TEST_F(HttpTransportTest, ConnectionRefusedIsStatusZero) {
  RestConfig config = plainConfig("http://127.0.0.1:" + std::to_string(freePort()));
  config.token = "secret-token-value";
  config.allowPlaintextCredentials = true;
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);

  Response response = transport->send(req("GET", "/api"));
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.body, HasSubstr("connection refused"));
  EXPECT_THAT(response.body, HasSubstr("GET /api"));
  EXPECT_THAT(response.body, ::testing::Not(HasSubstr("secret-token-value")));

  StreamResponse opened = transport->openStream(req("GET", "/watch"), 5s);
  EXPECT_EQ(opened.response.status, 0);
  EXPECT_THAT(opened.response.body, HasSubstr("connection refused"));
  EXPECT_FALSE(opened.stream);
}

TEST_F(HttpTransportTest, RequestTimeoutIsStatusZero) {
  Gate release;
  TestServer server([&](const RawRequest&, Conn&) { release.wait(); });
  HttpTransportOptions options;
  options.requestTimeout = 1s;
  auto transport = makeTransport(plainConfig(server.url()), options);
  ASSERT_TRUE(transport);
  Response response = transport->send(req("GET", "/slow"));
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.body, HasSubstr("timeout"));
  release.open();
}

// requestTimeout is an idle timeout: a server that trickles bytes never trips it. A request's own
// deadline bounds the whole exchange (leader election relies on it).
TEST_F(HttpTransportTest, RequestDeadlineEndsATricklingResponse) {
  Gate release;
  std::atomic<bool> stop{false};
  TestServer server([&](const RawRequest&, Conn& conn) {
    conn.startChunked();
    while (!stop) {
      conn.writeChunk(" ");
      std::this_thread::sleep_for(20ms);
    }
  });
  HttpTransportOptions options;
  options.requestTimeout = 30s;
  auto transport = makeTransport(plainConfig(server.url()), options);
  ASSERT_TRUE(transport);
  Request request = req("GET", "/trickle");
  request.timeout = 300ms;
  Response response = transport->send(request);
  stop = true;
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.body, HasSubstr("timeout"));
}

TEST_F(HttpTransportTest, RequestWithinItsDeadlineSucceeds) {
  TestServer server([&](const RawRequest& request, Conn& conn) {
    conn.respond(201, R"({"path":")" + request.target + R"("})");
  });
  auto transport = makeTransport(plainConfig(server.url()));
  ASSERT_TRUE(transport);
  Request request = req("POST", "/things");
  request.body = "{}";
  request.timeout = 5s;
  Response response = transport->send(request);
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, R"({"path":"/things"})");

  Request refused = req("GET", "/x");
  refused.timeout = 5s;
  auto unreachable = makeTransport(plainConfig("http://127.0.0.1:1"));
  ASSERT_TRUE(unreachable);
  Response failed = unreachable->send(refused);
  EXPECT_EQ(failed.status, 0);
  EXPECT_THAT(failed.body, HasSubstr("connection refused"));
}

TEST_F(HttpTransportTest, CreateRejectsBadConfig) {
  struct Case {
    std::string what;
    RestConfig config;
    std::string expected;
  };
  const std::string ca = readText(testdata() / "ca.crt");
  const std::string clientCert = readText(testdata() / "client.crt");
  const std::string clientKey = readText(testdata() / "client.key");
  const std::string serverKey = readText(testdata() / "server.key");
  std::vector<Case> cases;
  cases.push_back({"scheme", plainConfig("ftp://127.0.0.1"), "scheme must be https or http"});
  cases.push_back({"url", plainConfig("https://bad host:x"), "server"});
  RestConfig badCa = plainConfig("https://127.0.0.1:6443");
  badCa.caPem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  cases.push_back({"ca", badCa, "certificate-authority"});
  RestConfig mismatched = plainConfig("https://127.0.0.1:6443");
  mismatched.clientCertPem = clientCert;
  mismatched.clientKeyPem = serverKey;
  cases.push_back({"mismatched key", mismatched, "client-key"});
  RestConfig certOnly = plainConfig("https://127.0.0.1:6443");
  certOnly.clientCertPem = clientCert;
  cases.push_back({"cert only", certOnly, "client-key: missing"});
  RestConfig plainToken = plainConfig("http://127.0.0.1:8080");
  plainToken.token = "t";
  cases.push_back({"token over http", plainToken, "clear text"});
  RestConfig insecureWithCa = plainConfig("https://127.0.0.1:6443");
  insecureWithCa.insecureSkipTLSVerify = true;
  insecureWithCa.caPem = ca;
  cases.push_back({"insecure with ca", insecureWithCa, "insecure-skip-tls-verify"});
  for (const Case& c : cases) {
    auto transport = HttpTransport::create(c.config);
    ASSERT_FALSE(transport.ok()) << c.what;
    EXPECT_THAT(transport.error().message, HasSubstr(c.expected)) << c.what;
  }
  RestConfig good = plainConfig("https://127.0.0.1:6443");
  good.caPem = ca;
  good.clientCertPem = clientCert;
  good.clientKeyPem = clientKey;
  EXPECT_TRUE(HttpTransport::create(good).ok());
}

TEST_F(HttpTransportTest, TlsVerifiesServerWithCaAndPresentsClientCertificate) {
  Recorder recorder;
  TestServer server(
      [&](const RawRequest& request, Conn& conn) {
        recorder.record(request);
        conn.respond(200, "ok", "text/plain");
      },
      serverTls(/*requireClientCert=*/true));
  RestConfig config = plainConfig(server.url());
  config.caPem = readText(testdata() / "ca.crt");
  config.clientCertPem = readText(testdata() / "client.crt");
  config.clientKeyPem = readText(testdata() / "client.key");
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);

  Response response = transport->send(req("GET", "/readyz"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(recorder.last().clientCertSubject, "admin");

  StreamResponse opened = transport->openStream(req("GET", "/readyz"), 10s);
  ASSERT_TRUE(opened.stream) << opened.response.body;
  std::string received;
  EXPECT_EQ(readAtLeast(*opened.stream, received, 2), ReadResult::kData);
  EXPECT_EQ(received, "ok");
  EXPECT_EQ(readBounded(*opened.stream, received), ReadResult::kEnd);
}

TEST_F(HttpTransportTest, TlsRejectsServerSignedByAnotherCa) {
  TestServer server([&](const RawRequest&, Conn& conn) { conn.respond(200, "ok"); },
                    serverTls(/*requireClientCert=*/false));
  RestConfig config = plainConfig(server.url());
  config.caPem = readText(testdata() / "other-ca.crt");
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);
  Response response = transport->send(req("GET", "/readyz"));
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(server.handled(), 0);
}

TEST_F(HttpTransportTest, TlsInsecureSkipVerifyAcceptsAnyServer) {
  TestServer server([&](const RawRequest&, Conn& conn) { conn.respond(200, "ok"); },
                    serverTls(/*requireClientCert=*/false));
  RestConfig config = plainConfig(server.url());
  config.insecureSkipTLSVerify = true;
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);
  EXPECT_EQ(transport->send(req("GET", "/readyz")).status, 200);
}

// A CA and a server certificate for `dnsName` only (no IP SAN), made with OpenSSL's API, so a
// test can serve a certificate of the right CA for the wrong host.
struct GeneratedPki {
  std::string caPem;
  X509* serverCert = nullptr;
  EVP_PKEY* serverKey = nullptr;
  ~GeneratedPki() {
    X509_free(serverCert);
    EVP_PKEY_free(serverKey);
  }
};

X509* newCert(EVP_PKEY* key, const std::string& commonName, X509* issuer, EVP_PKEY* issuerKey,
              const std::vector<std::pair<int, std::string>>& extensions, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    if (ext) X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, issuerKey ? issuerKey : key, EVP_sha256());
  return cert;
}

std::unique_ptr<GeneratedPki> generatePki(const std::string& dnsName) {
  auto pki = std::make_unique<GeneratedPki>();
  EVP_PKEY* caKey = EVP_EC_gen("P-256");
  X509* ca = newCert(caKey, "generated-test-ca", nullptr, nullptr,
                     {{NID_basic_constraints, "critical,CA:TRUE"},
                      {NID_key_usage, "critical,keyCertSign,cRLSign"}},
                     1);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, ca);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  pki->caPem.assign(data, static_cast<size_t>(size));
  BIO_free(bio);
  pki->serverKey = EVP_EC_gen("P-256");
  pki->serverCert = newCert(pki->serverKey, dnsName, ca, caKey,
                            {{NID_subject_alt_name, "DNS:" + dnsName},
                             {NID_ext_key_usage, "serverAuth"}},
                            2);
  X509_free(ca);
  EVP_PKEY_free(caKey);
  return pki;
}

SSL_CTX* serverTlsWith(const GeneratedPki& pki) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, pki.serverCert);
  SSL_CTX_use_PrivateKey(ctx, pki.serverKey);
  return ctx;
}

TEST_F(HttpTransportTest, TlsRejectsACertificateOfTheRightCaForAnotherHost) {
  auto pki = generatePki("kube.internal");
  TestServer server([&](const RawRequest&, Conn& conn) { conn.respond(200, "ok"); },
                    serverTlsWith(*pki));
  RestConfig config = plainConfig(server.url());  // https://127.0.0.1:PORT
  config.caPem = pki->caPem;
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);
  Response response = transport->send(req("GET", "/readyz"));
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.body, HasSubstr("SSL handshake"));
  EXPECT_EQ(server.handled(), 0);
}

TEST_F(HttpTransportTest, TlsServerNameIsSentAsSniAndVerified) {
  auto pki = generatePki("kube.internal");
  Recorder recorder;
  TestServer server(
      [&](const RawRequest& request, Conn& conn) {
        recorder.record(request);
        conn.respond(200, "ok", "text/plain");
      },
      serverTlsWith(*pki));
  RestConfig config = plainConfig(server.url());
  config.caPem = pki->caPem;
  config.tlsServerName = "kube.internal";
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);
  Response response = transport->send(req("GET", "/readyz"));
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(recorder.last().serverName, "kube.internal");

  StreamResponse opened = transport->openStream(req("GET", "/readyz"), 10s);
  ASSERT_TRUE(opened.stream) << opened.response.body;
  std::string received;
  EXPECT_EQ(readAtLeast(*opened.stream, received, 2), ReadResult::kData);
  EXPECT_EQ(received, "ok");
}

TEST_F(HttpTransportTest, TlsServerNameThatTheCertificateDoesNotCarryIsRefused) {
  auto pki = generatePki("kube.internal");
  TestServer server([&](const RawRequest&, Conn& conn) { conn.respond(200, "ok"); },
                    serverTlsWith(*pki));
  RestConfig config = plainConfig(server.url());
  config.caPem = pki->caPem;
  config.tlsServerName = "other.internal";
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);
  EXPECT_EQ(transport->send(req("GET", "/readyz")).status, 0);
  EXPECT_EQ(server.handled(), 0);

  // Another CA's certificate for the configured name is refused too.
  auto other = generatePki("kube.internal");
  config.caPem = other->caPem;
  config.tlsServerName = "kube.internal";
  auto otherCa = makeTransport(config);
  ASSERT_TRUE(otherCa);
  EXPECT_EQ(otherCa->send(req("GET", "/readyz")).status, 0);
  EXPECT_EQ(server.handled(), 0);
}

TEST_F(HttpTransportTest, TlsServerNameIsSentEvenWhenVerificationIsSkipped) {
  auto pki = generatePki("kube.internal");
  Recorder recorder;
  TestServer server(
      [&](const RawRequest& request, Conn& conn) {
        recorder.record(request);
        conn.respond(200, "ok");
      },
      serverTlsWith(*pki));
  RestConfig config = plainConfig(server.url());
  config.insecureSkipTLSVerify = true;
  config.tlsServerName = "some.name";
  auto transport = makeTransport(config);
  ASSERT_TRUE(transport);
  EXPECT_EQ(transport->send(req("GET", "/readyz")).status, 200);
  EXPECT_EQ(recorder.last().serverName, "some.name");
}

}  // namespace
}  // namespace dwcp::kube
