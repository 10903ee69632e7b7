#include "kube/store.h"

#include <atomic>
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

TEST(StoreObjectKey, NamespacedClusterScopedAndInvalid) {
  EXPECT_EQ(objectKey(object("team-a", "web", "1")), "team-a/web");
  EXPECT_EQ(objectKey(object("", "us-east-1", "1")), "us-east-1");
  EXPECT_EQ(objectKey(json{{"metadata", {{"namespace", "x"}}}}), "");
  EXPECT_EQ(objectKey(json{{"metadata", {{"name", 5}}}}), "");
  EXPECT_EQ(objectKey(json::array()), "");
  EXPECT_EQ(objectKey(json{{"metadata", "nope"}}), "");
}

TEST(Store, UpsertGetEraseReturnPrevious) {
  Store store;
  EXPECT_EQ(store.upsert(object("ns", "a", "1")), nullptr);
  auto previous = store.upsert(object("ns", "a", "2"));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ((*previous)["metadata"]["resourceVersion"], "1");
  ASSERT_NE(store.get("ns/a"), nullptr);
  EXPECT_EQ((*store.get("ns/a"))["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(store.get("ns/missing"), nullptr);

  EXPECT_EQ(store.erase("ns/missing"), nullptr);
  auto removed = store.erase("ns/a");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ((*removed)["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(store.size(), 0u);
}

TEST(Store, UpsertIgnoresObjectsWithoutName) {
  Store store;
  EXPECT_EQ(store.upsert(json{{"metadata", json::object()}}), nullptr);
  EXPECT_EQ(store.size(), 0u);
}

TEST(Store, ListAndKeysAreOrderedByKey) {
  Store store;
  store.upsert(object("b", "x", "1"));
  store.upsert(object("a", "y", "1"));
  store.upsert(object("", "cluster", "1"));
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"a/y", "b/x", "cluster"}));
  auto items = store.list();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(objectKey(*items[0]), "a/y");
  EXPECT_EQ(objectKey(*items[2]), "cluster");
}

TEST(Store, ReplaceReportsAddedUpdatedAndDeletedButNotUnchanged) {
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
      EXPECT_EQ((*change.before)["metadata"]["name"], "gone");
    } else if (change.kind == StoreChange::Kind::kUpdated) {
      EXPECT_EQ((*change.before)["metadata"]["resourceVersion"], "1");
      EXPECT_EQ((*change.after)["metadata"]["resourceVersion"], "2");
    } else {
      EXPECT_EQ(change.before, nullptr);
      ASSERT_NE(change.after, nullptr);
    }
  }
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"ns/changed", "ns/kept", "ns/new"}));
  EXPECT_EQ(store.get("ns/gone"), nullptr);
}

TEST(Store, ReplaceComparesContentWhenThereIsNoResourceVersion) {
  Store store;
  store.replace({json{{"metadata", {{"name", "a"}}}, {"spec", 1}},
                 json{{"metadata", {{"name", "b"}}}, {"spec", 1}}});
  auto changes = store.replace({json{{"metadata", {{"name", "a"}}}, {"spec", 1}},
                                json{{"metadata", {{"name", "b"}}}, {"spec", 2}}});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "b");
  EXPECT_EQ(changes[0].kind, StoreChange::Kind::kUpdated);
}

TEST(Store, ReplaceSkipsNamelessItems) {
  Store store;
  auto changes = store.replace({json{{"metadata", json::object()}}, object("", "a", "1")});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(store.size(), 1u);
}

TEST(Store, SnapshotsSurviveLaterChanges) {
  Store store;
  store.upsert(object("ns", "a", "1"));
  ObjectPtr snapshot = store.get("ns/a");
  auto all = store.list();
  store.replace({});
  store.upsert(object("ns", "a", "9"));
  EXPECT_EQ((*snapshot)["metadata"]["resourceVersion"], "1");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ((*all[0])["metadata"]["resourceVersion"], "1");
}

TEST(Store, SyncedAfterFirstReplaceEvenWhenEmpty) {
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
  for (const auto& o : objects) out.push_back((*o)["metadata"]["name"]);
  return out;
}

IndexFunc byRegion() {
  return [](const json& o) -> std::vector<std::string> {
    if (!o.contains("status") || !o["status"].is_object() || !o["status"].contains("region")) return {};
    return {o["status"]["region"].get<std::string>()};
  };
}

TEST(StoreIndex, FollowsUpsertsErasesAndReplaces) {
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
  ASSERT_EQ(store.byIndex("region", "r2")[1]->at("metadata").at("resourceVersion"), "2");  // the newest copy

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

TEST(StoreIndex, AgreesWithAFullScanOverRandomWrites) {
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
          if (o->contains("status") && (*o)["status"]["region"] == region) scanned.push_back((*o)["metadata"]["name"]);
        }
        ASSERT_EQ(namesOf(store.byIndex("region", region)), scanned) << "seed " << seed << " step " << step;
      }
    }
  }
}

TEST(Store, ReadersSeeTheOldOrTheNewListNeverAMix) {
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

}  // namespace
}  // namespace dwcp::kube
