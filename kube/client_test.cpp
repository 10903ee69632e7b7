#include "kube/client.h"

#include <memory>

#include <gtest/gtest.h>

#include "kube/fake_transport.h"

namespace dwcp::kube {
namespace {

const ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};

TEST(ClientRemove, UidPreconditionIsSentAsDeleteOptions) {
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

TEST(ClientRemove, FailedUidPreconditionIsAConflict) {
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

TEST(ClientRemove, WithoutPreconditionsSendsNoBody) {
  auto transport = std::make_shared<FakeTransport>();
  transport->expect("DELETE", "/api/v1/namespaces/ns/configmaps/w", {200, "{}"});
  Client client(transport);
  ASSERT_TRUE(client.remove(kConfigMaps, "ns", "w").ok());
  EXPECT_TRUE(transport->requests()[0].body.empty());
}

}  // namespace
}  // namespace dwcp::kube
