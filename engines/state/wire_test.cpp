// The wire format: round trips, each rejection with its error, the decoded-size limits (a
// shared-prefix "bomb" is refused before it allocates, running out of memory is a refusal), and
// a fuzz loop of random, truncated and bit-flipped frames that must be rejected or decoded,
// never crash, and never change a replica's state when rejected. The WireLimits tests also run
// under `ulimit -v 2097152` (ctest dwcp_state_wire_limits_ulimit).
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdio>
#include <limits>
#include <random>

#include "engines/state/geo_distributed_state.h"
#include "engines/state/testing/simulated_network.h"
#include "engines/state/wire.h"

namespace dwcp::state {
namespace {

StoreDelta sampleDelta() {
  ReplicatedStore store(3);
  StoreDelta delta = store.put("placement/vm-1", "us-east-1", HlcTimestamp{1'767'225'600'123, 2, 3}, 1'767'225'700'000);
  StoreDelta removal = store.remove("placement/vm-2", HlcTimestamp{1'767'225'600'124, 0, 3});
  ReplicatedStore::coalesce(delta, removal);
  delta.entries.front().supersedes.raise(1, 7);
  delta.entries.front().hlc.replica = 9;  // relayed timestamp from another replica
  delta.context.add(Dot{1, 3});
  delta.context.addRange(2, 0, 5);
  delta.context.add(Dot{2, 9});
  return delta;
}

std::vector<Frame> sampleFrames() {
  VersionVector seen;
  seen.raise(1, 10);
  seen.raise(4, 2);
  DotContext context = sampleDelta().context;
  return {Frame{3, DeltaBatch{17, sampleDelta()}}, Frame{3, Ack{17, seen}}, Frame{3, DigestRequest{5, context}},
          Frame{3, DigestResponse{5, sampleDelta()}}, Frame{3, DeltaBatch{0, StoreDelta{}}}};
}

TEST(WireTest, RoundTripsEveryMessageType) {
  for (const Frame& frame : sampleFrames()) {
    const auto bytes = encodeFrame(frame);
    auto decoded = decodeFrame(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->sender, frame.sender);
    EXPECT_EQ(decoded->type(), frame.type());
    EXPECT_TRUE(decoded->body == frame.body);
  }
}

TEST(WireTest, HeaderIsMagicVersionType) {
  const auto bytes = encodeFrame(sampleFrames()[1]);
  EXPECT_EQ(bytes[0], 'D');
  EXPECT_EQ(bytes[1], 'S');
  EXPECT_EQ(bytes[2], kWireVersion);
  EXPECT_EQ(bytes[3], static_cast<uint8_t>(MessageType::kAck));
}

TEST(WireTest, RejectsWithClearErrors) {
  const auto good = encodeFrame(sampleFrames()[0]);
  auto expectError = [](std::vector<uint8_t> bytes, ErrorCode code, const std::string& words, size_t max = kDefaultMaxFrameBytes) {
    auto decoded = decodeFrame(bytes, max);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error().code, code) << decoded.error().message;
    EXPECT_NE(decoded.error().message.find(words), std::string::npos) << decoded.error().message;
  };
  auto bad = good;
  bad[0] = 'X';
  expectError(bad, ErrorCode::kMalformedMessage, "bad magic");
  bad = good;
  bad[2] = kWireVersion + 1;
  expectError(bad, ErrorCode::kUnsupportedVersion,
              "wire version " + std::to_string(kWireVersion + 1) + "; this build speaks version " +
                  std::to_string(kWireVersion));
  bad = good;
  bad[3] = 9;
  expectError(bad, ErrorCode::kMalformedMessage, "unknown message type 9");
  expectError(good, ErrorCode::kMessageTooLarge, "exceeds the limit of 16", 16);
  bad = good;
  bad.push_back(0);
  expectError(bad, ErrorCode::kMalformedMessage, "does not match");
  expectError({'D', 'S'}, ErrorCode::kMalformedMessage, "shorter than a header");
  // A delta claiming a zero counter.
  Frame zero{1, Ack{1, {}}};
  auto zeroBytes = encodeFrame(zero);
  zeroBytes.back() = 1;  // entry count 1 ...
  zeroBytes.push_back(4);  // replica 4
  zeroBytes.push_back(0);  // counter 0
  zeroBytes[5] = static_cast<uint8_t>(zeroBytes.size() - 6);
  expectError(zeroBytes, ErrorCode::kMalformedMessage, "zero counter");
}

TEST(WireTest, EveryTruncationIsRejected) {
  for (const Frame& frame : sampleFrames()) {
    const auto bytes = encodeFrame(frame);
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = decodeFrame(std::span<const uint8_t>(bytes.data(), n));
      EXPECT_FALSE(decoded.ok()) << "prefix of " << n << " bytes accepted";
    }
  }
}

