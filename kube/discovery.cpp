#include "kube/discovery.h"

#include <algorithm>

namespace dwcp::kube {

Discovery::Discovery(Client& client, Clock& clock, std::chrono::seconds refreshInterval)
    : client_(client), clock_(clock), refreshInterval_(refreshInterval) {}

Status Discovery::refresh(const std::string& apiVersion, GroupVersion& entry) {
  const auto slash = apiVersion.find('/');
  const std::string group = slash == std::string::npos ? "" : apiVersion.substr(0, slash);
  const std::string version = slash == std::string::npos ? apiVersion : apiVersion.substr(slash + 1);
  const std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  Response response = client_.raw({"GET", path, "", "application/json", {}});
  entry.fetchedAt = clock_.steadyNow();
  if (response.status == 404) {
    entry.byKind.clear();
    return okStatus();  // the group-version is not served (yet)
  }
  if (response.status != 200) return errorFromResponse(response);
  json list = json::parse(response.body, nullptr, false);
  if (!list.is_object() || !list.contains("resources") || !list["resources"].is_array()) {
    return Error{response.status, "InvalidResponse", "discovery " + path + ": not an APIResourceList"};
  }
  entry.byKind.clear();
  for (const auto& r : list["resources"]) {
    const std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // subresources
    ResourceType type{group, version, name, r.value("kind", ""), r.value("namespaced", false)};
    entry.byKind.emplace(type.kind, type);
  }
  return okStatus();
}

Result<ResourceType> Discovery::resourceFor(const std::string& apiVersion, const std::string& kind) {
  if (apiVersion.empty() || apiVersion.front() == '/' || apiVersion.back() == '/' ||
      std::count(apiVersion.begin(), apiVersion.end(), '/') > 1) {
    return Error{422, "Invalid", "apiVersion \"" + apiVersion + "\" is not VERSION or GROUP/VERSION"};
  }
  if (kind.empty()) return Error{422, "Invalid", "kind is empty"};
  std::lock_guard lock(mu_);
  auto [it, inserted] = cache_.try_emplace(apiVersion);
  GroupVersion& entry = it->second;
  auto found = entry.byKind.find(kind);
  const bool stale = clock_.steadyNow() - entry.fetchedAt >= refreshInterval_;
  if (found == entry.byKind.end() && (inserted || stale)) {
    if (auto s = refresh(apiVersion, entry); !s.ok()) {
      if (inserted) cache_.erase(it);
      return s.error();
    }
    found = entry.byKind.find(kind);
  }
  if (found == entry.byKind.end()) {
    return Error{404, "NotFound", "the API server serves no kind " + kind + " in " + apiVersion};
  }
  return found->second;
}

}  // namespace dwcp::kube
