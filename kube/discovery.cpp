#include "kube/discovery.h"

#include <algorithm>

namespace dwcp::kube {

Discovery::Discovery(Client& client, Clock& clock, std::chrono::seconds refreshInterval)
    : client_(client), clock_(clock), refreshInterval_(refreshInterval) {}

Result<std::map<std::string, ResourceType>> Discovery::fetch(const std::string& apiVersion) {
  const auto slash = apiVersion.find('/');
  const std::string group = slash == std::string::npos ? "" : apiVersion.substr(0, slash);
  const std::string version = slash == std::string::npos ? apiVersion : apiVersion.substr(slash + 1);
  const std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  Response response = client_.raw({"GET", path, "", "application/json", {}});
  std::map<std::string, ResourceType> byKind;
  if (response.status == 404) return byKind;  // the group-version is not served (yet)
  if (response.status != 200) return errorFromResponse(response);
  json list = json::parse(response.body, nullptr, false);
  if (!list.is_object() || !list.contains("resources") || !list["resources"].is_array()) {
    return Error{response.status, "InvalidResponse", "discovery " + path + ": not an APIResourceList"};
  }
  for (const auto& r : list["resources"]) {
    if (!r.is_object()) continue;
    const std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // subresources
    ResourceType type{group, version, name, r.value("kind", ""), r.value("namespaced", false)};
    byKind.emplace(type.kind, type);
  }
  return byKind;
}

Result<ResourceType> Discovery::resourceFor(const std::string& apiVersion, const std::string& kind) {
  if (apiVersion.empty() || apiVersion.front() == '/' || apiVersion.back() == '/' ||
      std::count(apiVersion.begin(), apiVersion.end(), '/') > 1) {
    return Error{422, "Invalid", "apiVersion \"" + apiVersion + "\" is not VERSION or GROUP/VERSION"};
  }
  if (kind.empty()) return Error{422, "Invalid", "kind is empty"};
  auto notServed = [&] {
    return Error{404, "NotFound", "the API server serves no kind " + kind + " in " + apiVersion};
  };
  std::unique_lock lock(mu_);
  for (;;) {
    GroupVersion& entry = cache_[apiVersion];  // std::map: references stay valid across unlocks
    if (auto found = entry.byKind.find(kind); found != entry.byKind.end()) return found->second;
    if (entry.fetching) {
      // Another thread is reading this group-version: share its result.
      fetched_.wait(lock, [&] { return !entry.fetching; });
      if (auto found = entry.byKind.find(kind); found != entry.byKind.end()) return found->second;
      if (entry.fetched) return notServed();
      continue;  // that read failed: try our own
    }
    const bool stale = clock_.steadyNow() - entry.fetchedAt >= refreshInterval_;
    if (entry.fetched && !stale) return notServed();

    entry.fetching = true;
    lock.unlock();
    auto read = fetch(apiVersion);
    lock.lock();
    entry.fetching = false;
    fetched_.notify_all();
    if (!read.ok()) return read.error();  // not cached: the next lookup reads again
    entry.byKind = std::move(read.value());
    entry.fetched = true;
    entry.fetchedAt = clock_.steadyNow();
    if (auto found = entry.byKind.find(kind); found != entry.byKind.end()) return found->second;
    return notServed();
  }
}

}  // namespace dwcp::kube
