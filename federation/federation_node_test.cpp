// FederationNode over real mutual TLS on loopback: regions a, b and c on ephemeral ports, with
// certificates from net/testing written to a temporary directory (the node reads files). Heartbeats
// and links, records and answers both ways with their notices, no write for an unchanged record,
// hostile records from a peer (a ReplicaNode holding a valid certificate of region c) ignored and
// counted, suspicion inputs after a peer stops, a restart under a fresh writer, membership changes,
// the initial sync, and start-up errors naming the file.
#include "federation/federation_node.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "api/federation.h"
#include "base/clock.h"
#include "base/testing/eventually.h"
#include "federation/membership.h"
#include "federation/replica_node.h"
#include "net/testing/pki.h"

namespace dwcp::api {
// Failures print records as their JSON.
void PrintTo(const PlacementRecord& record, std::ostream* out) { *out << serialize(record); }
void PrintTo(const ReservationAnswer& answer, std::ostream* out) { *out << serialize(answer); }
}  // namespace dwcp::api

namespace dwcp::federation {
namespace {

namespace fs = std::filesystem;
using base::testing::eventually;
using namespace std::chrono_literals;

// Polls until `condition` holds: a bound on correctness, never on speed.
template <class Condition>
bool soon(Condition condition) {
  return eventually(std::move(condition), std::chrono::milliseconds(10s));
}

const std::vector<std::string> kRegions = {"a", "b", "c"};

// One CA and a leaf per region, made once for the whole binary.
struct Pki {
  net::PemPair ca;
  std::map<std::string, net::PemPair> leaves;
  static const Pki& get() {
    static const Pki pki = [] {
      Pki p;
      p.ca = net::makeCertificateAuthority("dwcp federation node test CA").value();
      for (const auto& region : kRegions) p.leaves[region] = net::issueCertificate(p.ca, region).value();
      return p;
    }();
    return pki;
  }
};

// Every notice a node gave, counted; the listeners run on the transport's threads.
class Notices {
 public:
  FederationNode::Listeners listeners() {
    FederationNode::Listeners out;
    out.heartbeat = [this](const std::string& region) {
      std::lock_guard lock(mu_);
      ++heartbeats_[region];
    };
    out.record = [this](const std::string& uid) {
      std::lock_guard lock(mu_);
      ++records_[uid];
    };
    out.answer = [this](const std::string& region, const std::string& uid) {
      std::lock_guard lock(mu_);
      ++answers_[{region, uid}];
    };
    return out;
  }
  int heartbeats(const std::string& region) const { return count(heartbeats_, region); }
  int records(const std::string& uid) const { return count(records_, uid); }
  int answers(const std::string& region, const std::string& uid) const {
    return count(answers_, {region, uid});
  }

