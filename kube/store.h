// The informer cache: key ("namespace/name", or "name" for cluster-scoped objects) -> the last
// known object. Objects are decoded once, when they arrive, by the store's Decoder (a typed value
// such as api::VMPlacement, or the JSON itself when there is no decoder), and cached as immutable
// shared snapshots, so readers keep what they got while the cache moves on. Thread-safe;
// replace() swaps a fully built map in at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dwcp::kube {

// "namespace/name", or "name" when the object has no namespace; "" when it has no name.
std::string objectKey(const nlohmann::json& object);

// One cached object: its key, resourceVersion and generation, read once, and the object itself,
// either as the typed value its decoder made (as<T>()) or as the JSON it arrived as (json()),
// which is what is kept when the store has no decoder or the decoder refused the object.
class CachedObject {
 public:
  virtual ~CachedObject() = default;
  CachedObject(const CachedObject&) = delete;
  CachedObject& operator=(const CachedObject&) = delete;

  const std::string& key() const { return key_; }
  const std::string& resourceVersion() const { return resourceVersion_; }
  int64_t generation() const { return generation_; }
  bool deleting() const { return deleting_; }  // metadata.deletionTimestamp is set

  // The decoded value when this object was decoded as T; nullptr otherwise.
  template <class T>
  const T* as() const;
  // The object as it arrived, when it is kept as JSON; nullptr when it was decoded.
  virtual const nlohmann::json* json() const { return nullptr; }
  // Why the decoder refused the object ("" when it did not, or there is no decoder).
  const std::string& decodeError() const { return decodeError_; }
  // The whole object as JSON: the received tree, or the typed value encoded (its to_json).
  virtual nlohmann::json toJson() const = 0;

  // What every cached object carries besides its value.
  struct Header {
    std::string key;
    std::string resourceVersion;
    int64_t generation = 0;
    bool deleting = false;
    std::string decodeError;
  };
  // Reads the header fields of a received object.
  static Header headerOf(const nlohmann::json& object);

 protected:
  explicit CachedObject(Header header)
      : key_(std::move(header.key)),
        resourceVersion_(std::move(header.resourceVersion)),
        generation_(header.generation),
        deleting_(header.deleting),
        decodeError_(std::move(header.decodeError)) {}

 private:
  std::string key_;
  std::string resourceVersion_;
  int64_t generation_;
  bool deleting_;
  std::string decodeError_;
};

using ObjectPtr = std::shared_ptr<const CachedObject>;

// An object kept as the JSON it arrived as.
class JsonObject final : public CachedObject {
 public:
  JsonObject(Header header, nlohmann::json object) : CachedObject(std::move(header)), object_(std::move(object)) {}
  const nlohmann::json* json() const override { return &object_; }
  nlohmann::json toJson() const override { return object_; }

 private:
  nlohmann::json object_;
};

// An object decoded as T; T has a to_json (ADL) for toJson().
template <class T>
class TypedObject final : public CachedObject {
 public:
  TypedObject(Header header, T value) : CachedObject(std::move(header)), value_(std::move(value)) {}
  const T& value() const { return value_; }
  nlohmann::json toJson() const override { return nlohmann::json(value_); }

 private:
  T value_;
};

template <class T>
const T* CachedObject::as() const {
  const auto* typed = dynamic_cast<const TypedObject<T>*>(this);
  return typed ? &typed->value() : nullptr;
}

// Keeps `object` as JSON (the default decoder); `error` says why it was not decoded, if it was not.
ObjectPtr keepJson(nlohmann::json object, std::string error = {});

// Turns a received object into its cached form, or refuses it: returns null and says why in
// `error`, and the store keeps the JSON with that message. Runs on the reflector's thread for
// every object that arrives, so it is the one decode of each; a throw counts as a refusal.
using Decoder = std::function<ObjectPtr(const nlohmann::json& object, std::string& error)>;

// A decoder to T through `parse` (const nlohmann::json& -> a result with ok(), value() and
// error().message, such as api::parseVMPlacement).
template <class T, class Parse>
Decoder typedDecoder(Parse parse) {
  return [parse](const nlohmann::json& object, std::string& error) -> ObjectPtr {
    auto parsed = parse(object);
    if (!parsed.ok()) {
      error = parsed.error().message;
      return nullptr;
    }
    return std::make_shared<const TypedObject<T>>(CachedObject::headerOf(object), std::move(parsed).value());
  };
}

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
using IndexFunc = std::function<std::vector<std::string>(const CachedObject& object)>;

class Store {
 public:
  explicit Store(Decoder decoder = {});

  // Decodes a received object with this store's decoder, without storing it; null when the
  // object has no metadata.name.
  ObjectPtr decode(nlohmann::json object) const;

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
  // resourceVersion) changed, and keys that disappeared. Null items are skipped.
  // The first replace() marks the store synced.
  // (Named apart from the JSON overloads, which nlohmann's implicit conversions make ambiguous.)
  std::vector<StoreChange> replaceDecoded(std::vector<ObjectPtr> items);
  // The same, decoding each item first; items without a name are skipped.
  std::vector<StoreChange> replace(std::vector<nlohmann::json> items);
  // Inserts or overwrites by key; returns the previous object (null if new, or if `object` is
  // null, in which case nothing is stored).
  ObjectPtr upsertDecoded(ObjectPtr object);
  // Decodes, then upserts; an object without a name is not stored.
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
  void reindexLocked(const std::string& key, const CachedObject* before, const CachedObject* after);
  void rebuildLocked(Index& index);

  const Decoder decoder_;
  std::map<std::string, ObjectPtr> items_;
  std::map<std::string, Index> indexes_;
  bool synced_ = false;
};

}  // namespace dwcp::kube
