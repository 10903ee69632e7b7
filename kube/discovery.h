// Maps an apiVersion and kind to the REST resource that serves it (a RESTMapper), from the API
// server's discovery documents (/api/v1, /apis/GROUP/VERSION). Results are cached per
// group-version; an unknown kind re-reads discovery at most once per `refreshInterval` (a CRD
// may have just been installed). Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "kube/client.h"
#include "kube/clock.h"
#include "kube/result.h"

namespace dwcp::kube {

class Discovery {
 public:
  explicit Discovery(Client& client, Clock& clock = RealClock::instance(),
                     std::chrono::seconds refreshInterval = std::chrono::seconds(10));

  // The resource for apiVersion ("v1", "kubevirt.io/v1") and kind. Errors: 404 NotFound when the
  // group-version or kind is not served (message names them), or the discovery request's error.
  Result<ResourceType> resourceFor(const std::string& apiVersion, const std::string& kind);

 private:
  struct GroupVersion {
    std::map<std::string, ResourceType> byKind;
    Clock::SteadyTime fetchedAt{};
  };
  Status refresh(const std::string& apiVersion, GroupVersion& entry);

  Client& client_;
  Clock& clock_;
  std::chrono::seconds refreshInterval_;
  std::mutex mu_;
  std::map<std::string, GroupVersion> cache_;
};

}  // namespace dwcp::kube
