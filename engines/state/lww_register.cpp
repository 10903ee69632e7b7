#include "engines/state/lww_register.h"

namespace dwcp::state {

LWWRegister LWWRegister::assign(std::string value, const HlcTimestamp& timestamp) {
  if (value_.has_value() && !(timestamp_ < timestamp)) return LWWRegister{};
  timestamp_ = timestamp;
  value_ = std::move(value);
  return *this;
}

void LWWRegister::join(const LWWRegister& other) {
  if (!other.value_.has_value()) return;
  if (!value_.has_value() || timestamp_ < other.timestamp_) *this = other;
}

}  // namespace dwcp::state
