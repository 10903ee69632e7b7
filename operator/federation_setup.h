// Federation inside the operator: the FederationNode made from the --peer-* flags and the
// federation section of the configuration, the controllers::Federation the controllers read it
// through, the fan-out of its notices to the controllers that asked for them, and its metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "controllers/federation.h"
#include "federation/federation_node.h"
#include "kube/result.h"
#include "operator/metrics.h"
#include "operator/options.h"

namespace dwcp::op {

// What each controller's setup asks to hear of the federation (its queues' enqueues). Filled
// during setup, read-only once the node runs.
struct FederationEvents {
  std::vector<std::function<void(const std::string& region)>> heartbeat;
  std::vector<std::function<void(const std::string& uid)>> record;
  std::vector<std::function<void(const std::string& region, const std::string& uid)>> answer;
};

// The node for these flags and this configuration (not started), or an Error naming the flag.
kube::Result<std::unique_ptr<federation::FederationNode>> makeFederationNode(const Options& options,
                                                                             const config::Config& config);
// Passes the node's notices to every listener of `events` (which outlives the node).
void connectEvents(federation::FederationNode& node, const FederationEvents& events);

// controllers::Federation over a node (which outlives it).
class NodeFederation final : public controllers::Federation {
 public:
  explicit NodeFederation(federation::FederationNode& node) : node_(node) {}
  std::optional<Heard> heartbeat(const std::string& region) const override;
  std::vector<api::PeerLink> links() const override { return node_.links(); }
  std::chrono::milliseconds suspectAfter() const override { return node_.suspectAfter(); }
  std::optional<api::PlacementRecord> record(const std::string& uid) const override { return node_.record(uid); }
  std::vector<api::PlacementRecord> recordsIn(const std::string& region) const override { return node_.recordsIn(region); }
  void putRecord(const api::PlacementRecord& record) override { node_.putRecord(record); }
  void removeRecord(const std::string& uid) override { node_.removeRecord(uid); }
  std::optional<api::ReservationAnswer> answer(const std::string& region, const std::string& uid) const override {
    return node_.answer(region, uid);
  }
  void putAnswer(const api::ReservationAnswer& answer) override { node_.putAnswer(answer); }
  void removeAnswer(const std::string& uid) override { node_.removeAnswer(uid); }
  std::vector<std::string> answeredUids() const override { return node_.answeredUids(); }
  bool caughtUpWith(const std::string& region) const override { return node_.caughtUpWith(region); }

 private:
  federation::FederationNode& node_;
};

// dwcp_federation_* series read from the node at scrape time.
std::vector<CounterSource> federationMetrics(const federation::FederationNode& node);

}  // namespace dwcp::op
