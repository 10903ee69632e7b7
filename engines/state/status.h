// Errors as values for the state engine (no Kubernetes types here). An Error names what went
// wrong in words a region operator can act on; Result<T> holds a T or an Error. Value types.
#pragma once

#include <string>
#include <utility>
#include <variant>

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

// Result<T> holds either a T or an Error. Accessing the wrong alternative throws
// std::bad_variant_access; callers check ok() first.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace dwcp::state
