#include "kube/reflector.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "kube/testing/fake_transport.h"
#include "kube/informer.h"

namespace dwcp::kube {
namespace {

using namespace std::chrono_literals;

const std::string kList = "/apis/example.io/v1/widgets?limit=500";
const std::string kWatch = "/apis/example.io/v1/widgets?watch=1";
constexpr auto kWait = 30s;  // generous: only reached when a test is about to fail

std::map<std::string, std::string> queryOf(const std::string& path) {
  std::map<std::string, std::string> out;
  const auto question = path.find('?');
  if (question == std::string::npos) return out;
  size_t start = question + 1;
  while (start <= path.size()) {
    size_t end = path.find('&', start);
    if (end == std::string::npos) end = path.size();
    const std::string pair = path.substr(start, end - start);
    const auto equals = pair.find('=');
    out[pair.substr(0, equals)] = equals == std::string::npos ? "" : pair.substr(equals + 1);
    start = end + 1;
  }
  return out;
}

json widget(const std::string& name, const std::string& resourceVersion) {
  return {{"apiVersion", "example.io/v1"},
          {"kind", "Widget"},
          {"metadata",
           {{"name", name}, {"namespace", "default"}, {"resourceVersion", resourceVersion}}},
          {"spec", {{"size", 1}}}};
}

std::string rvOf(const json& object) { return object["metadata"].value("resourceVersion", ""); }

// A list response as the API server sends it: items without apiVersion/kind.
std::string listBody(const std::string& resourceVersion, std::vector<json> items,
                     const std::string& continueToken = "") {
  for (auto& item : items) {
    item.erase("apiVersion");
    item.erase("kind");
  }
  json body = {{"apiVersion", "example.io/v1"},
               {"kind", "WidgetList"},
               {"metadata", {{"resourceVersion", resourceVersion}}},
               {"items", items}};
  if (!continueToken.empty()) body["metadata"]["continue"] = continueToken;
  return body.dump();
}

std::string line(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

std::string bookmark(const std::string& resourceVersion, bool initialEventsEnd = false) {
  json object = {{"apiVersion", "example.io/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"resourceVersion", resourceVersion}}}};
  if (initialEventsEnd) {
    object["metadata"]["annotations"] = {{"k8s.io/initial-events-end", "true"}};
  }
  return line("BOOKMARK", object);
}

json expiredStatus() {
  return {{"apiVersion", "v1"},    {"kind", "Status"},   {"status", "Failure"},
          {"code", 410},           {"reason", "Expired"},
          {"message", "too old resource version: 5 (10)"}};
}

// Records handler calls as "add:KEY", "update:KEY:OLDRV->NEWRV", "delete:KEY".
class Recorder {
 public:
  EventHandler handler() {
    return {[this](const CachedObject& o) { record("add:" + o.key()); },
            [this](const CachedObject& before, const CachedObject& after) {
              record("update:" + after.key() + ":" + before.resourceVersion() + "->" + after.resourceVersion());
            },
            [this](const CachedObject& o) { record("delete:" + o.key()); }};
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  void record(std::string call) {
    std::lock_guard lock(mu_);
    calls_.push_back(std::move(call));
  }
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

// A clock that moves forward by `tick` every time it is read, so waits measured on it pass in
// simulated time as the code under test polls it. waitUntilElapsed() blocks (on a condition)
// until `elapsed` of simulated time has passed.
class TickingClock final : public Clock {
 public:
  explicit TickingClock(std::chrono::nanoseconds tick = 1ms) : tick_(tick) {}
  SteadyTime steadyNow() const override {
    std::lock_guard lock(mu_);
    elapsed_ += tick_;
    cv_.notify_all();
    return start_ + std::chrono::duration_cast<SteadyTime::duration>(elapsed_);
  }
  WallTime wallNow() const override {
    std::lock_guard lock(mu_);
    return WallTime{} + std::chrono::duration_cast<WallTime::duration>(elapsed_);
  }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                 const std::function<bool()>& done) const override {
    return pollUntil(lock, cv, deadline, done);
  }
  bool waitUntilElapsed(std::chrono::nanoseconds elapsed, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return elapsed_ >= elapsed; });
  }

 private:
  const std::chrono::nanoseconds tick_;
  const SteadyTime start_ = SteadyTime{} + std::chrono::hours(1);
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::chrono::nanoseconds elapsed_{0};
};

class ReflectorTest : public ::testing::Test {
 protected:
  static ReflectorOptions fastOptions() {
    ReflectorOptions options;
    // Backoff waits are measured on the ticking clock and stay a few reads long; tests count
    // backoffs instead.
    options.backoff.initial = 1ms;
    options.backoff.max = 2ms;
    options.maxPollWait = 1ms;
    options.backoff.seed = 1;
    options.seed = 1;
    return options;
  }

  void start(ReflectorOptions options = fastOptions()) {
    reflector = std::make_unique<Reflector>(client, widgets, store, clock, std::move(options));
    reflector->addHandler(recorder.handler());
    reflector->start();
  }

  // The watch after the scripted ones blocks until stop(): once it was requested, everything
  // scripted before it has been handled.
  bool waitForWatches(size_t n) { return transport->waitForCount("GET", kWatch, n, kWait); }

  std::vector<Request> requestsWithPrefix(const std::string& prefix) const {
    std::vector<Request> out;
    for (auto& r : transport->requests()) {
      if (r.path.rfind(prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }
  std::map<std::string, std::string> watchQuery(size_t index) const {
    auto watches = requestsWithPrefix(kWatch);
    return index < watches.size() ? queryOf(watches[index].path)
                                  : std::map<std::string, std::string>{};
  }

  void TearDown() override {
    if (reflector) reflector->stop();
  }

  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};
  TickingClock clock;
  Store store;
  Recorder recorder;
  ResourceType widgets{"example.io", "v1", "widgets", "Widget", true};
  std::unique_ptr<Reflector> reflector;  // last: stopped before the rest goes away
};

TEST_F(ReflectorTest, ListsThenWatchesFromTheListResourceVersion) {
  transport->expect("GET", kList, {200, listBody("100", {widget("a", "90"), widget("b", "95")})});
  transport->expectStream(kWatch, {StreamStep::chunk(line("ADDED", widget("c", "101"))),
                                   StreamStep::chunk(line("MODIFIED", widget("a", "102"))),
                                   StreamStep::chunk(line("DELETED", widget("b", "103"))),
                                   StreamStep::end()});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));

  EXPECT_EQ(store.keys(), (std::vector<std::string>{"default/a", "default/c"}));
  EXPECT_EQ(store.get("default/a")->resourceVersion(), "102");
  EXPECT_EQ(recorder.calls(),
            (std::vector<std::string>{"add:default/a", "add:default/b", "add:default/c",
                                      "update:default/a:90->102", "delete:default/b"}));
  auto lists = requestsWithPrefix("/apis/example.io/v1/widgets?");
  ASSERT_GE(lists.size(), 1u);
  EXPECT_EQ(lists[0].path, kList);

  auto first = watchQuery(0);
  EXPECT_EQ(first["watch"], "1");
  EXPECT_EQ(first["resourceVersion"], "100");
  EXPECT_EQ(first["allowWatchBookmarks"], "true");
  EXPECT_EQ(first.count("sendInitialEvents"), 0u);
  const int timeoutSeconds = std::stoi(first["timeoutSeconds"]);
  EXPECT_GE(timeoutSeconds, 300);
  EXPECT_LE(timeoutSeconds, 600);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "103");  // stream end: resume at the last event

  EXPECT_EQ(reflector->relists(), 0u);
  EXPECT_EQ(reflector->watchRestarts(), 1u);
  EXPECT_EQ(reflector->events(), 3u);
  EXPECT_EQ(reflector->backoffs(), 0u);
  EXPECT_EQ(reflector->lastResourceVersion(), "103");
  EXPECT_TRUE(store.hasSynced());
}

TEST_F(ReflectorTest, ListedItemsGetApiVersionAndKind) {
  transport->expect("GET", kList, {200, listBody("7", {widget("a", "7")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(1));
  auto a = store.get("default/a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->toJson()["apiVersion"], "example.io/v1");
  EXPECT_EQ(a->toJson()["kind"], "Widget");
}

TEST_F(ReflectorTest, ManagedFieldsAreDroppedFromListedAndWatchedObjects) {
  json listed = widget("a", "7");
  listed["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}, {"operation", "Apply"}}});
  json watched = widget("b", "8");
  watched["metadata"]["managedFields"] = listed["metadata"]["managedFields"];
  transport->expect("GET", kList, {200, listBody("7", {listed})});
  transport->expectStream(kWatch, {StreamStep::chunk(line("ADDED", watched)), StreamStep::end()});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  for (const char* key : {"default/a", "default/b"}) {
    auto object = store.get(key);
    ASSERT_NE(object, nullptr) << key;
    EXPECT_FALSE(object->toJson()["metadata"].contains("managedFields")) << key;
    EXPECT_EQ(object->toJson()["metadata"]["name"], std::string(key).substr(8));
  }
}

TEST_F(ReflectorTest, ManagedFieldsAreKeptWhenAsked) {
  json listed = widget("a", "7");
  listed["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}}});
  transport->expect("GET", kList, {200, listBody("7", {listed})});
  transport->expectStream(kWatch, {StreamStep::block()});
  ReflectorOptions options = fastOptions();
  options.stripManagedFields = false;
  start(options);
  ASSERT_TRUE(waitForWatches(1));
  EXPECT_TRUE(store.get("default/a")->toJson()["metadata"].contains("managedFields"));
}

TEST_F(ReflectorTest, GoneStatusRelistsAndDropsMissingObjects) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "5"), widget("b", "6")})});
  transport->expectStream(kWatch, {}, 410, expiredStatus().dump());
  transport->expect("GET", kList, {200, listBody("20", {widget("a", "15")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));

  EXPECT_EQ(transport->count("GET", kList), 2u);
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"default/a"}));
  EXPECT_EQ(recorder.calls(),
            (std::vector<std::string>{"add:default/a", "add:default/b", "update:default/a:5->15",
                                      "delete:default/b"}));
  EXPECT_EQ(watchQuery(0)["resourceVersion"], "10");
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "20");
  EXPECT_EQ(reflector->relists(), 1u);
  EXPECT_EQ(reflector->backoffs(), 1u);  // the relist waited for the backoff
}

TEST_F(ReflectorTest, GoneErrorEventInTheStreamRelists) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "5"), widget("b", "6")})});
  // Everything after the ERROR event belongs to a dead watch and must not be applied.
  transport->expectStream(
      kWatch, {StreamStep::chunk(line("ADDED", widget("c", "11")) +
                                 line("ERROR", expiredStatus()) + line("ADDED", widget("d", "12"))),
               StreamStep::block()});
  transport->expect("GET", kList, {200, listBody("30", {widget("a", "5"), widget("c", "11")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));

  EXPECT_EQ(transport->count("GET", kList), 2u);
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"default/a", "default/c"}));
  EXPECT_EQ(recorder.calls(), (std::vector<std::string>{"add:default/a", "add:default/b",
                                                        "add:default/c", "delete:default/b"}));
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "30");
  EXPECT_EQ(reflector->relists(), 1u);
  EXPECT_EQ(reflector->backoffs(), 1u);
}

