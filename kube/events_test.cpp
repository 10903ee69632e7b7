#include "kube/events.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "kube/testing/fake_transport.h"

namespace dwcp::kube {
namespace {

using namespace std::chrono_literals;

const std::string kEvents = "/apis/events.k8s.io/v1/namespaces/";

json vm(const std::string& name = "vm-1", const std::string& uid = "uid-1") {
  return {{"apiVersion", "dwcp.io/v1alpha1"},
          {"kind", "VMPlacement"},
          {"metadata",
           {{"name", name}, {"namespace", "team-a"}, {"uid", uid}, {"resourceVersion", "42"}}}};
}

struct EventTest : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};
  FakeClock clock;
  EventRecorderConfig config{"dwcp.io/federation-operator", "operator-0"};

  void SetUp() override {
    // An API server that accepts every write and echoes it back.
    transport->setFallback([](const Request& r) { return Response{201, r.body}; });
  }
  std::vector<Request> sent(const std::string& method) {
    std::vector<Request> out;
    for (auto& r : transport->requests()) {
      if (r.method == method) out.push_back(r);
    }
    return out;
  }
};

TEST_F(EventTest, WritesAnEventsV1Event) {
  EventRecorder recorder(client, clock, config);
  clock.advance(1500us);
  ASSERT_TRUE(
      recorder.record(vm(), EventType::kWarning, "PlacementFailed", "Place", "0/3 regions fit"));
  EXPECT_TRUE(transport->requests().empty());  // asynchronous: nothing written yet
  EXPECT_EQ(recorder.processPending(), 1u);

  auto posts = sent("POST");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, kEvents + "team-a/events");
  json event = json::parse(posts[0].body);
  EXPECT_EQ(event["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(event["kind"], "Event");
  EXPECT_EQ(event["metadata"]["namespace"], "team-a");
  EXPECT_EQ(event["metadata"]["name"].get<std::string>().rfind("vm-1.", 0), 0u);
  EXPECT_EQ(event["eventTime"], "2026-01-01T00:00:00.001500Z");
  EXPECT_EQ(event["reportingController"], "dwcp.io/federation-operator");
  EXPECT_EQ(event["reportingInstance"], "operator-0");
  EXPECT_EQ(event["action"], "Place");
  EXPECT_EQ(event["reason"], "PlacementFailed");
  EXPECT_EQ(event["note"], "0/3 regions fit");
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_FALSE(event.contains("series"));
  json regarding = {{"apiVersion", "dwcp.io/v1alpha1"}, {"kind", "VMPlacement"},
                    {"namespace", "team-a"},            {"name", "vm-1"},
                    {"uid", "uid-1"},                   {"resourceVersion", "42"}};
  EXPECT_EQ(event["regarding"], regarding);
  EXPECT_EQ(recorder.stats().created, 1u);
}

TEST_F(EventTest, ClusterScopedObjectGoesToDefaultNamespace) {
  EventRecorder recorder(client, clock, config);
  json region = {{"apiVersion", "dwcp.io/v1alpha1"},
                 {"kind", "Region"},
                 {"metadata", {{"name", "us-east-1"}, {"uid", "r-1"}}}};
  ASSERT_TRUE(recorder.record(region, EventType::kNormal, "FailedOver", "Failover", ""));
  recorder.processPending();
  auto posts = sent("POST");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, kEvents + "default/events");
  json event = json::parse(posts[0].body);
  EXPECT_FALSE(event["regarding"].contains("namespace"));
  EXPECT_EQ(event["type"], "Normal");
}

