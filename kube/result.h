// Errors as values at module boundaries. An Error carries the HTTP status (0 for a transport
// failure), the Kubernetes Status reason (e.g. "Conflict", "Expired") and a human message.
#pragma once

#include <string>
#include <utility>
#include <variant>

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

// Result<T> holds either a T or an Error. Accessing the wrong alternative throws
// std::bad_variant_access; callers check ok() first.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace dwcp::kube
