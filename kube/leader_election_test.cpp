#include "base/testing/eventually.h"
#include "kube/leader_election.h"

#include <atomic>
#include <condition_variable>
#include <thread>

#include <gtest/gtest.h>

#include "kube/testing/fake_transport.h"

namespace dwcp::kube {
namespace {

using dwcp::base::testing::eventually;

using namespace std::chrono_literals;

const std::string kLeasePath = "/apis/coordination.k8s.io/v1/namespaces/dwcp-system/leases";

// One Lease in an API server: GET / POST / PUT with resourceVersion preconditions.
class LeaseServer {
 public:
  Response handle(const Request& r) {
    std::lock_guard lock(mu_);
    if (r.method == "GET") {
      if (lease_.is_null()) return status(404, "NotFound");
      return {200, lease_.dump()};
    }
    json body = json::parse(r.body);
    if (r.method == "POST") {
      if (!lease_.is_null()) return status(409, "AlreadyExists");
      body["metadata"]["resourceVersion"] = std::to_string(++version_);
      lease_ = body;
      return {201, lease_.dump()};
    }
    if (r.method == "PUT") {
      if (beforePut_) {
        auto hook = std::move(beforePut_);
        beforePut_ = nullptr;
        hook(lease_, version_);
      }
      if (lease_.is_null()) return status(404, "NotFound");
      if (body["metadata"]["resourceVersion"] != lease_["metadata"]["resourceVersion"]) {
        return status(409, "Conflict");
      }
      body["metadata"]["resourceVersion"] = std::to_string(++version_);
      lease_ = body;
      return {200, lease_.dump()};
    }
    return status(405, "MethodNotAllowed");
  }

  // Puts a lease held by `holder` as another process would write it.
  void write(const std::string& holder, const std::string& renewTime, int durationSeconds = 15) {
    std::lock_guard lock(mu_);
    lease_ = {{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata",
               {{"name", "dwcp-leader"},
                {"namespace", "dwcp-system"},
                {"resourceVersion", std::to_string(++version_)}}},
              {"spec",
               {{"holderIdentity", holder},
                {"leaseDurationSeconds", durationSeconds},
                {"renewTime", renewTime},
                {"acquireTime", renewTime},
                {"leaseTransitions", 3}}}};
  }
  json lease() const {
    std::lock_guard lock(mu_);
    return lease_;
  }
  std::string holder() const {
    return lease().value("/spec/holderIdentity"_json_pointer, std::string("<none>"));
  }
  // Runs once inside the next PUT, before its precondition is checked (a racing writer).
  void beforeNextPut(std::function<void(json&, int&)> hook) {
    std::lock_guard lock(mu_);
    beforePut_ = std::move(hook);
  }

 private:
  static Response status(int code, const std::string& reason) {
    return {code, json{{"kind", "Status"}, {"reason", reason}, {"message", reason}}.dump()};
  }
  mutable std::mutex mu_;
  json lease_;
  int version_ = 0;
  std::function<void(json&, int&)> beforePut_;
};

// One candidate process: its transport reaches the shared server unless partitioned.
struct Candidate {
  Candidate(LeaseServer& server, Clock& clock, std::string id, LeaderElectionConfig base = {}) {
    transport->setFallback([&server, this](const Request& r) {
      if (partitioned) return Response{0, "connection refused"};
      return server.handle(r);
    });
    base.leaseNamespace = "dwcp-system";
    base.leaseName = "dwcp-leader";
    base.identity = std::move(id);
    LeaderCallbacks callbacks;
    callbacks.onStartedLeading = [this] { ++started; };
    callbacks.onStoppedLeading = [this] { ++stopped; };
    callbacks.onNewLeader = [this](const std::string& who) { newLeaders.push_back(who); };
    auto created = LeaderElector::create(client, clock, base, callbacks);
    EXPECT_TRUE(created.ok());
    if (created.ok()) elector = std::move(created.value());
  }
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};
  std::atomic<bool> partitioned{false};
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::vector<std::string> newLeaders;
  std::unique_ptr<LeaderElector> elector;
};

struct LeaderElectionTest : ::testing::Test {
  LeaseServer server;
  FakeClock clock;
};

TEST_F(LeaderElectionTest, AcquiresWhenNoLeaseExists) {
  Candidate a(server, clock, "a");
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.started, 1);
  EXPECT_EQ(a.newLeaders, std::vector<std::string>{"a"});
  EXPECT_EQ(a.transport->count("POST", kLeasePath), 1u);
  json lease = server.lease();
  EXPECT_EQ(lease["spec"]["holderIdentity"], "a");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(lease["spec"]["renewTime"], "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 0);

  // Renewals keep leading without new callbacks and move renewTime.
  clock.advance(2s);
  EXPECT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_EQ(a.started, 1);
  EXPECT_EQ(server.lease()["spec"]["renewTime"], "2026-01-01T00:00:02.000000Z");
  EXPECT_EQ(server.lease()["spec"]["acquireTime"], "2026-01-01T00:00:00.000000Z");
}

TEST_F(LeaderElectionTest, LosingTheCreateRaceIsNotLeading) {
  Candidate a(server, clock, "a");
  a.transport->expect("POST", kLeasePath,
                      {409, R"({"kind":"Status","reason":"AlreadyExists","message":"exists"})"});
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.started, 0);
}

