// The small HTTP interface the Kubernetes client runs on. HttpTransport (cpprestsdk) talks to a
// real API server; FakeTransport (kube/testing/fake_transport.h) scripts responses for unit tests.
// Implementations are safe to call from several threads at once.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace dwcp::kube {

struct Request {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE
  std::string path;            // absolute path and query, e.g. "/api/v1/namespaces?limit=500"
  std::string body;
  std::string contentType = "application/json";
  std::map<std::string, std::string> headers;  // extra headers (Accept, ...)
  // A deadline for the whole exchange, connect to last body byte (0: the transport's default
  // idle timeout). A request past it ends with status 0 and "timeout".
  std::chrono::milliseconds timeout{0};
};

struct Response {
  int status = 0;      // HTTP status; 0 when the request failed before a response
  std::string body;    // response body, or the transport error text when status == 0
};

// A long-running response body (a watch). read() blocks until data arrives, the server ends
// the body, the idle timeout elapses with no byte, or cancel() is called from another thread.
class Stream {
 public:
  enum class ReadResult { kData, kEnd, kIdleTimeout, kError, kCancelled };
  virtual ~Stream() = default;
  // Appends newly received bytes (any split: a JSON line may arrive in pieces) to `out`.
  virtual ReadResult read(std::string& out) = 0;
  virtual void cancel() = 0;
};

struct StreamResponse {
  Response response;               // status, and the whole body when the status is not 2xx
  std::unique_ptr<Stream> stream;  // set only for a 2xx status
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Response send(const Request& request) = 0;
  // Opens a streaming request. `idleTimeout` ends a stream that receives nothing for that long
  // (dead TCP connections); callers set it a little above the watch's timeoutSeconds.
  virtual StreamResponse openStream(const Request& request, std::chrono::seconds idleTimeout) = 0;
};

}  // namespace dwcp::kube
