#include "kube/discovery.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "kube/testing/fake_transport.h"

namespace dwcp::kube {
namespace {

using namespace std::chrono_literals;

const char* kCoreV1 = R"({"kind":"APIResourceList","groupVersion":"v1","resources":[
  {"name":"configmaps","namespaced":true,"kind":"ConfigMap"},
  {"name":"pods","namespaced":true,"kind":"Pod"},
  {"name":"pods/status","namespaced":true,"kind":"Pod"},
  {"name":"namespaces","namespaced":false,"kind":"Namespace"}]})";

const char* kKubevirt = R"({"kind":"APIResourceList","groupVersion":"kubevirt.io/v1","resources":[
  {"name":"virtualmachines","namespaced":true,"kind":"VirtualMachine"}]})";

// A one-shot latch; wait() gives up after 20 s so a failing test cannot hang.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 20s, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class DiscoveryTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};
  FakeClock clock;
  Discovery discovery{client, clock, 10s};
};

TEST_F(DiscoveryTest, MapsCoreAndGroupKindsAndCaches) {
  transport->expect("GET", "/api/v1", {200, kCoreV1});
  transport->expect("GET", "/apis/kubevirt.io/v1", {200, kKubevirt});
  auto cm = discovery.resourceFor("v1", "ConfigMap");
  ASSERT_TRUE(cm.ok()) << cm.error().message;
  EXPECT_EQ(cm->resource, "configmaps");
  EXPECT_EQ(cm->group, "");
  EXPECT_TRUE(cm->namespaced);
  auto ns = discovery.resourceFor("v1", "Namespace");
  ASSERT_TRUE(ns.ok());
  EXPECT_FALSE(ns->namespaced);
  auto pod = discovery.resourceFor("v1", "Pod");
  ASSERT_TRUE(pod.ok());
  EXPECT_EQ(pod->resource, "pods");  // not the status subresource
  auto vm = discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->group, "kubevirt.io");
  EXPECT_EQ(vm->resource, "virtualmachines");
  EXPECT_EQ(transport->count("GET", "/api"), 2u);  // one discovery read per group-version
}

TEST_F(DiscoveryTest, UnknownKindRereadsOnlyAfterTheRefreshInterval) {
  transport->expect("GET", "/apis/kubevirt.io/v1", {404, ""});
  auto missing = discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().isNotFound());
  EXPECT_NE(missing.error().message.find("VirtualMachine"), std::string::npos);
  EXPECT_FALSE(discovery.resourceFor("kubevirt.io/v1", "VirtualMachine").ok());
  EXPECT_EQ(transport->count("GET", "/apis/kubevirt.io/v1"), 1u);  // within the interval: cached

  clock.advance(11s);  // the CRD got installed meanwhile
  transport->expect("GET", "/apis/kubevirt.io/v1", {200, kKubevirt});
  auto found = discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(transport->count("GET", "/apis/kubevirt.io/v1"), 2u);
}

TEST_F(DiscoveryTest, BadInputAndServerErrors) {
  EXPECT_EQ(discovery.resourceFor("a/b/c", "X").error().code, 422);
  EXPECT_EQ(discovery.resourceFor("", "X").error().code, 422);
  EXPECT_EQ(discovery.resourceFor("v1", "").error().code, 422);
  transport->expect("GET", "/api/v1", {500, "boom"});
  auto failed = discovery.resourceFor("v1", "ConfigMap");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, 500);
  transport->expect("GET", "/api/v1", {200, "not json"});
  EXPECT_EQ(discovery.resourceFor("v1", "ConfigMap").error().reason, "InvalidResponse");
  EXPECT_EQ(transport->requests().size(), 2u);  // bad input never reached the server
}

// A slow discovery read of one group-version must not hold up lookups of another: the lock is
// not held across HTTP.
TEST_F(DiscoveryTest, SlowDiscoveryReadDoesNotBlockOtherLookups) {
  transport->expect("GET", "/api/v1", {200, kCoreV1});
  ASSERT_TRUE(discovery.resourceFor("v1", "ConfigMap").ok());  // cached from now on
  Gate entered;
  Gate release;
  transport->setFallback([&](const Request& request) {
    if (request.path != "/apis/kubevirt.io/v1") return Response{404, ""};
    entered.open();
    release.wait();
    return Response{200, kKubevirt};
  });
  auto slow = std::async(std::launch::async,
                         [&] { return discovery.resourceFor("kubevirt.io/v1", "VirtualMachine"); });
  ASSERT_TRUE(entered.wait());
  auto cached = std::async(std::launch::async, [&] { return discovery.resourceFor("v1", "Pod"); });
  auto other = std::async(std::launch::async,
                          [&] { return discovery.resourceFor("apps/v1", "Deployment"); });
  const bool cachedReturned = cached.wait_for(10s) == std::future_status::ready;
  const bool otherReturned = other.wait_for(10s) == std::future_status::ready;
  release.open();
  EXPECT_TRUE(cachedReturned) << "a cached lookup waited for another group-version's read";
  EXPECT_TRUE(otherReturned) << "a lookup of another group-version waited for a slow read";
  auto pod = cached.get();
  ASSERT_TRUE(pod.ok()) << pod.error().message;
  EXPECT_EQ(pod->resource, "pods");
  EXPECT_TRUE(other.get().error().isNotFound());
  auto vm = slow.get();
  ASSERT_TRUE(vm.ok()) << vm.error().message;
  EXPECT_EQ(vm->resource, "virtualmachines");
}

// Concurrent lookups of one group-version that is not cached share a single discovery read.
TEST_F(DiscoveryTest, ConcurrentLookupsShareOneRead) {
  Gate entered;
  Gate release;
  transport->setFallback([&](const Request&) {
    entered.open();
    release.wait();
    return Response{200, kKubevirt};
  });
  auto first = std::async(std::launch::async,
                          [&] { return discovery.resourceFor("kubevirt.io/v1", "VirtualMachine"); });
  ASSERT_TRUE(entered.wait());
  std::vector<std::future<Result<ResourceType>>> more;
  for (int i = 0; i < 4; ++i) {
    more.push_back(std::async(std::launch::async, [&] {
      return discovery.resourceFor("kubevirt.io/v1", "VirtualMachine");
    }));
  }
  release.open();
  EXPECT_TRUE(first.get().ok());
  for (auto& f : more) EXPECT_TRUE(f.get().ok());
  EXPECT_EQ(transport->count("GET", "/apis/kubevirt.io/v1"), 1u);
}

}  // namespace
}  // namespace dwcp::kube
