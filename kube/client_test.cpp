#include "kube/client.h"

#include <memory>

#include <gtest/gtest.h>

#include "kube/testing/fake_transport.h"

namespace dwcp::kube {
namespace {

using namespace std::chrono_literals;

const ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};

struct ClientTest : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{transport};
  void SetUp() override {
    transport->setFallback([](const Request&) { return Response{200, R"({"kind":"ConfigMap"})"}; });
  }
};

// A replica that has stopped leading must not write: the guard refuses before anything is sent.
TEST_F(ClientTest, WriteGuardRefusesWritesUnsentAndLetsReadsThrough) {
  bool leading = true;
  client.setWriteGuard([&]() -> Status {
    if (leading) return okStatus();
    return Error{0, "NotLeader", "this replica is not the leader"};
  });
  json object = {{"metadata", {{"name", "a"}, {"namespace", "ns"}}}};
  EXPECT_TRUE(client.create(kConfigMaps, "ns", object).ok());
  leading = false;
  auto refused = client.update(kConfigMaps, object);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().reason, "NotLeader");
  EXPECT_FALSE(client.patch(kConfigMaps, "ns", "a", PatchType::kMerge, json::object()).ok());
  EXPECT_FALSE(client.updateStatus(kConfigMaps, object).ok());
  EXPECT_FALSE(client.remove(kConfigMaps, "ns", "a").ok());
  EXPECT_TRUE(client.get(kConfigMaps, "ns", "a").ok());
  EXPECT_EQ(transport->count("POST", "/api/v1"), 1u);
  EXPECT_EQ(transport->count("PUT", "/api/v1"), 0u);
  EXPECT_EQ(transport->count("PATCH", "/api/v1"), 0u);
  EXPECT_EQ(transport->count("DELETE", "/api/v1"), 0u);
  EXPECT_EQ(transport->count("GET", "/api/v1"), 1u);

  // Copies share the guard.
  Client bounded = client.withTimeout(1s);
  EXPECT_FALSE(bounded.create(kConfigMaps, "ns", object).ok());
  EXPECT_EQ(transport->count("POST", "/api/v1"), 1u);
}

TEST_F(ClientTest, WithTimeoutSetsTheRequestDeadline) {
  ASSERT_TRUE(client.get(kConfigMaps, "ns", "a").ok());
  ASSERT_TRUE(client.withTimeout(1500ms).get(kConfigMaps, "ns", "b").ok());
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].timeout, 0ms);
  EXPECT_EQ(requests[1].timeout, 1500ms);
}

TEST(ClientRemoveTest, UidPreconditionIsSentAsDeleteOptions) {
  auto transport = std::make_shared<FakeTransport>();
  transport->expect("DELETE", "/api/v1/namespaces/ns/configmaps/w", {200, R"({"kind":"Status","status":"Success"})"});
  Client client(transport);

  ASSERT_TRUE(client.remove(kConfigMaps, "ns", "w", DeletePreconditions{"uid-1"}).ok());
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "DELETE");
  EXPECT_EQ(requests[0].path, "/api/v1/namespaces/ns/configmaps/w");
  EXPECT_EQ(requests[0].contentType, "application/json");
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["kind"], "DeleteOptions");
  EXPECT_EQ(body["apiVersion"], "v1");
  EXPECT_EQ(body["preconditions"], (json{{"uid", "uid-1"}}));
}

TEST(ClientRemoveTest, FailedUidPreconditionIsAConflict) {
  auto transport = std::make_shared<FakeTransport>();
  const json status = {{"kind", "Status"},
                       {"status", "Failure"},
                       {"reason", "Conflict"},
                       {"message", "Precondition failed: UID in precondition: uid-1, UID in object meta: uid-2"},
                       {"code", 409}};
  transport->expect("DELETE", "/api/v1/namespaces/ns/configmaps/w", {409, status.dump()});
  Client client(transport);

  auto removed = client.remove(kConfigMaps, "ns", "w", DeletePreconditions{"uid-1"});
  ASSERT_FALSE(removed.ok());
  EXPECT_TRUE(removed.error().isConflict());
  EXPECT_NE(removed.error().message.find("uid-2"), std::string::npos);
}

TEST(ClientRemoveTest, WithoutPreconditionsSendsNoBody) {
  auto transport = std::make_shared<FakeTransport>();
  transport->expect("DELETE", "/api/v1/namespaces/ns/configmaps/w", {200, "{}"});
  Client client(transport);
  ASSERT_TRUE(client.remove(kConfigMaps, "ns", "w").ok());
  EXPECT_TRUE(transport->requests()[0].body.empty());
}

TEST(ClientApplyStatusTest, IsAForcedServerSideApplyToTheStatusSubresource) {
  auto transport = std::make_shared<FakeTransport>();
  transport->expect("PATCH", "/api/v1/namespaces/ns/configmaps/w/status", {200, R"({"kind":"ConfigMap"})"});
  Client client(transport);
  const json object = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata", {{"name", "w"}, {"namespace", "ns"}, {"resourceVersion", "7"}}},
                       {"status", {{"phase", "Ready"}}}};

  ASSERT_TRUE(client.applyStatus(kConfigMaps, object, "dwcp-operator/test").ok());
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_EQ(requests[0].path, "/api/v1/namespaces/ns/configmaps/w/status?fieldManager=dwcp-operator%2Ftest&force=true");
  EXPECT_EQ(requests[0].contentType, "application/apply-patch+yaml");
  EXPECT_EQ(json::parse(requests[0].body), object);  // the resourceVersion travels as a precondition
}

TEST(ClientApplyStatusTest, StalePreconditionIsAConflict) {
  auto transport = std::make_shared<FakeTransport>();
  const json status = {{"kind", "Status"}, {"status", "Failure"}, {"reason", "Conflict"},
                       {"message", "the object has been modified"}, {"code", 409}};
  transport->expect("PATCH", "/api/v1/namespaces/ns/configmaps/w/status", {409, status.dump()});
  Client client(transport);
  auto applied = client.applyStatus(kConfigMaps, {{"metadata", {{"name", "w"}, {"namespace", "ns"}}}}, "m");
  ASSERT_FALSE(applied.ok());
  EXPECT_TRUE(applied.error().isConflict());
}

// The scripted transport itself: expectPath matches an object's path (query aside) and not its
// subresources, where expect matches every path under the prefix.
TEST(FakeTransportTest, ExpectPathMatchesTheWholePathOnly) {
  FakeTransport transport;
  transport.setFallback([](const Request&) { return Response{200, "fallback"}; });
  transport.expectPath("PATCH", "/api/v1/namespaces/ns/configmaps/a", Response{409, "path"});
  transport.expect("PATCH", "/api/v1/namespaces/ns/configmaps/a", Response{500, "prefix"});
  auto send = [&](const std::string& path) { return transport.send(Request{"PATCH", path, "", "", {}}); };
  EXPECT_EQ(send("/api/v1/namespaces/ns/configmaps/a/status?force=true").body, "prefix");
  EXPECT_EQ(send("/api/v1/namespaces/ns/configmaps/ab").body, "fallback");
  EXPECT_EQ(send("/api/v1/namespaces/ns/configmaps/a?fieldManager=x").body, "path");
  EXPECT_EQ(transport.pendingExpectations(), 0u);
}

}  // namespace
}  // namespace dwcp::kube