 private:
  template <class Map>
  int count(const Map& map, const typename Map::key_type& key) const {
    std::lock_guard lock(mu_);
    auto it = map.find(key);
    return it == map.end() ? 0 : it->second;
  }
  mutable std::mutex mu_;
  std::map<std::string, int> heartbeats_;
  std::map<std::string, int> records_;
  std::map<std::pair<std::string, std::string>, int> answers_;
};

// What each region's heartbeat says of it: distinct per region, so a mix-up shows.
api::Heartbeat localStateOf(const std::string& region) {
  const auto found = std::find(kRegions.begin(), kRegions.end(), region);
  const auto index = static_cast<int64_t>(found - kRegions.begin());
  api::Heartbeat heartbeat;
  heartbeat.phase = index == 1 ? api::RegionPhase::kDegraded : api::RegionPhase::kHealthy;
  heartbeat.healthScore = 90 + static_cast<double>(index);
  heartbeat.allocated = api::RegionResources{4 + index, 8192 + index, 100 + index, 2 + index};
  heartbeat.epoch = 7 + index;
  return heartbeat;
}

api::PlacementRecord recordOf(const std::string& uid, const std::string& home, const std::string& region,
                              int64_t epoch = 1) {
  api::PlacementRecord record;
  record.uid = uid;
  record.namespace_ = "default";
  record.name = "web-" + uid;
  record.home = home;
  record.region = region;
  record.state = api::RecordState::kReserving;
  record.epoch = epoch;
  record.spec.resources = {4, 8192, 100};
  record.spec.priority = 70;
  record.spec.constraints.regions = {region};
  return record;
}

api::ReservationAnswer answerOf(const std::string& uid, const std::string& region, int64_t epoch = 1) {
  api::ReservationAnswer answer;
  answer.uid = uid;
  answer.region = region;
  answer.epoch = epoch;
  answer.admitted = true;
  answer.reason = "admitted: 4 cpu of 64 free";
  answer.mirror = "web-" + uid + ".a";
  return answer;
}

std::string endpointOf(uint16_t port) { return "https://127.0.0.1:" + std::to_string(port); }

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class FederationNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dwcp-federation-node-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const Pki& pki = Pki::get();
    write("ca.crt", pki.ca.certificatePem);
    for (const auto& [region, leaf] : pki.leaves) {
      write(region + ".crt", leaf.certificatePem);
      write(region + ".key", leaf.privateKeyPem);
    }
  }
  void TearDown() override {
    nodes_.clear();
    fs::remove_all(dir_);
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  NodeConfig configFor(const std::string& region) const {
    NodeConfig config;
    config.region = region;
    config.listenHost = "127.0.0.1";
    config.listenPort = 0;
    config.tls = {(dir_ / "ca.crt").string(), (dir_ / (region + ".crt")).string(),
                  (dir_ / (region + ".key")).string()};
    config.heartbeatInterval = 50ms;
    config.suspectAfterHeartbeats = 3;
    config.initialSyncTimeout = 10min;  // tests that want the timeout set it
    config.state.defaultTimeoutMillis = 2'000;
    return config;
  }

  // A node of `region` with its listeners and local state, not started (replacing any earlier one).
  FederationNode& make(NodeConfig config, const base::Clock& clock = base::RealClock::instance()) {
    const std::string region = config.region;
    nodes_.erase(region);
    notices_[region] = std::make_unique<Notices>();
    auto node = std::make_unique<FederationNode>(std::move(config), clock);
    node->setListeners(notices_[region]->listeners());
    node->setLocalState([region] { return localStateOf(region); });
    return *(nodes_[region] = std::move(node));
  }
  // make() and start(); listenPort() is 0 when it did not start.
  FederationNode& start(const std::string& region) {
    FederationNode& node = make(configFor(region));
    auto started = node.start();
    EXPECT_TRUE(started.ok()) << region << ": " << started.error().message;
    return node;
  }
  FederationNode& node(const std::string& region) { return *nodes_.at(region); }
  Notices& notices(const std::string& region) { return *notices_.at(region); }

  // Every started node's Region, as every cluster would hold them.
  std::vector<RegionPeer> regions() const {
    std::vector<RegionPeer> out;
    for (const auto& [region, node] : nodes_) out.push_back({region, endpointOf(node->listenPort())});
    return out;
  }
  // Tells every node about every other (a node must listen before its port is known).
  void connectAll() {
    const std::vector<RegionPeer> all = regions();
    for (auto& [region, node] : nodes_) node->setRegions(all);
  }

  // Every frame `region` queued so far was posted (or failed).
  bool sentEverythingQueued(const std::string& region) {
    const TransportStats stats = node(region).stats().transport;
    return stats.framesQueued == stats.framesDelivered + stats.framesRejectedByPeer + stats.sendFailures;
  }

  fs::path dir_;
  std::map<std::string, std::unique_ptr<Notices>> notices_;  // outlive the nodes that call them
  std::map<std::string, std::unique_ptr<FederationNode>> nodes_;
};

// 1. Heartbeats carry what each region's LocalState says; links are measured.

TEST_F(FederationNodeTest, ThreeRegionsHearEachOthersHeartbeatsWithTheirLocalState) {
  for (const auto& region : kRegions) ASSERT_NE(start(region).listenPort(), 0);
  connectAll();

  for (const auto& listener : kRegions) {
    for (const auto& speaker : kRegions) {
      if (listener == speaker) continue;
      SCOPED_TRACE(listener + " hears " + speaker);
      ASSERT_TRUE(soon([&] { return node(listener).heartbeat(speaker).has_value(); }));
      const FederationNode::Heard heard = *node(listener).heartbeat(speaker);
      const api::Heartbeat expected = localStateOf(speaker);
      EXPECT_EQ(heard.heartbeat.region, speaker);
      EXPECT_EQ(heard.heartbeat.phase, expected.phase);
      EXPECT_EQ(heard.heartbeat.healthScore, expected.healthScore);
      EXPECT_EQ(heard.heartbeat.allocated, expected.allocated);
      EXPECT_EQ(heard.heartbeat.epoch, expected.epoch);
      EXPECT_GE(heard.heartbeat.sequence, 1);
      EXPECT_GT(heard.heartbeat.sentAtMillis, 0);
      EXPECT_TRUE(soon([&] { return notices(listener).heartbeats(speaker) > 0; }));
    }
    EXPECT_FALSE(node(listener).heartbeat(listener).has_value()) << "a region does not hear itself";
  }

  // heardAt and the sequence advance with each beat.
  const FederationNode::Heard first = *node("a").heartbeat("b");
  ASSERT_TRUE(soon([&] {
    auto now = node("a").heartbeat("b");
    return now && now->heardAt > first.heardAt && now->heartbeat.sequence > first.heartbeat.sequence;
  }));
  EXPECT_GE(node("a").heartbeat("b")->heardAtWall, first.heardAtWall);

  // Each node lists its two peers, measured and reachable.
  for (const auto& region : kRegions) {
    SCOPED_TRACE(region);
    EXPECT_TRUE(soon([&] {
      const auto links = node(region).links();
      return links.size() == 2 && std::all_of(links.begin(), links.end(), [](const api::PeerLink& link) {
               return link.rttMs.has_value() && *link.rttMs >= 0 && link.reachable;
             });
    }));
    std::vector<std::string> peers;
    for (const auto& link : node(region).links()) peers.push_back(link.region);
    std::vector<std::string> expected;
    for (const auto& other : kRegions) {
      if (other != region) expected.push_back(other);
    }
    EXPECT_EQ(peers, expected) << "links are the peers, by name";
    const NodeStats stats = node(region).stats();
    EXPECT_EQ(stats.peers, 2u);
    EXPECT_GT(stats.heartbeatsSent, 0u);
    EXPECT_GT(stats.heartbeatsHeard, 0u);
    EXPECT_EQ(stats.recordsRefused, 0u) << stats.lastRefusedRecord;
  }

  // A heartbeat carries its sender's links: b tells a that it reaches a and c.
  EXPECT_TRUE(soon([&] {
    auto heard = node("a").heartbeat("b");
    if (!heard || heard->heartbeat.peers.size() != 2) return false;
    const auto& peers = heard->heartbeat.peers;
    return peers[0].region == "a" && peers[1].region == "c" && peers[0].reachable && peers[1].reachable &&
           peers[0].rttMs && peers[1].rttMs;
  }));
}

// 2. Records and answers, both ways, with their notices; removals propagate.

TEST_F(FederationNodeTest, RecordsAndAnswersReplicateWithNoticesAndRemovalsPropagate) {
  ASSERT_NE(start("a").listenPort(), 0);
  ASSERT_NE(start("b").listenPort(), 0);
  connectAll();

  const api::PlacementRecord record = recordOf("uid-1", "a", "b");
  node("a").putRecord(record);
  EXPECT_EQ(node("a").record("uid-1"), record) << "the writer reads its own record at once";
  ASSERT_TRUE(soon([&] { return node("b").record("uid-1") == record; }));
  EXPECT_EQ(node("b").recordsIn("b"), std::vector<api::PlacementRecord>{record});
  EXPECT_TRUE(node("b").recordsIn("a").empty());
  EXPECT_EQ(node("a").recordsIn("b"), std::vector<api::PlacementRecord>{record});
  EXPECT_TRUE(soon([&] { return notices("b").records("uid-1") == 1; }));
  EXPECT_EQ(notices("a").records("uid-1"), 0) << "a node is not told of its own writes";

  const api::ReservationAnswer answer = answerOf("uid-1", "b");
  node("b").putAnswer(answer);
  EXPECT_EQ(node("b").answeredUids(), std::vector<std::string>{"uid-1"});
  EXPECT_EQ(node("b").answer("b", "uid-1"), answer);
  ASSERT_TRUE(soon([&] { return node("a").answer("b", "uid-1") == answer; }));
  EXPECT_TRUE(node("a").answeredUids().empty()) << "a answered nothing";
  EXPECT_FALSE(node("a").answer("a", "uid-1").has_value());
  EXPECT_TRUE(soon([&] { return notices("a").answers("b", "uid-1") == 1; }));
  EXPECT_EQ(notices("b").answers("b", "uid-1"), 0);

  node("a").removeRecord("uid-1");
  EXPECT_FALSE(node("a").record("uid-1").has_value());
  ASSERT_TRUE(soon([&] { return !node("b").record("uid-1").has_value(); }));
  EXPECT_TRUE(node("b").recordsIn("b").empty());
  EXPECT_TRUE(soon([&] { return notices("b").records("uid-1") == 2; })) << "the removal is a notice too";

  node("b").removeAnswer("uid-1");
  EXPECT_TRUE(node("b").answeredUids().empty());
  ASSERT_TRUE(soon([&] { return !node("a").answer("b", "uid-1").has_value(); }));
  EXPECT_TRUE(soon([&] { return notices("a").answers("b", "uid-1") == 2; }));

  // Removing what is absent writes nothing (the next write's notice is the only new one).
  node("a").removeRecord("uid-1");
  node("a").removeRecord("uid-never-written");
  node("a").putRecord(recordOf("uid-marker", "a", "b"));
  ASSERT_TRUE(soon([&] { return node("b").record("uid-marker").has_value(); }));
  EXPECT_EQ(notices("b").records("uid-1"), 2);
  EXPECT_EQ(notices("b").records("uid-never-written"), 0);

  for (const auto& region : {"a", "b"}) {
    EXPECT_EQ(node(region).stats().recordsRefused, 0u) << node(region).stats().lastRefusedRecord;
  }
}

TEST_F(FederationNodeTest, AnUnchangedRecordOrAnswerIsNotWrittenAgain) {
  ASSERT_NE(start("a").listenPort(), 0);
  ASSERT_NE(start("b").listenPort(), 0);
  connectAll();

  const api::PlacementRecord record = recordOf("uid-1", "a", "b");
  node("a").putRecord(record);
  ASSERT_TRUE(soon([&] { return notices("b").records("uid-1") == 1; }));
  // The same record again, then a marker written after it: once the marker arrived, a second write
  // of uid-1 (a new dot, which b would announce even with an equal value) would have arrived too.
  node("a").putRecord(record);
  node("a").putRecord(recordOf("uid-marker-1", "a", "b"));
  ASSERT_TRUE(soon([&] { return node("b").record("uid-marker-1").has_value(); }));
  EXPECT_EQ(notices("b").records("uid-1"), 1) << "an identical record was written again";

  const api::ReservationAnswer answer = answerOf("uid-1", "b");
  node("b").putAnswer(answer);
  ASSERT_TRUE(soon([&] { return notices("a").answers("b", "uid-1") == 1; }));
  node("b").putAnswer(answer);
  node("b").putAnswer(answerOf("uid-marker-2", "b"));
  ASSERT_TRUE(soon([&] { return node("a").answer("b", "uid-marker-2").has_value(); }));
  EXPECT_EQ(notices("a").answers("b", "uid-1"), 1) << "an identical answer was written again";

  // A changed record is written, and announced.
  api::PlacementRecord placed = record;
  placed.state = api::RecordState::kPlaced;
  node("a").putRecord(placed);
  ASSERT_TRUE(soon([&] { return node("b").record("uid-1") == placed; }));
  EXPECT_TRUE(soon([&] { return notices("b").records("uid-1") == 2; }));
}

// 3. Hostile records: a peer holding a valid certificate of region c (a bare replica, not a
// FederationNode) writes raw values under the federation's keys.

class HostilePeer {
 public:
  HostilePeer(const std::string& region, const std::string& target, uint16_t targetPort) {
    const Pki& pki = Pki::get();
    ReplicaNodeConfig config;
    config.transport.self = replicaIdOf(region);
    config.transport.region = region;
    config.transport.listenHost = "127.0.0.1";
    config.transport.listenPort = 0;
    const net::PemPair& leaf = pki.leaves.at(region);
    config.transport.tls = {pki.ca.certificatePem, leaf.certificatePem, leaf.privateKeyPem};
    config.transport.peers = {PeerEndpoint{replicaIdOf(target), target, "127.0.0.1", targetPort}};
    node_ = std::make_unique<ReplicaNode>(config);
    auto started = node_->start();
    EXPECT_TRUE(started.ok()) << started.error().message;
  }
  uint16_t port() const { return node_->peerPort(); }
  void put(const std::string& key, const std::string& value) {
    auto written = node_->state().put(key, value, state::WriteOptions{});
    EXPECT_TRUE(written.ok()) << key << ": " << written.error().message;
  }

