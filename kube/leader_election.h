// Leader election over a coordination.k8s.io/v1 Lease, as client-go does it. A lease held by
// another is taken over only after it has not changed for its leaseDurationSeconds on the LOCAL
// steady clock (skew-proof); a leader that cannot renew within renewDeadline (< leaseDuration)
// stops leading before anyone else may acquire. Every lease call is bounded by the time left
// before the renew deadline, and after start() a watchdog ends leadership at the deadline on the
// local clock even while a lease call hangs. Thread-safe. Callbacks run one at a time, in order,
// on the stepping thread or the watchdog, and must not call stop(), release() or
// tryAcquireOrRenew(); isLeader() and leader() are fine.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/clock.h"
#include "kube/result.h"

namespace dwcp::kube {

struct LeaderElectionConfig {
  std::string leaseNamespace;
  std::string leaseName;
  std::string identity;  // empty: defaultLeaderIdentity()
  std::chrono::milliseconds leaseDuration{15000};  // whole seconds; written as leaseDurationSeconds
  std::chrono::milliseconds renewDeadline{10000};  // < leaseDuration
  std::chrono::milliseconds retryPeriod{2000};     // < renewDeadline
  bool releaseOnStop = true;  // stop() hands the lease over at once instead of letting it expire
};

struct LeaderCallbacks {
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
  std::function<void(const std::string& identity)> onNewLeader;  // any holder, self included
};

// "hostname_pid_random", unique per process start.
std::string defaultLeaderIdentity();

class LeaderElector {
 public:
  static const ResourceType kLeaseType;

  // Validates the config (names set, retryPeriod < renewDeadline < leaseDuration).
  static Result<std::unique_ptr<LeaderElector>> create(Client& client, Clock& clock,
                                                       LeaderElectionConfig config,
                                                       LeaderCallbacks callbacks = {});
  ~LeaderElector();  // stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Runs tryAcquireOrRenew() every retryPeriod on an own thread, and the deadline watchdog on
  // another, until stop().
  void start();
  // Ends the thread (an interruptible wait, no sleep to finish), then releases the lease if
  // config.releaseOnStop. Idempotent.
  void stop();

  // One election step: read the lease, create / take over / renew it. Returns true when this
  // step acquired or renewed the lease. A failed step of a leader ends its leadership only once
  // renewDeadline has passed since its last renewal.
  bool tryAcquireOrRenew();
  // Stops leading (onStoppedLeading first), then writes holderIdentity "" and
  // leaseDurationSeconds 1 so another candidate acquires at once. No-op when not the holder.
  Status release();

  // True while leading and the last renewal is younger than renewDeadline.
  bool isLeader() const;
  // For a liveness probe: an error while a step has been running for longer than its bounded
  // lease calls allow (renewDeadline + retryPeriod), i.e. the elector is stuck.
  Status checkProgress() const;
  // The last observed holder ("" when none).
  std::string leader() const;
  const std::string& identity() const { return config_.identity; }

 private:
  struct Notifications;
  LeaderElector(Client& client, Clock& clock, LeaderElectionConfig config,
                LeaderCallbacks callbacks);
  bool step(Notifications& notes);
  void observe(const json& lease, Notifications& notes);
  void stopLeading(Notifications& notes, const char* why);
  void failedAttempt(Notifications& notes);
  void fire(const Notifications& notes) const;
  json leaseSpecForMe(const json& lease) const;
  std::chrono::milliseconds nextWait() const;
  void run();
  void watchdog();
  std::chrono::milliseconds callTimeout() const;  // <= 0: no time left for a lease call

  Client& client_;
  Clock& clock_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;

  std::mutex stepMu_;  // serializes steps and release(); held while callbacks run
  mutable std::mutex fireMu_;  // orders callbacks; taken before mu_, never inside it
  mutable std::mutex mu_;  // guards the fields below
  json observedLease_;
  std::string observedHolder_;
  std::string observedRenewTime_;
  std::string observedResourceVersion_;
  Clock::SteadyTime observedTime_{};  // local time of the last observed change of the lease
  bool leading_ = false;
  Clock::SteadyTime lastRenew_{};     // local time just before the last successful write
  bool stepping_ = false;
  Clock::SteadyTime stepStarted_{};
  bool watchdogStopping_ = false;
  std::condition_variable watchdogWake_;  // with mu_: leadership, renewal or stop changed

  std::mutex threadMu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::thread watchdogThread_;
};

}  // namespace dwcp::kube
