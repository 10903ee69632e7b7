#include "kube/leader_election.h"

#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include <spdlog/spdlog.h>

#include "kube/time_format.h"

namespace dwcp::kube {

namespace {

using std::chrono::milliseconds;

std::string specString(const json& lease, const char* field) {
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return {};
  auto value = spec->find(field);
  return value != spec->end() && value->is_string() ? value->get<std::string>() : std::string();
}

int64_t specInt(const json& lease, const char* field, int64_t fallback) {
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return fallback;
  auto value = spec->find(field);
  return value != spec->end() && value->is_number_integer() ? value->get<int64_t>() : fallback;
}

std::string resourceVersionOf(const json& object) {
  return object.value("/metadata/resourceVersion"_json_pointer, std::string());
}

int64_t wholeSeconds(milliseconds d) {
  return std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(d).count());
}

}  // namespace

const ResourceType LeaderElector::kLeaseType{"coordination.k8s.io", "v1", "leases", "Lease", true};

// Callbacks collected during a step and run after the state lock is dropped.
struct LeaderElector::Notifications {
  bool started = false;
  bool stopped = false;
  std::string newLeader;
};

std::string defaultLeaderIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "unknown");
  }
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
  return std::string(host) + "_" + std::to_string(getpid()) + "_" + suffix;
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::create(Client& client, Clock& clock,
                                                             LeaderElectionConfig config,
                                                             LeaderCallbacks callbacks) {
  auto invalid = [](std::string message) { return Error{422, "Invalid", std::move(message)}; };
  if (config.leaseNamespace.empty() || config.leaseName.empty()) {
    return invalid("leader election: leaseNamespace and leaseName must be set");
  }
  if (config.identity.empty()) config.identity = defaultLeaderIdentity();
  if (config.leaseDuration.count() % 1000 != 0 || config.leaseDuration < std::chrono::seconds(1)) {
    return invalid("leader election: leaseDuration must be a whole number of seconds >= 1");
  }
  if (config.retryPeriod.count() <= 0 || config.retryPeriod >= config.renewDeadline ||
      config.renewDeadline >= config.leaseDuration) {
    return invalid("leader election: need 0 < retryPeriod < renewDeadline < leaseDuration");
  }
  return std::unique_ptr<LeaderElector>(
      new LeaderElector(client, clock, std::move(config), std::move(callbacks)));
}

LeaderElector::LeaderElector(Client& client, Clock& clock, LeaderElectionConfig config,
                             LeaderCallbacks callbacks)
    : client_(client),
      clock_(clock),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)) {}

LeaderElector::~LeaderElector() { stop(); }

bool LeaderElector::isLeader() const {
  std::lock_guard lock(mu_);
  return leading_ && clock_.steadyNow() - lastRenew_ < config_.renewDeadline;
}

Status LeaderElector::checkProgress() const {
  std::lock_guard lock(mu_);
  if (!stepping_) return okStatus();
  const auto running = clock_.steadyNow() - stepStarted_;
  if (running <= config_.renewDeadline + config_.retryPeriod) return okStatus();
  return Error{0, "ElectorStuck",
               "leader election: a lease step has been stuck for " +
                   std::to_string(std::chrono::duration_cast<milliseconds>(running).count()) +
                   " ms, longer than its bounded lease calls allow"};
}

milliseconds LeaderElector::callTimeout() const {
  std::lock_guard lock(mu_);
  if (!leading_) return config_.renewDeadline;
  return std::chrono::duration_cast<milliseconds>(lastRenew_ + config_.renewDeadline -
                                                  clock_.steadyNow());
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mu_);
  return observedHolder_;
}

bool LeaderElector::tryAcquireOrRenew() {
  std::lock_guard stepLock(stepMu_);
  {
    std::lock_guard lock(mu_);
    stepping_ = true;
    stepStarted_ = clock_.steadyNow();
  }
  Notifications notes;
  bool renewed = step(notes);
  {
    std::lock_guard lock(mu_);
    stepping_ = false;
  }
  fire(notes);
  return renewed;
}

// Only the lease's holder, renewTime and resourceVersion count as a change: the local time of the
// last change, not the renewTime written by a possibly skewed peer, starts the expiry countdown.
// The observation is stamped after the response arrived (later is safer for a candidate).
void LeaderElector::observe(const json& lease, Notifications& notes) {
  const Clock::SteadyTime now = clock_.steadyNow();
  std::string holder = specString(lease, "holderIdentity");
  std::string renewTime = specString(lease, "renewTime");
  std::string resourceVersion = resourceVersionOf(lease);
  std::lock_guard lock(mu_);
  if (observedLease_.is_null() || holder != observedHolder_ || renewTime != observedRenewTime_ ||
      resourceVersion != observedResourceVersion_) {
    observedTime_ = now;
  }
  if (holder != observedHolder_ && !holder.empty()) notes.newLeader = holder;
  observedLease_ = lease;
  observedHolder_ = std::move(holder);
  observedRenewTime_ = std::move(renewTime);
  observedResourceVersion_ = std::move(resourceVersion);
}

