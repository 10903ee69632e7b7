// dwcp-router: the routing API as a standalone routing tier.
//   dwcp-router --regions FILE [--listen 127.0.0.1:8090] [--threads N] [--config dwcp.yaml]
// SIGTERM or SIGINT stops gracefully (requests in progress finish); SIGHUP reloads FILE
// (all-or-nothing: a bad file keeps the current regions).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "config/config.h"
#include "engines/routing/region_table.h"
#include "engines/routing/router.h"
#include "net/http_server.h"
#include "routingapi/region_file.h"
#include "routingapi/routing_service.h"

namespace {

using namespace dwcp;

struct Flags {
  std::string regionsFile;
  std::string listen = "127.0.0.1:8090";
  std::size_t threads = 0;
  std::string configFile;
};

constexpr const char* kUsage =
    "usage: dwcp-router --regions FILE [--listen 127.0.0.1:8090] [--threads N] [--config dwcp.yaml]\n"
    "  --regions FILE   regions as YAML or JSON: a list of {name, endpoint, latitude, longitude, phase,\n"
    "                   healthScore, costPerRequest, costPerCpuHour, capacityWeight}, or Region resources\n"
    "  --listen ADDR    address:port to serve on ([::1]:8090 for IPv6)\n"
    "  --threads N      io threads (default: one per core)\n"
    "  --config FILE    DWCP configuration; its routing section sets the algorithm and DDoS limits\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "dwcp-router: %s\n%s", message.c_str(), kUsage);
  return 2;
}

bool parseListen(const std::string& text, std::string& address, std::uint16_t& port) {
  const auto parsed = dwcp::base::splitHostPort(text);
  if (!parsed || parsed->host.empty()) return false;
  address = parsed->host;
  port = parsed->port;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string text;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--regions") {
      if (!value(flags.regionsFile)) return usageError("--regions needs a file");
    } else if (arg == "--listen") {
      if (!value(flags.listen)) return usageError("--listen needs address:port");
    } else if (arg == "--threads") {
      if (!value(text)) return usageError("--threads needs a number");
      const auto n = dwcp::base::parseInt<std::size_t>(text);
      if (!n || *n < 1 || *n > 256) return usageError("--threads must be within [1, 256]");
      flags.threads = *n;
    } else if (arg == "--config") {
      if (!value(flags.configFile)) return usageError("--config needs a file");
    } else {
      return usageError("unknown flag " + std::string(arg));
    }
  }
  if (flags.regionsFile.empty()) return usageError("--regions is required");

  net::HttpServerOptions serverOptions = routingapi::routingServerOptions();
  serverOptions.name = "dwcp-router";
  if (!parseListen(flags.listen, serverOptions.address, serverOptions.port))
    return usageError("--listen: expected address:port, got " + flags.listen);
  serverOptions.threads = flags.threads;

  // The same file and parser as dwcp-operator's --config: every section is checked, the
  // routing section is used.
  config::RoutingConfig config;
  if (!flags.configFile.empty()) {
    auto loaded = config::loadConfig(flags.configFile);
    if (!loaded.ok()) {
      spdlog::critical("dwcp-router: {}", loaded.error().message);
      return 1;
    }
    config = std::move(loaded->routing);
  }

  routing::RegionTable table;
  {
    auto specs = routingapi::loadRegionsFile(flags.regionsFile);
    if (!specs.ok()) {
      spdlog::critical("dwcp-router: {}", specs.error().toString());
      return 1;
    }
    if (auto s = table.replaceAll(std::move(*specs)); !s.ok()) {
      spdlog::critical("dwcp-router: {}: {}", flags.regionsFile, s.error().toString());
      return 1;
    }
  }
  const routing::RouterConfig routerConfig = config.routerConfig();
  routing::Router router(table, routerConfig);
  routingapi::RoutingService service(table, router, config.service);

  // Signals are taken by sigwait() below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = net::makeHttpServer(serverOptions, service.handler());
  if (auto s = server->start(); !s.ok()) {
    spdlog::critical("dwcp-router: --listen: {}", s.error().message);
    return 1;
  }
  spdlog::info("dwcp-router: {} regions from {}, serving on {}:{}", table.snapshot()->regions().size(),
               flags.regionsFile, serverOptions.address, server->port());

  while (true) {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) continue;
    if (signal == SIGHUP) {
      auto specs = routingapi::loadRegionsFile(flags.regionsFile);
      auto status = specs.ok() ? table.replaceAll(std::move(*specs)) : routing::Status(specs.error());
      if (status.ok()) {
        spdlog::info("dwcp-router: reloaded {} regions", table.snapshot()->regions().size());
      } else {
        spdlog::error("dwcp-router: reload failed, keeping the current regions: {}", status.error().toString());
      }
      continue;
    }
    spdlog::info("dwcp-router: signal {}, stopping", signal);
    break;
  }
  server->stop();
  return 0;
}
