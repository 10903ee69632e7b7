// Decision pipeline: resolve the request once, filter every region (collecting compact
// rejection codes and the metrics the scorer reuses), score the feasible ones, fall back to
// preemption over regions that failed on capacity alone, then turn codes into text.
#include "engines/placement/engine.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "engines/placement/explain.h"
#include "engines/placement/filter.h"
#include "engines/placement/preemption.h"
#include "engines/placement/scorer.h"

namespace dwcp::placement {
namespace {

struct Evaluated {
  uint32_t region = 0;
  RegionMetrics metrics;
  double score = 0;
  FactorScores factors;
  std::optional<VictimSet> victims;  // preemption candidates only
};

Rejection toRejection(const Snapshot& snapshot, const Request& request, size_t region, const RejectionCode& code) {
  Rejection r;
  r.region = snapshot.region(region).name;
  r.reason = code.reason;
  r.actual = code.actual;
  r.limit = code.limit;
  switch (code.reason) {
    case Reason::kCompliance: r.subject = request.constraints.compliance[code.complianceIndex]; break;
    case Reason::kContinent: r.subject = toString(snapshot.region(region).continent); break;
    case Reason::kCountry: r.subject = snapshot.region(region).country; break;
    default: break;
  }
  return r;
}

uint32_t spreadCount(const ResolvedRequest& resolved, const Snapshot& snapshot, size_t region) {
  if (!resolved.spreadCounts) return 0;
  uint32_t count = (*resolved.spreadCounts)[region];
  if (count > 0 && resolved.ownRegion && *resolved.ownRegion == region &&
      snapshot.vm(*resolved.ownVm).spreadGroup == resolved.request->constraints.spreadGroup) {
    --count;
  }
  return count;
}

// Scores every entry against the cheapest of them, then orders best first.
void scoreAll(std::vector<Evaluated>& entries, const Snapshot& snapshot, const ResolvedRequest& resolved,
              const Weights& weights) {
  const Request& request = *resolved.request;
  double cheapest = std::numeric_limits<double>::infinity();
  for (const Evaluated& e : entries) cheapest = std::min(cheapest, e.metrics.costPerHour);
  for (Evaluated& e : entries) {
    const RegionInfo& region = snapshot.region(e.region);
    ScoreInputs in;
    in.latencyMs = request.algorithm == Algorithm::kGeoProximity ? e.metrics.geoRttMs : e.metrics.rttMs;
    in.costPerHour = e.metrics.costPerHour;
    in.cheapestCostPerHour = cheapest;
    in.headroom = headroomAfter(region.capacity, e.metrics.allocated, request.resources);
    in.healthScore = region.healthScore;
    in.priority = region.priority;
    in.spreadCount = spreadCount(resolved, snapshot, e.region);
    e.factors = scoreFactors(in);
    e.score = weightedScore(e.factors, weights);
  }
}

bool higherScore(const Snapshot& snapshot, const Evaluated& a, const Evaluated& b) {
  if (a.score != b.score) return a.score > b.score;
  return snapshot.region(a.region).name < snapshot.region(b.region).name;
}

void fillCandidates(Decision& decision, std::vector<Evaluated>& ranked, const Snapshot& snapshot, int maxCandidates) {
  const size_t k = std::min(ranked.size(), static_cast<size_t>(std::max(1, maxCandidates)));
  decision.candidates.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    decision.candidates.push_back(Candidate{snapshot.region(ranked[i].region).name, ranked[i].score, ranked[i].factors});
  }
}

}  // namespace

Engine::Engine(EngineConfig config) : config_(config) {}

