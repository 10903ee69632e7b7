// Errors as values for the routing engine (which includes nothing else of the project). An Error
// names its kind, the offending field when there is one, and a human message.
#pragma once

#include "base/result.h"

#include <string>

namespace dwcp::routing {

enum class ErrorCode {
  kInvalidArgument,   // a field of the input is missing or out of range (field names it)
  kNotFound,          // a named region does not exist
  kNoEligibleRegion,  // every region is failed, disabled, draining, ejected or filtered out
};

struct Error {
  ErrorCode code = ErrorCode::kInvalidArgument;
  std::string field;    // e.g. "location.latitude"; empty when not about one field
  std::string message;  // human readable
  std::string toString() const { return field.empty() ? message : field + ": " + message; }
};

template <class T>
using Result = base::Result<T, Error>;

using base::Unit;
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace dwcp::routing
