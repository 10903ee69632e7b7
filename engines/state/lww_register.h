// Last-writer-wins register ordered by hybrid logical clock timestamps (physical ms, logical
// counter, replica id), never by wall clock alone, so the order is total and respects the
// causality the HLC has observed. Value type; not thread-safe.
#pragma once

#include <optional>
#include <string>

#include "engines/state/hlc.h"

namespace dwcp::state {

class LWWRegister {
 public:
  // Sets the value at `timestamp`; returns the delta (the new register), or an empty register
  // when `timestamp` is not newer than the current one (nothing changes).
  LWWRegister assign(std::string value, const HlcTimestamp& timestamp);
  void join(const LWWRegister& other);
  const std::optional<std::string>& value() const { return value_; }
  const HlcTimestamp& timestamp() const { return timestamp_; }
  bool operator==(const LWWRegister&) const = default;

 private:
  HlcTimestamp timestamp_;
  std::optional<std::string> value_;
};

}  // namespace dwcp::state