TEST(WireTest, HugeCountsDoNotAllocate) {
  // Entry count 2^60 in a tiny frame must be refused before anything is reserved.
  std::vector<uint8_t> body = {1 /*seq*/, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10};
  std::vector<uint8_t> frame = {'D', 'S', kWireVersion, 1, 3, static_cast<uint8_t>(body.size())};
  frame.insert(frame.end(), body.begin(), body.end());
  auto decoded = decodeFrame(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("exceeds the bytes left"), std::string::npos) << decoded.error().message;
}

class NullTransport final : public PeerTransport {
 public:
  void send(ReplicaId, std::vector<uint8_t>) override { ++sent; }
  int sent = 0;
};

TEST(WireTest, FuzzedFramesNeverCrashAndRejectedOnesChangeNothing) {
  base::FakeClock clock;
  NullTransport transport;
  GeoStateConfig config;
  config.self = 1;
  config.peers = {3};
  GeoDistributedState state(config, clock, transport);
  ASSERT_TRUE(state.put("k", "v", WriteOptions{}).ok());
  const ReplicatedStore before = state.snapshot();

  std::mt19937_64 rng(20260101);
  const auto frames = sampleFrames();
  size_t accepted = 0, rejected = 0;
  for (int i = 0; i < 20'000; ++i) {
    std::vector<uint8_t> bytes;
    if (i % 3 == 0) {
      bytes.resize(rng() % 64);
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
      if (i % 2 == 0 && bytes.size() >= 4) {
        bytes[0] = 'D';
        bytes[1] = 'S';
        bytes[2] = kWireVersion;
        bytes[3] = static_cast<uint8_t>(1 + rng() % 4);
      }
    } else {
      bytes = encodeFrame(frames[rng() % frames.size()]);
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    }
    auto decoded = decodeFrame(bytes);
    if (decoded.ok()) {
      ++accepted;
      // Whatever decodes must re-encode to something that decodes to the same message.
      auto again = decodeFrame(encodeFrame(decoded.value()));
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(again->body == decoded->body);
    } else {
      ++rejected;
      EXPECT_FALSE(decoded.error().message.empty());
      // The engine rejects it too, and its replica is untouched.
      EXPECT_FALSE(state.receive(3, bytes).ok());
    }
  }
  EXPECT_GT(rejected, 10'000u);
  EXPECT_TRUE(state.snapshot().sameContent(before));
  EXPECT_EQ(state.metrics().framesRejected, rejected);
  (void)accepted;
}

void appendVarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

// A DeltaBatch from region 3 whose first entry carries a key of `keyBytes` and whose other
// entries share that key whole (shared prefix = the whole key, empty suffix): a few bytes each.
std::vector<uint8_t> sharedPrefixBomb(size_t keyBytes, size_t entries) {
  constexpr uint8_t kNewReplica = 8, kNextCounter = 16, kSamePhysical = 32;  // wire.cpp's entry flags
  std::vector<uint8_t> body;
  appendVarint(body, 1);  // batch.seq
  appendVarint(body, entries);
  for (size_t i = 0; i < entries; ++i) {
    body.push_back(kNextCounter | kSamePhysical | (i == 0 ? kNewReplica : 0));
    appendVarint(body, i == 0 ? 0 : keyBytes);  // shared prefix
    appendVarint(body, i == 0 ? keyBytes : 0);  // suffix
    if (i == 0) {
      body.insert(body.end(), keyBytes, 'k');
      appendVarint(body, 3);  // dot.replica
    }
    appendVarint(body, 0);  // hlc.logical difference
    appendVarint(body, 0);  // supersedes count
  }
  body.push_back(1);  // context: the entries' dots
  std::vector<uint8_t> frame = {'D', 'S', kWireVersion, static_cast<uint8_t>(MessageType::kDeltaBatch)};
  appendVarint(frame, 3);  // sender
  appendVarint(frame, body.size());
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

TEST(WireLimitsTest, TheCraftedFrameIsAValidEncoding) {
  // The bomb's encoding, small: it decodes to `entries` writes of one key, so what refuses the
  // big one below is its decoded size, not a malformation.
  auto decoded = decodeFrame(sharedPrefixBomb(5, 3));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto& batch = std::get<DeltaBatch>(decoded->body);
  ASSERT_EQ(batch.delta.entries.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(batch.delta.entries[i].key, "kkkkk");
    EXPECT_EQ(batch.delta.entries[i].dot, (Dot{3, i + 1}));
  }
}

TEST(WireLimitsTest, SharedPrefixBombIsRefusedBeforeAllocating) {
  // 1 MiB key, 100k entries sharing it whole: 1.7 MB on the wire, 100 GiB of keys decoded.
  const auto bomb = sharedPrefixBomb(1u << 20, 100'000);
  ASSERT_LT(bomb.size(), kDefaultMaxFrameBytes);
  auto decoded = decodeFrame(bomb);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMessageTooLarge) << decoded.error().message;
  EXPECT_NE(decoded.error().message.find("keys and values"), std::string::npos) << decoded.error().message;
}

TEST(WireLimitsTest, TheEngineRefusesTheBombAndChangesNothing) {
  base::FakeClock clock;
  NullTransport transport;
  GeoStateConfig config;
  config.self = 1;
  config.peers = {3};
  GeoDistributedState state(config, clock, transport);
  ASSERT_TRUE(state.put("k", "v", WriteOptions{}).ok());
  const ReplicatedStore before = state.snapshot();
  auto received = state.receive(3, sharedPrefixBomb(1u << 20, 100'000));
  ASSERT_FALSE(received.ok());
  EXPECT_EQ(received.error().code, ErrorCode::kMessageTooLarge) << received.error().message;
  EXPECT_TRUE(state.snapshot().sameContent(before));
  EXPECT_EQ(state.metrics().framesRejected, 1u);
  EXPECT_NE(state.metrics().lastRejection.find("keys and values"), std::string::npos)
      << state.metrics().lastRejection;
}

// Stands for memory running out while the engine applies a frame that decoded.
class OutOfMemoryLog final : public DurableLog {
 public:
  Status append(const StoreDelta&) override { throw std::bad_alloc(); }
};

TEST(WireLimitsTest, RunningOutOfMemoryApplyingAFrameIsARefusal) {
  base::FakeClock clock;
  NullTransport transport;
  OutOfMemoryLog log;
  GeoStateConfig config;
  config.self = 1;
  config.peers = {3};
  GeoDistributedState state(config, clock, transport, &log);
  const ReplicatedStore before = state.snapshot();
  Status received = okStatus();
  EXPECT_NO_THROW(received = state.receive(3, encodeFrame(sampleFrames()[0])));
  ASSERT_FALSE(received.ok());
  EXPECT_NE(received.error().message.find("out of memory"), std::string::npos) << received.error().message;
  EXPECT_EQ(state.metrics().framesRejected, 1u);
  EXPECT_TRUE(state.snapshot().sameContent(before));
}

TEST(WireLimitsTest, AreDerivedFromTheFrameLimit) {
  const WireLimits limits = wireLimits(kDefaultMaxFrameBytes);
  EXPECT_EQ(limits.maxPayloadBytes, kDefaultMaxFrameBytes);
  EXPECT_EQ(limits.maxEntries, kDefaultMaxFrameBytes / 64);
  EXPECT_EQ(limits.maxCounters, kDefaultMaxFrameBytes / 16);
  EXPECT_EQ(limits.maxCloudDots, 1u << 20);
}

TEST(WireLimitsTest, KeysAndValuesAreCountedWhole) {
  // 4 entries sharing a 1000-byte key are 4000 bytes of keys: within a 4096-byte frame's limit;
  // a fifth is over it, though the frame itself stays near 1 KB.
  auto decoded = decodeFrame(sharedPrefixBomb(1000, 4), 4096);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto five = sharedPrefixBomb(1000, 5);
  ASSERT_LT(five.size(), 1100u);
  decoded = decodeFrame(five, 4096);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMessageTooLarge);
  EXPECT_NE(decoded.error().message.find("entry.key: the keys and values decoded would reach 5000, more than "
                                         "the limit of 4096 for frames of at most 4096 bytes"),
            std::string::npos)
      << decoded.error().message;
  // Values count too: two concurrent writes of one 2000-byte key (the second shares it whole),
  // with values of 10 and 1100 bytes, are 5110 bytes of payload in a frame of about 3.1 KB.
  ReplicatedStore a(3), b(4);
  const std::string key(2000, 'k');
  StoreDelta delta = a.put(key, std::string(10, 'v'), HlcTimestamp{1, 0, 3}, 0);
  ReplicatedStore::coalesce(delta, b.put(key, std::string(1100, 'v'), HlcTimestamp{1, 0, 4}, 0));
  ASSERT_EQ(delta.entries.size(), 2u);
  const auto encoded = encodeFrame(Frame{3, DeltaBatch{1, delta}});
  ASSERT_LT(encoded.size(), 3200u);
  ASSERT_TRUE(decodeFrame(encoded, 5110).ok());
  decoded = decodeFrame(encoded, 4096);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("entry.value: the keys and values decoded would reach 5110"),
            std::string::npos)
      << decoded.error().message;
}

TEST(WireLimitsTest, EntriesOverTheLimitAreRefused) {
  ReplicatedStore store(3);
  StoreDelta delta;
  for (int i = 0; i < 11; ++i) {
    ReplicatedStore::coalesce(delta, store.put("k" + std::to_string(i), "v", HlcTimestamp{1, 0, 3}, 0));
  }
  const auto eleven = encodeFrame(Frame{3, DeltaBatch{1, delta}});
  ASSERT_LT(eleven.size(), 640u);
  auto decoded = decodeFrame(eleven, 11 * 64);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  decoded = decodeFrame(eleven, 10 * 64);  // 10 entries at most
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMessageTooLarge);
  EXPECT_NE(decoded.error().message.find("delta.entries: the entry count is 11, more than the limit of 10"),
            std::string::npos)
      << decoded.error().message;
}

TEST(WireLimitsTest, VersionCountersOverTheLimitAreRefused) {
  VersionVector seen;
  for (ReplicaId r = 1; r <= 100; ++r) seen.raise(r, 1);
  const auto ack = encodeFrame(Frame{3, Ack{1, seen}});
  ASSERT_LT(ack.size(), 1024u);
  ASSERT_TRUE(decodeFrame(ack, 100 * 16).ok());
  auto decoded = decodeFrame(ack, 1024);  // 64 counters at most
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMessageTooLarge);
  EXPECT_NE(decoded.error().message.find("ack.seen: the version-vector counters decoded would reach 100"),
            std::string::npos)
      << decoded.error().message;
  // Supersedes counters add up across entries.
  ReplicatedStore store(3);
  StoreDelta delta = store.put("a", "v", HlcTimestamp{1, 0, 3}, 0);
  ReplicatedStore::coalesce(delta, store.put("b", "v", HlcTimestamp{1, 0, 3}, 0));
  for (StoreEntry& e : delta.entries) {
    for (ReplicaId r = 10; r < 50; ++r) e.supersedes.raise(r, 1);
  }
  const auto batch = encodeFrame(Frame{3, DeltaBatch{1, delta}});
  ASSERT_LT(batch.size(), 1024u);
  ASSERT_TRUE(decodeFrame(batch, 80 * 16).ok());
  decoded = decodeFrame(batch, 79 * 16);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("entry.supersedes: the version-vector counters decoded would reach "
                                         "80"),
            std::string::npos)
      << decoded.error().message;
}

