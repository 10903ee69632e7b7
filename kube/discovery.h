// Maps an apiVersion and kind to the REST resource that serves it (a RESTMapper), from the API
// server's discovery documents (/api/v1, /apis/GROUP/VERSION). Results are cached per
// group-version; an unknown kind re-reads discovery at most once per `refreshInterval` (a CRD
// may have just been installed). Thread-safe; no lock is held across HTTP, and concurrent
// lookups of one group-version share a single discovery read.
#pragma once

#include <chrono>
#include <condition_variable>
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
    bool fetched = false;   // byKind holds a discovery read's result
    bool fetching = false;  // a thread is reading discovery for it (without mu_)
  };
  // Reads discovery for apiVersion; an empty map when the group-version is not served.
  Result<std::map<std::string, ResourceType>> fetch(const std::string& apiVersion);

  Client& client_;
  Clock& clock_;
  std::chrono::seconds refreshInterval_;
  std::mutex mu_;
  std::condition_variable fetched_;  // a fetch ended
  std::map<std::string, GroupVersion> cache_;
};

}  // namespace dwcp::kube
