#include "kube/store.h"

#include <atomic>
#include <optional>
#include <stdexcept>
#include <random>
#include <thread>

#include <gtest/gtest.h>

namespace dwcp::kube {
namespace {

using json = nlohmann::json;

json object(const std::string& ns, const std::string& name, const std::string& resourceVersion) {
  json o = {{"apiVersion", "example.io/v1"}, {"kind", "Widget"},
            {"metadata", {{"name", name}, {"resourceVersion", resourceVersion}}}};
  if (!ns.empty()) o["metadata"]["namespace"] = ns;
  return o;
}

TEST(StoreObjectKeyTest, NamespacedClusterScopedAndInvalid) {
  EXPECT_EQ(objectKey(object("team-a", "web", "1")), "team-a/web");
  EXPECT_EQ(objectKey(object("", "us-east-1", "1")), "us-east-1");
  EXPECT_EQ(objectKey(json{{"metadata", {{"namespace", "x"}}}}), "");
  EXPECT_EQ(objectKey(json{{"metadata", {{"name", 5}}}}), "");
  EXPECT_EQ(objectKey(json::array()), "");
  EXPECT_EQ(objectKey(json{{"metadata", "nope"}}), "");
}

TEST(StoreTest, UpsertGetEraseReturnPrevious) {
  Store store;
  EXPECT_EQ(store.upsert(object("ns", "a", "1")), nullptr);
  auto previous = store.upsert(object("ns", "a", "2"));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ(previous->toJson()["metadata"]["resourceVersion"], "1");
  ASSERT_NE(store.get("ns/a"), nullptr);
  EXPECT_EQ(store.get("ns/a")->toJson()["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(store.get("ns/missing"), nullptr);

  EXPECT_EQ(store.erase("ns/missing"), nullptr);
  auto removed = store.erase("ns/a");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->toJson()["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(store.size(), 0u);
}

TEST(StoreTest, UpsertIgnoresObjectsWithoutName) {
  Store store;
  EXPECT_EQ(store.upsert(json{{"metadata", json::object()}}), nullptr);
  EXPECT_EQ(store.size(), 0u);
}

TEST(StoreTest, ListAndKeysAreOrderedByKey) {
  Store store;
  store.upsert(object("b", "x", "1"));
  store.upsert(object("a", "y", "1"));
  store.upsert(object("", "cluster", "1"));
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"a/y", "b/x", "cluster"}));
  auto items = store.list();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]->key(), "a/y");
  EXPECT_EQ(items[2]->key(), "cluster");
}

TEST(StoreTest, ReplaceReportsAddedUpdatedAndDeletedButNotUnchanged) {
  Store store;
  store.upsert(object("ns", "kept", "1"));
  store.upsert(object("ns", "changed", "1"));
  store.upsert(object("ns", "gone", "1"));

  auto changes = store.replace({object("ns", "kept", "1"), object("ns", "changed", "2"),
                                object("ns", "new", "3")});
  std::map<std::string, StoreChange::Kind> byKey;
  for (const auto& change : changes) byKey[change.key] = change.kind;
  EXPECT_EQ(byKey, (std::map<std::string, StoreChange::Kind>{
                       {"ns/changed", StoreChange::Kind::kUpdated},
                       {"ns/gone", StoreChange::Kind::kDeleted},
                       {"ns/new", StoreChange::Kind::kAdded}}));
  for (const auto& change : changes) {
    if (change.kind == StoreChange::Kind::kDeleted) {
      ASSERT_NE(change.before, nullptr);
      EXPECT_EQ(change.after, nullptr);
      EXPECT_EQ(change.before->toJson()["metadata"]["name"], "gone");
    } else if (change.kind == StoreChange::Kind::kUpdated) {
      EXPECT_EQ(change.before->toJson()["metadata"]["resourceVersion"], "1");
      EXPECT_EQ(change.after->toJson()["metadata"]["resourceVersion"], "2");
    } else {
      EXPECT_EQ(change.before, nullptr);
      ASSERT_NE(change.after, nullptr);
    }
  }
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"ns/changed", "ns/kept", "ns/new"}));
  EXPECT_EQ(store.get("ns/gone"), nullptr);
}