TEST_F(LeaderElectionTest, DoesNotAcquireAFreshLeaseHeldByAnother) {
  server.write("other", "2026-01-01T00:00:00.000000Z");
  Candidate a(server, clock, "a");
  for (int i = 0; i < 8; ++i) {
    EXPECT_FALSE(a.elector->tryAcquireOrRenew());
    clock.advance(1900ms);  // 7 * 1.9 s = 13.3 s < 15 s since first seen
  }
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.transport->count("PUT", kLeasePath), 0u);
  EXPECT_EQ(a.elector->leader(), "other");
  EXPECT_EQ(a.newLeaders, std::vector<std::string>{"other"});
  EXPECT_EQ(server.holder(), "other");
}

// Whatever the holder's (skewed) clock wrote, the lease expires leaseDuration after this
// process last saw it change.
TEST_F(LeaderElectionTest, TakesOverAfterLeaseUnchangedForDurationOnLocalClock) {
  for (const char* renewTime : {"2030-06-01T00:00:00.000000Z", "2000-01-01T00:00:00.000000Z"}) {
    SCOPED_TRACE(renewTime);
    LeaseServer skewed;
    skewed.write("other", renewTime);
    Candidate a(skewed, clock, "a");
    EXPECT_FALSE(a.elector->tryAcquireOrRenew());  // first sight starts the countdown
    clock.advance(14s);
    EXPECT_FALSE(a.elector->tryAcquireOrRenew());
    EXPECT_EQ(skewed.holder(), "other");
    clock.advance(1s);
    EXPECT_TRUE(a.elector->tryAcquireOrRenew());
    EXPECT_TRUE(a.elector->isLeader());
    json lease = skewed.lease();
    EXPECT_EQ(lease["spec"]["holderIdentity"], "a");
    EXPECT_EQ(lease["spec"]["leaseTransitions"], 4);
    // The takeover was conditional on the version that was seen.
    auto puts = a.transport->requests();
    ASSERT_FALSE(puts.empty());
    EXPECT_EQ(json::parse(puts.back().body)["metadata"]["resourceVersion"], "1");
  }
}

TEST_F(LeaderElectionTest, EveryChangeOfTheLeaseRestartsTheCountdown) {
  server.write("other", "2026-01-01T00:00:00.000000Z");
  Candidate a(server, clock, "a");
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  for (int i = 1; i <= 5; ++i) {
    clock.advance(10s);
    // The holder renews (even with a renewTime that moves backwards): a change is a change.
    server.write("other", "2025-01-01T00:00:0" + std::to_string(i) + ".000000Z");
    EXPECT_FALSE(a.elector->tryAcquireOrRenew());
    clock.advance(4s);
    EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  }
  EXPECT_EQ(server.holder(), "other");
  EXPECT_EQ(a.transport->count("PUT", kLeasePath), 0u);
}