TEST_F(ReflectorTest, OtherErrorEventBacksOffAndRelists) {
  transport->expect("GET", kList, {200, listBody("10", {})});
  json internal = {{"kind", "Status"}, {"code", 500}, {"reason", "InternalError"}};
  transport->expectStream(kWatch, {StreamStep::chunk(line("ERROR", internal))});
  transport->expect("GET", kList, {200, listBody("11", {})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(reflector->relists(), 1u);
  EXPECT_EQ(reflector->backoffs(), 1u);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "11");
}

// A server that answers every watch with 410 must not get a LIST storm: each relist after a 410
// waits for the backoff (0.8 s doubling to 30 s, full jitter), so a simulated minute sees a
// handful of LISTs, not thousands.
TEST(ReflectorGoneStormTest, EveryWatchGoneRelistsThroughTheBackoff) {
  auto transport = std::make_shared<FakeTransport>();
  transport->setFallback([](const Request& request) {
    if (request.path.find("watch=1") != std::string::npos) return Response{410, expiredStatus().dump()};
    return Response{200, listBody("10", {widget("a", "5")})};
  });
  Client client(transport);
  TickingClock clock(10ms);  // simulated time passes as the reflector reads the clock
  Store store;
  ReflectorOptions options;  // the production backoff
  options.maxPollWait = 0ms;  // the clock moves only when read: poll it without napping
  options.backoff.seed = 7;
  options.seed = 7;
  Reflector reflector(client, {"example.io", "v1", "widgets", "Widget", true}, store, clock,
                      options);
  reflector.start();
  ASSERT_TRUE(clock.waitUntilElapsed(60s, kWait));
  reflector.stop();
  const size_t lists = transport->count("GET", kList);
  EXPECT_GE(lists, 2u);   // it does relist after 410
  EXPECT_LE(lists, 20u);  // but through the backoff
  EXPECT_EQ(reflector.relists() + 1, lists);
  EXPECT_GE(reflector.backoffs(), lists - 1);
}

class ReflectorChunkTest : public ReflectorTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(ReflectorChunkTest, EventsSplitAcrossChunksAreReassembled) {
  const size_t chunkSize = GetParam();
  json a = widget("a", "11");
  a["spec"]["greeting"] = "grüße, 日本語 🚀";
  json a2 = a;
  a2["metadata"]["resourceVersion"] = "12";
  a2["spec"]["size"] = 2;
  const std::string bytes = line("ADDED", a) + line("MODIFIED", a2) + "\n" +
                            line("ADDED", widget("b", "13"));
  std::vector<StreamStep> steps;
  for (size_t at = 0; at < bytes.size(); at += chunkSize) {
    steps.push_back(StreamStep::chunk(bytes.substr(at, chunkSize)));
  }
  steps.push_back(StreamStep::end());

  transport->expect("GET", kList, {200, listBody("10", {})});
  transport->expectStream(kWatch, std::move(steps));
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));

  auto stored = store.get("default/a");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(*stored->json(), a2);
  EXPECT_NE(store.get("default/b"), nullptr);
  EXPECT_EQ(recorder.calls(), (std::vector<std::string>{"add:default/a", "update:default/a:11->12",
                                                        "add:default/b"}));
  EXPECT_EQ(reflector->events(), 3u);
  EXPECT_EQ(reflector->relists(), 0u);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "13");
}