 private:
  std::unique_ptr<ReplicaNode> node_;
};

TEST_F(FederationNodeTest, RecordsFromAPeerThatDoNotParseOrNameAnotherKeyAreIgnoredAndCounted) {
  FederationNode& a = start("a");
  ASSERT_NE(a.listenPort(), 0);
  HostilePeer c("c", "a", a.listenPort());
  a.setRegions({{"a", endpointOf(a.listenPort())}, {"c", endpointOf(c.port())}});
  ASSERT_EQ(a.stats().peers, 1u);

  // A heartbeat under hb/c that says it is b's: refused as it arrives, and no one is heard.
  api::Heartbeat forged = localStateOf("b");
  forged.region = "b";
  forged.sequence = 1;
  forged.sentAtMillis = 1;
  c.put(api::heartbeatKey("c"), api::serialize(forged));
  ASSERT_TRUE(soon([&] { return a.stats().recordsRefused >= 1; }));
  NodeStats stats = a.stats();
  EXPECT_EQ(stats.recordsRefused, 1u);
  EXPECT_TRUE(contains(stats.lastRefusedRecord, "hb/c") &&
              contains(stats.lastRefusedRecord, "names region b"))
      << stats.lastRefusedRecord;
  EXPECT_FALSE(a.heartbeat("c").has_value());
  EXPECT_FALSE(a.heartbeat("b").has_value());
  EXPECT_EQ(notices("a").heartbeats("c") + notices("a").heartbeats("b"), 0);

  // A heartbeat that does not parse.
  c.put(api::heartbeatKey("c"), "{\"region\": 42");
  ASSERT_TRUE(soon([&] { return a.stats().recordsRefused >= 2; }));
  EXPECT_TRUE(contains(a.stats().lastRefusedRecord, "hb/c")) << a.stats().lastRefusedRecord;
  EXPECT_FALSE(a.heartbeat("c").has_value());

  // A key outside the federation's layout.
  c.put("junk/1", "x");
  ASSERT_TRUE(soon([&] { return a.stats().recordsRefused >= 3; }));
  stats = a.stats();
  EXPECT_EQ(stats.recordsRefused, 3u);
  EXPECT_TRUE(contains(stats.lastRefusedRecord, "junk/1") && contains(stats.lastRefusedRecord, "not a key"))
      << stats.lastRefusedRecord;

  // A record that does not parse, one whose content names another VM, an answer naming another
  // region: each, one at a time, reads as absent, counted, with the key and why.
  struct Case {
    std::string name;
    std::string key;
    std::string value;
    std::function<bool()> readsNothing;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"record that does not parse", api::recordKey("uid-garbage"), "{not json",
       [&] { return !a.record("uid-garbage").has_value(); }, ""},
      {"record naming another VM", api::recordKey("uid-wrong"),
       api::serialize(recordOf("uid-other", "c", "a")),
       [&] { return !a.record("uid-wrong").has_value(); }, "names VM uid-other"},
      {"answer naming another region", api::answerKey("c", "uid-forged"),
       api::serialize(answerOf("uid-forged", "b")),
       [&] { return !a.answer("c", "uid-forged").has_value(); }, "another region"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    const uint64_t before = a.stats().recordsRefused;
    c.put(test.key, test.value);
    // Counted when it arrives or when it is read: the wait reads it until the refusal names it.
    ASSERT_TRUE(soon([&] {
      if (!test.readsNothing()) return false;
      const std::string last = a.stats().lastRefusedRecord;
      return contains(last, test.key) && contains(last, test.why);
    })) << a.stats().lastRefusedRecord;
    EXPECT_GT(a.stats().recordsRefused, before);
  }

  // Beside them, a good record and a good answer of c are read as written.
  const api::PlacementRecord good = recordOf("uid-good", "c", "a");
  const api::ReservationAnswer goodAnswer = answerOf("uid-good", "c");
  c.put(api::recordKey("uid-good"), api::serialize(good));
  c.put(api::answerKey("c", "uid-good"), api::serialize(goodAnswer));
  ASSERT_TRUE(soon([&] { return a.record("uid-good") == good && a.answer("c", "uid-good") == goodAnswer; }));
  // recordsIn() leaves out what does not parse or names another VM (uid-other claims region a).
  EXPECT_EQ(a.recordsIn("a"), std::vector<api::PlacementRecord>{good});
  EXPECT_TRUE(a.answeredUids().empty());
}

// A key under this region's answer prefix that is not an answer key (its uid is not a uid) is
// refused as it arrives; answeredUids() must not list it either. Disabled: fails today, reported
// (answeredUids() returns every key suffix under resv/<self>/ unchecked); enable with the fix.
TEST_F(FederationNodeTest, AnsweredUidsListsOnlyKeysOfTheFederationsLayout) {
  FederationNode& a = start("a");
  ASSERT_NE(a.listenPort(), 0);
  HostilePeer c("c", "a", a.listenPort());
  a.setRegions({{"c", endpointOf(c.port())}});
  a.putAnswer(answerOf("uid-1", "a"));
  c.put(std::string(api::answerPrefix()) + "a/NOT A UID", api::serialize(answerOf("uid-2", "a")));
  c.put(std::string(api::answerPrefix()) + "a/uid-3/extra", api::serialize(answerOf("uid-3", "a")));
  ASSERT_TRUE(soon([&] { return a.stats().recordsRefused >= 2; })) << "both refused as they arrive";
  EXPECT_EQ(a.answeredUids(), std::vector<std::string>{"uid-1"});
}

// recordsRefused counts records from peers that were ignored (dwcp_federation_records_refused_total):
// one bad record is one, however often the controllers read it. Disabled: fails today, reported
// (record() and answer() count a refusal on every read); enable with the fix.
TEST_F(FederationNodeTest, AHostileRecordIsCountedOnceHoweverOftenItIsRead) {
  FederationNode& a = start("a");
  ASSERT_NE(a.listenPort(), 0);
  HostilePeer c("c", "a", a.listenPort());
  a.setRegions({{"c", endpointOf(c.port())}});
  c.put(api::recordKey("uid-wrong"), api::serialize(recordOf("uid-other", "c", "a")));
  c.put(api::recordKey("uid-marker"), api::serialize(recordOf("uid-marker", "c", "a")));
  ASSERT_TRUE(soon([&] { return a.record("uid-marker").has_value(); }));
  ASSERT_TRUE(soon([&] { return !a.record("uid-wrong") && a.stats().recordsRefused >= 1; }));
  const uint64_t counted = a.stats().recordsRefused;
  for (int read = 0; read < 3; ++read) {
    EXPECT_FALSE(a.record("uid-wrong").has_value());
    EXPECT_EQ(a.recordsIn("a").size(), 1u);
  }
  EXPECT_EQ(a.stats().recordsRefused, counted) << "each read of the same record counted it again";
  EXPECT_EQ(counted, 1u);
}

TEST_F(FederationNodeTest, ReadsWithNamesThatAreNotAUidOrRegionReturnNothing) {
  FederationNode& a = start("a");
  ASSERT_NE(a.listenPort(), 0);
  a.putRecord(recordOf("uid-1", "a", "a"));
  a.putAnswer(answerOf("uid-1", "a"));
  ASSERT_TRUE(a.record("uid-1").has_value());
  ASSERT_TRUE(a.answer("a", "uid-1").has_value());
  for (const std::string& uid : {std::string(), std::string("UID-1"), std::string("uid 1"),
                                 std::string("../uid-1"), std::string("uid-1/x"), std::string(65, 'a')}) {
    SCOPED_TRACE("uid \"" + uid + "\"");
    EXPECT_FALSE(a.record(uid).has_value());
    EXPECT_FALSE(a.answer("a", uid).has_value());
  }
  for (const std::string& region : {std::string(), std::string("A"), std::string("a_b"), std::string("-a"),
                                    std::string("a/uid-1"), std::string(64, 'a')}) {
    SCOPED_TRACE("region \"" + region + "\"");
    EXPECT_FALSE(a.answer(region, "uid-1").has_value());
  }
  EXPECT_EQ(a.stats().recordsRefused, 0u) << "a bad name in a read is not a refused record";
}

// 4. Suspicion inputs: a stopped peer is no longer heard, and its link turns unreachable.

TEST_F(FederationNodeTest, AfterAPeerStopsItIsNoLongerHeardAndItsLinkTurnsUnreachable) {
  ASSERT_NE(start("a").listenPort(), 0);
  ASSERT_NE(start("b").listenPort(), 0);
  connectAll();
  ASSERT_TRUE(soon([&] {
    const auto links = node("a").links();
    return node("a").heartbeat("b").has_value() && links.size() == 1 && links[0].reachable;
  }));

  node("b").stop();
  ASSERT_TRUE(soon([&] {
    const auto links = node("a").links();
    return links.size() == 1 && links[0].region == "b" && !links[0].reachable;
  }));
  EXPECT_EQ(node("a").suspectAfter(), 150ms);
  EXPECT_TRUE(node("a").links()[0].rttMs.has_value()) << "the last measurement stays";

  // heardAt stands still while a keeps beating (three more beats of its own, each sent to b).
  const auto heard = node("a").heartbeat("b");
  ASSERT_TRUE(heard.has_value()) << "what was heard last is kept";
  const uint64_t beats = node("a").stats().heartbeatsSent;
  ASSERT_TRUE(soon([&] { return node("a").stats().heartbeatsSent >= beats + 3; }));
  const auto later = node("a").heartbeat("b");
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->heardAt, heard->heardAt);
  EXPECT_EQ(later->heartbeat.sequence, heard->heartbeat.sequence);
  EXPECT_GT(node("a").stats().transport.sendFailures, 0u);
  EXPECT_FALSE(node("a").links()[0].reachable);
}

