#include "engines/state/lww_map.h"

namespace dwcp::state {

LWWMap LWWMap::set(const std::string& key, Slot slot) {
  LWWMap delta;
  auto it = slots_.find(key);
  if (it != slots_.end() && !(it->second.timestamp < slot.timestamp)) return delta;
  slots_[key] = slot;
  delta.slots_.emplace(key, std::move(slot));
  return delta;
}

LWWMap LWWMap::put(const std::string& key, std::string value, const HlcTimestamp& timestamp) {
  return set(key, Slot{timestamp, std::move(value)});
}

LWWMap LWWMap::remove(const std::string& key, const HlcTimestamp& timestamp) {
  return set(key, Slot{timestamp, std::nullopt});
}

void LWWMap::join(const LWWMap& other) {
  for (const auto& [key, slot] : other.slots_) {
    auto it = slots_.find(key);
    if (it == slots_.end()) {
      slots_.emplace(key, slot);
    } else if (it->second.timestamp < slot.timestamp) {
      it->second = slot;
    }
  }
}

std::optional<std::string> LWWMap::get(const std::string& key) const {
  auto it = slots_.find(key);
  if (it == slots_.end()) return std::nullopt;
  return it->second.value;
}

size_t LWWMap::purge(const HlcTimestamp& stableBefore) {
  size_t purged = 0;
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (!it->second.value.has_value() && it->second.timestamp < stableBefore) {
      it = slots_.erase(it);
      ++purged;
    } else {
      ++it;
    }
  }
  return purged;
}

}  // namespace dwcp::state
