// Errors as values at module boundaries. An Error carries the HTTP status (0 for a transport
// failure), the Kubernetes Status reason (e.g. "Conflict", "Expired") and a human message.
#pragma once

#include "base/result.h"

#include <string>

namespace dwcp::kube {

struct Error {
  int code = 0;         // HTTP status; 0 when no response was received
  std::string reason;   // metav1.Status reason, e.g. "NotFound", "Conflict", "Expired"
  std::string message;  // human readable, names the field or object when it can

  bool isNotFound() const { return code == 404; }
  bool isConflict() const { return code == 409; }
  bool isGone() const { return code == 410 || reason == "Expired" || reason == "Gone"; }
  bool isAlreadyExists() const { return code == 409 && reason == "AlreadyExists"; }
  bool isTransport() const { return code == 0; }
  bool isTooManyRequests() const { return code == 429; }
  std::string toString() const;
};

template <class T>
using Result = base::Result<T, Error>;

using base::Unit;
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace dwcp::kube
