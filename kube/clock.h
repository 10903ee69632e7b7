// kube/ uses the project's one clock (base/clock.h); these names stay for the code that has not
// moved yet.
#pragma once

#include "base/clock.h"

namespace dwcp::kube {

using base::Clock;
using base::FakeClock;
using base::RealClock;

}  // namespace dwcp::kube
