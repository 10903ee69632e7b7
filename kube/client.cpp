#include "kube/client.h"

#include <cstdio>

namespace dwcp::kube {

std::string Error::toString() const {
  std::string out = code == 0 ? "transport error" : "HTTP " + std::to_string(code);
  if (!reason.empty()) out += " " + reason;
  if (!message.empty()) out += ": " + message;
  return out;
}

std::string ResourceType::path(const std::string& ns, const std::string& name,
                               const std::string& subresource) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) p += "/namespaces/" + ns;
  p += "/" + resource;
  if (!name.empty()) p += "/" + name;
  if (!subresource.empty()) p += "/" + subresource;
  return p;
}

std::string urlEncode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

namespace {

void addQuery(std::string& path, const std::string& key, const std::string& value) {
  if (value.empty()) return;
  path += (path.find('?') == std::string::npos ? '?' : '&');
  path += key + "=" + urlEncode(value);
}

std::string objectNamespace(const json& object) {
  return object.value("/metadata/namespace"_json_pointer, std::string());
}
std::string objectName(const json& object) {
  return object.value("/metadata/name"_json_pointer, std::string());
}

}  // namespace

Error errorFromResponse(const Response& response) {
  Error error;
  error.code = response.status;
  if (response.status == 0) {
    error.message = response.body;
    return error;
  }
  json status = json::parse(response.body, nullptr, false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    error.reason = status.value("reason", "");
    error.message = status.value("message", "");
  } else {
    error.message = response.body.substr(0, 512);
  }
  if (error.reason.empty()) {
    switch (response.status) {
      case 404: error.reason = "NotFound"; break;
      case 409: error.reason = "Conflict"; break;
      case 410: error.reason = "Expired"; break;
      case 422: error.reason = "Invalid"; break;
      case 429: error.reason = "TooManyRequests"; break;
      default: break;
    }
  }
  return error;
}

Client::Client(std::shared_ptr<Transport> transport) : transport_(std::move(transport)) {}

Client Client::withTimeout(std::chrono::milliseconds timeout) const {
  Client bounded = *this;
  bounded.timeout_ = timeout;
  return bounded;
}

void Client::setWriteGuard(WriteGuard guard) {
  writeGuard_ = guard ? std::make_shared<const WriteGuard>(std::move(guard)) : nullptr;
}

Result<json> Client::call(Request request) {
  if (writeGuard_ && request.method != "GET") {
    if (Status allowed = (*writeGuard_)(); !allowed.ok()) return allowed.error();
  }
  if (timeout_.count() > 0 && (request.timeout.count() == 0 || timeout_ < request.timeout)) {
    request.timeout = timeout_;
  }
  Response response = transport_->send(request);
  if (response.status < 200 || response.status >= 300) return errorFromResponse(response);
  if (response.body.empty()) return json::object();
  json body = json::parse(response.body, nullptr, false);
  if (body.is_discarded()) {
    return Error{response.status, "InvalidResponse", "response body is not JSON"};
  }
  return body;
}

Result<json> Client::get(const ResourceType& type, const std::string& ns, const std::string& name) {
  return call({"GET", type.path(ns, name), "", "application/json", {}});
}

Result<json> Client::list(const ResourceType& type, const std::string& ns, const ListOptions& options) {
  json result;
  std::string continueToken = options.continueToken;
  do {
    std::string path = type.path(ns);
    addQuery(path, "labelSelector", options.labelSelector);
    addQuery(path, "fieldSelector", options.fieldSelector);
    if (continueToken.empty()) {
      addQuery(path, "resourceVersion", options.resourceVersion);
      addQuery(path, "resourceVersionMatch", options.resourceVersionMatch);
    }
    if (options.limit > 0) addQuery(path, "limit", std::to_string(options.limit));
    addQuery(path, "continue", continueToken);
    auto page = call({"GET", path, "", "application/json", {}});
    if (!page.ok()) return page.error();
    json& body = page.value();
    if (result.is_null()) {
      result = std::move(body);
    } else {
      auto& items = result["items"];
      for (auto& item : body["items"]) items.push_back(std::move(item));
      result["metadata"] = body["metadata"];
    }
    continueToken = result.value("/metadata/continue"_json_pointer, std::string());
    if (options.limit <= 0) break;
  } while (!continueToken.empty());
  if (!result.contains("items") || result["items"].is_null()) result["items"] = json::array();
  if (result.contains("metadata")) result["metadata"].erase("continue");
  return result;
}

Result<json> Client::create(const ResourceType& type, const std::string& ns, const json& object) {
  return call({"POST", type.path(ns), object.dump(), "application/json", {}});
}

Result<json> Client::update(const ResourceType& type, const json& object) {
  return call({"PUT", type.path(objectNamespace(object), objectName(object)), object.dump(),
               "application/json", {}});
}

Result<json> Client::updateStatus(const ResourceType& type, const json& object) {
  return call({"PUT", type.path(objectNamespace(object), objectName(object), "status"),
               object.dump(), "application/json", {}});
}

Result<json> Client::patch(const ResourceType& type, const std::string& ns, const std::string& name,
                           PatchType patchType, const json& patch, const std::string& subresource,
                           const std::string& fieldManager, bool force) {
  std::string contentType;
  switch (patchType) {
    case PatchType::kMerge: contentType = "application/merge-patch+json"; break;
    case PatchType::kJson: contentType = "application/json-patch+json"; break;
    case PatchType::kStrategicMerge: contentType = "application/strategic-merge-patch+json"; break;
    case PatchType::kApply: contentType = "application/apply-patch+yaml"; break;
  }
  std::string path = type.path(ns, name, subresource);
  addQuery(path, "fieldManager", fieldManager);
  if (force) addQuery(path, "force", "true");
  return call({"PATCH", path, patch.dump(), contentType, {}});
}

Result<json> Client::applyStatus(const ResourceType& type, const json& object, const std::string& fieldManager) {
  return patch(type, objectNamespace(object), objectName(object), PatchType::kApply, object, "status", fieldManager,
               /*force=*/true);
}

Status Client::remove(const ResourceType& type, const std::string& ns, const std::string& name) {
  auto result = call({"DELETE", type.path(ns, name), "", "application/json", {}});
  if (!result.ok()) return result.error();
  return okStatus();
}

Status Client::remove(const ResourceType& type, const std::string& ns, const std::string& name,
                      const DeletePreconditions& preconditions) {
  const json options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"preconditions", {{"uid", preconditions.uid}}}};
  auto result = call({"DELETE", type.path(ns, name), options.dump(), "application/json", {}});
  if (!result.ok()) return result.error();
  return okStatus();
}

StreamResponse Client::watch(const ResourceType& type, const std::string& ns,
                             const WatchOptions& options, std::chrono::seconds idleTimeout) {
  std::string path = type.path(ns);
  addQuery(path, "watch", "1");
  addQuery(path, "resourceVersion", options.resourceVersion);
  addQuery(path, "labelSelector", options.labelSelector);
  addQuery(path, "fieldSelector", options.fieldSelector);
  addQuery(path, "timeoutSeconds", std::to_string(options.timeoutSeconds));
  if (options.allowBookmarks) addQuery(path, "allowWatchBookmarks", "true");
  if (options.sendInitialEvents) {
    addQuery(path, "sendInitialEvents", "true");
    addQuery(path, "resourceVersionMatch", "NotOlderThan");
  }
  return transport_->openStream({"GET", path, "", "application/json", {}}, idleTimeout);
}

}  // namespace dwcp::kube