TEST(StoreTest, ReplaceComparesContentWhenThereIsNoResourceVersion) {
  Store store;
  store.replace({json{{"metadata", {{"name", "a"}}}, {"spec", 1}},
                 json{{"metadata", {{"name", "b"}}}, {"spec", 1}}});
  auto changes = store.replace({json{{"metadata", {{"name", "a"}}}, {"spec", 1}},
                                json{{"metadata", {{"name", "b"}}}, {"spec", 2}}});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "b");
  EXPECT_EQ(changes[0].kind, StoreChange::Kind::kUpdated);
}

TEST(StoreTest, ReplaceSkipsNamelessItems) {
  Store store;
  auto changes = store.replace({json{{"metadata", json::object()}}, object("", "a", "1")});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(store.size(), 1u);
}

TEST(StoreTest, SnapshotsSurviveLaterChanges) {
  Store store;
  store.upsert(object("ns", "a", "1"));
  ObjectPtr snapshot = store.get("ns/a");
  auto all = store.list();
  store.replace({});
  store.upsert(object("ns", "a", "9"));
  EXPECT_EQ(snapshot->toJson()["metadata"]["resourceVersion"], "1");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]->toJson()["metadata"]["resourceVersion"], "1");
}

TEST(StoreTest, SyncedAfterFirstReplaceEvenWhenEmpty) {
  Store store;
  store.upsert(object("ns", "a", "1"));
  EXPECT_FALSE(store.hasSynced());
  EXPECT_FALSE(store.waitForSync(std::chrono::milliseconds(1)));
  std::thread writer([&] { store.replace({}); });
  EXPECT_TRUE(store.waitForSync(std::chrono::seconds(30)));
  writer.join();
  EXPECT_TRUE(store.hasSynced());
  EXPECT_EQ(store.size(), 0u);
}

// An index by a status field, as the Region controller keeps VMPlacements by status.region.
json placed(const std::string& name, const std::string& rv, const std::string& region) {
  json o = object("ns", name, rv);
  if (!region.empty()) o["status"]["region"] = region;
  return o;
}

std::vector<std::string> namesOf(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o->toJson()["metadata"]["name"]);
  return out;
}

IndexFunc byRegion() {
  return [](const CachedObject& cached) -> std::vector<std::string> {
    const json& o = *cached.json();
    if (!o.contains("status") || !o["status"].is_object() || !o["status"].contains("region")) return {};
    return {o["status"]["region"].get<std::string>()};
  };
}

TEST(StoreIndexTest, FollowsUpsertsErasesAndReplaces) {
  Store store;
  store.upsert(placed("before", "1", "r1"));
  store.addIndex("region", byRegion());
  EXPECT_EQ(namesOf(store.byIndex("region", "r1")), std::vector<std::string>{"before"});  // built over what is stored

  store.upsert(placed("b", "1", "r1"));
  store.upsert(placed("a", "1", "r2"));
  store.upsert(placed("c", "1", ""));  // indexed under nothing
  EXPECT_EQ(namesOf(store.byIndex("region", "r1")), (std::vector<std::string>{"b", "before"}));
  EXPECT_EQ(namesOf(store.byIndex("region", "r2")), std::vector<std::string>{"a"});

  store.upsert(placed("b", "2", "r2"));  // moved
  EXPECT_EQ(namesOf(store.byIndex("region", "r1")), std::vector<std::string>{"before"});
  EXPECT_EQ(namesOf(store.byIndex("region", "r2")), (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(store.byIndex("region", "r2")[1]->resourceVersion(), "2");  // the newest copy

  store.upsert(placed("a", "2", ""));  // left the region
  store.erase("ns/before");
  EXPECT_TRUE(store.byIndex("region", "r1").empty());
  EXPECT_EQ(namesOf(store.byIndex("region", "r2")), std::vector<std::string>{"b"});

  store.replace({placed("x", "1", "r1"), placed("b", "3", "r3")});
  EXPECT_EQ(namesOf(store.byIndex("region", "r1")), std::vector<std::string>{"x"});
  EXPECT_TRUE(store.byIndex("region", "r2").empty());
  EXPECT_EQ(namesOf(store.byIndex("region", "r3")), std::vector<std::string>{"b"});

  EXPECT_TRUE(store.byIndex("no-such-index", "r1").empty());
}

TEST(StoreIndexTest, AgreesWithAFullScanOverRandomWrites) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    Store store;
    store.addIndex("region", byRegion());
    const std::vector<std::string> regions = {"", "r1", "r2", "r3"};
    for (int step = 0; step < 300; ++step) {
      const std::string name = "vm-" + std::to_string(rng() % 20);
      const std::string rv = std::to_string(step);
      switch (rng() % 10) {
        case 0: store.erase("ns/" + name); break;
        case 1: {
          std::vector<json> items;
          for (int i = 0; i < 5; ++i) items.push_back(placed("vm-" + std::to_string(rng() % 20), rv, regions[rng() % 4]));
          store.replace(std::move(items));
          break;
        }
        default: store.upsert(placed(name, rv, regions[rng() % 4]));
      }
      for (const auto& region : {"r1", "r2", "r3"}) {
        std::vector<std::string> scanned;
        for (const auto& o : store.list()) {
          if (o->json()->contains("status") && o->toJson()["status"]["region"] == region) scanned.push_back(o->toJson()["metadata"]["name"]);
        }
        ASSERT_EQ(namesOf(store.byIndex("region", region)), scanned) << "seed " << seed << " step " << step;
      }
    }
  }
}