TEST_F(LeaderElectionTest, ConflictOnUpdateMeansNotLeader) {
  server.write("other", "2026-01-01T00:00:00.000000Z");
  Candidate a(server, clock, "a");
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  clock.advance(15s);
  // A third candidate takes the expired lease between our read and our write.
  server.beforeNextPut([](json& lease, int& version) {
    lease["spec"]["holderIdentity"] = "winner";
    lease["metadata"]["resourceVersion"] = std::to_string(++version);
  });
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.started, 0);
  EXPECT_EQ(server.holder(), "winner");
  // The next step re-reads and sees a fresh holder.
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_EQ(a.elector->leader(), "winner");
  EXPECT_EQ(a.transport->count("PUT", kLeasePath), 1u);
}

TEST_F(LeaderElectionTest, LeaderThatCannotRenewStopsBeforeAnotherAcquires) {
  Candidate a(server, clock, "a");
  Candidate b(server, clock, "b");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());
  a.partitioned = true;

  int aStoppedAt = -1;
  int bStartedAt = -1;
  for (int second = 1; second <= 30; ++second) {
    clock.advance(1s);
    if (second % 2 == 0) {  // both step every retry period
      a.elector->tryAcquireOrRenew();
      b.elector->tryAcquireOrRenew();
    }
    ASSERT_FALSE(a.elector->isLeader() && b.elector->isLeader()) << "two leaders at " << second;
    if (aStoppedAt < 0 && a.stopped == 1) aStoppedAt = second;
    if (bStartedAt < 0 && b.started == 1) bStartedAt = second;
  }
  EXPECT_EQ(aStoppedAt, 10);  // renew deadline after the last renewal at 0
  EXPECT_EQ(bStartedAt, 16);  // first step at or after 15 s of an unchanged lease
  EXPECT_EQ(a.stopped, 1);
  EXPECT_EQ(server.holder(), "b");

  // Reconnected, the old leader sees the new holder and stays a follower.
  a.partitioned = false;
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_EQ(a.elector->leader(), "b");
  EXPECT_EQ(a.started, 1);
}

TEST_F(LeaderElectionTest, LeadershipLapsesAtTheDeadlineEvenWithoutAStep) {
  Candidate a(server, clock, "a");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  clock.advance(9999ms);
  EXPECT_TRUE(a.elector->isLeader());
  clock.advance(1ms);  // e.g. the loop thread is stuck in a hung request
  EXPECT_FALSE(a.elector->isLeader());
}

TEST_F(LeaderElectionTest, FailedRenewalsWithinTheDeadlineKeepLeading) {
  Candidate a(server, clock, "a");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  a.partitioned = true;
  clock.advance(8s);
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_TRUE(a.elector->isLeader());
  a.partitioned = false;
  EXPECT_TRUE(a.elector->tryAcquireOrRenew());
  clock.advance(8s);
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_EQ(a.stopped, 0);
  EXPECT_EQ(a.started, 1);
}

TEST_F(LeaderElectionTest, SeeingAnotherHolderEndsLeadershipAtOnce) {
  Candidate a(server, clock, "a");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  server.write("intruder", "2026-01-01T00:00:00.000000Z");
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.stopped, 1);
}

TEST_F(LeaderElectionTest, ReleaseHandsTheLeaseOverAtOnce) {
  Candidate a(server, clock, "a");
  Candidate b(server, clock, "b");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());

  ASSERT_TRUE(a.elector->release().ok());
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.stopped, 1);
  json lease = server.lease();
  EXPECT_EQ(lease["spec"]["holderIdentity"], "");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 1);

  EXPECT_TRUE(b.elector->tryAcquireOrRenew());  // no waiting for expiry
  EXPECT_EQ(server.holder(), "b");
  EXPECT_EQ(server.lease()["spec"]["leaseTransitions"], 1);
  // Releasing a lease one does not hold writes nothing.
  size_t puts = a.transport->count("PUT", kLeasePath);
  EXPECT_TRUE(a.elector->release().ok());
  EXPECT_EQ(a.transport->count("PUT", kLeasePath), puts);
  EXPECT_EQ(server.holder(), "b");
}

TEST_F(LeaderElectionTest, ReleaseStopsLeadingBeforeTheWrite) {
  Candidate a(server, clock, "a");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  bool leadingDuringWrite = true;
  server.beforeNextPut([&](json&, int&) { leadingDuringWrite = a.elector->isLeader(); });
  ASSERT_TRUE(a.elector->release().ok());
  EXPECT_FALSE(leadingDuringWrite);
}

