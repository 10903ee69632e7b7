// The one poll-until-true helper of the tests: a bound on correctness, not on speed. A test that
// uses it fails only when the condition never holds within the (generous) timeout.
#pragma once

#include <chrono>
#include <thread>

namespace dwcp::base::testing {

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}

}  // namespace dwcp::base::testing