// Size 1 and 2 split every multi-byte UTF-8 character; larger sizes split lines at random spots.
INSTANTIATE_TEST_SUITE_P(Reflector, ReflectorChunkTest, ::testing::Values(1, 2, 3, 7, 64, 4096));

TEST_F(ReflectorTest, LastEventWithoutNewlineBeforeEndIsApplied) {
  transport->expect("GET", kList, {200, listBody("10", {})});
  std::string event = line("ADDED", widget("a", "11"));
  event.pop_back();
  transport->expectStream(kWatch, {StreamStep::chunk(event), StreamStep::end()});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_NE(store.get("default/a"), nullptr);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "11");
}

TEST_F(ReflectorTest, IdleStallRewatchesFromTheLastResourceVersionWithoutRelist) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "10")})});
  transport->expectStream(kWatch, {StreamStep::chunk(line("MODIFIED", widget("a", "11"))),
                                   StreamStep::idle()});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(transport->count("GET", kList), 1u);
  EXPECT_EQ(reflector->relists(), 0u);
  EXPECT_EQ(reflector->backoffs(), 0u);
  EXPECT_EQ(reflector->watchRestarts(), 1u);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "11");
  EXPECT_EQ(store.get("default/a")->resourceVersion(), "11");
}

TEST_F(ReflectorTest, BookmarkOnlyStreamAdvancesTheResourceVersionOnly) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "10")})});
  transport->expectStream(kWatch, {StreamStep::chunk(bookmark("50")), StreamStep::end()});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  ObjectPtr before = store.get("default/a");
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"default/a"}));
  EXPECT_EQ(before->resourceVersion(), "10");
  EXPECT_EQ(recorder.calls(), (std::vector<std::string>{"add:default/a"}));
  EXPECT_EQ(reflector->lastResourceVersion(), "50");
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "50");
  EXPECT_EQ(reflector->relists(), 0u);
  EXPECT_EQ(reflector->backoffs(), 0u);
}