// 5. A restart writes under a fresh writer: the new b learns back its record from a, and its
// changed write is taken by a (under b's old writer id, its counter would start again at 1 and a
// would take it for a write it already holds).

TEST_F(FederationNodeTest, ARestartedRegionLearnsItsRecordsBackAndItsNewWritesReachItsPeers) {
  ASSERT_NE(start("a").listenPort(), 0);
  ASSERT_NE(start("b").listenPort(), 0);
  connectAll();

  const api::PlacementRecord record = recordOf("uid-1", "b", "a");
  node("b").putRecord(record);
  const api::ReservationAnswer answer = answerOf("uid-2", "b");
  node("b").putAnswer(answer);
  ASSERT_TRUE(soon([&] {
    return node("a").record("uid-1") == record && node("a").answer("b", "uid-2") == answer;
  }));

  const uint16_t port = node("b").listenPort();
  node("b").stop();  // frames a queued for this run may reach the next one: it tells them apart
  NodeConfig config = configFor("b");
  config.listenPort = port;  // the same address: a's Regions do not change
  FederationNode& b = make(config);  // destroys the old b
  b.setRegions(regions());
  ASSERT_TRUE(b.start().ok());
  ASSERT_EQ(b.listenPort(), port);
  const auto restartedAt = std::chrono::steady_clock::now();  // a's clock is the real one

  ASSERT_TRUE(soon([&] { return b.caughtUpWith("a"); }));
  EXPECT_EQ(b.record("uid-1"), record) << "caught up with a, b holds what a had";
  EXPECT_EQ(b.answeredUids(), std::vector<std::string>{"uid-2"});
  EXPECT_EQ(b.answer("b", "uid-2"), answer);
  EXPECT_TRUE(b.initialSyncDone());
  EXPECT_FALSE(b.heartbeat("b").has_value()) << "its own old heartbeat, learned back, is not a peer's";

  api::PlacementRecord changed = record;
  changed.state = api::RecordState::kPlaced;
  changed.epoch = 2;
  b.putRecord(changed);
  ASSERT_TRUE(soon([&] { return node("a").record("uid-1") == changed; }));

  api::ReservationAnswer refused = answer;
  refused.admitted = false;
  refused.reason = "no room";
  b.putAnswer(refused);
  ASSERT_TRUE(soon([&] { return node("a").answer("b", "uid-2") == refused; }));

  // The new run's heartbeats are heard.
  ASSERT_TRUE(soon([&] {
    auto heard = node("a").heartbeat("b");
    return heard && heard->heardAt > restartedAt;
  }));

  // And a removal of a record written by the earlier run reaches a as well.
  b.removeAnswer("uid-2");
  ASSERT_TRUE(soon([&] { return !node("a").answer("b", "uid-2").has_value(); }));
  b.removeRecord("uid-1");
  ASSERT_TRUE(soon([&] { return !node("a").record("uid-1").has_value(); }));
  EXPECT_EQ(node("a").stats().recordsRefused, 0u) << node("a").stats().lastRefusedRecord;
}

