// The compact, versioned binary format regions exchange. A frame is
//   'D' 'S' | version (1 byte) | type (1 byte) | sender (varint) | body length (varint) | body
// with unsigned LEB128 varints and length-prefixed strings. decodeFrame() validates everything
// (magic, version, type, exact length, counts against the bytes left, the decoded-size limits of
// wireLimits()) before returning, so a rejected frame changes nothing. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "engines/state/replicated_store.h"
#include "engines/state/status.h"

namespace dwcp::state {

inline constexpr uint8_t kWireMagic[2] = {'D', 'S'};
inline constexpr uint8_t kWireVersion = 2;  // 2: delta entries encoded against the previous entry
inline constexpr size_t kDefaultMaxFrameBytes = 16u << 20;

enum class MessageType : uint8_t { kDeltaBatch = 1, kAck = 2, kDigestRequest = 3, kDigestResponse = 4 };

// Local writes of the sender, pushed to every peer; acknowledged by batchSeq.
struct DeltaBatch {
  uint64_t batchSeq = 0;
  StoreDelta delta;
  bool operator==(const DeltaBatch&) const = default;
};
// "I applied batch batchSeq"; `seen` is the acknowledger's compact context (lag, stability).
struct Ack {
  uint64_t batchSeq = 0;
  VersionVector seen;
  bool operator==(const Ack&) const = default;
};
// Anti-entropy and consistent reads: "this is what I have; send what I lack".
struct DigestRequest {
  uint64_t requestId = 0;
  DotContext context;
  bool operator==(const DigestRequest&) const = default;
};
struct DigestResponse {
  uint64_t requestId = 0;
  StoreDelta delta;  // the requester's missing entries and the responder's whole context
  bool operator==(const DigestResponse&) const = default;
};

struct Frame {
  ReplicaId sender = 0;
  std::variant<DeltaBatch, Ack, DigestRequest, DigestResponse> body;
  MessageType type() const { return static_cast<MessageType>(body.index() + 1); }
};

// What a frame may decode to, derived from the frame limit F, so that no frame decodes to much
// more memory than it occupies (keys are rebuilt from shared prefixes, so a few bytes can name a
// long key): keys and values together (each key counted whole) at most F bytes, at most F/64
// entries, at most F/16 version-vector counters (supersedes, acks and contexts together), at most
// 2^20 dots in a context's cloud. A frame over any of them is refused with kMessageTooLarge;
// senders keep batches and digest chunks within them as well as within F.
struct WireLimits {
  size_t maxPayloadBytes = 0;  // sum of payloadBytes() over the frame's entries
  size_t maxEntries = 0;
  size_t maxCounters = 0;
  size_t maxCloudDots = 0;
};
WireLimits wireLimits(size_t maxFrameBytes);

std::vector<uint8_t> encodeFrame(const Frame& frame);
// Never throws: a frame that breaks the format or the limits above, or that cannot be decoded
// for want of memory, is an Error naming the field; nothing is allocated beyond the limits.
Result<Frame> decodeFrame(std::span<const uint8_t> bytes, size_t maxFrameBytes = kDefaultMaxFrameBytes);

// Size of one entry's own payload (key and value bytes): the yardstick for wire overhead.
size_t payloadBytes(const StoreEntry& entry);

}  // namespace dwcp::state
