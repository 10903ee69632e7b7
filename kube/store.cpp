#include "kube/store.h"

#include <exception>

#include <spdlog/spdlog.h>

#include "kube/json_fields.h"

namespace dwcp::kube {

using json = nlohmann::json;

namespace {

// Same object version: equal resourceVersions when both carry one, otherwise equal content.
bool sameVersion(const CachedObject& a, const CachedObject& b) {
  if (!a.resourceVersion().empty() && !b.resourceVersion().empty()) return a.resourceVersion() == b.resourceVersion();
  return a.toJson() == b.toJson();
}

}  // namespace

std::string objectKey(const json& object) {
  if (!object.is_object()) return {};
  const json& metadata = member(object, "metadata");
  const std::string_view name = memberString(metadata, "name");
  if (name.empty()) return {};
  const std::string_view ns = memberString(metadata, "namespace");
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

CachedObject::Header CachedObject::headerOf(const nlohmann::json& object) {
  Header header;
  header.key = objectKey(object);
  const nlohmann::json& metadata = member(object, "metadata");
  header.resourceVersion = std::string(memberString(metadata, "resourceVersion"));
  header.generation = memberInt(metadata, "generation");
  const nlohmann::json& deletion = member(metadata, "deletionTimestamp");
  header.deleting = !deletion.is_null();
  return header;
}

ObjectPtr keepJson(json object, std::string error) {
  CachedObject::Header header = CachedObject::headerOf(object);
  header.decodeError = std::move(error);
  return std::make_shared<const JsonObject>(std::move(header), std::move(object));
}

Store::Store(Decoder decoder) : decoder_(std::move(decoder)) {}

ObjectPtr Store::decode(json object) const {
  if (objectKey(object).empty()) return nullptr;
  if (!decoder_) return keepJson(std::move(object));
  std::string error;
  try {
    if (ObjectPtr decoded = decoder_(object, error)) return decoded;
    if (error.empty()) error = "the decoder refused the object";
  } catch (const std::exception& e) {
    error = std::string("the decoder failed: ") + e.what();
  } catch (...) {
    error = "the decoder failed";
  }
  return keepJson(std::move(object), std::move(error));
}

ObjectPtr Store::get(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::list() const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, object] : items_) out.push_back(object);
  return out;
}

std::vector<std::string> Store::keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, object] : items_) out.push_back(key);
  return out;
}

size_t Store::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

void Store::addIndex(const std::string& name, IndexFunc values) {
  std::lock_guard lock(mu_);
  Index& index = indexes_[name];
  index.values = std::move(values);
  rebuildLocked(index);
}

std::vector<ObjectPtr> Store::byIndex(const std::string& name, const std::string& value) const {
  std::lock_guard lock(mu_);
  std::vector<ObjectPtr> out;
  auto index = indexes_.find(name);
  if (index == indexes_.end()) return out;
  auto keys = index->second.keys.find(value);
  if (keys == index->second.keys.end()) return out;
  out.reserve(keys->second.size());
  for (const auto& key : keys->second) {
    if (auto it = items_.find(key); it != items_.end()) out.push_back(it->second);
  }
  return out;
}

bool Store::hasIndex(const std::string& name) const {
  std::lock_guard lock(mu_);
  return indexes_.count(name) > 0;
}

void Store::rebuildLocked(Index& index) {
  index.keys.clear();
  index.of.clear();
  for (const auto& [key, object] : items_) {
    std::vector<std::string> values = index.values(*object);
    for (const auto& value : values) index.keys[value].insert(key);
    if (!values.empty()) index.of[key] = std::move(values);
  }
}

void Store::reindexLocked(const std::string& key, const CachedObject* before, const CachedObject* after) {
  for (auto& [name, index] : indexes_) {
    if (before) {
      auto old = index.of.find(key);
      if (old != index.of.end()) {
        for (const auto& value : old->second) {
          auto keys = index.keys.find(value);
          if (keys == index.keys.end()) continue;
          keys->second.erase(key);
          if (keys->second.empty()) index.keys.erase(keys);
        }
        index.of.erase(old);
      }
    }
    if (after) {
      std::vector<std::string> values = index.values(*after);
      for (const auto& value : values) index.keys[value].insert(key);
      if (!values.empty()) index.of[key] = std::move(values);
    }
  }
}

std::vector<StoreChange> Store::replace(std::vector<json> items) {
  std::vector<ObjectPtr> decoded;
  decoded.reserve(items.size());
  for (auto& item : items) {
    ObjectPtr object = decode(std::move(item));
    if (!object) {
      spdlog::warn("store: skipping a listed object without metadata.name");
      continue;
    }
    decoded.push_back(std::move(object));
  }
  return replaceDecoded(std::move(decoded));
}

std::vector<StoreChange> Store::replaceDecoded(std::vector<ObjectPtr> items) {
  // Build the side buffer without the lock: readers keep using the current map meanwhile.
  std::map<std::string, ObjectPtr> fresh;
  for (auto& item : items) {
    if (!item || item->key().empty()) continue;
    const std::string& key = item->key();
    fresh[key] = std::move(item);
  }

  std::map<std::string, ObjectPtr> old;
  {
    std::lock_guard lock(mu_);
    old.swap(items_);
    items_ = fresh;  // copies pointers only; `fresh` stays ours for the diff below
    for (auto& [name, index] : indexes_) rebuildLocked(index);
    synced_ = true;
  }
  syncedCv_.notify_all();

  // Both maps are ordered by key: one merge pass finds additions, updates and deletions.
  std::vector<StoreChange> changes;
  auto o = old.begin();
  auto n = fresh.begin();
  while (o != old.end() || n != fresh.end()) {
    if (n == fresh.end() || (o != old.end() && o->first < n->first)) {
      changes.push_back({StoreChange::Kind::kDeleted, o->first, o->second, nullptr});
      ++o;
    } else if (o == old.end() || n->first < o->first) {
      changes.push_back({StoreChange::Kind::kAdded, n->first, nullptr, n->second});
      ++n;
    } else {
      if (!sameVersion(*o->second, *n->second)) {
        changes.push_back({StoreChange::Kind::kUpdated, n->first, o->second, n->second});
      }
      ++o;
      ++n;
    }
  }
  return changes;
}

ObjectPtr Store::upsert(json object) { return upsertDecoded(decode(std::move(object))); }

ObjectPtr Store::upsertDecoded(ObjectPtr object) {
  if (!object || object->key().empty()) return nullptr;
  const std::string key = object->key();
  std::lock_guard lock(mu_);
  auto& slot = items_[key];
  ObjectPtr previous = std::move(slot);
  slot = std::move(object);
  reindexLocked(key, previous.get(), slot.get());
  return previous;
}

ObjectPtr Store::erase(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr previous = std::move(it->second);
  items_.erase(it);
  reindexLocked(key, previous.get(), nullptr);
  return previous;
}

bool Store::hasSynced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Store::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return syncedCv_.wait_for(lock, timeout, [&] { return synced_; });
}

}  // namespace dwcp::kube