TEST(StoreTest, ReadersSeeTheOldOrTheNewListNeverAMix) {
  Store store;
  constexpr size_t kItems = 200;
  std::vector<json> full;
  for (size_t i = 0; i < kItems; ++i) full.push_back(object("ns", "o" + std::to_string(i), "1"));

  std::atomic<bool> done{false};
  std::atomic<int> badReads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const size_t size = store.size();
      const size_t listed = store.list().size();
      if ((size != 0 && size != kItems) || (listed != 0 && listed != kItems)) ++badReads;
    }
  });
  for (int round = 0; round < 200; ++round) {
    store.replace(full);
    store.replace({});
  }
  done = true;
  reader.join();
  EXPECT_EQ(badReads.load(), 0);
}

// A typed value for the decoder tests: a Widget's spec.size, which must be a positive integer.
struct Sized {
  std::string name;
  int64_t size = 0;
};
void to_json(json& j, const Sized& sized) {
  j = {{"metadata", {{"name", sized.name}}}, {"spec", {{"size", sized.size}}}};
}
struct Parsed {  // the shape typedDecoder expects of a parse result
  std::optional<Sized> value_;
  std::string message;
  bool ok() const { return value_.has_value(); }
  Sized value() && { return std::move(*value_); }
  struct Err {
    std::string message;
  };
  Err error() const { return {message}; }
};
Parsed parseSized(const json& o) {
  const json& size = o.value("/spec/size"_json_pointer, json());
  if (!size.is_number_integer() || size.get<int64_t>() <= 0) return {std::nullopt, "spec.size: must be a positive integer"};
  return {Sized{o["metadata"]["name"], size.get<int64_t>()}, ""};
}
json sized(const std::string& name, const json& size, const std::string& resourceVersion = "1") {
  json o = object("ns", name, resourceVersion);
  o["spec"]["size"] = size;
  return o;
}

