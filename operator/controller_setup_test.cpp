#include "operator/controller_setup.h"

#include <memory>

#include <gtest/gtest.h>

#include "api/groupversion.h"
#include "kube/testing/fake_transport.h"

namespace dwcp::op {
namespace {

// The setup functions against caches that never start: what Manager::start gets back.
struct ControllerSetupTest : ::testing::Test {
  std::shared_ptr<kube::FakeTransport> transport = std::make_shared<kube::FakeTransport>();
  kube::Client client{transport};
  kube::FakeClock clock;
  kube::Informer regions{client, api::kRegionResource, clock};
  kube::Informer vmPlacements{client, api::kVMPlacementResource, clock};
  kube::EventRecorder events{client, clock, {"federation.dwcp.io/dwcp-operator", "test"}};
  kube::Discovery discovery{client, clock};
  config::Config config;
  OperatorMetrics metrics;
  controllers::HealthSignals signals;
  ControllerContext context{&client, &regions, &vmPlacements, &events, &discovery,
                            &clock,  "us-east-1", &config, &metrics, &signals};
};

TEST_F(ControllerSetupTest, EveryControllerInStartOrderWithItsRunner) {
  std::vector<ManagedController> controllers = setupControllers(context);
  ASSERT_EQ(controllers.size(), 2u);
  EXPECT_EQ(controllers[0].name, "region");
  EXPECT_EQ(controllers[1].name, "vmplacement");
  for (const auto& c : controllers) {
    EXPECT_NE(c.owner, nullptr) << c.name;
    ASSERT_NE(c.runner, nullptr) << c.name;
  }
  EXPECT_FALSE(controllers[0].prepare);
  ASSERT_TRUE(controllers[1].prepare);  // seeds the placement ledger
  controllers[1].prepare();              // from an empty cache: nothing placed, no request
  EXPECT_TRUE(transport->requests().empty());
}

}  // namespace
}  // namespace dwcp::op
