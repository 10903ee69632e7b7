// The wire format: round trips, each rejection with its error, and a fuzz loop of random,
// truncated and bit-flipped frames that must be rejected or decoded, never crash, and never
// change a replica's state when rejected.
#include <gtest/gtest.h>

#include <random>

#include "engines/state/geo_distributed_state.h"
#include "engines/state/simulated_network.h"
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

TEST(Wire, RoundTripsEveryMessageType) {
  for (const Frame& frame : sampleFrames()) {
    const auto bytes = encodeFrame(frame);
    auto decoded = decodeFrame(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->sender, frame.sender);
    EXPECT_EQ(decoded->type(), frame.type());
    EXPECT_TRUE(decoded->body == frame.body);
  }
}

TEST(Wire, HeaderIsMagicVersionType) {
  const auto bytes = encodeFrame(sampleFrames()[1]);
  EXPECT_EQ(bytes[0], 'D');
  EXPECT_EQ(bytes[1], 'S');
  EXPECT_EQ(bytes[2], kWireVersion);
  EXPECT_EQ(bytes[3], static_cast<uint8_t>(MessageType::kAck));
}

TEST(Wire, RejectsWithClearErrors) {
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

TEST(Wire, EveryTruncationIsRejected) {
  for (const Frame& frame : sampleFrames()) {
    const auto bytes = encodeFrame(frame);
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = decodeFrame(std::span<const uint8_t>(bytes.data(), n));
      EXPECT_FALSE(decoded.ok()) << "prefix of " << n << " bytes accepted";
    }
  }
}

TEST(Wire, HugeCountsDoNotAllocate) {
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

TEST(Wire, FuzzedFramesNeverCrashAndRejectedOnesChangeNothing) {
  ManualClock clock;
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

}  // namespace
}  // namespace dwcp::state