TEST_F(LeaderElectionTest, ReadErrorsAreNotLeading) {
  Candidate a(server, clock, "a");
  a.transport->expect("GET", kLeasePath, {500, R"({"kind":"Status","reason":"InternalError"})"});
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.transport->count("POST", kLeasePath), 0u);
}

TEST_F(LeaderElectionTest, ThreadAcquiresAndStopReleases) {
  LeaderElectionConfig config;
  config.retryPeriod = 5ms;  // real-time waits between steps; decisions use the FakeClock
  Candidate a(server, clock, "a", config);
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  // Replace the counting elector by one whose start callback can be waited on.
  LeaderCallbacks callbacks;
  callbacks.onStartedLeading = [&] {
    std::lock_guard lock(mu);
    started = true;
    cv.notify_all();
  };
  config.leaseNamespace = "dwcp-system";
  config.leaseName = "dwcp-leader";
  config.identity = "a";
  auto elector = LeaderElector::create(a.client, clock, config, callbacks);
  ASSERT_TRUE(elector.ok());
  (*elector)->start();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return started; }));
  }
  EXPECT_TRUE((*elector)->isLeader());
  ASSERT_TRUE(a.transport->waitForCount("GET", kLeasePath, 3, 10s));  // keeps renewing
  (*elector)->stop();
  EXPECT_FALSE((*elector)->isLeader());
  EXPECT_EQ(server.holder(), "");
}

// A gate a test closes to make every request through a Candidate's transport hang until opened.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  int waiting = 0;
  void close() {
    std::lock_guard lock(mu);
    closed = true;
  }
  void open() {
    std::lock_guard lock(mu);
    closed = false;
    cv.notify_all();
  }
  void passOrWait() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [&] { return !closed; });
    --waiting;
  }
  bool waitForWaiters(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return waiting >= n; });
  }
};

// The defect of issue 10: a leader whose lease GET hangs kept leading (and reconciling) until the
// I/O returned, while another replica took over the expired lease. Leadership must end on the
// local clock at the renew deadline, whatever the I/O does.
TEST_F(LeaderElectionTest, LeaderWhoseLeaseCallHangsStopsAtTheDeadlineBeforeAnotherStarts) {
  LeaderElectionConfig config;
  config.retryPeriod = 5ms;  // the loop thread steps again at once; decisions use the FakeClock
  Candidate a(server, clock, "a", config);
  Candidate b(server, clock, "b");
  Gate gate;
  a.transport->setFallback([&](const Request& r) {
    gate.passOrWait();
    return server.handle(r);
  });
  std::atomic<int> aStoppedWhenBStarted{-1};
  std::atomic<bool> aLeaderWhenBStarted{true};
  LeaderCallbacks bCallbacks;
  bCallbacks.onStartedLeading = [&] {
    aStoppedWhenBStarted = a.stopped.load();
    aLeaderWhenBStarted = a.elector->isLeader();
  };
  LeaderElectionConfig bConfig;
  bConfig.leaseNamespace = "dwcp-system";
  bConfig.leaseName = "dwcp-leader";
  bConfig.identity = "b";
  auto bElector = LeaderElector::create(b.client, clock, bConfig, bCallbacks);
  ASSERT_TRUE(bElector.ok());

  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE((*bElector)->tryAcquireOrRenew());  // b observes a's fresh lease at t=0
  gate.close();
  a.elector->start();
  ASSERT_TRUE(gate.waitForWaiters(1));  // a's loop thread is stuck in its lease GET

  clock.advance(10s);  // a's renew deadline; its GET still hangs
  (void)eventually([&] { return a.stopped != 0; });
  EXPECT_EQ(a.stopped, 1) << "a did not stop leading at its renew deadline while its I/O hung";
  EXPECT_FALSE(a.elector->isLeader());

  clock.advance(6s);  // 16 s: the lease has not changed for its duration
  EXPECT_TRUE((*bElector)->tryAcquireOrRenew());
  EXPECT_EQ(aStoppedWhenBStarted, 1);
  EXPECT_FALSE(aLeaderWhenBStarted);

  // a's hung GET finally returns: it sees b and stays a follower, never leading again.
  gate.open();
  ASSERT_TRUE(a.transport->waitForCount("GET", kLeasePath, 3, 10s));
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.started, 1);
  a.elector->stop();
  EXPECT_EQ(server.holder(), "b");
}

