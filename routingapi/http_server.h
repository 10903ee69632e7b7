// A small HTTP/1.1 server interface for the routing API, and its Boost.Beast implementation:
// N io threads (one io_context each, connections spread round robin), keep-alive, a request
// body limit (413), read/write/idle timeouts and a graceful stop that lets in-flight requests
// finish. The handler is called on an io thread, concurrently for different connections, and
// must be thread-safe; it must not block for long. Errors of the HTTP layer itself (bad
// framing, oversized bodies) are answered here with a JSON {"error", "field"} body.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engines/routing/result.h"

namespace dwcp::routingapi {

struct HttpRequest {
  std::string_view method;       // "GET", "POST", ...
  std::string_view target;       // path and query, e.g. "/v1/route"
  std::string_view body;
  std::string_view peerAddress;   // the TCP peer's IP address as text
  std::string_view forwardedFor;  // every X-Forwarded-For value, comma-joined in order; empty if none
  std::uint64_t receivedBytes = 0;  // bytes of this request read from the connection (head and body)
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::uint32_t retryAfterSeconds = 0;  // sent as Retry-After when > 0
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8090;              // 0: an ephemeral port, see HttpServer::port()
  std::size_t threads = 0;                // 0: one per core
  // true: one listening socket per io thread (SO_REUSEPORT with an SO_INCOMING_CPU hint): the
  // kernel spreads connections, preferring the listener of the client's CPU. false: one
  // listener hands connections to the io threads round robin (deterministic; tests that hold
  // an io thread use it).
  bool reusePort = true;
  std::size_t bodyLimitBytes = 64 * 1024; // larger bodies get 413
  std::size_t headerLimitBytes = 16 * 1024;
  std::chrono::milliseconds readTimeout{10000};   // to receive the first request of a connection
  std::chrono::milliseconds idleTimeout{60000};   // to receive each next request on a kept-alive one
  std::chrono::milliseconds writeTimeout{10000};
  std::chrono::milliseconds drainTimeout{5000};   // stop() waits this long for open requests
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts serving; an error names "listen" (bad address, port in use).
  virtual routing::Status start() = 0;
  // The bound port (useful with port 0); 0 before start().
  virtual std::uint16_t port() const = 0;
  // Stops accepting, lets requests in progress finish (up to drainTimeout), closes idle
  // keep-alive connections and joins the io threads. Idempotent; also run by the destructor.
  virtual void stop() = 0;
};

std::unique_ptr<HttpServer> makeBeastHttpServer(HttpServerOptions options, HttpHandler handler);

}  // namespace dwcp::routingapi