void LeaderElector::stopLeading(Notifications& notes, const char* why) {
  std::lock_guard lock(mu_);
  if (!leading_) return;
  leading_ = false;
  watchdogWake_.notify_all();
  notes.stopped = true;
  spdlog::warn("leader election: {} stopped leading lease {}/{}: {}", config_.identity,
               config_.leaseNamespace, config_.leaseName, why);
}

void LeaderElector::failedAttempt(Notifications& notes) {
  bool pastDeadline = false;
  {
    std::lock_guard lock(mu_);
    pastDeadline = leading_ && clock_.steadyNow() - lastRenew_ >= config_.renewDeadline;
  }
  if (pastDeadline) stopLeading(notes, "could not renew within the renew deadline");
}

json LeaderElector::leaseSpecForMe(const json& lease) const {
  std::string wallNow = formatRfc3339Micro(clock_.wallNow());
  json spec = lease.contains("spec") && lease["spec"].is_object() ? lease["spec"] : json::object();
  bool transition = specString(lease, "holderIdentity") != config_.identity;
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = wholeSeconds(config_.leaseDuration);
  spec["renewTime"] = wallNow;
  if (transition || !spec.contains("acquireTime")) spec["acquireTime"] = wallNow;
  int64_t transitions = specInt(lease, "leaseTransitions", 0);
  spec["leaseTransitions"] = transition && lease.contains("spec") ? transitions + 1 : transitions;
  return spec;
}

bool LeaderElector::step(Notifications& notes) {
  // Stamped before any write (earlier is safer for a leader counting down its renew deadline).
  const Clock::SteadyTime now = clock_.steadyNow();
  // A leader past its deadline stops before any I/O, which may hang.
  failedAttempt(notes);

  // Every lease call is bounded by the time left before the renew deadline: a hung call must not
  // outlive the leadership it is meant to extend.
  auto bounded = [this, &notes]() -> std::optional<Client> {
    const milliseconds left = callTimeout();
    if (left <= milliseconds(0)) {
      failedAttempt(notes);
      return std::nullopt;
    }
    return client_.withTimeout(left);
  };
  auto reader = bounded();
  if (!reader) return false;
  auto current = reader->get(kLeaseType, config_.leaseNamespace, config_.leaseName);
  if (!current.ok() && current.error().isNotFound()) {
    json lease = {
        {"apiVersion", kLeaseType.apiVersion()},
        {"kind", kLeaseType.kind},
        {"metadata", {{"name", config_.leaseName}, {"namespace", config_.leaseNamespace}}}};
    lease["spec"] = leaseSpecForMe(json::object());
    auto writer = bounded();
    if (!writer) return false;
    auto created = writer->create(kLeaseType, config_.leaseNamespace, lease);
    if (!created.ok()) {
      spdlog::info("leader election: creating lease {}/{} failed: {}", config_.leaseNamespace,
                   config_.leaseName, created.error().toString());
      failedAttempt(notes);
      return false;
    }
    current = std::move(created);
    observe(current.value(), notes);
  } else if (!current.ok()) {
    spdlog::warn("leader election: reading lease {}/{} failed: {}", config_.leaseNamespace,
                 config_.leaseName, current.error().toString());
    failedAttempt(notes);
    return false;
  } else {
    const json& lease = current.value();
    observe(lease, notes);
    std::string holder = specString(lease, "holderIdentity");
    if (!holder.empty() && holder != config_.identity) {
      stopLeading(notes, ("lease is held by " + holder).c_str());
      auto duration = std::chrono::seconds(
          specInt(lease, "leaseDurationSeconds", wholeSeconds(config_.leaseDuration)));
      std::lock_guard lock(mu_);
      if (clock_.steadyNow() < observedTime_ + duration) return false;  // held and fresh
    }
    json updated = lease;
    updated["spec"] = leaseSpecForMe(lease);
    auto writer = bounded();
    if (!writer) return false;
    auto written = writer->update(kLeaseType, updated);
    if (!written.ok()) {
      if (written.error().isConflict()) {
        spdlog::debug("leader election: lease {}/{} changed under us; re-reading",
                      config_.leaseNamespace, config_.leaseName);
      } else {
        spdlog::warn("leader election: writing lease {}/{} failed: {}", config_.leaseNamespace,
                     config_.leaseName, written.error().toString());
      }
      failedAttempt(notes);
      return false;
    }
    current = std::move(written);
    observe(current.value(), notes);
  }

  std::lock_guard lock(mu_);
  lastRenew_ = now;
  watchdogWake_.notify_all();
  if (!leading_) {
    leading_ = true;
    notes.started = true;
    spdlog::info("leader election: {} acquired lease {}/{}", config_.identity,
                 config_.leaseNamespace, config_.leaseName);
  }
  return true;
}

