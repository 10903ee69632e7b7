// Errors as values, the one result type of the project. Each layer keeps its own Error (kube's
// carries the HTTP status, the engines' name a field or a quorum) and spells its result
// `Result<T>` as an alias of base::Result<T, Error>.
#pragma once

#include <utility>
#include <variant>

namespace dwcp::base {

// Holds either a T or an E. Accessing the wrong alternative throws std::bad_variant_access;
// callers check ok() first.
template <class T, class E>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// The value of a result that carries only success or an error.
struct Unit {};

}  // namespace dwcp::base