TEST_F(EventTest, RepeatsBecomeASeries) {
  EventRecorder recorder(client, clock, config);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        recorder.record(vm(), EventType::kNormal, "Placed", "Place", "placed in eu-west-1"));
    clock.advance(1min);
  }
  recorder.processPending();
  auto posts = sent("POST");
  auto patches = sent("PATCH");
  ASSERT_EQ(posts.size(), 1u);
  ASSERT_EQ(patches.size(), 2u);
  std::string name = json::parse(posts[0].body)["metadata"]["name"];
  EXPECT_EQ(patches[1].path, kEvents + "team-a/events/" + name);
  EXPECT_EQ(patches[1].contentType, "application/merge-patch+json");
  json series = json::parse(patches[1].body)["series"];
  EXPECT_EQ(series["count"], 3);
  EXPECT_EQ(series["lastObservedTime"], "2026-01-01T00:02:00.000000Z");
  EXPECT_EQ(json::parse(patches[0].body)["series"]["count"], 2);
  EXPECT_EQ(recorder.stats().seriesUpdates, 2u);

  // A different note, type or object is a different event.
  recorder.record(vm(), EventType::kNormal, "Placed", "Place", "placed in us-east-1");
  recorder.record(vm(), EventType::kWarning, "Placed", "Place", "placed in eu-west-1");
  recorder.record(vm("vm-2", "uid-2"), EventType::kNormal, "Placed", "Place",
                  "placed in eu-west-1");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 4u);
  EXPECT_EQ(sent("PATCH").size(), 2u);
}

TEST_F(EventTest, SeriesEndsAfterTheDedupWindow) {
  EventRecorder recorder(client, clock, config);
  recorder.record(vm(), EventType::kNormal, "Placed", "Place", "same");
  recorder.processPending();
  clock.advance(9min);
  recorder.record(vm(), EventType::kNormal, "Placed", "Place", "same");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 1u);
  clock.advance(10min + 1s);
  recorder.record(vm(), EventType::kNormal, "Placed", "Place", "same");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 2u);
  EXPECT_EQ(sent("PATCH").size(), 1u);
}

TEST_F(EventTest, ExpiredSeriesEventIsRecreated) {
  EventRecorder recorder(client, clock, config);
  recorder.record(vm(), EventType::kNormal, "Placed", "Place", "same");
  recorder.processPending();
  transport->expect("PATCH", kEvents, {404, R"({"kind":"Status","reason":"NotFound"})"});
  recorder.record(vm(), EventType::kNormal, "Placed", "Place", "same");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 2u);
  EXPECT_EQ(recorder.stats().failed, 0u);
}

TEST_F(EventTest, ServerErrorsNeverReachTheCaller) {
  transport->setFallback([](const Request&) {
    return Response{500, R"({"kind":"Status","reason":"InternalError","message":"etcd down"})"};
  });
  EventRecorder recorder(client, clock, config);
  EXPECT_TRUE(recorder.record(vm(), EventType::kWarning, "SyncFailed", "Sync", "x"));
  EXPECT_EQ(recorder.processPending(), 1u);
  EXPECT_EQ(recorder.stats().failed, 1u);
  EXPECT_EQ(recorder.stats().created, 0u);
  // No series was remembered for a failed create: the next one is a create again.
  EXPECT_TRUE(recorder.record(vm(), EventType::kWarning, "SyncFailed", "Sync", "x"));
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 2u);
  EXPECT_EQ(recorder.stats().failed, 2u);

  transport->setFallback([](const Request&) { return Response{0, "connection refused"}; });
  EXPECT_TRUE(recorder.record(vm(), EventType::kWarning, "SyncFailed", "Sync", "x"));
  recorder.processPending();
  EXPECT_EQ(recorder.stats().failed, 3u);
}

TEST_F(EventTest, RateLimitedPerObject) {
  config.burstPerObject = 2;
  config.refillIntervalPerObject = 300s;
  EventRecorder recorder(client, clock, config);
  for (const char* reason : {"First", "Second", "Third"}) {
    recorder.record(vm(), EventType::kNormal, reason, "Act", "");
  }
  recorder.record(vm("vm-2", "uid-2"), EventType::kNormal, "First", "Act", "");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 3u);  // two for vm-1, one for vm-2
  EXPECT_EQ(recorder.stats().rateLimited, 1u);

  clock.advance(299s);
  recorder.record(vm(), EventType::kNormal, "Fourth", "Act", "");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 3u);
  clock.advance(1s);
  recorder.record(vm(), EventType::kNormal, "Fifth", "Act", "");
  recorder.processPending();
  EXPECT_EQ(sent("POST").size(), 4u);
  EXPECT_EQ(recorder.stats().rateLimited, 2u);
}

