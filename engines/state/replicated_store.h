// The replicated key-value state of one region: an observed-remove map whose values are
// multi-value registers tracked with dotted version vectors. Every write is a dot plus the
// per-key causal context it replaces ("supersedes"), so a write removes exactly the versions
// its writer had seen; concurrent writes are kept side by side (siblings) and reads pick the
// one with the highest HLC timestamp, so no acknowledged write is dropped by a merge. Deletions
// and expired TTL entries are markers until every region has seen them, then collected.
// Value type; not thread-safe (GeoDistributedState synchronizes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engines/state/hlc.h"
#include "engines/state/version_vector.h"

namespace dwcp::state {

struct StoreEntry {
  std::string key;
  Dot dot;                            // this write's identity
  HlcTimestamp hlc;                   // orders concurrent siblings on read
  std::optional<std::string> value;   // nullopt: a deletion marker
  int64_t expiresAtMillis = 0;        // 0: no TTL; otherwise physical ms (HLC time base)
  VersionVector supersedes;           // versions of `key` this write replaced
  bool operator==(const StoreEntry&) const = default;
};

// A join-able piece of state: entries plus the dots it accounts for. Dots in `context` with no
// entry here were replaced by entries here, or are already replaced at the receiver.
struct StoreDelta {
  std::vector<StoreEntry> entries;
  DotContext context;
  bool empty() const { return entries.empty() && context.empty(); }
  bool operator==(const StoreDelta&) const = default;
};

class ReplicatedStore {
 public:
  explicit ReplicatedStore(ReplicaId self) : self_(self) {}

  // Local mutations: apply here and return the delta to replicate (one entry, one dot).
  // expiresAtMillis 0 means no TTL; a nullopt value is a removal.
  StoreDelta put(const std::string& key, std::string value, const HlcTimestamp& hlc, int64_t expiresAtMillis = 0);
  StoreDelta remove(const std::string& key, const HlcTimestamp& hlc);
  // The delta put/remove would produce, without applying it (apply() it to commit): lets a
  // caller make the write durable first.
  StoreDelta prepare(const std::string& key, std::optional<std::string> value, const HlcTimestamp& hlc,
                     int64_t expiresAtMillis) const;

  // Joins a delta from any replica (idempotent, order-independent). Returns how many entries
  // were new here; their keys are appended to `freshKeys` when given.
  size_t apply(const StoreDelta& delta, std::vector<std::string>* freshKeys = nullptr);
  // Folds `later` into `batch` (same origin, later in time): entries `later` replaces leave.
  static void coalesce(StoreDelta& batch, const StoreDelta& later);

  // The value of `key` at `nowMillis`: the sibling with the highest HLC, unless it is a
  // deletion marker or expired.
  std::optional<std::string> get(const std::string& key, int64_t nowMillis) const;
  std::vector<StoreEntry> siblings(const std::string& key) const;
  std::vector<std::string> keys() const;

  // What a peer whose causal context is `peer` lacks: the entries it has not seen, plus this
  // store's context, entries in dot order. Empty `peer` yields the full state.
  StoreDelta missingFrom(const DotContext& peer) const;

  // Drops deletion markers and expired entries that every region has seen (`stable` is the
  // pointwise minimum of all regions' compact contexts). Returns how many were dropped.
  size_t collectGarbage(const VersionVector& stable, int64_t nowMillis);

  const DotContext& context() const { return context_; }
  ReplicaId self() const { return self_; }
  size_t entryCount() const;
  // Same entries (as sets per key) and same context: what convergence means.
  bool sameContent(const ReplicatedStore& other) const;

 private:
  struct KeyState {
    std::vector<StoreEntry> siblings;
    VersionVector history;  // every version of this key seen or replaced here
  };
  bool incorporate(const StoreEntry& entry);

  ReplicaId self_;
  std::unordered_map<std::string, KeyState> keys_;
  DotContext context_;
};

}  // namespace dwcp::state
