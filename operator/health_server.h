// Serves /healthz (liveness) and /readyz (readiness) over plain HTTP on the one server of net/,
// as kubelet probes expect.
// Each endpoint runs its named checks; the body lists them ("[+]caches ok" / "[-]caches failed:
// ...") and the status is 200 when all pass, 503 otherwise. Checks must be cheap and thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kube/result.h"
#include "net/http_server.h"

namespace dwcp::op {

struct HealthCheck {
  std::string name;
  std::function<kube::Status()> check;
};

class HealthServer {
 public:
  HealthServer(std::vector<HealthCheck> liveness, std::vector<HealthCheck> readiness);
  ~HealthServer();
  // Listens on "HOST:PORT" (":PORT" for every address). Returns the bound port.
  kube::Result<int> start(const std::string& bindAddress);
  void stop();

  // The response for a path (for tests): {status, body}.
  std::pair<int, std::string> respond(const std::string& path) const;

 private:
  std::vector<HealthCheck> liveness_;
  std::vector<HealthCheck> readiness_;
  std::unique_ptr<net::HttpServer> server_;  // declared last: stops before the checks go
};

}  // namespace dwcp::op