TEST_F(ReflectorTest, TooManyRequestsAndRefusedConnectionBackOffWithoutRelist) {
  transport->expect("GET", kList, {200, listBody("10", {})});
  transport->expectStream(kWatch, {}, 429, R"({"kind":"Status","code":429})");
  transport->expectStream(kWatch, {}, 0, "connection refused");
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(3));
  EXPECT_EQ(transport->count("GET", kList), 1u);
  EXPECT_EQ(reflector->relists(), 0u);
  EXPECT_EQ(reflector->backoffs(), 2u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(watchQuery(i)["resourceVersion"], "10") << i;
}

TEST_F(ReflectorTest, BrokenConnectionMidStreamBacksOffAndResumes) {
  transport->expect("GET", kList, {200, listBody("10", {})});
  transport->expectStream(kWatch, {StreamStep::chunk(line("ADDED", widget("a", "11"))),
                                   StreamStep::error()});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(reflector->relists(), 0u);
  EXPECT_EQ(reflector->backoffs(), 1u);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "11");
}

TEST_F(ReflectorTest, EmptyStreamEndingAtOnceBacksOff) {
  transport->expect("GET", kList, {200, listBody("10", {})});
  transport->expectStream(kWatch, {StreamStep::end()});  // the fake clock never moves: < 1 s
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(reflector->backoffs(), 1u);
  EXPECT_EQ(reflector->relists(), 0u);
}

