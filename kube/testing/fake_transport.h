// A scripted Transport for unit tests. Each expected call is matched by method and a path
// prefix, in the order scripted for that (method, prefix); every request is recorded.
// Streams are scripted as a sequence of steps: chunks of bytes, an idle stall, an end, an error.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kube/transport.h"

namespace dwcp::kube {

struct StreamStep {
  enum class Kind { kChunk, kIdle, kEnd, kError, kBlock };
  Kind kind = Kind::kChunk;
  std::string bytes;
  static StreamStep chunk(std::string b) { return {Kind::kChunk, std::move(b)}; }
  static StreamStep idle() { return {Kind::kIdle, {}}; }    // read() reports kIdleTimeout
  static StreamStep end() { return {Kind::kEnd, {}}; }      // server closed the body
  static StreamStep error() { return {Kind::kError, {}}; }  // connection reset
  static StreamStep block() { return {Kind::kBlock, {}}; }  // blocks until cancel()
};

class FakeTransport final : public Transport {
 public:
  using Handler = std::function<Response(const Request&)>;

  // Queues one response for the next request whose method matches and whose path starts with
  // `pathPrefix`. Matching picks the first queued entry that fits.
  void expect(std::string method, std::string pathPrefix, Response response);
  // The same for the next request whose path, without its query, is exactly `path` (an object's
  // own path and not its /status).
  void expectPath(std::string method, std::string path, Response response);
  // Queues a streaming response: status 200 with these steps, or a non-2xx status with a body.
  void expectStream(std::string pathPrefix, std::vector<StreamStep> steps, int status = 200,
                    std::string body = "");
  // A fallback for requests no queued entry matches (default: 599 "unexpected request").
  void setFallback(Handler handler);

  Response send(const Request& request) override;
  StreamResponse openStream(const Request& request, std::chrono::seconds idleTimeout) override;

  std::vector<Request> requests() const;
  // Number of recorded requests with this method whose path starts with the prefix.
  size_t count(const std::string& method, const std::string& pathPrefix) const;
  // Blocks until at least n matching requests were recorded or the timeout passes (for tests
  // whose code runs on another thread; this waits on a condition, not a sleep).
  bool waitForCount(const std::string& method, const std::string& pathPrefix, size_t n,
                    std::chrono::milliseconds timeout) const;
  size_t pendingExpectations() const;

 private:
  struct Expectation {
    std::string method;
    std::string pathPrefix;
    Response response;
    bool stream = false;
    std::vector<StreamStep> steps;
    bool exact = false;  // pathPrefix is the whole path, query aside
  };
  std::optional<Expectation> take(const Request& request);

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Expectation> expectations_;
  std::vector<Request> requests_;
  Handler fallback_;
};

}  // namespace dwcp::kube
