// Consistency levels, replication, anti-entropy, metrics and peer validation of
// GeoDistributedState over the simulated network (5 regions, virtual time).
#include "engines/state/geo_distributed_state.h"

#include <gtest/gtest.h>

#include "engines/state/testing/federation_harness.h"

namespace dwcp::state {
namespace {

GeoStateConfig baseConfig() {
  GeoStateConfig config;
  config.batchWindowMillis = 5;
  config.antiEntropyIntervalMillis = 200;
  config.defaultTimeoutMillis = 300;
  return config;
}

struct Outcome {
  bool called = false;
  Status status = okStatus();
};

WriteCallback record(Outcome& outcome) {
  return [&outcome](Status status) {
    outcome.called = true;
    outcome.status = std::move(status);
  };
}

TEST(GeoStateTest, EventualWriteIsLocalAtOnceAndReplicatesWithinMilliseconds) {
  FederationHarness fed(5, 1, baseConfig());
  Outcome outcome;
  ASSERT_TRUE(fed.region(1).put("k", "v", WriteOptions{}, record(outcome)).ok());
  EXPECT_TRUE(outcome.called);
  EXPECT_TRUE(outcome.status.ok());
  EXPECT_EQ(fed.region(1).getLocal("k"), "v");
  EXPECT_EQ(fed.region(2).getLocal("k"), std::nullopt);
  fed.run(20);  // 5 ms batch window + 1-5 ms latency
  for (ReplicaId r = 2; r <= 5; ++r) EXPECT_EQ(fed.region(r).getLocal("k"), "v") << "region " << r;
  const auto metrics = fed.region(1).metrics();
  ASSERT_EQ(metrics.syncLatencySeconds.size(), 4u);
  for (double s : metrics.syncLatencySeconds) EXPECT_LE(s, 0.020);
  for (const auto& [peer, lag] : metrics.lagByPeer) EXPECT_EQ(lag.unacknowledgedWrites, 0u) << peer;
}

TEST(GeoStateTest, QuorumWriteSucceedsWithAMajority) {
  FederationHarness fed(5, 2, baseConfig());
  fed.network().partition({{1, 2, 3}, {4, 5}});
  Outcome outcome;
  ASSERT_TRUE(fed.region(1).put("k", "v", WriteOptions{Consistency::kQuorum}, record(outcome)).ok());
  EXPECT_FALSE(outcome.called) << "a quorum write waits for acknowledgements";
  fed.run(30);
  ASSERT_TRUE(outcome.called);
  EXPECT_TRUE(outcome.status.ok()) << outcome.status.error().message;
}

TEST(GeoStateTest, QuorumWriteInAMinorityFailsWithAClearErrorAndStillConverges) {
  FederationHarness fed(5, 3, baseConfig());
  fed.network().partition({{1, 2}, {3, 4, 5}});
  Outcome outcome;
  ASSERT_TRUE(fed.region(1).put("k", "v", WriteOptions{Consistency::kQuorum, 0, 250}, record(outcome)).ok());
  fed.run(240);
  EXPECT_FALSE(outcome.called) << "no answer before the deadline";
  fed.run(20);
  ASSERT_TRUE(outcome.called);
  ASSERT_FALSE(outcome.status.ok());
  EXPECT_EQ(outcome.status.error().code, ErrorCode::kQuorumNotReached);
  EXPECT_EQ(outcome.status.error().message,
            "quorum not reached: 2 of 5 regions acknowledged, 3 needed; the write is applied locally and will "
            "converge");
  EXPECT_EQ(outcome.status.error().answered, 2u);
  EXPECT_EQ(outcome.status.error().needed, 3u);
  EXPECT_EQ(fed.region(1).getLocal("k"), "v");
  EXPECT_EQ(fed.region(3).getLocal("k"), std::nullopt);
  EXPECT_GT(fed.region(1).metrics().lagByPeer.at(3).lagMillis, 200);
  fed.network().heal();
  fed.run(500);
  for (ReplicaId r = 1; r <= 5; ++r) EXPECT_EQ(fed.region(r).getLocal("k"), "v") << "region " << r;
  EXPECT_EQ(fed.region(1).metrics().lagByPeer.at(3).lagMillis, 0);
}

TEST(GeoStateTest, StrongWriteNeedsEveryLiveRegion) {
  FederationHarness fed(5, 4, baseConfig());
  Outcome all;
  fed.region(2).put("a", "1", WriteOptions{Consistency::kStrong}, record(all));
  fed.run(30);
  ASSERT_TRUE(all.called);
  EXPECT_TRUE(all.status.ok());

  fed.network().partition({{1, 2, 3, 4}, {5}});
  Outcome missingOne;
  fed.region(2).put("b", "2", WriteOptions{Consistency::kStrong}, record(missingOne));
  fed.run(400);
  ASSERT_TRUE(missingOne.called);
  ASSERT_FALSE(missingOne.status.ok());
  EXPECT_EQ(missingOne.status.error().message,
            "strong consistency not reached: 4 of 5 live regions acknowledged, 5 needed; the write is applied "
            "locally and will converge");

  // Once the federation declares region 5 failed, strong means the four live regions.
  fed.region(2).setRegionLive(5, false);
  Outcome declared;
  fed.region(2).put("c", "3", WriteOptions{Consistency::kStrong}, record(declared));
  fed.run(30);
  ASSERT_TRUE(declared.called);
  EXPECT_TRUE(declared.status.ok());
}

// Membership changes while running: a Region created joins, a Region deleted leaves.
TEST(GeoStateTest, ARegionAddedLaterReceivesWhatWasWrittenBeforeAndTakesPart) {
  FederationHarness fed(3, 11, baseConfig());
  fed.region(1).setPeers({2});
  fed.region(2).setPeers({1});
  fed.region(3).setPeers({});
  fed.region(1).put("before", "1", WriteOptions{});
  fed.run(300);
  EXPECT_EQ(fed.region(2).getLocal("before"), "1");
  EXPECT_EQ(fed.region(3).getLocal("before"), std::nullopt);  // not a member yet
  EXPECT_EQ(fed.region(1).metrics().lagByPeer.count(3), 0u);

  fed.region(1).setPeers({2, 3, 1, 3});  // self and duplicates are ignored
  fed.region(2).setPeers({1, 3});
  fed.region(3).setPeers({1, 2});
  EXPECT_EQ(fed.region(1).peers(), (std::vector<ReplicaId>{2, 3}));
  fed.run(600);
  EXPECT_EQ(fed.region(3).getLocal("before"), "1");
  // A strong write now needs the new member too, and gets it.
  Outcome strong;
  fed.region(3).put("after", "2", WriteOptions{Consistency::kStrong}, record(strong));
  fed.run(50);
  ASSERT_TRUE(strong.called);
  EXPECT_TRUE(strong.status.ok()) << strong.status.error().message;
  EXPECT_EQ(fed.region(1).getLocal("after"), "2");
}

TEST(GeoStateTest, ARemovedRegionIsNoLongerAwaitedAndItsFramesAreRefused) {
  FederationHarness fed(3, 12, baseConfig());
  fed.network().partition({{1, 2}, {3}});
  Outcome strong;
  fed.region(1).put("k", "v", WriteOptions{Consistency::kStrong, 0, 5'000}, record(strong));
  fed.run(50);
  EXPECT_FALSE(strong.called);  // waits for region 3, cut off

  fed.region(1).setPeers({2});  // region 3's Region was deleted
  fed.run(5);
  ASSERT_TRUE(strong.called);  // long before its 5 s deadline
  EXPECT_TRUE(strong.status.ok()) << strong.status.error().message;

  // Every region drops it (its Region is gone everywhere); it still sends, and is refused.
  fed.region(2).setPeers({1});
  fed.network().heal();
  const uint64_t rejectedBefore = fed.region(1).metrics().framesRejected;
  fed.region(3).put("from-3", "x", WriteOptions{});
  fed.run(400);
  EXPECT_GT(fed.region(1).metrics().framesRejected, rejectedBefore);
  EXPECT_EQ(fed.region(1).getLocal("from-3"), std::nullopt);
  EXPECT_EQ(fed.region(2).getLocal("from-3"), std::nullopt);
  EXPECT_EQ(fed.region(1).metrics().lagByPeer.count(3), 0u);
}

TEST(GeoStateTest, ReadAfterAcknowledgedStrongWriteSeesIt) {
  FederationHarness fed(5, 5, baseConfig());
  Outcome written;
  fed.region(1).put("reservation/vm-7", "eu-west-1", WriteOptions{Consistency::kStrong}, record(written));
  fed.run(15);
  ASSERT_TRUE(written.called && written.status.ok());
  // Immediately, with no further delivery, every region reads it, at every level.
  for (ReplicaId r = 1; r <= 5; ++r) {
    EXPECT_EQ(fed.region(r).getLocal("reservation/vm-7"), "eu-west-1") << "region " << r;
  }
  std::optional<Result<std::optional<std::string>>> read;
  fed.region(4).get("reservation/vm-7", ReadOptions{Consistency::kStrong}, [&](auto result) { read = result; });
  fed.run(15);
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(read->ok());
  EXPECT_EQ(read->value(), "eu-west-1");
}

TEST(GeoStateTest, StrongReadConsultsEveryLiveRegion) {
  GeoStateConfig config = baseConfig();
  config.batchWindowMillis = 10'000;  // region 5's write stays unpushed
  config.antiEntropyIntervalMillis = 10'000;
  FederationHarness fed(5, 6, config);
  fed.region(5).put("k", "only-in-5", WriteOptions{});
  fed.run(3);
  EXPECT_EQ(fed.region(1).getLocal("k"), std::nullopt);
  std::optional<Result<std::optional<std::string>>> eventual, strong;
  fed.region(1).get("k", ReadOptions{Consistency::kEventual}, [&](auto r) { eventual = r; });
  fed.region(1).get("k", ReadOptions{Consistency::kStrong}, [&](auto r) { strong = r; });
  ASSERT_TRUE(eventual.has_value());
  EXPECT_EQ(eventual->value(), std::nullopt);
  EXPECT_FALSE(strong.has_value());
  fed.run(15);
  ASSERT_TRUE(strong.has_value());
  ASSERT_TRUE(strong->ok());
  EXPECT_EQ(strong->value(), "only-in-5");
}

TEST(GeoStateTest, QuorumReadInAMinorityFails) {
  FederationHarness fed(5, 7, baseConfig());
  fed.network().partition({{1, 2}, {3, 4, 5}});
  std::optional<Result<std::optional<std::string>>> read;
  fed.region(1).get("k", ReadOptions{Consistency::kQuorum, 100}, [&](auto r) { read = r; });
  fed.run(110);
  ASSERT_TRUE(read.has_value());
  ASSERT_FALSE(read->ok());
  EXPECT_EQ(read->error().code, ErrorCode::kQuorumNotReached);
  EXPECT_NE(read->error().message.find("2 of 5 regions answered, 3 needed"), std::string::npos) << read->error().message;
}

class FailingLog final : public DurableLog {
 public:
  Status append(const StoreDelta&) override {
    ++calls;
    if (fail) return Error{ErrorCode::kDurabilityFailed, "disk full"};
    return okStatus();
  }
  bool fail = false;
  int calls = 0;
};

TEST(GeoStateTest, LocalLevelIsDurableBeforeTheAcknowledgement) {
  base::FakeClock clock;
  SimulatedNetwork net(1, clock);
  FailingLog log;
  GeoStateConfig config = baseConfig();
  config.self = 1;
  config.peers = {2};
  GeoDistributedState state(config, clock, net.transportFor(1), &log);
  ASSERT_TRUE(state.put("k", "v1", WriteOptions{Consistency::kLocal}).ok());
  EXPECT_EQ(log.calls, 1);
  log.fail = true;
  Outcome outcome;
  auto receipt = state.put("k", "v2", WriteOptions{Consistency::kLocal}, record(outcome));
  ASSERT_FALSE(receipt.ok());
  EXPECT_EQ(receipt.error().code, ErrorCode::kDurabilityFailed);
  EXPECT_NE(receipt.error().message.find("disk full"), std::string::npos);
  EXPECT_TRUE(outcome.called);
  EXPECT_FALSE(outcome.status.ok());
  EXPECT_EQ(state.getLocal("k"), "v1") << "nothing applied";
}

TEST(GeoStateTest, TtlExpiresEntries) {
  FederationHarness fed(3, 8, baseConfig());
  fed.region(1).put("heartbeat/us-east-1", "alive", WriteOptions{Consistency::kEventual, /*ttlMillis=*/100});
  fed.run(50);
  EXPECT_EQ(fed.region(2).getLocal("heartbeat/us-east-1"), "alive");
  fed.run(60);
  EXPECT_EQ(fed.region(2).getLocal("heartbeat/us-east-1"), std::nullopt);
  EXPECT_EQ(fed.region(1).getLocal("heartbeat/us-east-1"), std::nullopt);
  fed.run(1000);  // stable everywhere: collected
  for (ReplicaId r = 1; r <= 3; ++r) EXPECT_EQ(fed.region(r).snapshot().entryCount(), 0u) << "region " << r;
}

TEST(GeoStateTest, DeletionMarkersAreCollectedOnceEveryRegionHasSeenThem) {
  FederationHarness fed(3, 9, baseConfig());
  fed.region(1).put("k", "v", WriteOptions{});
  fed.run(20);
  fed.region(2).remove("k", WriteOptions{});
  fed.run(20);
  for (ReplicaId r = 1; r <= 3; ++r) EXPECT_EQ(fed.region(r).getLocal("k"), std::nullopt);
  EXPECT_EQ(fed.region(3).snapshot().entryCount(), 1u) << "the marker stays until stable";
  fed.run(1000);
  for (ReplicaId r = 1; r <= 3; ++r) EXPECT_EQ(fed.region(r).snapshot().entryCount(), 0u) << "region " << r;
}

TEST(GeoStateTest, ReturningPeerReceivesOnlyWhatItMissed) {
  GeoStateConfig config = baseConfig();
  config.retransmitGiveUpMillis = 50;  // the partition outlasts retransmission: anti-entropy repairs
  FederationHarness fed(3, 10, config);
  const std::string value(100, 'x');
  for (int i = 0; i < 1000; ++i) fed.region(1).put("key-" + std::to_string(i), value, WriteOptions{});
  fed.run(300);
  fed.network().partition({{1, 2}, {3}});
  for (int i = 0; i < 100; ++i) fed.region(1).put("key-" + std::to_string(i * 10), "changed", WriteOptions{});
  fed.run(300);
  const uint64_t before = fed.region(3).metrics().bytesReceived;
  const uint64_t repairsBefore = fed.region(3).metrics().antiEntropyRepairs;
  fed.network().heal();
  fed.run(1500);
  for (int i = 0; i < 1000; i += 10) ASSERT_EQ(fed.region(3).getLocal("key-" + std::to_string(i)), "changed");
  const uint64_t received = fed.region(3).metrics().bytesReceived - before;
  const size_t fullState = encodeFrame(Frame{1, DigestResponse{0, fed.region(1).snapshot().missingFrom({})}}).size();
  EXPECT_LT(received, fullState / 5) << "received " << received << " bytes; full state is " << fullState;
  EXPECT_EQ(fed.region(3).metrics().antiEntropyRepairs - repairsBefore, 100u);
  EXPECT_TRUE(fed.region(3).snapshot().sameContent(fed.region(1).snapshot()));
}

TEST(GeoStateTest, RejectsFramesFromUnknownOrSpoofedPeers) {
  FederationHarness fed(3, 11, baseConfig());
  const auto frame = encodeFrame(Frame{2, DigestRequest{1, {}}});
  auto unknown = fed.region(1).receive(9, frame);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnknownPeer);
  auto spoofed = fed.region(1).receive(3, frame);
  ASSERT_FALSE(spoofed.ok());
  EXPECT_NE(spoofed.error().message.find("claims sender 2 but arrived from region 3"), std::string::npos);
  EXPECT_EQ(fed.region(1).metrics().framesRejected, 2u);
  EXPECT_TRUE(fed.region(1).receive(2, frame).ok());
}

TEST(GeoStateTest, LostBatchesAreRetransmittedSoQuorumSurvivesLoss) {
  FederationHarness fed(5, 12, baseConfig());
  fed.network().setFaults(FaultProfile{1, 5, 0.4, 0.0});
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    Outcome outcome;
    fed.region(1).put("k" + std::to_string(i), "v", WriteOptions{Consistency::kQuorum, 0, 1000}, record(outcome));
    fed.run(1000);
    ASSERT_TRUE(outcome.called);
    ok += outcome.status.ok() ? 1 : 0;
  }
  EXPECT_EQ(ok, 20);
  EXPECT_GT(fed.region(1).metrics().retransmissions, 0u);
}

TEST(GeoStateTest, PutRefusesAValueAboveTheLimitNamingTheKeyAndTheLimit) {
  GeoStateConfig config = baseConfig();
  config.maxValueBytes = 1000;
  FederationHarness fed(3, 13, config);
  Outcome outcome;
  auto receipt = fed.region(1).put("placement/big", std::string(1001, 'x'), WriteOptions{}, record(outcome));
  ASSERT_FALSE(receipt.ok());
  EXPECT_EQ(receipt.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(receipt.error().message.find("placement/big"), std::string::npos) << receipt.error().message;
  EXPECT_NE(receipt.error().message.find("1001"), std::string::npos) << receipt.error().message;
  EXPECT_NE(receipt.error().message.find("1000"), std::string::npos) << receipt.error().message;
  ASSERT_TRUE(outcome.called) << "done runs exactly once, with the error";
  EXPECT_FALSE(outcome.status.ok());
  EXPECT_EQ(fed.region(1).getLocal("placement/big"), std::nullopt) << "nothing applied";
  EXPECT_TRUE(fed.region(1).put("placement/big", std::string(1000, 'x'), WriteOptions{}).ok());
}

TEST(GeoStateTest, PutRefusesAnEntryThatCouldNotFitAPeerFrame) {
  GeoStateConfig config = baseConfig();
  config.maxFrameBytes = 4096;  // maxValueBytes (1 MiB by default) is above what a frame carries
  FederationHarness fed(3, 14, config);
  auto receipt = fed.region(1).put("k", std::string(3000, 'x'), WriteOptions{});
  ASSERT_FALSE(receipt.ok());
  EXPECT_EQ(receipt.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(receipt.error().message.find("key k"), std::string::npos) << receipt.error().message;
  EXPECT_NE(receipt.error().message.find("2048"), std::string::npos) << receipt.error().message;
  EXPECT_TRUE(fed.region(1).put("k", std::string(1000, 'x'), WriteOptions{}).ok());
}

GeoStateConfig smallFrames() {
  GeoStateConfig config = baseConfig();
  config.maxFrameBytes = 64 * 1024;
  return config;
}

TEST(GeoStateTest, BatchesAboveTheFrameLimitAreSplitAndConverge) {
  GeoStateConfig config = smallFrames();
  config.batchWindowMillis = 1'000;
  FederationHarness fed(3, 15, config);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(fed.region(1).put("k" + std::to_string(i), std::string(1024, 'v'), {}).ok());
  Outcome quorum;  // flushes the 200 KiB batch with it
  ASSERT_TRUE(fed.region(1).put("last", "q", WriteOptions{Consistency::kQuorum, 0, 1'000}, record(quorum)).ok());
  fed.run(1'000);
  ASSERT_TRUE(quorum.called);
  EXPECT_TRUE(quorum.status.ok()) << quorum.status.error().message;
  for (ReplicaId r = 1; r <= 3; ++r) {
    EXPECT_TRUE(fed.region(r).snapshot().sameContent(fed.region(1).snapshot())) << "region " << r;
    EXPECT_EQ(fed.region(r).metrics().framesRejected, 0u) << "region " << r << ": " << fed.region(r).metrics().lastRejection;
  }
  EXPECT_EQ(fed.region(3).getLocal("k199"), std::string(1024, 'v'));
  EXPECT_GT(fed.region(1).metrics().batchesSent, 3u);
}

TEST(GeoStateTest, DigestAnswersAboveTheFrameLimitAreSplitAndConverge) {
  GeoStateConfig config = smallFrames();
  config.retransmitGiveUpMillis = 50;  // only anti-entropy can repair region 3
  FederationHarness fed(3, 16, config);
  fed.network().partition({{1, 2}, {3}});
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(fed.region(1).put("k" + std::to_string(round * 20 + i), std::string(1024, 'v'), {}).ok());
    }
    fed.run(20);
  }
  fed.run(200);
  EXPECT_EQ(fed.region(3).getLocal("k0"), std::nullopt);
  fed.network().heal();
  fed.run(3'000);
  for (ReplicaId r = 1; r <= 3; ++r) {
    EXPECT_TRUE(fed.region(r).snapshot().sameContent(fed.region(1).snapshot())) << "region " << r;
    EXPECT_EQ(fed.region(r).metrics().framesRejected, 0u) << "region " << r << ": " << fed.region(r).metrics().lastRejection;
  }
}


// A region that crashes loses its replica; it rejoins under a writer id it never used, so the
// writes it makes from then on are not taken for the old writes its peers already hold.
TEST(GeoStateTest, ARestartedRegionWritingUnderAFreshWriterIdIsHeardAndConverges) {
  FederationHarness fed(3, 21, baseConfig());
  ASSERT_TRUE(fed.region(1).put("hb/1", "before", {}).ok());
  ASSERT_TRUE(fed.region(1).put("other", "x", {}).ok());
  fed.run(50);
  ASSERT_EQ(fed.region(2).getLocal("hb/1"), "before");

  fed.restart(1, /*writer=*/1'000'001);
  EXPECT_EQ(fed.region(1).getLocal("hb/1"), std::nullopt) << "the restarted replica starts empty";
  EXPECT_EQ(fed.region(1).writer(), 1'000'001u);
  ASSERT_TRUE(fed.region(1).put("hb/1", "after", {}).ok());  // before it caught up: a sibling
  fed.run(600);
  for (ReplicaId r = 1; r <= 3; ++r) {
    EXPECT_EQ(fed.region(r).getLocal("hb/1"), "after") << "region " << r;
    EXPECT_EQ(fed.region(r).getLocal("other"), "x") << "region " << r << " (the old write, learned back)";
    EXPECT_TRUE(fed.region(r).snapshot().sameContent(fed.region(2).snapshot())) << "region " << r;
  }
  // The next write knows both versions and replaces them: one value, no sibling left.
  ASSERT_TRUE(fed.region(1).put("hb/1", "later", {}).ok());
  fed.run(50);
  for (ReplicaId r = 1; r <= 3; ++r) EXPECT_EQ(fed.region(r).snapshot().siblings("hb/1").size(), 1u) << "region " << r;
}

// What the writer id is for: a restart that reuses the region id as the writer re-issues dots
// its peers hold already, and they take its new write for the old one.
TEST(GeoStateTest, ARestartReusingItsWriterIdIsNotHeardByPeersThatHoldItsOldDots) {
  FederationHarness fed(2, 22, baseConfig());
  ASSERT_TRUE(fed.region(1).put("k", "old", {}).ok());
  fed.run(50);
  fed.restart(1, /*writer=*/0);
  ASSERT_TRUE(fed.region(1).put("k", "new", {}).ok());
  fed.run(600);
  EXPECT_EQ(fed.region(2).getLocal("k"), "old") << "dot (1, 1) was already known to region 2";
}

TEST(GeoStateTest, TheChangeListenerGetsTheKeysAFrameChangedOnceAndNothingForReplays) {
  GeoStateConfig config = baseConfig();
  FederationHarness fed(2, 23, config);
  std::vector<std::vector<std::string>> calls;
  fed.region(2).setChangeListener([&calls](const std::vector<std::string>& keys) { calls.push_back(keys); });
  ASSERT_TRUE(fed.region(1).put("b", "1", {}).ok());
  ASSERT_TRUE(fed.region(1).put("a", "1", {}).ok());
  ASSERT_TRUE(fed.region(1).put("a", "2", {}).ok());  // coalesced with the first in the batch
  fed.run(30);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fed.region(2).getLocal("a"), "2");
  // Anti-entropy rounds and acknowledgements bring nothing new: no further calls.
  fed.run(1'000);
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(fed.region(2).metrics().batchesReplayed, 0u);
}

TEST(GeoStateTest, AReplayedDeltaBatchChangesNothingAndIsCounted) {
  base::FakeClock clock;
  struct Capture : PeerTransport {
    std::vector<std::vector<uint8_t>> frames;
    void send(ReplicaId, std::vector<uint8_t> frame) override { frames.push_back(std::move(frame)); }
  } out1, out2;
  GeoStateConfig c1 = baseConfig(), c2 = baseConfig();
  c1.self = 1;
  c1.peers = {2};
  c2.self = 2;
  c2.peers = {1};
  GeoDistributedState r1(c1, clock, out1), r2(c2, clock, out2);
  int changes = 0;
  r2.setChangeListener([&changes](const std::vector<std::string>&) { ++changes; });
  ASSERT_TRUE(r1.put("k", "v", {}).ok());
  r1.sync();
  std::vector<uint8_t> batch;
  for (const auto& frame : out1.frames) {
    auto decoded = decodeFrame(frame);
    if (decoded.ok() && decoded->type() == MessageType::kDeltaBatch) batch = frame;
  }
  ASSERT_FALSE(batch.empty());
  ASSERT_TRUE(r2.receive(1, batch).ok());
  const ReplicatedStore once = r2.snapshot();
  ASSERT_TRUE(r2.receive(1, batch).ok());
  ASSERT_TRUE(r2.receive(1, batch).ok());
  EXPECT_TRUE(r2.snapshot().sameContent(once));
  EXPECT_EQ(r2.metrics().batchesReplayed, 2u);
  EXPECT_EQ(changes, 1);
}

TEST(GeoStateTest, ARestartedRegionIsCaughtUpWithAPeerOnlyOnceItHoldsWhatThatPeerHad) {
  FederationHarness fed(3, 24, baseConfig());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(fed.region(2).put("k" + std::to_string(i), "v", {}).ok());
  fed.run(100);
  fed.network().partition({{1}, {2, 3}});
  fed.restart(1, 2'000'001);
  EXPECT_FALSE(fed.region(1).caughtUpWith(2));
  EXPECT_FALSE(fed.region(1).caughtUpWith(3));
  fed.run(1'000);
  EXPECT_FALSE(fed.region(1).caughtUpWith(2)) << "cut off: it heard nothing";
  fed.network().heal();
  fed.run(1'000);
  EXPECT_TRUE(fed.region(1).caughtUpWith(2));
  EXPECT_TRUE(fed.region(1).caughtUpWith(3));
  EXPECT_EQ(fed.region(1).getLocal("k49"), "v");
  fed.network().partition({{1}, {2, 3}});
  ASSERT_TRUE(fed.region(2).put("later", "v", {}).ok());
  fed.run(500);
  EXPECT_TRUE(fed.region(1).caughtUpWith(2)) << "caught up once stays caught up";
  fed.region(1).setPeers({3});
  EXPECT_FALSE(fed.region(1).caughtUpWith(2)) << "no longer a peer";
}


// Frames outlive the process they were meant for: a digest answer computed for a region's earlier
// run (its whole context beside only what that run lacked) reaching the restarted run must not
// make it claim writes it does not hold, and an acknowledgement of the earlier run's batch must
// not count for the new run's batch of the same number.
TEST(GeoStateTest, AnAnswerMeantForARegionsEarlierRunDoesNotHideWritesFromTheNextRun) {
  base::FakeClock clock;
  struct Capture : PeerTransport {
    std::vector<std::vector<uint8_t>> frames;
    void send(ReplicaId, std::vector<uint8_t> frame) override { frames.push_back(std::move(frame)); }
  } toA, toB1, toB2;
  GeoStateConfig ca = baseConfig(), cb = baseConfig();
  ca.self = 1;
  ca.peers = {2};
  cb.self = 2;
  cb.peers = {1};
  GeoDistributedState a(ca, clock, toA);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.put("k" + std::to_string(i), "v", {}).ok());
  a.flush();
  toA.frames.clear();

  // b's first run knows a's writes already and asks what it lacks: a answers "nothing, and here
  // is my whole context".
  cb.writer = 100;
  auto b1 = std::make_unique<GeoDistributedState>(cb, clock, toB1);
  b1->sync();  // an empty digest: a answers with everything
  for (auto& frame : toB1.frames) ASSERT_TRUE(a.receive(2, frame).ok());
  for (auto& frame : toA.frames) ASSERT_TRUE(b1->receive(1, frame).ok());
  ASSERT_EQ(b1->getLocal("k4"), "v");
  toA.frames.clear();
  toB1.frames.clear();
  b1->sync();  // now b1 holds everything: a's answer to this carries no entries, a's whole context
  for (auto& frame : toB1.frames) ASSERT_TRUE(a.receive(2, frame).ok());
  std::vector<std::vector<uint8_t>> stale = std::move(toA.frames);
  toA.frames.clear();
  ASSERT_FALSE(stale.empty());

  // b crashes and restarts empty; the answer meant for its first run arrives now.
  cb.writer = 200;
  auto b2 = std::make_unique<GeoDistributedState>(cb, clock, toB2);
  for (auto& frame : stale) ASSERT_TRUE(b2->receive(1, frame).ok());
  EXPECT_FALSE(b2->caughtUpWith(1)) << "it holds none of a's writes";
  // Its own round then brings everything back.
  b2->sync();
  for (auto& frame : toB2.frames) ASSERT_TRUE(a.receive(2, frame).ok());
  for (auto& frame : toA.frames) ASSERT_TRUE(b2->receive(1, frame).ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b2->getLocal("k" + std::to_string(i)), "v") << i;
  EXPECT_TRUE(b2->caughtUpWith(1));
}

TEST(GeoStateTest, AnAcknowledgementOfAnEarlierRunsBatchDoesNotCountForTheNextRun) {
  base::FakeClock clock;
  struct Capture : PeerTransport {
    std::vector<std::vector<uint8_t>> frames;
    void send(ReplicaId, std::vector<uint8_t> frame) override { frames.push_back(std::move(frame)); }
  } toA, toB1, toB2;
  GeoStateConfig ca = baseConfig(), cb = baseConfig();
  ca.self = 1;
  ca.peers = {2, 3};
  cb.self = 2;
  cb.peers = {1, 3};
  GeoDistributedState a(ca, clock, toA);
  cb.writer = 100;
  GeoDistributedState b1(cb, clock, toB1);
  ASSERT_TRUE(b1.put("old", "v", {}).ok());
  b1.flush();
  for (auto& frame : toB1.frames) {
    auto decoded = decodeFrame(frame);
    if (decoded.ok() && decoded->type() == MessageType::kDeltaBatch) {
      ASSERT_TRUE(a.receive(2, frame).ok());
    }
  }
  std::vector<std::vector<uint8_t>> staleAcks = std::move(toA.frames);
  ASSERT_FALSE(staleAcks.empty());

  cb.writer = 200;
  GeoDistributedState b2(cb, clock, toB2);
  Outcome outcome;
  ASSERT_TRUE(b2.put("new", "v", WriteOptions{Consistency::kQuorum, 0, 300}, record(outcome)).ok());
  for (auto& frame : staleAcks) ASSERT_TRUE(b2.receive(1, frame).ok());
  b2.tick();
  EXPECT_FALSE(outcome.called) << "a never acknowledged the new run's write: no quorum yet";
}

}  // namespace
}  // namespace dwcp::state