TEST_F(ReflectorTest, PagedInitialListIsSwappedInWhole) {
  ReflectorOptions options = fastOptions();
  options.listPageSize = 2;
  const std::string firstPage = "/apis/example.io/v1/widgets?limit=2";
  transport->expect("GET", firstPage,
                    {200, listBody("10", {widget("a", "1"), widget("b", "2")}, "page2")});
  std::atomic<int> sizeDuringSecondPage{-1};
  std::atomic<bool> syncedDuringSecondPage{true};
  transport->setFallback([&](const Request& request) {
    if (request.path.find("continue=page2") == std::string::npos) {
      return Response{599, "unexpected"};
    }
    sizeDuringSecondPage = static_cast<int>(store.size());
    syncedDuringSecondPage = store.hasSynced();
    return Response{200, listBody("10", {widget("c", "3")})};
  });
  transport->expectStream(kWatch, {StreamStep::block()});

  std::atomic<bool> done{false};
  std::atomic<int> partialReads{0};
  std::thread reader([&] {
    while (!done) {
      const size_t size = store.list().size();
      if (size != 0 && size != 3) ++partialReads;
    }
  });
  start(options);
  const bool watched = waitForWatches(1);
  done = true;
  reader.join();
  ASSERT_TRUE(watched);

  EXPECT_EQ(sizeDuringSecondPage.load(), 0);
  EXPECT_FALSE(syncedDuringSecondPage.load());
  EXPECT_EQ(partialReads.load(), 0);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(watchQuery(0)["resourceVersion"], "10");
}