TEST(StoreDecoderTest, DecodesOnceIntoTheTypedValueAndReadsTheHeader) {
  Store store(typedDecoder<Sized>(parseSized));
  json deleting = sized("b", 3, "7");
  deleting["metadata"]["generation"] = 4;
  deleting["metadata"]["deletionTimestamp"] = "2026-12-04T00:00:00Z";
  store.replace({sized("a", 2), deleting});

  ObjectPtr a = store.get("ns/a");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(a->as<Sized>(), nullptr);
  EXPECT_EQ(a->as<Sized>()->size, 2);
  EXPECT_EQ(a->json(), nullptr);  // no JSON tree is kept beside the typed value
  EXPECT_EQ(a->decodeError(), "");
  EXPECT_FALSE(a->deleting());
  EXPECT_EQ(a->toJson()["spec"]["size"], 2);  // the value's to_json

  ObjectPtr b = store.get("ns/b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->key(), "ns/b");
  EXPECT_EQ(b->resourceVersion(), "7");
  EXPECT_EQ(b->generation(), 4);
  EXPECT_TRUE(b->deleting());
  EXPECT_EQ(b->as<std::string>(), nullptr);  // asked for another type
}

TEST(StoreDecoderTest, RefusedObjectsAreKeptAsJsonWithTheReason) {
  Store store(typedDecoder<Sized>(parseSized));
  store.upsert(sized("bad", "three"));
  ObjectPtr bad = store.get("ns/bad");
  ASSERT_NE(bad, nullptr);  // nothing is dropped: the controller reports it
  EXPECT_EQ(bad->as<Sized>(), nullptr);
  ASSERT_NE(bad->json(), nullptr);
  EXPECT_EQ((*bad->json())["spec"]["size"], "three");
  EXPECT_EQ(bad->decodeError(), "spec.size: must be a positive integer");

  // Fixed by the next write: decoded again, and typed.
  auto previous = store.upsert(sized("bad", 3, "2"));
  ASSERT_NE(previous, nullptr);
  EXPECT_NE(previous->json(), nullptr);
  ASSERT_NE(store.get("ns/bad")->as<Sized>(), nullptr);
  EXPECT_EQ(store.get("ns/bad")->decodeError(), "");
}

TEST(StoreDecoderTest, ADecoderThatThrowsOrReturnsNothingKeepsTheJson) {
  Store throwing([](const json&, std::string&) -> ObjectPtr { throw std::runtime_error("boom"); });
  ObjectPtr kept = throwing.decode(sized("a", 1));
  ASSERT_NE(kept, nullptr);
  ASSERT_NE(kept->json(), nullptr);
  EXPECT_NE(kept->decodeError().find("boom"), std::string::npos) << kept->decodeError();
  EXPECT_EQ(kept->key(), "ns/a");

  Store silent([](const json&, std::string&) -> ObjectPtr { return nullptr; });
  kept = silent.decode(sized("a", 1));
  ASSERT_NE(kept, nullptr);
  EXPECT_FALSE(kept->decodeError().empty());

  EXPECT_EQ(throwing.decode(json{{"metadata", json::object()}}), nullptr);  // no name: not an object to cache
}

TEST(StoreDecoderTest, ReplaceComparesTypedObjectsWithoutAResourceVersionByContent) {
  Store store(typedDecoder<Sized>(parseSized));
  auto noVersion = [](const std::string& name, int size) {
    json o = sized(name, size);
    o["metadata"].erase("resourceVersion");
    return o;
  };
  store.replace({noVersion("same", 1), noVersion("grown", 1)});
  auto changes = store.replace({noVersion("same", 1), noVersion("grown", 2)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "ns/grown");
  EXPECT_EQ(changes[0].kind, StoreChange::Kind::kUpdated);
  EXPECT_EQ(changes[0].before->as<Sized>()->size, 1);
  EXPECT_EQ(changes[0].after->as<Sized>()->size, 2);
}

TEST(StoreDecoderTest, IndexesReadTheTypedValue) {
  Store store(typedDecoder<Sized>(parseSized));
  store.addIndex("size", [](const CachedObject& o) -> std::vector<std::string> {
    const Sized* s = o.as<Sized>();
    if (!s) return {};
    return {std::to_string(s->size)};
  });
  store.replace({sized("a", 2), sized("b", 2), sized("c", 5), sized("bad", "x")});
  EXPECT_EQ(store.byIndex("size", "2").size(), 2u);
  EXPECT_EQ(store.byIndex("size", "5").size(), 1u);
  store.upsert(sized("b", 5, "2"));
  EXPECT_EQ(store.byIndex("size", "2").size(), 1u);
  EXPECT_EQ(store.byIndex("size", "5").size(), 2u);
  EXPECT_EQ(store.size(), 4u);
}

}  // namespace
}  // namespace dwcp::kube
