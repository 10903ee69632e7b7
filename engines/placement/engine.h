// Engine: one placement decision (filter, score, preempt if allowed, explain), a feasibility
// check for a VM in a given region, and batch placement. The Engine holds only its config: every
// const method is safe to call from many threads on a shared const Snapshot. placeBatch mutates
// the snapshot it is given.
#pragma once

#include <string_view>
#include <vector>

#include "engines/placement/snapshot.h"
#include "engines/placement/types.h"

namespace dwcp::placement {

struct EngineConfig {
  // federation.placement.weights; spread is not in the shipped config, it weighs 0.10 here so a
  // spreadGroup matters under hybrid (without a group every region scores 100 on spread).
  Weights hybridWeights{.latency = 0.30, .cost = 0.20, .capacity = 0.20, .health = 0.20, .priority = 0.10,
                        .spread = 0.10};
  bool enablePreemption = true;  // federation.placement.enable_preemption
  int maxCandidates = 3;         // status.candidates allows up to 16
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {});
  const EngineConfig& config() const { return config_; }

  // Where `request` should go in `snapshot`. A request whose key is already placed is evaluated
  // as if removed first (its resources and spread count are credited back to its region).
  // kPlaced: the best feasible region by score, ties by name. kPlacedWithPreemption: nothing was
  // feasible, preemption is enabled, and a region meets every constraint once the listed victims
  // are gone (fewest victims, then lowest priorities, then best score, then name).
  // kUnschedulable: neither. kInvalid: the request is malformed; message names the field.
  Decision place(const Snapshot& snapshot, const Request& request) const;

  // Whether `request` fits in `region` now (nullopt) or the first reason it does not. Used to
  // re-evaluate a placed VM after its spec changed. Errors: invalid request, unknown region.
  Expected<std::optional<Rejection>> check(const Snapshot& snapshot, const Request& request,
                                           std::string_view region) const;

  // Places requests by priority (highest first, then key), committing each placed decision to
  // `snapshot` so the batch never over-commits. Victims preempted by one request are removed
  // from the snapshot and not re-placed here. Decisions come back in placement order.
  std::vector<Decision> placeBatch(Snapshot& snapshot, std::vector<Request> requests) const;

 private:
  EngineConfig config_;
};

}  // namespace dwcp::placement
