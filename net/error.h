// The error of the network layer: what failed, in words an operator can act on (the address,
// the file, the certificate). Result<T> holds a T or an Error.
#pragma once

#include <string>

#include "base/result.h"

namespace dwcp::net {

struct Error {
  std::string message;
};

template <class T>
using Result = base::Result<T, Error>;
using Status = Result<base::Unit>;

}  // namespace dwcp::net
