// Map of string keys to last-writer-wins values, ordered by HLC timestamps. A removal is a
// timestamped tombstone (LWW needs one to beat older puts that arrive late); purge() drops
// tombstones older than a timestamp every replica has passed. For causal, sibling-keeping
// semantics use ReplicatedStore. Value type; not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "engines/state/hlc.h"

namespace dwcp::state {

class LWWMap {
 public:
  struct Slot {
    HlcTimestamp timestamp;
    std::optional<std::string> value;  // nullopt: removed
    bool operator==(const Slot&) const = default;
  };

  // Mutators return the delta (one slot), or an empty map when `timestamp` loses to the slot.
  LWWMap put(const std::string& key, std::string value, const HlcTimestamp& timestamp);
  LWWMap remove(const std::string& key, const HlcTimestamp& timestamp);
  void join(const LWWMap& other);
  std::optional<std::string> get(const std::string& key) const;
  // Drops tombstones whose timestamp is below `stableBefore`; returns how many.
  size_t purge(const HlcTimestamp& stableBefore);
  const std::map<std::string, Slot>& slots() const { return slots_; }
  bool operator==(const LWWMap&) const = default;

 private:
  LWWMap set(const std::string& key, Slot slot);
  std::map<std::string, Slot> slots_;
};

}  // namespace dwcp::state
