// The informer cache: key ("namespace/name", or "name" for cluster-scoped objects) -> the last
// known object. Objects are immutable shared snapshots, so readers keep what they got while the
// cache moves on. Thread-safe; replace() swaps a fully built map in at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dwcp::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// "namespace/name", or "name" when the object has no namespace; "" when it has no name.
std::string objectKey(const nlohmann::json& object);

// One difference a replace() made, for event handlers. `before` is null for kAdded, `after` is
// null for kDeleted.
struct StoreChange {
  enum class Kind { kAdded, kUpdated, kDeleted };
  Kind kind = Kind::kAdded;
  std::string key;
  ObjectPtr before;
  ObjectPtr after;
};

// The values an object is indexed under (client-go's IndexFunc), e.g. its status.region; none
// leaves it out of the index. Called under the store's lock: pure, fast, never throws.
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json& object)>;

class Store {
 public:
  // Adds an index kept up to date by every write from now on, and built over what is stored.
  // Adding one under a name that exists replaces it.
  void addIndex(const std::string& name, IndexFunc values);
  // The objects indexed under `value`, ordered by key; empty for an unknown index.
  std::vector<ObjectPtr> byIndex(const std::string& name, const std::string& value) const;
  bool hasIndex(const std::string& name) const;

  ObjectPtr get(const std::string& key) const;  // null when absent
  std::vector<ObjectPtr> list() const;           // ordered by key
  std::vector<std::string> keys() const;         // ordered
  size_t size() const;

  // Replaces the whole content with `items` (a complete list). The new map is built aside and
  // swapped in under the lock, so a reader sees the old content or the new one, never a mix.
  // Returns what changed: keys added, keys whose resourceVersion (or content, when there is no
  // resourceVersion) changed, and keys that disappeared. Items without a name are skipped.
  // The first replace() marks the store synced.
  std::vector<StoreChange> replace(std::vector<nlohmann::json> items);
  // Inserts or overwrites by objectKey(); returns the previous object (null if new, or if the
  // object has no name, in which case nothing is stored).
  ObjectPtr upsert(nlohmann::json object);
  // Removes `key`; returns the removed object (null if absent).
  ObjectPtr erase(const std::string& key);

  // True once the first replace() completed.
  bool hasSynced() const;
  // Waits (on a condition, not a sleep) until hasSynced() or the timeout passes.
  bool waitForSync(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable syncedCv_;
  struct Index {
    IndexFunc values;
    std::map<std::string, std::set<std::string>> keys;      // value -> keys
    std::map<std::string, std::vector<std::string>> of;  // key -> its values
  };
  // Moves `key` from the values `before` had to those `after` has, in every index (either null).
  void reindexLocked(const std::string& key, const nlohmann::json* before, const nlohmann::json* after);
  void rebuildLocked(Index& index);

  std::map<std::string, ObjectPtr> items_;
  std::map<std::string, Index> indexes_;
  bool synced_ = false;
};

}  // namespace dwcp::kube