TEST_F(FederationNodeTest, ARegionRestartedOnAnotherPortIsFollowedAfterSetRegions) {
  ASSERT_NE(start("a").listenPort(), 0);
  ASSERT_NE(start("b").listenPort(), 0);
  connectAll();
  const api::PlacementRecord record = recordOf("uid-1", "b", "a");
  node("b").putRecord(record);
  ASSERT_TRUE(soon([&] { return node("a").record("uid-1") == record; }));

  node("b").stop();
  FederationNode& b = make(configFor("b"));  // a new ephemeral port
  ASSERT_TRUE(b.start().ok());
  connectAll();
  ASSERT_TRUE(soon([&] { return b.caughtUpWith("a"); }));
  EXPECT_EQ(b.record("uid-1"), record);
  api::PlacementRecord changed = record;
  changed.region = "b";
  b.putRecord(changed);
  ASSERT_TRUE(soon([&] { return node("a").record("uid-1") == changed; }));
  EXPECT_EQ(node("a").recordsIn("b"), std::vector<api::PlacementRecord>{changed});
  EXPECT_TRUE(node("a").recordsIn("a").empty());
}

// A region restarts while a peer's answer to the earlier run's digest request is still on its way
// (here: a's frames to b wait 2 s). The answer carries a's whole context and only what the earlier
// run lacked; the new run must not take that context for entries it holds. Disabled: fails today,
// reported. The new b merges the context without the entries, is "caught up" with a while holding
// nothing, and skips the entries when a's answer to its own request comes: it never learns them back.
TEST_F(FederationNodeTest, AnAnswerMeantForTheEarlierRunDoesNotMakeTheRestartedRunSkipRecords) {
  ASSERT_NE(start("a").listenPort(), 0);
  ASSERT_NE(start("b").listenPort(), 0);
  connectAll();
  const api::PlacementRecord record = recordOf("uid-1", "b", "a");
  node("b").putRecord(record);
  ASSERT_TRUE(soon([&] { return node("a").record("uid-1") == record; }));

  FaultSettings slow;
  slow.addedLatencyMillis = 2'000;
  node("a").transport().setFaults(slow);
  // The earlier b asks a twice more (and its requests reached a): a's answers wait in its queue.
  const uint64_t rounds = node("b").stats().state.antiEntropyRounds;
  ASSERT_TRUE(soon([&] { return node("b").stats().state.antiEntropyRounds >= rounds + 2; }));
  ASSERT_TRUE(soon([&] { return sentEverythingQueued("b"); }));

  const uint16_t port = node("b").listenPort();
  node("b").stop();
  NodeConfig config = configFor("b");
  config.listenPort = port;
  FederationNode& b = make(config);
  b.setRegions(regions());
  ASSERT_TRUE(b.start().ok());

  ASSERT_TRUE(soon([&] { return b.caughtUpWith("a"); }));
  EXPECT_EQ(b.record("uid-1"), record) << "caught up with a without holding what a had";

  node("a").transport().setFaults(FaultSettings{});
  const uint64_t later = b.stats().state.antiEntropyRounds;
  ASSERT_TRUE(soon([&] {
    return b.stats().state.antiEntropyRounds >= later + 4 && sentEverythingQueued("b") &&
           sentEverythingQueued("a");
  }));
  EXPECT_EQ(b.record("uid-1"), record) << "never learned back";
}

