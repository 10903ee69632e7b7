// Errors as values for the state engine (no Kubernetes types here). An Error names what went
// wrong in words a region operator can act on; Result<T> holds a T or an Error. Value types.
#pragma once

#include "base/result.h"

#include <string>

namespace dwcp::state {

enum class ErrorCode {
  kQuorumNotReached,  // a quorum/strong write or read did not gather enough regions in time
  kMalformedMessage,  // a peer frame failed validation (bad magic, truncated, inconsistent)
  kUnsupportedVersion,
  kMessageTooLarge,
  kUnknownPeer,       // a frame from a region that is not a configured peer
  kDurabilityFailed,  // the local durable log refused a write at consistency `local` or above
  kInvalidArgument,
};

struct Error {
  ErrorCode code = ErrorCode::kInvalidArgument;
  std::string message;
  // For kQuorumNotReached: regions that answered (this one included) and regions needed.
  size_t answered = 0;
  size_t needed = 0;
};

template <class T>
using Result = base::Result<T, Error>;

using base::Unit;
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace dwcp::state