// Lowers the soft address-space limit for its lifetime, to `headroom` above what is mapped now.
class AddressSpaceLimit {
 public:
  explicit AddressSpaceLimit(size_t headroom) {
    getrlimit(RLIMIT_AS, &saved_);
    size_t pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%zu", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, pages * 4096 + headroom);
    active_ = pages > 0 && setrlimit(RLIMIT_AS, &lowered) == 0;
  }
  ~AddressSpaceLimit() { setrlimit(RLIMIT_AS, &saved_); }
  bool active() const { return active_; }

 private:
  rlimit saved_{};
  bool active_ = false;
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DWCP_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define DWCP_SANITIZED 1
#endif
#endif

TEST(WireLimitsTest, RunningOutOfMemoryWhileDecodingIsARefusal) {
#ifdef DWCP_SANITIZED
  GTEST_SKIP() << "sanitizers reserve more address space than RLIMIT_AS leaves";
#else
  // No frame limit, so no decoded-size limit either: the bomb decodes until memory runs out.
  const auto bomb = sharedPrefixBomb(1u << 20, 100'000);
  Result<Frame> decoded = Error{};
  {
    AddressSpaceLimit limit(512u << 20);
    ASSERT_TRUE(limit.active());
    decoded = decodeFrame(bomb, std::numeric_limits<size_t>::max());
  }
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("out of memory"), std::string::npos) << decoded.error().message;
#endif
}

}  // namespace
}  // namespace dwcp::state