// 6. Membership follows setRegions.

TEST_F(FederationNodeTest, RegionsWithoutAValidEndpointAreNotPeersAndRemovedRegionsAreDropped) {
  FederationNode& a = start("a");
  ASSERT_NE(a.listenPort(), 0);
  FederationNode& b = start("b");
  ASSERT_NE(b.listenPort(), 0);
  const RegionPeer self{"a", endpointOf(a.listenPort())};
  const RegionPeer peerB{"b", endpointOf(b.listenPort())};
  b.setRegions({self, peerB});

  a.setRegions({self, peerB, {"c", "not-a-url"}, {"d", "http://127.0.0.1:1"}, {"e", "https://"},
                {"f", "https://127.0.0.1:70000"}});
  EXPECT_EQ(a.stats().peers, 1u) << "itself and the Regions without a valid endpoint are not peers";
  ASSERT_EQ(a.links().size(), 1u);
  EXPECT_EQ(a.links()[0].region, "b");
  ASSERT_TRUE(soon([&] { return a.heartbeat("b").has_value() && a.caughtUpWith("b"); }));
  for (const auto& region : {"c", "d", "e", "f"}) EXPECT_FALSE(a.caughtUpWith(region)) << region;

  // b's Region is deleted: it is dropped from the peers, the links and what was heard.
  a.setRegions({self, {"c", "not-a-url"}});
  EXPECT_EQ(a.stats().peers, 0u);
  EXPECT_TRUE(a.links().empty());
  EXPECT_FALSE(a.heartbeat("b").has_value());
  EXPECT_FALSE(a.caughtUpWith("b"));
  // b still sends to a, which now refuses it; nothing it says is heard.
  const auto unknownPeerRefusals = [&] { return a.stats().transport.refusedByReason.at("unknown-peer"); };
  const uint64_t refusedBefore = unknownPeerRefusals();
  ASSERT_TRUE(soon([&] { return unknownPeerRefusals() >= refusedBefore + 3; }));
  EXPECT_FALSE(a.heartbeat("b").has_value());

  // Its Region comes back: it is a peer again and heard again.
  a.setRegions({self, peerB});
  EXPECT_EQ(a.stats().peers, 1u);
  ASSERT_TRUE(soon([&] { return a.heartbeat("b").has_value(); }));
  EXPECT_TRUE(soon([&] {
    const auto links = a.links();
    return links.size() == 1 && links[0].region == "b" && links[0].reachable;
  }));
}

