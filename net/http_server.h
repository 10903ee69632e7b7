// The project's one HTTP/1.1 server (Boost.Beast's parser, Asio sockets), plain or mutual TLS,
// for every endpoint the operator and its tools serve: health probes, metrics, the routing API,
// the peer link between regions, a replica's control API, and later the admission webhooks.
//
// N io threads, one io_context each (a connection stays on one thread, so it needs no locks);
// with reusePort one listening socket per thread, else one listener handing connections out
// round robin. Keep-alive and pipelining; a deadline on every wait (the TLS handshake, a
// request's first byte to its last, the idle gap before a kept-alive connection's next
// request, each write), past which the connection is closed; at most maxConnections open, one
// above that closed as soon as it is accepted and counted; bodies above bodyLimitBytes are
// answered 413 and headers above headerLimitBytes 431, unread. Errors of the HTTP layer itself
// are answered with a JSON {"error", "field"} body. stop() lets requests in progress finish (up
// to drainTimeout), closes idle connections and joins the threads.
//
// With TLS, clients must present a certificate the context verifies; the handler receives the
// verified certificate's DNS SANs. The context is read from a TlsContextSource at each
// accept, so replacing it (a rotated certificate) applies to the next connection without a
// restart, and connections already open keep theirs.
//
// The handler runs on an io thread, concurrently for different connections: it must be
// thread-safe, and one that blocks holds its thread's connections (give such a server more
// threads). A handler that throws is answered 500; no exception leaves a connection, the
// accept loop or an io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/error.h"

namespace boost::asio::ssl {
class context;
}

namespace dwcp::net {

struct HttpRequest {
  std::string_view method;        // "GET", "POST", ...
  std::string_view target;        // path and query, e.g. "/v1/route"
  std::string_view body;
  std::string_view peerAddress;   // the TCP peer's IP address as text
  std::string_view forwardedFor;  // every X-Forwarded-For value, comma-joined in order; empty if none
  std::uint64_t receivedBytes = 0;  // bytes of this request read from the connection (head and body)
  // The verified client certificate's DNS SANs, sorted; empty on a plain server.
  const std::vector<std::string>* peerNames = nullptr;

  // The target without its query.
  std::string_view path() const { return target.substr(0, target.find('?')); }
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::uint32_t retryAfterSeconds = 0;  // sent as Retry-After when > 0
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

// The TLS context new connections use, replaceable while the server runs. Thread-safe.
class TlsContextSource {
 public:
  explicit TlsContextSource(std::shared_ptr<boost::asio::ssl::context> context) : context_(std::move(context)) {}
  std::shared_ptr<boost::asio::ssl::context> current() const {
    std::lock_guard lock(mu_);
    return context_;
  }
  void replace(std::shared_ptr<boost::asio::ssl::context> context) {
    std::lock_guard lock(mu_);
    context_ = std::move(context);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

struct HttpServerOptions {
  std::string name = "http";               // in log lines and the Server header
  std::string address = "127.0.0.1";       // an IP address or host name; "0.0.0.0" or "::" for every one
  std::uint16_t port = 0;                  // 0: an ephemeral port, see HttpServer::port()
  std::size_t threads = 1;                 // 0: one per core
  // true: one listening socket per io thread (SO_REUSEPORT with an SO_INCOMING_CPU hint): the
  // kernel spreads connections, preferring the listener of the client's CPU. false: one
  // listener hands connections to the io threads round robin.
  bool reusePort = false;
  std::size_t bodyLimitBytes = 64 * 1024;  // larger bodies get 413
  std::size_t headerLimitBytes = 16 * 1024;
  std::size_t maxConnections = 1024;       // 0: no limit
  std::chrono::milliseconds handshakeTimeout{10000};  // TLS only, from accept
  std::chrono::milliseconds readTimeout{10000};   // a connection's first request, first byte to last
  std::chrono::milliseconds idleTimeout{60000};   // each next request on a kept-alive one
  std::chrono::milliseconds writeTimeout{10000};
  std::chrono::milliseconds drainTimeout{5000};   // stop() waits this long for open requests
  std::shared_ptr<TlsContextSource> tls;          // null: plain HTTP
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts serving; an error names the address and what failed ("cannot bind
  // 0.0.0.0:8080: Address already in use"), for the caller to prefix with its flag.
  virtual Status start() = 0;
  // The bound port (useful with port 0); 0 before start().
  virtual std::uint16_t port() const = 0;
  // Idempotent; also run by the destructor.
  virtual void stop() = 0;
  // TLS handshakes that failed or timed out (no certificate, another CA, not TLS, silence),
  // every one; each is logged (warn) only the first time its (client address, error) is seen,
  // of at most 1024 such pairs.
  virtual std::uint64_t handshakeFailures() const = 0;
  // Connections closed on accept because maxConnections were open.
  virtual std::uint64_t refusedConnections() const = 0;
  virtual std::size_t openConnections() const = 0;
};

std::unique_ptr<HttpServer> makeHttpServer(HttpServerOptions options, HttpHandler handler);

// {"error": message, "field": field} (no "field" when it is empty), JSON-escaped.
std::string errorBody(std::string_view message, std::string_view field = {});

}  // namespace dwcp::net