TEST_F(ReflectorTest, FailedListBacksOffAndRetries) {
  transport->expect("GET", kList, {500, R"({"kind":"Status","code":500})"});
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "1")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(1));
  EXPECT_EQ(transport->count("GET", kList), 2u);
  EXPECT_EQ(reflector->backoffs(), 1u);
  EXPECT_EQ(reflector->relists(), 0u);  // nothing had been listed before
  EXPECT_TRUE(store.hasSynced());
}

TEST_F(ReflectorTest, UndecodableEventRelists) {
  transport->expect("GET", kList, {200, listBody("10", {})});
  transport->expectStream(kWatch, {StreamStep::chunk("{\"type\":\"ADDED\",\"object\":{not json\n"),
                                   StreamStep::block()});
  transport->expect("GET", kList, {200, listBody("11", {})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(reflector->relists(), 1u);
  EXPECT_EQ(reflector->backoffs(), 1u);
}

TEST_F(ReflectorTest, ThrowingHandlerDoesNotStopTheWatch) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "1")})});
  transport->expectStream(kWatch, {StreamStep::chunk(line("ADDED", widget("b", "11"))),
                                   StreamStep::end()});
  transport->expectStream(kWatch, {StreamStep::block()});
  reflector = std::make_unique<Reflector>(client, widgets, store, clock, fastOptions());
  reflector->addHandler({[](const CachedObject&) { throw std::runtime_error("boom"); }, {}, {}});
  reflector->addHandler(recorder.handler());
  reflector->start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(recorder.calls(), (std::vector<std::string>{"add:default/a", "add:default/b"}));
}

TEST_F(ReflectorTest, StopInterruptsABackoffWait) {
  ReflectorOptions options = fastOptions();
  options.backoff.initial = std::chrono::hours(1);
  options.backoff.max = std::chrono::hours(1);
  transport->expect("GET", kList, {200, listBody("10", {})});
  transport->expectStream(kWatch, {}, 429, "");
  start(options);
  ASSERT_TRUE(waitForWatches(1));
  reflector->stop();  // would hang for up to an hour if the wait ignored stop()
  EXPECT_FALSE(reflector->running());
  EXPECT_EQ(transport->count("GET", kWatch), 1u);
}

TEST_F(ReflectorTest, StopCancelsABlockedWatchAndCanRestart) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "1")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start();
  ASSERT_TRUE(waitForWatches(1));
  EXPECT_TRUE(reflector->running());
  reflector->stop();
  EXPECT_FALSE(reflector->running());

  transport->expect("GET", kList, {200, listBody("20", {})});
  transport->expectStream(kWatch, {StreamStep::block()});
  reflector->start();
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(reflector->relists(), 1u);
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "20");
}

TEST_F(ReflectorTest, StopFromAHandlerEndsTheLoop) {
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "1")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  reflector = std::make_unique<Reflector>(client, widgets, store, clock, fastOptions());
  reflector->addHandler({[&](const CachedObject&) { reflector->stop(); }, {}, {}});
  reflector->start();
  ASSERT_TRUE(reflector->waitForSync(kWait));
  reflector->stop();  // joins the worker, which ended without watching
  EXPECT_EQ(transport->count("GET", kWatch), 0u);
}

