// What the controllers need of the federation's peers: the records the regions replicate
// (api/federation.h: heartbeats, placement records, reservation answers) and what this operator
// measures of its own peer links. The operator implements it over federation/ (the mutual-TLS
// transport and the replicated state) and wires it; controllers never include federation/. With no
// Federation (a null pointer in the deps) an operator runs alone: remote regions stay Unknown and
// it places VMs in any region from its own view, as a planner.
// Implementations are thread-safe; writes return at once and replicate in the background.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/federation.h"
#include "base/clock.h"

namespace dwcp::controllers {

class Federation {
 public:
  virtual ~Federation() = default;

  // The latest heartbeat heard from `region`, with when it was heard here (this clock, not the
  // sender's).
  struct Heard {
    api::Heartbeat heartbeat;
    base::Clock::SteadyTime heardAt;
    base::Clock::WallTime heardAtWall;
  };
  virtual std::optional<Heard> heartbeat(const std::string& region) const = 0;
  // This region's links to each peer, as measured here.
  virtual std::vector<api::PeerLink> links() const = 0;
  // A region is suspected when nothing was heard from it for this long.
  virtual std::chrono::milliseconds suspectAfter() const = 0;

  // Placement records, by the VM's uid (written by its home region only).
  virtual std::optional<api::PlacementRecord> record(const std::string& uid) const = 0;
  // Every record that places a VM in `region`.
  virtual std::vector<api::PlacementRecord> recordsIn(const std::string& region) const = 0;
  // Writes this region's record (no write when the replicated value is equal already).
  virtual void putRecord(const api::PlacementRecord& record) = 0;
  virtual void removeRecord(const std::string& uid) = 0;

  // Answers to records, written by the region they place the VM in.
  virtual std::optional<api::ReservationAnswer> answer(const std::string& region, const std::string& uid) const = 0;
  // Writes this region's answer (no write when equal already).
  virtual void putAnswer(const api::ReservationAnswer& answer) = 0;
  virtual void removeAnswer(const std::string& uid) = 0;
  // The uids this region has answered.
  virtual std::vector<std::string> answeredUids() const = 0;

  // Whether this operator has held, since it started, everything `region` had: only then does an
  // absent record of that region mean it was removed.
  virtual bool caughtUpWith(const std::string& region) const = 0;
};

}  // namespace dwcp::controllers
