// Wires the operator together: REST client, informers, controllers, leader election, metrics
// and health endpoints, and the routing API (served by every replica from the Region cache).
// start() brings everything up (controllers start once this replica leads); shutdown() stops
// taking work, lets in-flight reconciles finish, releases the lease.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "kube/result.h"
#include "config/config.h"
#include "operator/options.h"

namespace dwcp::op {

class Manager {
 public:
  Manager(Options options, config::Config config);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  kube::Status start();
  // Idempotent. After it returns no reconcile runs and the lease (if held) is released.
  void shutdown();
  // Blocks until shutdown is requested by lost leadership or `stop` becomes true.
  void waitUntil(const std::atomic<bool>& stop);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dwcp::op