TEST_F(ReflectorTest, StreamingListSwapsTheInitialEventsInAtTheEndBookmark) {
  ReflectorOptions options = fastOptions();
  options.streamingList = true;
  transport->expectStream(kWatch, {StreamStep::chunk(line("ADDED", widget("a", "5"))),
                                   StreamStep::chunk(line("ADDED", widget("b", "6"))),
                                   StreamStep::chunk(bookmark("40", true)),
                                   StreamStep::chunk(line("ADDED", widget("c", "41"))),
                                   StreamStep::end()});
  transport->expectStream(kWatch, {StreamStep::block()});
  std::vector<size_t> sizesSeenOnAdd;
  reflector = std::make_unique<Reflector>(client, widgets, store, clock, options);
  reflector->addHandler({[&](const CachedObject&) { sizesSeenOnAdd.push_back(store.size()); }, {}, {}});
  reflector->start();
  ASSERT_TRUE(waitForWatches(2));

  EXPECT_EQ(transport->count("GET", kList), 0u);
  EXPECT_EQ(sizesSeenOnAdd, (std::vector<size_t>{2, 2, 3}));  // a and b arrive together
  EXPECT_EQ(store.size(), 3u);
  auto first = watchQuery(0);
  EXPECT_EQ(first["sendInitialEvents"], "true");
  EXPECT_EQ(first["resourceVersionMatch"], "NotOlderThan");
  EXPECT_EQ(first["allowWatchBookmarks"], "true");
  EXPECT_EQ(first.count("resourceVersion"), 0u);
  auto second = watchQuery(1);
  EXPECT_EQ(second.count("sendInitialEvents"), 0u);
  EXPECT_EQ(second["resourceVersion"], "41");
}