TEST_F(FederationNodeTest, RegionsSetBeforeStartAreAppliedByStart) {
  ASSERT_NE(start("a").listenPort(), 0);
  FederationNode& b = make(configFor("b"));
  b.setRegions({{"a", endpointOf(node("a").listenPort())}, {"b", "https://127.0.0.1:1"}});
  EXPECT_EQ(b.stats().peers, 0u) << "kept until start()";
  ASSERT_TRUE(b.start().ok());
  EXPECT_EQ(b.stats().peers, 1u);
  ASSERT_EQ(b.links().size(), 1u);
  EXPECT_EQ(b.links()[0].region, "a");
  connectAll();
  ASSERT_TRUE(soon([&] { return b.heartbeat("a").has_value() && node("a").heartbeat("b").has_value(); }));
}

// 7. The initial sync.

TEST_F(FederationNodeTest, InitialSyncIsDoneOnceCaughtUpWithEveryPeer) {
  ASSERT_NE(start("b").listenPort(), 0);
  ASSERT_NE(start("c").listenPort(), 0);
  node("b").putRecord(recordOf("uid-1", "b", "a"));
  FederationNode& a = make(configFor("a"));  // initialSyncTimeout: 10 minutes
  EXPECT_FALSE(a.initialSyncDone()) << "not started";
  a.setRegions({{"b", endpointOf(node("b").listenPort())}, {"c", endpointOf(node("c").listenPort())}});
  ASSERT_TRUE(a.start().ok());
  // Neither b nor c knows a yet: they refuse its frames and send it nothing.
  EXPECT_FALSE(a.initialSyncDone());
  EXPECT_FALSE(a.caughtUpWith("b"));

  node("b").setRegions(regions());
  ASSERT_TRUE(soon([&] { return a.caughtUpWith("b"); }));
  EXPECT_EQ(a.record("uid-1"), recordOf("uid-1", "b", "a"));
  EXPECT_FALSE(a.caughtUpWith("c"));
  EXPECT_FALSE(a.initialSyncDone()) << "not caught up with c";

  node("c").setRegions(regions());
  ASSERT_TRUE(soon([&] { return a.initialSyncDone(); }));
  EXPECT_TRUE(a.caughtUpWith("c"));

  node("b").stop();
  node("c").stop();
  EXPECT_TRUE(a.initialSyncDone()) << "stays true";
}