Decision Engine::place(const Snapshot& snapshot, const Request& request) const {
  Decision decision;
  decision.key = request.key;
  decision.regionsTotal = static_cast<int>(snapshot.size());
  auto resolvedOr = resolve(snapshot, request);
  if (!resolvedOr) {
    decision.outcome = Outcome::kInvalid;
    decision.message = resolvedOr.error().message;
    return decision;
  }
  const ResolvedRequest& resolved = resolvedOr.value();
  const Weights weights = effectiveWeights(request, config_.hybridWeights);

  std::vector<Evaluated> feasible;
  std::vector<Evaluated> capacityOnly;  // met every constraint but capacity: preemption material
  std::vector<std::pair<uint32_t, RejectionCode>> codes;
  feasible.reserve(snapshot.size());
  for (size_t i = 0; i < snapshot.size(); ++i) {
    Evaluated e;
    e.region = static_cast<uint32_t>(i);
    if (auto code = filterRegion(snapshot, resolved, i, e.metrics)) {
      codes.emplace_back(e.region, *code);
      if (isCapacityReason(code->reason)) capacityOnly.push_back(std::move(e));
    } else {
      feasible.push_back(std::move(e));
    }
  }
  decision.regionsFeasible = static_cast<int>(feasible.size());
  decision.rejections.reserve(codes.size());
  for (const auto& [region, code] : codes) decision.rejections.push_back(toRejection(snapshot, request, region, code));
  decision.message = summarize(decision.regionsTotal, decision.regionsFeasible, decision.rejections);

  auto byScore = [&](const Evaluated& a, const Evaluated& b) { return higherScore(snapshot, a, b); };
  if (!feasible.empty()) {
    scoreAll(feasible, snapshot, resolved, weights);
    const size_t k = std::min(feasible.size(), static_cast<size_t>(std::max(1, config_.maxCandidates)));
    std::partial_sort(feasible.begin(), feasible.begin() + static_cast<std::ptrdiff_t>(k), feasible.end(), byScore);
    decision.outcome = Outcome::kPlaced;
    decision.region = snapshot.region(feasible.front().region).name;
    decision.score = feasible.front().score;
    fillCandidates(decision, feasible, snapshot, config_.maxCandidates);
    return decision;
  }

  decision.outcome = Outcome::kUnschedulable;
  if (!config_.enablePreemption || capacityOnly.empty()) return decision;

  std::vector<Evaluated> viable;
  for (Evaluated& e : capacityOnly) {
    auto victims = selectVictims(snapshot, e.region, request, e.metrics.allocated);
    if (!victims || victims->vmIds.empty()) continue;
    for (uint32_t id : victims->vmIds) {
      const Resources& r = snapshot.vm(id).resources;
      e.metrics.allocated.cpu -= r.cpu;
      e.metrics.allocated.memoryMiB -= r.memoryMiB;
      e.metrics.allocated.storageGiB -= r.storageGiB;
      e.metrics.allocated.vms -= 1;
    }
    e.victims = std::move(victims);
    viable.push_back(std::move(e));
  }
  if (viable.empty()) return decision;
  scoreAll(viable, snapshot, resolved, weights);
  std::sort(viable.begin(), viable.end(), [&](const Evaluated& a, const Evaluated& b) {
    if (fewerOrLowerVictims(*a.victims, *b.victims)) return true;
    if (fewerOrLowerVictims(*b.victims, *a.victims)) return false;
    return higherScore(snapshot, a, b);
  });
  const Evaluated& best = viable.front();
  decision.outcome = Outcome::kPlacedWithPreemption;
  decision.region = snapshot.region(best.region).name;
  decision.score = best.score;
  for (uint32_t id : best.victims->vmIds) {
    const PlacedVM& vm = snapshot.vm(id);
    decision.victims.push_back(Victim{vm.key, vm.region, vm.resources, vm.priority});
  }
  fillCandidates(decision, viable, snapshot, config_.maxCandidates);
  decision.message += "; preempting " + std::to_string(decision.victims.size()) +
                      (decision.victims.size() == 1 ? " VM in " : " VMs in ") + decision.region;
  return decision;
}

Expected<std::optional<Rejection>> Engine::check(const Snapshot& snapshot, const Request& request,
                                                 std::string_view region) const {
  auto index = snapshot.indexOf(region);
  if (!index) return Error{"region \"" + std::string(region) + "\" is unknown"};
  auto resolvedOr = resolve(snapshot, request);
  if (!resolvedOr) return resolvedOr.error();
  RegionMetrics metrics;
  if (auto code = filterRegion(snapshot, resolvedOr.value(), *index, metrics)) {
    return std::optional<Rejection>(toRejection(snapshot, request, *index, *code));
  }
  return std::optional<Rejection>();
}

std::vector<Decision> Engine::placeBatch(Snapshot& snapshot, std::vector<Request> requests) const {
  std::sort(requests.begin(), requests.end(), [](const Request& a, const Request& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.key < b.key;
  });
  std::vector<Decision> decisions;
  decisions.reserve(requests.size());
  for (const Request& request : requests) {
    Decision decision = place(snapshot, request);
    if (decision.outcome == Outcome::kPlaced || decision.outcome == Outcome::kPlacedWithPreemption) {
      if (auto status = snapshot.commit(request, decision); !status) {
        decision.outcome = Outcome::kUnschedulable;  // unreachable: the region came from this snapshot
        decision.message = status.error().message;
      }
    }
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace dwcp::placement
