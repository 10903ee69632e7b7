// Errors as values for the routing engine (which includes nothing else of the project). An Error
// names its kind, the offending field when there is one, and a human message.
#pragma once

#include <string>
#include <utility>
#include <variant>

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

// Holds either a T or an Error; check ok() before value().
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
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

}  // namespace dwcp::routing
