#include "operator/health_server.h"

#include "operator/options.h"

namespace dwcp::op {

HealthServer::HealthServer(std::vector<HealthCheck> liveness, std::vector<HealthCheck> readiness)
    : liveness_(std::move(liveness)), readiness_(std::move(readiness)) {}

HealthServer::~HealthServer() { stop(); }

namespace {

std::pair<int, std::string> runChecks(const std::vector<HealthCheck>& checks, bool verbose) {
  std::string body;
  bool ok = true;
  for (const auto& c : checks) {
    kube::Status s = c.check ? c.check() : kube::okStatus();
    if (s.ok()) {
      body += "[+]" + c.name + " ok\n";
    } else {
      ok = false;
      body += "[-]" + c.name + " failed: " + s.error().message + "\n";
    }
  }
  body += ok ? "ok\n" : "not ok\n";
  return {ok ? 200 : 503, verbose || !ok ? body : std::string("ok")};
}

}  // namespace

std::pair<int, std::string> HealthServer::respond(const std::string& pathAndQuery) const {
  std::string path = pathAndQuery.substr(0, pathAndQuery.find('?'));
  bool verbose = pathAndQuery.find("verbose") != std::string::npos;
  if (path == "/healthz" || path == "/livez") return runChecks(liveness_, verbose);
  if (path == "/readyz") return runChecks(readiness_, verbose);
  return {404, "not found\n"};
}

kube::Result<int> HealthServer::start(const std::string& bindAddress) {
  constexpr const char* kFlag = "--health-probe-bind-address";
  net::HttpServerOptions defaults;
  defaults.name = "health probes";
  defaults.readTimeout = std::chrono::seconds(5);
  defaults.maxConnections = 64;  // kubelet keeps one or two
  auto options = bindOptions(kFlag, bindAddress, defaults);
  if (!options.ok()) return options.error();
  auto server = net::makeHttpServer(*options, [this](const net::HttpRequest& request, net::HttpResponse& response) {
    response.contentType = "text/plain; charset=utf-8";
    if (request.method != "GET" && request.method != "HEAD") {
      response.status = 405;
      response.body = "use GET\n";
      return;
    }
    std::tie(response.status, response.body) = respond(std::string(request.target));
  });
  if (auto started = server->start(); !started.ok()) {
    return kube::Error{0, "BindFailed", std::string(kFlag) + ": " + started.error().message};
  }
  server_ = std::move(server);
  return static_cast<int>(server_->port());
}

void HealthServer::stop() {
  if (server_) server_->stop();
}

}  // namespace dwcp::op