// Every lease call is bounded by the time left before the renew deadline, so a hung call cannot
// outlive the leadership it is meant to extend.
TEST_F(LeaderElectionTest, LeaseCallsCarryTheTimeLeftBeforeTheRenewDeadline) {
  Candidate a(server, clock, "a");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  for (const Request& r : a.transport->requests()) {
    EXPECT_GT(r.timeout.count(), 0) << r.method << " " << r.path << " has no deadline";
    EXPECT_LE(r.timeout, 10s) << r.method << " " << r.path;
  }
  const size_t before = a.transport->requests().size();
  clock.advance(7s);  // 3 s left before the deadline of the renewal at t=0
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  auto requests = a.transport->requests();
  ASSERT_GT(requests.size(), before);
  for (size_t i = before; i < requests.size(); ++i) {
    EXPECT_GT(requests[i].timeout.count(), 0);
    EXPECT_LE(requests[i].timeout, 3s) << requests[i].method;
  }
}

// A liveness check fails while a step has been stuck for longer than its deadlines allow.
TEST_F(LeaderElectionTest, LivenessFailsWhileTheElectorIsStuck) {
  LeaderElectionConfig config;
  config.retryPeriod = 5ms;
  Candidate a(server, clock, "a", config);
  Gate gate;
  a.transport->setFallback([&](const Request& r) {
    gate.passOrWait();
    return server.handle(r);
  });
  EXPECT_TRUE(a.elector->checkProgress().ok());
  gate.close();
  a.elector->start();
  ASSERT_TRUE(gate.waitForWaiters(1));
  EXPECT_TRUE(a.elector->checkProgress().ok());  // a step in progress, within its deadline
  clock.advance(13s);
  auto stuck = a.elector->checkProgress();
  EXPECT_FALSE(stuck.ok());
  if (!stuck.ok()) {
    EXPECT_NE(stuck.error().message.find("stuck"), std::string::npos) << stuck.error().message;
  }
  gate.open();
  a.elector->stop();
  EXPECT_TRUE(a.elector->checkProgress().ok());
}

TEST(LeaderElectionConfigTest, RejectsInconsistentDurations) {
  auto transport = std::make_shared<FakeTransport>();
  Client client(transport);
  FakeClock clock;
  auto make = [&](auto edit) {
    LeaderElectionConfig config;
    config.leaseNamespace = "ns";
    config.leaseName = "lease";
    config.identity = "me";
    edit(config);
    return LeaderElector::create(client, clock, config).ok();
  };
  EXPECT_TRUE(make([](LeaderElectionConfig&) {}));
  EXPECT_FALSE(make([](LeaderElectionConfig& c) { c.leaseName.clear(); }));
  EXPECT_FALSE(make([](LeaderElectionConfig& c) { c.leaseNamespace.clear(); }));
  EXPECT_FALSE(make([](LeaderElectionConfig& c) { c.renewDeadline = 15s; }));
  EXPECT_FALSE(make([](LeaderElectionConfig& c) { c.retryPeriod = 10s; }));
  EXPECT_FALSE(make([](LeaderElectionConfig& c) { c.retryPeriod = 0ms; }));
  EXPECT_FALSE(make([](LeaderElectionConfig& c) { c.leaseDuration = 15500ms; }));
  EXPECT_TRUE(transport->requests().empty());
}

TEST(LeaderElectionIdentityTest, IsHostPidRandomAndUnique) {
  std::string a = defaultLeaderIdentity();
  std::string b = defaultLeaderIdentity();
  EXPECT_NE(a, b);
  EXPECT_NE(a.find("_" + std::to_string(getpid()) + "_"), std::string::npos) << a;
  auto transport = std::make_shared<FakeTransport>();
  Client client(transport);
  FakeClock clock;
  LeaderElectionConfig config;
  config.leaseNamespace = "ns";
  config.leaseName = "lease";
  auto elector = LeaderElector::create(client, clock, config);
  ASSERT_TRUE(elector.ok());
  EXPECT_FALSE((*elector)->identity().empty());
}

}  // namespace
}  // namespace dwcp::kube