TEST_F(EventTest, RateLimitedRepeatsAreCountedInTheNextBump) {
  config.burstPerObject = 2;
  config.refillIntervalPerObject = 60s;
  EventRecorder recorder(client, clock, config);
  for (int i = 0; i < 4; ++i) recorder.record(vm(), EventType::kNormal, "Retry", "Act", "n");
  recorder.processPending();
  ASSERT_EQ(sent("PATCH").size(), 1u);  // create, bump to 2, then two limited
  clock.advance(60s);
  recorder.record(vm(), EventType::kNormal, "Retry", "Act", "n");
  recorder.processPending();
  auto patches = sent("PATCH");
  ASSERT_EQ(patches.size(), 2u);
  EXPECT_EQ(json::parse(patches[1].body)["series"]["count"], 5);
}

TEST_F(EventTest, FullQueueDropsWithACounter) {
  config.queueCapacity = 2;
  EventRecorder recorder(client, clock, config);
  EXPECT_TRUE(recorder.record(vm(), EventType::kNormal, "A", "Act", ""));
  EXPECT_TRUE(recorder.record(vm(), EventType::kNormal, "B", "Act", ""));
  EXPECT_FALSE(recorder.record(vm(), EventType::kNormal, "C", "Act", ""));
  EXPECT_EQ(recorder.stats().dropped, 1u);
  EXPECT_EQ(recorder.processPending(), 2u);
  EXPECT_TRUE(recorder.record(vm(), EventType::kNormal, "C", "Act", ""));
}

TEST_F(EventTest, InvalidEventsAreRejectedWithoutWriting) {
  EventRecorder recorder(client, clock, config);
  EXPECT_FALSE(recorder.record(vm(), EventType::kNormal, "not camel", "Act", ""));
  EXPECT_FALSE(recorder.record(vm(), EventType::kNormal, "lowerStart", "Act", ""));
  EXPECT_FALSE(recorder.record(vm(), EventType::kNormal, std::string(129, 'A'), "Act", ""));
  EXPECT_FALSE(recorder.record(vm(), EventType::kNormal, "Fine", "", ""));
  EXPECT_FALSE(recorder.record(json::object(), EventType::kNormal, "Fine", "Act", ""));
  EXPECT_EQ(recorder.stats().invalid, 5u);
  EXPECT_EQ(recorder.processPending(), 0u);
  EXPECT_TRUE(transport->requests().empty());
}

// An object written around its schema (fields of the wrong type) is an invalid event, not an
// exception out of record().
TEST_F(EventTest, MistypedObjectFieldsAreRejectedWithoutThrowing) {
  EventRecorder recorder(client, clock, config);
  json numberName = vm();
  numberName["metadata"]["name"] = 7;
  json objectKind = vm();
  objectKind["kind"] = json::object();
  json arrayUid = vm();
  arrayUid["metadata"]["uid"] = json::array();
  bool recorded = true;
  EXPECT_NO_THROW(recorded = recorder.record(numberName, EventType::kNormal, "Fine", "Act", ""));
  EXPECT_FALSE(recorded);
  EXPECT_NO_THROW((void)recorder.record(objectKind, EventType::kNormal, "Fine", "Act", ""));
  EXPECT_NO_THROW((void)recorder.record(arrayUid, EventType::kNormal, "Fine", "Act", ""));
  EXPECT_NO_THROW((void)recorder.processPending());
}

TEST_F(EventTest, NoteIsCutToOneKibibyteOnACharacterBoundary) {
  EventRecorder recorder(client, clock, config);
  std::string note = std::string(1023, 'a') + "\xC3\xA9" + std::string(100, 'b');  // é at 1023
  recorder.record(vm(), EventType::kNormal, "Long", "Act", note);
  recorder.processPending();
  auto posts = sent("POST");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(json::parse(posts[0].body)["note"], std::string(1023, 'a'));
}

