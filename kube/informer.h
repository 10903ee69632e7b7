// One resource type's watched cache: a Store kept current by a Reflector, with event handlers.
// Owns both; the Client and Clock must outlive it. Thread-safe. Controllers read store() and
// wait for waitForSync() before their first reconcile.
#pragma once

#include <chrono>
#include <utility>

#include "kube/client.h"
#include "kube/clock.h"
#include "kube/reflector.h"
#include "kube/store.h"

namespace dwcp::kube {

class Informer {
 public:
  // options.ns / labelSelector / fieldSelector scope what is cached; `decoder` makes the cached
  // form of each object (the JSON itself when empty).
  Informer(Client& client, ResourceType type, Clock& clock, ReflectorOptions options = {}, Decoder decoder = {});

  void addHandler(EventHandler handler) { reflector_.addHandler(std::move(handler)); }
  // An index over the cache (Store::addIndex); add it before start().
  void addIndex(const std::string& name, IndexFunc values) { store_.addIndex(name, std::move(values)); }
  void start() { reflector_.start(); }
  void stop() { reflector_.stop(); }

  // True once the first list is in the cache and its events reached the handlers.
  bool hasSynced() const { return reflector_.hasSynced(); }
  // Waits on a condition until hasSynced(); false on timeout.
  bool waitForSync(std::chrono::milliseconds timeout) const {
    return reflector_.waitForSync(timeout);
  }

  const ResourceType& type() const { return type_; }
  const Store& store() const { return store_; }
  const Reflector& reflector() const { return reflector_; }

 private:
  const ResourceType type_;
  Store store_;          // declared before reflector_: the reflector writes into it
  Reflector reflector_;
};

}  // namespace dwcp::kube