// Handlers and the store get the one decoded form of each object, from a list, a streaming list
// and the watch alike; a DELETE hands over the decoded last state.
class ReflectorDecoderTest : public ReflectorTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ReflectorDecoderTest, EveryObjectIsDecodedOnceByTheStoresDecoder) {
  const bool streaming = GetParam();
  std::atomic<int> decodes{0};
  Store typed([&](const json& o, std::string&) -> ObjectPtr {
    ++decodes;
    return std::make_shared<const TypedObject<std::string>>(CachedObject::headerOf(o),
                                                             o["metadata"]["name"].get<std::string>() + "!");
  });
  std::vector<StreamStep> steps;
  if (streaming) {
    steps.push_back(StreamStep::chunk(line("ADDED", widget("a", "5"))));
    steps.push_back(StreamStep::chunk(bookmark("10", true)));
  } else {
    transport->expect("GET", kList, {200, listBody("10", {widget("a", "5")})});
  }
  steps.push_back(StreamStep::chunk(line("MODIFIED", widget("a", "11"))));
  steps.push_back(StreamStep::chunk(line("DELETED", widget("a", "12"))));
  steps.push_back(StreamStep::end());
  transport->expectStream(kWatch, steps);
  transport->expectStream(kWatch, {StreamStep::block()});
  std::vector<std::string> seen;  // handlers run on the reflector's thread, read after the wait
  auto note = [&](const std::string& what, const CachedObject& o) {
    const std::string* value = o.as<std::string>();
    seen.push_back(what + ":" + (value ? *value : "untyped") + "@" + o.resourceVersion());
  };
  ReflectorOptions options = fastOptions();
  options.streamingList = streaming;
  reflector = std::make_unique<Reflector>(client, widgets, typed, clock, options);
  reflector->addHandler({[&](const CachedObject& o) { note("add", o); },
                         [&](const CachedObject&, const CachedObject& o) { note("update", o); },
                         [&](const CachedObject& o) { note("delete", o); }});
  reflector->start();
  ASSERT_TRUE(waitForWatches(2));
  reflector.reset();  // stopped and gone before `typed` is
  EXPECT_EQ(seen, (std::vector<std::string>{"add:a!@5", "update:a!@11", "delete:a!@12"}));
  EXPECT_EQ(decodes.load(), 3);
  EXPECT_EQ(typed.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(ListAndStreamingList, ReflectorDecoderTest, ::testing::Bool());

TEST_F(ReflectorTest, StreamingListFallsBackToListWhenRejected) {
  ReflectorOptions options = fastOptions();
  options.streamingList = true;
  const json rejected = {{"kind", "Status"},
                         {"code", 422},
                         {"reason", "Invalid"},
                         {"message", "sendInitialEvents is forbidden"}};
  transport->expectStream(kWatch, {}, 422, rejected.dump());
  transport->expect("GET", kList, {200, listBody("10", {widget("a", "1")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start(options);
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(transport->count("GET", kList), 1u);
  EXPECT_EQ(store.size(), 1u);
  auto second = watchQuery(1);
  EXPECT_EQ(second.count("sendInitialEvents"), 0u);
  EXPECT_EQ(second["resourceVersion"], "10");
}

TEST_F(ReflectorTest, StreamingListEndingEarlyFallsBackToList) {
  ReflectorOptions options = fastOptions();
  options.streamingList = true;
  // A server that ignores sendInitialEvents: objects, but never the end bookmark.
  transport->expectStream(kWatch, {StreamStep::chunk(line("ADDED", widget("a", "5"))),
                                   StreamStep::end()});
  transport->expect("GET", kList, {200, listBody("10", {widget("b", "1")})});
  transport->expectStream(kWatch, {StreamStep::block()});
  start(options);
  ASSERT_TRUE(waitForWatches(2));
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"default/b"}));
  EXPECT_EQ(watchQuery(1)["resourceVersion"], "10");
}

TEST(InformerTest, WaitsForSyncAndScopesByNamespaceAndLabels) {
  auto transport = std::make_shared<FakeTransport>();
  Client client(transport);
  FakeClock clock;
  ResourceType widgets{"example.io", "v1", "widgets", "Widget", true};
  ReflectorOptions options;
  options.ns = "team-a";
  options.labelSelector = "app=web";
  const std::string base = "/apis/example.io/v1/namespaces/team-a/widgets?";
  transport->expect("GET", base + "labelSelector=app%3Dweb&limit=500",
                    {200, listBody("7", {widget("a", "7")})});
  transport->expectStream(base + "watch=1&resourceVersion=7&labelSelector=app%3Dweb",
                          {StreamStep::block()});

  Informer informer(client, widgets, clock, options);
  Recorder recorder;
  informer.addHandler(recorder.handler());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(kWait));
  EXPECT_TRUE(informer.hasSynced());
  EXPECT_EQ(informer.store().keys(), (std::vector<std::string>{"default/a"}));
  EXPECT_EQ(recorder.calls(), (std::vector<std::string>{"add:default/a"}));
  ASSERT_TRUE(transport->waitForCount("GET", base + "watch=1", 1, kWait));
  EXPECT_EQ(transport->pendingExpectations(), 0u);  // both requests matched their paths
  informer.stop();
}

TEST(InformerTest, WaitForSyncTimesOutWhileListsFail) {
  auto transport = std::make_shared<FakeTransport>();
  transport->setFallback([](const Request&) {
    return Response{403, R"({"kind":"Status","code":403,"reason":"Forbidden"})"};
  });
  Client client(transport);
  TickingClock clock;
  ReflectorOptions options;
  options.backoff.initial = 1ms;
  options.backoff.max = 2ms;
  options.maxPollWait = 1ms;
  Informer informer(client, {"example.io", "v1", "widgets", "Widget", true}, clock, options);
  informer.start();
  EXPECT_FALSE(informer.waitForSync(50ms));
  EXPECT_FALSE(informer.hasSynced());
  ASSERT_TRUE(transport->waitForCount("GET", "/apis/example.io/v1/widgets?limit=500", 2, kWait));
  informer.stop();
  EXPECT_GE(informer.reflector().backoffs(), 1u);
  EXPECT_EQ(transport->count("GET", kWatch), 0u);
}

}  // namespace
}  // namespace dwcp::kube
