// dwcp-operator: the federation operator of one region (cluster).
#include <csignal>
#include <pthread.h>

#include <atomic>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "config/config.h"
#include "kube/http_transport.h"
#include "operator/manager.h"
#include "operator/options.h"

int main(int argc, char** argv) {
  using namespace dwcp::op;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto options = parseOptions(args);
  if (!options.ok()) {
    std::cerr << "dwcp-operator: " << options.error().message << "\n";
    return 2;
  }
  if (options->showHelp) {
    std::cout << usage();
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(options->logLevel));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  dwcp::config::Config config;
  if (!options->configFile.empty()) {
    auto loaded = dwcp::config::loadConfig(options->configFile);
    if (!loaded.ok()) {
      std::cerr << "dwcp-operator: " << loaded.error().message << "\n";
      return 2;
    }
    config = std::move(loaded.value());
  }

  // Block the stop signals in every thread; this thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Four threads run every API exchange's callbacks: cpprest's default 40 mostly wake each other
  // (thousands of context switches a second under load, measured). The pool starts its threads
  // here, so after the mask above: a stop signal must never land on one of them.
  dwcp::kube::HttpTransport::setThreadPoolSize(4);

  Manager manager(*options, config);
  if (auto started = manager.start(); !started.ok()) {
    spdlog::error("start-up failed: {}", started.error().message);
    manager.shutdown();
    return 1;
  }

  std::atomic<bool> stop{false};
  std::thread signalWaiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received signal {}, shutting down", received);
    stop = true;
  });
  manager.waitUntil(stop);
  manager.shutdown();
  if (!stop) {
    // Leadership was lost: exit non-zero so the replica restarts with fresh state.
    spdlog::error("leader lease lost; exiting");
    signalWaiter.detach();
    return 1;
  }
  signalWaiter.join();
  spdlog::info("shutdown complete");
  return 0;
}
