// A typed-path, untyped-body REST client for the Kubernetes API: objects are nlohmann::json.
// Every call returns a Result: the object on success, or an Error built from the server's
// metav1.Status (code, reason, message). Thread-safe; the Transport does the I/O.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "kube/result.h"
#include "kube/transport.h"

namespace dwcp::kube {

using json = nlohmann::json;

// Which collection a call addresses: group "" is the core API (/api/v1).
struct ResourceType {
  std::string group;
  std::string version;
  std::string resource;  // plural, lower case: "regions", "leases"
  std::string kind;
  bool namespaced = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "/apis/G/V[/namespaces/NS]/RESOURCE[/NAME][/SUBRESOURCE]"; ns is ignored for cluster scope.
  std::string path(const std::string& ns = "", const std::string& name = "",
                    const std::string& subresource = "") const;
};

struct DeletePreconditions {
  std::string uid;
};

enum class PatchType { kMerge, kJson, kStrategicMerge, kApply };

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;
  std::string resourceVersionMatch;
  int limit = 0;
  std::string continueToken;
};

struct WatchOptions {
  std::string resourceVersion;
  std::string labelSelector;
  std::string fieldSelector;
  int timeoutSeconds = 300;
  bool allowBookmarks = true;
  bool sendInitialEvents = false;  // streaming list; needs resourceVersionMatch=NotOlderThan
};

// Decides, just before a write (POST, PUT, PATCH, DELETE) is sent, whether it may be sent: an
// error refuses it unsent. The operator guards its controllers' client with the leader elector.
using WriteGuard = std::function<Status()>;

class Client {
 public:
  explicit Client(std::shared_ptr<Transport> transport);

  // A client over the same transport whose every request must finish within `timeout`
  // (Request::timeout). Copies share the write guard.
  Client withTimeout(std::chrono::milliseconds timeout) const;
  // Set before the client is shared between threads.
  void setWriteGuard(WriteGuard guard);

  Result<json> get(const ResourceType& type, const std::string& ns, const std::string& name);
  // Lists every page (limit/continue) and returns one List with the last page's resourceVersion.
  Result<json> list(const ResourceType& type, const std::string& ns, const ListOptions& options = {});
  Result<json> create(const ResourceType& type, const std::string& ns, const json& object);
  // PUT of the whole object; the object's metadata.resourceVersion is the precondition.
  Result<json> update(const ResourceType& type, const json& object);
  // PUT to /status; writes only status (the status subresource).
  Result<json> updateStatus(const ResourceType& type, const json& object);
  Result<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                     PatchType patchType, const json& patch, const std::string& subresource = "",
                     const std::string& fieldManager = "", bool force = false);
  // Server-side apply to /status under `fieldManager`, forcing conflicts: `object` carries
  // apiVersion, kind, metadata.name (and namespace) and only the status fields this manager owns;
  // fields other managers own survive, owned fields it leaves out are removed. A
  // metadata.resourceVersion in `object` is a precondition (409 Conflict when it is stale).
  Result<json> applyStatus(const ResourceType& type, const json& object, const std::string& fieldManager);
  Status remove(const ResourceType& type, const std::string& ns, const std::string& name);
  // DELETE that the server refuses (409 Conflict) unless the object's metadata.uid is `uid`: the
  // object that was checked is the one deleted, never one re-created under its name.
  Status remove(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeletePreconditions& preconditions);
  // Opens a watch stream; the caller reads lines of JSON events from it.
  StreamResponse watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
                       std::chrono::seconds idleTimeout);
  // Raw request for paths outside the typed helpers (/readyz, discovery).
  Response raw(const Request& request) { return transport_->send(request); }

  Transport& transport() { return *transport_; }

 private:
  Result<json> call(Request request);
  std::shared_ptr<Transport> transport_;
  std::shared_ptr<const WriteGuard> writeGuard_;
  std::chrono::milliseconds timeout_{0};
};

// Builds an Error from a non-2xx response (a metav1.Status body when the server sent one).
Error errorFromResponse(const Response& response);
// Percent-encodes a query value.
std::string urlEncode(const std::string& value);

}  // namespace dwcp::kube
