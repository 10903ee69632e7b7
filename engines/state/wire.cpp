// Encoding: LEB128 varints, length-prefixed strings, sorted version vectors, causal-context
// clouds as runs. Version 2 encodes each delta entry against the previous one: the key as a
// shared-prefix length and suffix, the dot and the HLC as zigzag differences (or a flag when
// they follow on), supersedes counters against the last one seen; a delta whose context is
// just its entries' dots does not repeat it. Decoding never trusts a count: each is checked
// against the bytes left and the decoded-size limits before anything is allocated, and the first
// failure is kept with the name of the field.
#include "engines/state/wire.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <map>
#include <new>

namespace dwcp::state {
namespace {

constexpr uint64_t kMaxCloudDots = 1u << 20;
constexpr size_t kMinFrameBytesPerEntry = 64, kMinFrameBytesPerCounter = 16;
constexpr uint8_t kFlagHasValue = 1, kFlagHasExpiry = 2, kFlagHlcReplica = 4, kFlagNewReplica = 8,
                  kFlagNextCounter = 16, kFlagSamePhysical = 32;
constexpr uint8_t kKnownEntryFlags = 63;
constexpr uint8_t kContextExplicit = 0, kContextOfEntries = 1;

// What each entry of a delta is encoded against: the previous entry (key prefix, dot, HLC)
// and, per replica, the last supersedes counter (else the entry's own counter for its own
// replica). Reset for every delta, so a delta decodes on its own.
struct EntryBase {
  std::string key;
  ReplicaId replica = 0;
  uint64_t counter = 0;
  uint64_t physical = 0;
  uint64_t logical = 0;
  std::map<ReplicaId, uint64_t> supersedes;
  uint64_t supersedesBase(ReplicaId replica, const Dot& dot) const {
    if (auto it = supersedes.find(replica); it != supersedes.end()) return it->second;
    return replica == dot.replica ? dot.counter : 0;
  }
};

// True when the delta's context holds exactly its entries' dots (every single write and most
// batches): the context is then implied and not sent.
bool contextIsEntryDots(const StoreDelta& d) {
  if (d.entries.empty()) return d.context.empty();
  DotContext implied;
  for (const StoreEntry& e : d.entries) implied.add(e.dot);
  return implied == d.context;
}

class Writer {
 public:
  void byte(uint8_t b) { out_.push_back(b); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void str(const std::string& s) {
    varint(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void vv(const VersionVector& v) {
    varint(v.entries().size());
    for (const auto& [replica, counter] : v.entries()) {
      varint(replica);
      varint(counter);
    }
  }
  void context(const DotContext& c) {
    vv(c.compact());
    std::vector<std::tuple<ReplicaId, uint64_t, uint64_t>> runs;
    for (const Dot& dot : c.cloud()) {
      if (!runs.empty()) {
        auto& [replica, start, length] = runs.back();
        if (replica == dot.replica && start + length == dot.counter) {
          ++length;
          continue;
        }
      }
      runs.emplace_back(dot.replica, dot.counter, 1);
    }
    varint(runs.size());
    for (const auto& [replica, start, length] : runs) {
      varint(replica);
      varint(start);
      varint(length);
    }
  }
  void zigzag(uint64_t difference) {  // a modular difference, small when either sign
    const auto v = static_cast<int64_t>(difference);
    varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void entry(const StoreEntry& e, EntryBase& base) {
    uint8_t flags = 0;
    if (e.value.has_value()) flags |= kFlagHasValue;
    if (e.expiresAtMillis != 0) flags |= kFlagHasExpiry;
    if (e.hlc.replica != e.dot.replica) flags |= kFlagHlcReplica;
    const bool newReplica = e.dot.replica != base.replica;
    if (newReplica) flags |= kFlagNewReplica;
    if (e.dot.counter == base.counter + 1) flags |= kFlagNextCounter;
    const auto physical = static_cast<uint64_t>(e.hlc.physicalMillis);
    if (physical == base.physical) flags |= kFlagSamePhysical;
    byte(flags);
    size_t shared = 0;
    const size_t limit = std::min(e.key.size(), base.key.size());
    while (shared < limit && e.key[shared] == base.key[shared]) ++shared;
    varint(shared);
    varint(e.key.size() - shared);
    out_.insert(out_.end(), e.key.begin() + static_cast<std::ptrdiff_t>(shared), e.key.end());
    if (newReplica) varint(e.dot.replica);
    if (!(flags & kFlagNextCounter)) {
      if (newReplica) {
        varint(e.dot.counter);
      } else {
        zigzag(e.dot.counter - base.counter);
      }
    }
    if (flags & kFlagSamePhysical) {
      zigzag(static_cast<uint64_t>(e.hlc.logical) - base.logical);
    } else {
      zigzag(physical - base.physical);
      varint(e.hlc.logical);
    }
    if (flags & kFlagHlcReplica) varint(e.hlc.replica);
    if (e.value.has_value()) str(*e.value);
    if (e.expiresAtMillis != 0) zigzag(static_cast<uint64_t>(e.expiresAtMillis) - physical);
    varint(e.supersedes.entries().size());
    ReplicaId previous = 0;
    bool first = true;
    for (const auto& [replica, counter] : e.supersedes.entries()) {
      varint(first ? replica : replica - previous - 1);
      zigzag(counter - base.supersedesBase(replica, e.dot));
      base.supersedes[replica] = counter;
      previous = replica;
      first = false;
    }
    base.key = e.key;
    base.replica = e.dot.replica;
    base.counter = e.dot.counter;
    base.physical = physical;
    base.logical = e.hlc.logical;
  }
  void delta(const StoreDelta& d) {
    varint(d.entries.size());
    EntryBase base;
    for (const StoreEntry& e : d.entries) entry(e, base);
    if (contextIsEntryDots(d)) {
      byte(kContextOfEntries);
    } else {
      byte(kContextExplicit);
      context(d.context);
    }
  }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> in, size_t maxFrameBytes)
      : in_(in), maxFrameBytes_(maxFrameBytes), limits_(wireLimits(maxFrameBytes)) {}
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  bool tooLarge() const { return tooLarge_; }
  size_t left() const { return in_.size() - pos_; }
  bool fail(const std::string& what) {
    if (error_.empty()) error_ = what;
    return false;
  }
  bool failTooLarge(const std::string& what, uint64_t amount, size_t limit) {
    if (error_.empty()) tooLarge_ = true;
    return fail(what + " " + std::to_string(amount) + ", more than the limit of " + std::to_string(limit) +
                " for frames of at most " + std::to_string(maxFrameBytes_) + " bytes");
  }
  // Charges `bytes` of keys and values, `counters` version-vector counters, against the limits.
  bool payload(uint64_t bytes, const char* field) {
    if (bytes > limits_.maxPayloadBytes - payload_) {
      return failTooLarge(std::string(field) + ": the keys and values decoded would reach", payload_ + bytes,
                          limits_.maxPayloadBytes);
    }
    payload_ += bytes;
    return true;
  }
  bool counters(uint64_t n, const char* field) {
    if (n > limits_.maxCounters - counters_) {
      return failTooLarge(std::string(field) + ": the version-vector counters decoded would reach",
                          counters_ + n, limits_.maxCounters);
    }
    counters_ += n;
    return true;
  }
  bool byte(uint8_t& out, const char* field) {
    if (left() < 1) return fail(std::string("truncated at ") + field);
    out = in_[pos_++];
    return true;
  }
  bool varint(uint64_t& out, const char* field) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (left() < 1) return fail(std::string("truncated at ") + field);
      const uint8_t b = in_[pos_++];
      if (shift == 63 && (b & 0x7e) != 0) return fail(std::string("varint overflow at ") + field);
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return fail(std::string("varint too long at ") + field);
  }
  bool u32(uint32_t& out, const char* field) {
    uint64_t v = 0;
    if (!varint(v, field)) return false;
    if (v > std::numeric_limits<uint32_t>::max()) return fail(std::string(field) + " out of range");
    out = static_cast<uint32_t>(v);
    return true;
  }
  bool i64(int64_t& out, const char* field) {
    uint64_t v = 0;
    if (!varint(v, field)) return false;
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return fail(std::string(field) + " out of range");
    out = static_cast<int64_t>(v);
    return true;
  }
  bool count(uint64_t& out, const char* field) {
    if (!varint(out, field)) return false;
    if (out > left()) return fail(std::string(field) + " count " + std::to_string(out) + " exceeds the bytes left");
    return true;
  }
  bool str(std::string& out, const char* field) {
    uint64_t n = 0;
    if (!varint(n, field)) return false;
    if (n > left()) return fail(std::string(field) + " length " + std::to_string(n) + " exceeds the bytes left");
    if (!payload(n, field)) return false;
    out.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool vv(VersionVector& out, const char* field) {
    uint64_t n = 0;
    if (!count(n, field) || !counters(n, field)) return false;
    bool first = true;
    ReplicaId previous = 0;
    for (uint64_t i = 0; i < n; ++i) {
      ReplicaId replica = 0;
      uint64_t counter = 0;
      if (!u32(replica, field) || !varint(counter, field)) return false;
      if (counter == 0) return fail(std::string(field) + " has a zero counter");
      if (!first && replica <= previous) return fail(std::string(field) + " replicas not strictly ascending");
      first = false;
      previous = replica;
      out.raise(replica, counter);
    }
    return true;
  }
  bool context(DotContext& out, const char* field) {
    VersionVector compact;
    if (!vv(compact, field)) return false;
    DotContext built;
    for (const auto& [replica, counter] : compact.entries()) built.addRange(replica, 0, counter);
    uint64_t runs = 0;
    if (!count(runs, field)) return false;
    for (uint64_t i = 0; i < runs; ++i) {
      ReplicaId replica = 0;
      uint64_t start = 0, length = 0;
      if (!u32(replica, field) || !varint(start, field) || !varint(length, field)) return false;
      if (start == 0 || length == 0) return fail(std::string(field) + " has an empty or zero-based run");
      if (length > limits_.maxCloudDots - cloudDots_) {
        return failTooLarge(std::string(field) + ": the cloud dots decoded would reach", cloudDots_ + length,
                            limits_.maxCloudDots);
      }
      cloudDots_ += length;
      if (start > std::numeric_limits<uint64_t>::max() - length) return fail(std::string(field) + " run overflows");
      built.addRange(replica, start - 1, start - 1 + length);
    }
    out = std::move(built);
    return true;
  }
  bool zigzag(uint64_t& difference, const char* field) {
    uint64_t v = 0;
    if (!varint(v, field)) return false;
    difference = (v >> 1) ^ (~(v & 1) + 1);
    return true;
  }
  bool entry(StoreEntry& e, EntryBase& base) {
    uint8_t flags = 0;
    uint64_t shared = 0, suffix = 0;
    if (!byte(flags, "entry.flags") || !varint(shared, "entry.key.shared") || !varint(suffix, "entry.key.length")) {
      return false;
    }
    if (flags & ~kKnownEntryFlags) return fail("entry.flags has unknown bits");
    if (shared > base.key.size()) return fail("entry.key shares more than the previous key");
    if (suffix > left()) return fail("entry.key length " + std::to_string(suffix) + " exceeds the bytes left");
    if (!payload(shared + suffix, "entry.key")) return false;
    e.key.assign(base.key, 0, shared);
    e.key.append(reinterpret_cast<const char*>(in_.data() + pos_), suffix);
    pos_ += suffix;
    e.dot.replica = base.replica;
    if ((flags & kFlagNewReplica) && !u32(e.dot.replica, "entry.dot.replica")) return false;
    if (flags & kFlagNextCounter) {
      e.dot.counter = base.counter + 1;
    } else if (flags & kFlagNewReplica) {
      if (!varint(e.dot.counter, "entry.dot.counter")) return false;
    } else {
      uint64_t difference = 0;
      if (!zigzag(difference, "entry.dot.counter")) return false;
      e.dot.counter = base.counter + difference;
    }
    if (e.dot.counter == 0) return fail("entry.dot.counter is zero");
    uint64_t physical = base.physical, logical = 0;
    if (flags & kFlagSamePhysical) {
      uint64_t difference = 0;
      if (!zigzag(difference, "entry.hlc.logical")) return false;
      logical = base.logical + difference;
    } else {
      uint64_t difference = 0;
      if (!zigzag(difference, "entry.hlc.physical") || !varint(logical, "entry.hlc.logical")) return false;
      physical += difference;
    }
    if (physical > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return fail("entry.hlc.physical out of range");
    if (logical > std::numeric_limits<uint32_t>::max()) return fail("entry.hlc.logical out of range");
    e.hlc.physicalMillis = static_cast<int64_t>(physical);
    e.hlc.logical = static_cast<uint32_t>(logical);
    e.hlc.replica = e.dot.replica;
    if ((flags & kFlagHlcReplica) && !u32(e.hlc.replica, "entry.hlc.replica")) return false;
    if (flags & kFlagHasValue) {
      std::string value;
      if (!str(value, "entry.value")) return false;
      e.value = std::move(value);
    }
    if (flags & kFlagHasExpiry) {
      uint64_t difference = 0;
      if (!zigzag(difference, "entry.expiresAt")) return false;
      const uint64_t expires = physical + difference;
      if (expires > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return fail("entry.expiresAt out of range");
      if (expires == 0) return fail("entry.expiresAt is zero");
      e.expiresAtMillis = static_cast<int64_t>(expires);
    }
    uint64_t n = 0;
    if (!count(n, "entry.supersedes") || !counters(n, "entry.supersedes")) return false;
    uint64_t replica = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t gap = 0, difference = 0;
      if (!varint(gap, "entry.supersedes") || !zigzag(difference, "entry.supersedes")) return false;
      if (gap > std::numeric_limits<uint32_t>::max()) return fail("entry.supersedes replica out of range");
      replica = i == 0 ? gap : replica + gap + 1;
      if (replica > std::numeric_limits<uint32_t>::max()) {
        return fail("entry.supersedes replica out of range");
      }
      const auto id = static_cast<ReplicaId>(replica);
      const uint64_t counter = base.supersedesBase(id, e.dot) + difference;
      if (counter == 0) return fail("entry.supersedes has a zero counter");
      e.supersedes.raise(id, counter);
      base.supersedes[id] = counter;
    }
    base.key = e.key;
    base.replica = e.dot.replica;
    base.counter = e.dot.counter;
    base.physical = physical;
    base.logical = logical;
    return true;
  }
  bool delta(StoreDelta& d) {
    uint64_t n = 0;
    if (!count(n, "delta.entries")) return false;
    if (n > limits_.maxEntries) {
      return failTooLarge("delta.entries: the entry count is", n, limits_.maxEntries);
    }
    EntryBase base;
    for (uint64_t i = 0; i < n; ++i) {
      StoreEntry e;
      if (!entry(e, base)) return false;
      d.entries.push_back(std::move(e));
    }
    uint8_t mode = 0;
    if (!byte(mode, "delta.context.mode")) return false;
    if (mode == kContextOfEntries) {
      for (const StoreEntry& e : d.entries) d.context.add(e.dot);
      return true;
    }
    if (mode != kContextExplicit) return fail("delta.context.mode " + std::to_string(mode) + " is unknown");
    return context(d.context, "delta.context");
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::string error_;
  bool tooLarge_ = false;
  size_t maxFrameBytes_;
  WireLimits limits_;
  uint64_t payload_ = 0, counters_ = 0, cloudDots_ = 0;
};

Error malformed(std::string message) { return Error{ErrorCode::kMalformedMessage, "malformed peer message: " + message}; }

Result<Frame> decodeValidatedFrame(std::span<const uint8_t> bytes, size_t maxFrameBytes);

}  // namespace

WireLimits wireLimits(size_t maxFrameBytes) {
  return WireLimits{maxFrameBytes, std::max<size_t>(1, maxFrameBytes / kMinFrameBytesPerEntry),
                    std::max<size_t>(1, maxFrameBytes / kMinFrameBytesPerCounter), kMaxCloudDots};
}

std::vector<uint8_t> encodeFrame(const Frame& frame) {
  Writer body;
  std::visit(
      [&](const auto& message) {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, DeltaBatch>) {
          body.varint(message.batchSeq);
          body.delta(message.delta);
        } else if constexpr (std::is_same_v<T, Ack>) {
          body.varint(message.batchSeq);
          body.vv(message.seen);
        } else if constexpr (std::is_same_v<T, DigestRequest>) {
          body.varint(message.requestId);
          body.context(message.context);
        } else {
          body.varint(message.requestId);
          body.delta(message.delta);
        }
      },
      frame.body);
  Writer out;
  out.byte(kWireMagic[0]);
  out.byte(kWireMagic[1]);
  out.byte(kWireVersion);
  out.byte(static_cast<uint8_t>(frame.type()));
  out.varint(frame.sender);
  out.varint(body.bytes().size());
  auto bytes = std::move(out.bytes());
  bytes.insert(bytes.end(), body.bytes().begin(), body.bytes().end());
  return bytes;
}

Result<Frame> decodeFrame(std::span<const uint8_t> bytes, size_t maxFrameBytes) {
  try {
    return decodeValidatedFrame(bytes, maxFrameBytes);
  } catch (const std::bad_alloc&) {
    return Error{ErrorCode::kMessageTooLarge, "peer message of " + std::to_string(bytes.size()) +
                                                  " bytes refused: out of memory while decoding it"};
  } catch (const std::exception& e) {
    return malformed(std::string("decoding failed: ") + e.what());
  }
}

namespace {

Result<Frame> decodeValidatedFrame(std::span<const uint8_t> bytes, size_t maxFrameBytes) {
  if (bytes.size() > maxFrameBytes) {
    return Error{ErrorCode::kMessageTooLarge, "peer message of " + std::to_string(bytes.size()) +
                                                  " bytes exceeds the limit of " + std::to_string(maxFrameBytes)};
  }
  if (bytes.size() < 4) return malformed("frame of " + std::to_string(bytes.size()) + " bytes is shorter than a header");
  if (bytes[0] != kWireMagic[0] || bytes[1] != kWireMagic[1]) return malformed("bad magic");
  if (bytes[2] != kWireVersion) {
    return Error{ErrorCode::kUnsupportedVersion, "peer message has wire version " + std::to_string(bytes[2]) +
                                                     "; this build speaks version " + std::to_string(kWireVersion)};
  }
  const uint8_t type = bytes[3];
  if (type < 1 || type > 4) return malformed("unknown message type " + std::to_string(type));
  Reader header(bytes.subspan(4), maxFrameBytes);
  Frame frame;
  uint64_t bodyLength = 0;
  if (!header.u32(frame.sender, "header.sender") || !header.varint(bodyLength, "header.bodyLength")) {
    return malformed(header.error());
  }
  if (bodyLength != header.left()) {
    return malformed("body length " + std::to_string(bodyLength) + " does not match the " +
                     std::to_string(header.left()) + " bytes received");
  }
  Reader body(bytes.subspan(bytes.size() - header.left()), maxFrameBytes);
  bool ok = false;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kDeltaBatch: {
      DeltaBatch m;
      ok = body.varint(m.batchSeq, "batch.seq") && body.delta(m.delta);
      frame.body = std::move(m);
      break;
    }
    case MessageType::kAck: {
      Ack m;
      ok = body.varint(m.batchSeq, "ack.seq") && body.vv(m.seen, "ack.seen");
      frame.body = std::move(m);
      break;
    }
    case MessageType::kDigestRequest: {
      DigestRequest m;
      ok = body.varint(m.requestId, "digest.requestId") && body.context(m.context, "digest.context");
      frame.body = std::move(m);
      break;
    }
    case MessageType::kDigestResponse: {
      DigestResponse m;
      ok = body.varint(m.requestId, "digest.requestId") && body.delta(m.delta);
      frame.body = std::move(m);
      break;
    }
  }
  if (!ok && body.tooLarge()) {
    return Error{ErrorCode::kMessageTooLarge, "peer message too large when decoded: " + body.error()};
  }
  if (!ok) return malformed(body.error());
  if (body.left() != 0) return malformed(std::to_string(body.left()) + " trailing bytes after the body");
  return frame;
}

}  // namespace

size_t payloadBytes(const StoreEntry& entry) { return entry.key.size() + (entry.value ? entry.value->size() : 0); }

}  // namespace dwcp::state
