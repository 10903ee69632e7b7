// Dotted-version-vector map. incorporate() is the whole merge rule: skip a version already seen
// or already replaced; otherwise drop the siblings it supersedes and keep it. The chain
// argument for anti-entropy: a dot this store holds in its context but not as an entry was
// replaced by an entry that is still here or that the peer has already seen, so sending the
// whole context with only the missing entries never hides a live version.
#include "engines/state/replicated_store.h"

#include <algorithm>
#include <set>

namespace dwcp::state {

StoreDelta ReplicatedStore::prepare(const std::string& key, std::optional<std::string> value,
                                    const HlcTimestamp& hlc, int64_t expiresAtMillis) const {
  StoreEntry entry;
  entry.key = key;
  entry.dot = Dot{self_, context_.compact().get(self_) + 1};
  while (context_.contains(entry.dot)) ++entry.dot.counter;  // only if a peer echoed our future dots
  entry.hlc = hlc;
  entry.value = std::move(value);
  entry.expiresAtMillis = expiresAtMillis;
  if (auto it = keys_.find(key); it != keys_.end()) entry.supersedes = it->second.history;
  StoreDelta delta;
  delta.context.add(entry.dot);
  delta.entries.push_back(std::move(entry));
  return delta;
}

StoreDelta ReplicatedStore::put(const std::string& key, std::string value, const HlcTimestamp& hlc,
                                int64_t expiresAtMillis) {
  StoreDelta delta = prepare(key, std::move(value), hlc, expiresAtMillis);
  apply(delta);
  return delta;
}

StoreDelta ReplicatedStore::remove(const std::string& key, const HlcTimestamp& hlc) {
  StoreDelta delta = prepare(key, std::nullopt, hlc, 0);
  apply(delta);
  return delta;
}

bool ReplicatedStore::incorporate(const StoreEntry& entry) {
  if (context_.contains(entry.dot)) return false;
  KeyState& state = keys_[entry.key];
  if (state.history.covers(entry.dot)) {
    context_.add(entry.dot);
    return false;
  }
  std::erase_if(state.siblings, [&](const StoreEntry& s) { return entry.supersedes.covers(s.dot); });
  state.siblings.push_back(entry);
  state.history.merge(entry.supersedes);
  state.history.raise(entry.dot.replica, entry.dot.counter);
  context_.add(entry.dot);
  return true;
}

size_t ReplicatedStore::apply(const StoreDelta& delta, std::vector<std::string>* freshKeys) {
  size_t fresh = 0;
  for (const StoreEntry& entry : delta.entries) {
    if (!incorporate(entry)) continue;
    ++fresh;
    if (freshKeys) freshKeys->push_back(entry.key);
  }
  context_.merge(delta.context);
  return fresh;
}

void ReplicatedStore::coalesce(StoreDelta& batch, const StoreDelta& later) {
  for (const StoreEntry& entry : later.entries) {
    std::erase_if(batch.entries, [&](const StoreEntry& e) { return e.key == entry.key && entry.supersedes.covers(e.dot); });
    batch.entries.push_back(entry);
  }
  batch.context.merge(later.context);
}

std::optional<std::string> ReplicatedStore::get(const std::string& key, int64_t nowMillis) const {
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.siblings.empty()) return std::nullopt;
  const auto& siblings = it->second.siblings;
  const StoreEntry& winner = *std::max_element(
      siblings.begin(), siblings.end(), [](const StoreEntry& a, const StoreEntry& b) { return a.hlc < b.hlc; });
  if (!winner.value.has_value()) return std::nullopt;
  if (winner.expiresAtMillis != 0 && winner.expiresAtMillis <= nowMillis) return std::nullopt;
  return winner.value;
}

std::vector<StoreEntry> ReplicatedStore::siblings(const std::string& key) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return {};
  return it->second.siblings;
}

std::vector<std::string> ReplicatedStore::keys() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& [key, state] : keys_) {
    if (!state.siblings.empty()) out.push_back(key);
  }
  std::sort(out.begin(), out.end());
  return out;
}

StoreDelta ReplicatedStore::missingFrom(const DotContext& peer) const {
  StoreDelta delta;
  for (const auto& [key, state] : keys_) {
    for (const StoreEntry& entry : state.siblings) {
      if (!peer.contains(entry.dot)) delta.entries.push_back(entry);
    }
  }
  // In dot order, each entry differs little from the previous one (wire.h encodes the difference).
  std::sort(delta.entries.begin(), delta.entries.end(),
            [](const StoreEntry& a, const StoreEntry& b) { return a.dot < b.dot; });
  delta.context = context_;
  return delta;
}

size_t ReplicatedStore::collectGarbage(const VersionVector& stable, int64_t nowMillis) {
  size_t dropped = 0;
  for (auto it = keys_.begin(); it != keys_.end();) {
    auto& siblings = it->second.siblings;
    dropped += std::erase_if(siblings, [&](const StoreEntry& s) {
      const bool dead = !s.value.has_value() || (s.expiresAtMillis != 0 && s.expiresAtMillis <= nowMillis);
      return dead && stable.covers(s.dot) && stable.dominates(s.supersedes) && context_.compact().covers(s.dot);
    });
    if (siblings.empty() && stable.dominates(it->second.history)) {
      it = keys_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

size_t ReplicatedStore::entryCount() const {
  size_t count = 0;
  for (const auto& [key, state] : keys_) count += state.siblings.size();
  return count;
}

bool ReplicatedStore::sameContent(const ReplicatedStore& other) const {
  if (!(context_ == other.context_)) return false;
  auto live = [](const ReplicatedStore& store) {
    std::set<std::pair<std::string, Dot>> out;
    for (const auto& [key, state] : store.keys_) {
      for (const StoreEntry& s : state.siblings) out.insert({key, s.dot});
    }
    return out;
  };
  return live(*this) == live(other);
}

}  // namespace dwcp::state