Status LeaderElector::release() {
  std::lock_guard stepLock(stepMu_);
  Notifications notes;
  json lease;
  {
    std::lock_guard lock(mu_);
    if (observedHolder_ != config_.identity) return okStatus();
    lease = observedLease_;
  }
  // Stop leading before the lease becomes free: nobody may lead while we still think we do.
  stopLeading(notes, "released");
  fire(notes);
  std::string wallNow = formatRfc3339Micro(clock_.wallNow());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = wallNow;
  lease["spec"]["acquireTime"] = wallNow;
  auto written = client_.withTimeout(config_.renewDeadline).update(kLeaseType, lease);
  if (!written.ok()) {
    spdlog::warn("leader election: releasing lease {}/{} failed: {}", config_.leaseNamespace,
                 config_.leaseName, written.error().toString());
    return written.error();
  }
  Notifications ignored;
  observe(written.value(), ignored);
  spdlog::info("leader election: {} released lease {}/{}", config_.identity,
               config_.leaseNamespace, config_.leaseName);
  return okStatus();
}

void LeaderElector::fire(const Notifications& notes) const {
  std::lock_guard fireLock(fireMu_);
  // A takeover reports the new leader before starting; a loss reports stopping first.
  if (notes.stopped && callbacks_.onStoppedLeading) callbacks_.onStoppedLeading();
  if (!notes.newLeader.empty()) {
    spdlog::info("leader election: lease {}/{} is held by {}", config_.leaseNamespace,
                 config_.leaseName, notes.newLeader);
    if (callbacks_.onNewLeader) callbacks_.onNewLeader(notes.newLeader);
  }
  if (notes.started && callbacks_.onStartedLeading) callbacks_.onStartedLeading();
}

milliseconds LeaderElector::nextWait() const {
  std::lock_guard lock(mu_);
  if (!leading_) {
    // Candidates spread their attempts (client-go's jitter factor 1.2).
    thread_local std::mt19937 random{std::random_device{}()};
    std::uniform_int_distribution<int64_t> jitter(0, config_.retryPeriod.count() / 5);
    return config_.retryPeriod + milliseconds(jitter(random));
  }
  // A leader wakes no later than its renew deadline, so it stops leading on time.
  auto untilDeadline = std::chrono::duration_cast<milliseconds>(
      lastRenew_ + config_.renewDeadline - clock_.steadyNow());
  return std::clamp(untilDeadline, milliseconds(1), config_.retryPeriod);
}

void LeaderElector::run() {
  while (true) {
    tryAcquireOrRenew();
    std::unique_lock lock(threadMu_);
    if (wake_.wait_for(lock, nextWait(), [&] { return stopping_; })) return;
  }
}

// Ends leadership at the renew deadline on the local clock, whatever the stepping thread's I/O
// does. It takes fireMu_ before mu_ (the order fire() and the callbacks use), so its
// onStoppedLeading runs before any later onStartedLeading.
void LeaderElector::watchdog() {
  std::unique_lock lock(mu_);
  while (!watchdogStopping_) {
    if (!leading_) {
      clock_.waitUntil(lock, watchdogWake_, clock_.steadyNow() + std::chrono::hours(1),
                       [this] { return watchdogStopping_ || leading_; });
      continue;
    }
    const Clock::SteadyTime renewedAt = lastRenew_;
    const Clock::SteadyTime deadline = renewedAt + config_.renewDeadline;
    const bool changed = clock_.waitUntil(lock, watchdogWake_, deadline, [&] {
      return watchdogStopping_ || !leading_ || lastRenew_ != renewedAt;
    });
    if (changed) continue;
    lock.unlock();
    {
      std::lock_guard fireLock(fireMu_);
      bool stopped = false;
      {
        std::lock_guard relock(mu_);
        if (leading_ && lastRenew_ == renewedAt && clock_.steadyNow() >= deadline) {
          leading_ = false;
          stopped = true;
          spdlog::warn("leader election: {} stopped leading lease {}/{}: no renewal within the renew "
                       "deadline ({} ms)", config_.identity, config_.leaseNamespace, config_.leaseName,
                       config_.renewDeadline.count());
        }
      }
      if (stopped && callbacks_.onStoppedLeading) callbacks_.onStoppedLeading();
    }
    lock.lock();
  }
}

void LeaderElector::start() {
  std::lock_guard lock(threadMu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
  watchdogThread_ = std::thread([this] { watchdog(); });
}

void LeaderElector::stop() {
  std::thread thread;
  std::thread watchdogThread;
  {
    std::lock_guard lock(threadMu_);
    stopping_ = true;
    thread = std::move(thread_);
    watchdogThread = std::move(watchdogThread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
  {
    std::lock_guard lock(mu_);
    watchdogStopping_ = true;
    watchdogWake_.notify_all();
  }
  if (watchdogThread.joinable()) watchdogThread.join();
  if (config_.releaseOnStop) {
    (void)release();
  } else {
    std::lock_guard stepLock(stepMu_);
    Notifications notes;
    stopLeading(notes, "stopped");
    fire(notes);
  }
}

}  // namespace dwcp::kube
