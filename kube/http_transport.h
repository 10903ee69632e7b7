// HttpTransport: the Transport to a real API server over HTTP(S), configured from a RestConfig
// (server CA, client certificate and key, bearer token or token file re-read when it rotates).
// Thread-safe. send() and openStream() block the calling thread: call them from your own
// threads, never from a cpprestsdk pool thread. Transport failures come back as status 0.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kube/clock.h"
#include "kube/kubeconfig.h"
#include "kube/result.h"
#include "kube/transport.h"

namespace dwcp::kube {

struct HttpTransportOptions {
  std::chrono::seconds requestTimeout{30};  // send(): no byte for this long ends the request
  // The token file is re-read when its mtime or size changes, and at least this often.
  std::chrono::seconds tokenRefreshInterval{60};
  const Clock* clock = nullptr;  // for tokenRefreshInterval; nullptr: RealClock
  std::string userAgent = "dwcp-federation";
};

class HttpTransport final : public Transport {
 public:
  // Validates the server URL and the PEM data (an Error names the bad field).
  static Result<std::shared_ptr<HttpTransport>> create(const RestConfig& config,
                                                       HttpTransportOptions options = {});
  // Sizes cpprest's process-wide thread pool (40 threads by default, which for an operator's
  // few dozen requests in flight mostly wake each other): call from main() before the first
  // transport is made. False when the pool already exists (the call then changes nothing).
  // Nothing of this transport blocks a pool thread, so a small pool never starves it.
  static bool setThreadPoolSize(size_t threads);
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // request.timeout > 0 bounds the whole exchange; otherwise requestTimeout is an idle timeout.
  Response send(const Request& request) override;
  // The idle timeout applies to every wait: headers and each later read().
  StreamResponse openStream(const Request& request, std::chrono::seconds idleTimeout) override;

  struct Impl;

 private:
  explicit HttpTransport(std::unique_ptr<Impl> impl);
  Response sendWithDeadline(const Request& request);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dwcp::kube
