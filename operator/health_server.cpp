#include "operator/health_server.h"

#include <cpprest/http_listener.h>
#include <spdlog/spdlog.h>

#include "operator/options.h"

namespace dwcp::op {

namespace http = web::http;

struct HealthServer::Impl {
  std::unique_ptr<http::experimental::listener::http_listener> listener;
};

HealthServer::HealthServer(std::vector<HealthCheck> liveness, std::vector<HealthCheck> readiness)
    : liveness_(std::move(liveness)), readiness_(std::move(readiness)), impl_(std::make_unique<Impl>()) {}

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
  auto address = parseBindAddress("--health-probe-bind-address", bindAddress);
  if (!address.ok()) return address.error();
  std::string host = address->host.empty() ? "0.0.0.0" : address->host;
  std::string uri = "http://" + host + ":" + std::to_string(address->port) + "/";
  try {
    impl_->listener = std::make_unique<http::experimental::listener::http_listener>(uri);
    impl_->listener->support(http::methods::GET, [this](http::http_request request) {
      auto [status, body] = respond(request.relative_uri().to_string());
      http::http_response response(static_cast<http::status_code>(status));
      response.set_body(body, "text/plain; charset=utf-8");
      request.reply(response).then([](pplx::task<void> t) {
        try {
          t.get();
        } catch (const std::exception&) {
          // The prober went away; nothing to do.
        }
      });
    });
    impl_->listener->open().wait();
  } catch (const std::exception& e) {
    impl_->listener.reset();
    return kube::Error{0, "BindFailed", "--health-probe-bind-address: cannot listen on " + bindAddress + ": " + e.what()};
  }
  return address->port;
}

void HealthServer::stop() {
  if (!impl_ || !impl_->listener) return;
  try {
    impl_->listener->close().wait();
  } catch (const std::exception& e) {
    spdlog::warn("health server close: {}", e.what());
  }
  impl_->listener.reset();
}

}  // namespace dwcp::op