TEST_F(EventTest, BackgroundThreadWritesAndStopDrains) {
  EventRecorder recorder(client, clock, config);
  recorder.start();
  ASSERT_TRUE(recorder.record(vm(), EventType::kNormal, "Placed", "Place", "one"));
  ASSERT_TRUE(transport->waitForCount("POST", kEvents, 1, 10s));
  ASSERT_TRUE(recorder.waitIdle(10s));
  for (int i = 0; i < 20; ++i) recorder.record(vm(), EventType::kNormal, "Placed", "Place", "one");
  recorder.stop();
  auto stats = recorder.stats();
  EXPECT_EQ(stats.created + stats.seriesUpdates + stats.rateLimited, 21u);
  EXPECT_FALSE(recorder.record(vm(), EventType::kNormal, "Late", "Act", ""));
  EXPECT_EQ(recorder.stats().dropped, 1u);
}

// stop() against a slow API server: queued events are written only for the grace period
// (measured on the clock), the rest are dropped with a count, so stopping does not take one
// request timeout per queued event.
TEST_F(EventTest, StopWritesOnlyForTheGracePeriodThenDropsWithACount) {
  config.stopGracePeriod = 5s;
  // A refused record() must mean stopping, never a full queue, however late stop() begins (it
  // filled the default 1000 on a loaded machine, and the server was answered before stop()).
  config.queueCapacity = 1u << 30;
  std::mutex mu;
  std::condition_variable cv;
  bool firstEntered = false;
  bool release = false;
  transport->setFallback([&](const Request& r) {
    std::unique_lock lock(mu);
    firstEntered = true;
    cv.notify_all();
    cv.wait_for(lock, 20s, [&] { return release; });
    clock.advance(2s);  // every write takes 2 s
    return Response{201, r.body};
  });
  EventRecorder recorder(client, clock, config);
  recorder.start();
  size_t queued = 0;
  for (int i = 0; i < 100; ++i) {
    queued += recorder.record(vm("vm-" + std::to_string(i), "uid-" + std::to_string(i)),
                              EventType::kNormal, "Placed", "Place", "");
  }
  ASSERT_EQ(queued, 100u);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return firstEntered; }));
  }
  auto stopped = std::async(std::launch::async, [&] { recorder.stop(); });
  // Once record() is refused, stop() has begun (the queue cannot fill: see queueCapacity); only
  // then does the server answer.
  size_t refused = 0;
  const auto giveUp = std::chrono::steady_clock::now() + 20s;
  while (refused == 0 && std::chrono::steady_clock::now() < giveUp) {
    if (recorder.record(vm("late", "uid-late"), EventType::kNormal, "Late", "Act", "")) {
      ++queued;
      std::this_thread::sleep_for(100us);
    } else {
      ++refused;
    }
  }
  ASSERT_EQ(refused, 1u);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_EQ(stopped.wait_for(20s), std::future_status::ready) << "stop() did not return";
  const auto stats = recorder.stats();
  const size_t writes = sent("POST").size() + sent("PATCH").size();
  EXPECT_LE(writes, 4u) << "kept writing after the grace period";
  EXPECT_EQ(stats.created + stats.seriesUpdates, writes);
  EXPECT_GE(stats.dropped, 90u);
  EXPECT_EQ(stats.created + stats.seriesUpdates + stats.rateLimited + stats.dropped,
            queued + refused);
}

TEST_F(EventTest, StopWithoutGracePeriodDropsEverythingQueued) {
  config.stopGracePeriod = 0s;
  EventRecorder recorder(client, clock, config);
  for (int i = 0; i < 10; ++i) {
    recorder.record(vm("vm-" + std::to_string(i), "uid-" + std::to_string(i)), EventType::kNormal,
                    "Placed", "Place", "");
  }
  recorder.start();
  recorder.stop();
  const auto stats = recorder.stats();
  EXPECT_EQ(stats.created + stats.dropped, 10u);
  EXPECT_EQ(sent("POST").size(), stats.created);
}

}  // namespace
}  // namespace dwcp::kube