TEST_F(FederationNodeTest, InitialSyncIsDoneAfterTheTimeoutWhenAPeerIsDown) {
  NodeConfig config = configFor("a");
  config.initialSyncTimeout = 300ms;
  FederationNode& a = make(config);
  a.setRegions({{"b", "https://127.0.0.1:1"}});  // nothing listens there
  ASSERT_TRUE(a.start().ok());
  EXPECT_EQ(a.stats().peers, 1u);
  ASSERT_TRUE(soon([&] { return a.initialSyncDone(); }));
  EXPECT_FALSE(a.caughtUpWith("b")) << "done by the timeout, not by catching up";
}

TEST_F(FederationNodeTest, InitialSyncTimeoutIsMeasuredOnTheInjectedClock) {
  base::FakeClock clock;
  NodeConfig config = configFor("a");
  config.initialSyncTimeout = 300ms;
  FederationNode& a = make(config, clock);
  a.setRegions({{"b", "https://127.0.0.1:1"}});
  ASSERT_TRUE(a.start().ok());
  EXPECT_FALSE(a.initialSyncDone());
  clock.advance(299ms);
  EXPECT_FALSE(a.initialSyncDone());
  clock.advance(1ms);
  EXPECT_TRUE(a.initialSyncDone());
  EXPECT_TRUE(a.initialSyncDone()) << "stays true";
  nodes_.erase("a");  // before `clock` goes
}

// 8. Start-up errors.

TEST_F(FederationNodeTest, StartWithAMissingFileFailsNamingIt) {
  struct Case {
    std::string name;
    std::function<void(net::TlsFilePaths&)> breakIt;
    std::string missing;
  };
  const std::vector<Case> cases = {
      {"CA", [&](net::TlsFilePaths& p) { p.caFile = (dir_ / "missing-ca.crt").string(); }, "missing-ca.crt"},
      {"certificate", [&](net::TlsFilePaths& p) { p.certFile = (dir_ / "missing-tls.crt").string(); },
       "missing-tls.crt"},
      {"key", [&](net::TlsFilePaths& p) { p.keyFile = (dir_ / "missing-tls.key").string(); },
       "missing-tls.key"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    NodeConfig config = configFor("a");
    test.breakIt(config.tls);
    FederationNode& a = make(config);
    std::optional<net::Status> started;
    EXPECT_NO_THROW(started.emplace(a.start()));
    ASSERT_TRUE(started.has_value());
    ASSERT_FALSE(started->ok());
    EXPECT_TRUE(contains(started->error().message, test.missing)) << started->error().message;
    EXPECT_EQ(a.listenPort(), 0);
    EXPECT_FALSE(a.initialSyncDone());
    EXPECT_EQ(a.stats().peers, 0u);
    a.stop();  // harmless after a failed start
  }
}

TEST_F(FederationNodeTest, StartOnAPortInUseFailsAndSaysSo) {
  FederationNode& a = start("a");
  ASSERT_NE(a.listenPort(), 0);
  NodeConfig config = configFor("b");
  config.listenPort = a.listenPort();
  FederationNode& b = make(config);
  const net::Status started = b.start();
  ASSERT_FALSE(started.ok());
  EXPECT_TRUE(contains(started.error().message, "peer listener")) << started.error().message;
  EXPECT_FALSE(b.initialSyncDone());
  b.stop();
}

}  // namespace
}  // namespace dwcp::federation
