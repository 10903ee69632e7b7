#include "kube/testing/fake_transport.h"

#include <atomic>

namespace dwcp::kube {

namespace {

class ScriptedStream final : public Stream {
 public:
  explicit ScriptedStream(std::vector<StreamStep> steps) : steps_(steps.begin(), steps.end()) {}

  ReadResult read(std::string& out) override {
    std::unique_lock lock(mu_);
    if (cancelled_) return ReadResult::kCancelled;
    if (steps_.empty()) return ReadResult::kEnd;
    StreamStep step = steps_.front();
    if (step.kind == StreamStep::Kind::kBlock) {
      cv_.wait(lock, [&] { return cancelled_; });
      return ReadResult::kCancelled;
    }
    steps_.pop_front();
    switch (step.kind) {
      case StreamStep::Kind::kChunk: out += step.bytes; return ReadResult::kData;
      case StreamStep::Kind::kIdle: return ReadResult::kIdleTimeout;
      case StreamStep::Kind::kEnd: return ReadResult::kEnd;
      case StreamStep::Kind::kError: return ReadResult::kError;
      case StreamStep::Kind::kBlock: break;
    }
    return ReadResult::kError;
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamStep> steps_;
  bool cancelled_ = false;
};

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

void FakeTransport::expect(std::string method, std::string pathPrefix, Response response) {
  std::lock_guard lock(mu_);
  expectations_.push_back({std::move(method), std::move(pathPrefix), std::move(response), false, {}});
}

void FakeTransport::expectPath(std::string method, std::string path, Response response) {
  std::lock_guard lock(mu_);
  expectations_.push_back({std::move(method), std::move(path), std::move(response), false, {}, true});
}

void FakeTransport::expectStream(std::string pathPrefix, std::vector<StreamStep> steps, int status,
                                 std::string body) {
  std::lock_guard lock(mu_);
  expectations_.push_back({"GET", std::move(pathPrefix), Response{status, std::move(body)}, true,
                           std::move(steps)});
}

void FakeTransport::setFallback(Handler handler) {
  std::lock_guard lock(mu_);
  fallback_ = std::move(handler);
}

std::optional<FakeTransport::Expectation> FakeTransport::take(const Request& request) {
  for (auto it = expectations_.begin(); it != expectations_.end(); ++it) {
    const bool matches = it->exact ? request.path.substr(0, request.path.find('?')) == it->pathPrefix
                                   : startsWith(request.path, it->pathPrefix);
    if (it->method == request.method && matches) {
      Expectation e = std::move(*it);
      expectations_.erase(it);
      return e;
    }
  }
  return std::nullopt;
}

Response FakeTransport::send(const Request& request) {
  std::unique_lock lock(mu_);
  requests_.push_back(request);
  cv_.notify_all();
  auto e = take(request);
  if (e && !e->stream) return e->response;
  if (fallback_) {
    auto fallback = fallback_;
    lock.unlock();
    return fallback(request);
  }
  return Response{599, "unexpected request " + request.method + " " + request.path};
}

StreamResponse FakeTransport::openStream(const Request& request, std::chrono::seconds) {
  std::unique_lock lock(mu_);
  requests_.push_back(request);
  cv_.notify_all();
  auto e = take(request);
  if (!e) {
    if (fallback_) {
      auto fallback = fallback_;
      lock.unlock();
      return {fallback(request), nullptr};
    }
    return {Response{599, "unexpected stream " + request.path}, nullptr};
  }
  if (e->response.status < 200 || e->response.status >= 300) return {e->response, nullptr};
  return {e->response, std::make_unique<ScriptedStream>(std::move(e->steps))};
}

std::vector<Request> FakeTransport::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t FakeTransport::count(const std::string& method, const std::string& pathPrefix) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& r : requests_) n += (r.method == method && startsWith(r.path, pathPrefix));
  return n;
}

bool FakeTransport::waitForCount(const std::string& method, const std::string& pathPrefix, size_t n,
                                 std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    size_t c = 0;
    for (const auto& r : requests_) c += (r.method == method && startsWith(r.path, pathPrefix));
    return c >= n;
  });
}

size_t FakeTransport::pendingExpectations() const {
  std::lock_guard lock(mu_);
  return expectations_.size();
}

}  // namespace dwcp::kube
