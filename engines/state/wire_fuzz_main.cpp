// Fuzzing the peer wire decoder: any bytes must decode or be refused with a message, never
// crash; what decodes must stay within wireLimits() and re-encode to a frame that decodes to the
// same message and re-encodes to the same bytes; a replica fed the bytes must refuse what the
// decoder refuses (and a sender that is not the peer it came from) and stay unchanged then.
// LLVMFuzzerTestOneInput is the libFuzzer target (clang -fsanitize=fuzzer -DDWCP_LIBFUZZER);
// without it this is a plain driver (GCC builds, CI):
//   dwcp_wire_fuzz [--runs N] [--seed S] [CORPUS_DIR_OR_FILE...]
// replays every corpus file, then N random mutations of the corpus and of built-in valid frames
// (bit flips, byte edits, varints spliced in, truncations, body length fixed up or not). A crash
// or abort is the failure.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"

#include "engines/state/geo_distributed_state.h"
#include "engines/state/wire.h"

namespace {

using namespace dwcp::state;

constexpr size_t kSmallFrameLimit = 4096;  // small enough that mutations reach the decoded-size limits

class NullTransport final : public PeerTransport {
 public:
  void send(ReplicaId, std::vector<uint8_t>) override {}
};

[[noreturn]] void fail(const char* what, std::span<const uint8_t> input, const std::string& detail = "") {
  std::fprintf(stderr, "wire fuzz: %s%s%s\ninput (%zu bytes):", what, detail.empty() ? "" : ": ",
               detail.c_str(), input.size());
  for (uint8_t b : input) std::fprintf(stderr, " %02x", b);
  std::fprintf(stderr, "\n");
  std::abort();
}

void checkDecoding(std::span<const uint8_t> input, size_t maxFrameBytes) {
  auto decoded = decodeFrame(input, maxFrameBytes);
  if (!decoded.ok()) {
    if (decoded.error().message.empty()) fail("refused without a message", input);
    return;
  }
  const WireLimits limits = wireLimits(maxFrameBytes);
  size_t payload = 0, entries = 0, counters = 0;
  std::visit(
      [&](const auto& message) {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, Ack>) {
          counters += message.seen.entries().size();
        } else if constexpr (!std::is_same_v<T, DigestRequest>) {
          entries += message.delta.entries.size();
          for (const StoreEntry& e : message.delta.entries) {
            payload += payloadBytes(e);
            counters += e.supersedes.entries().size();
          }
        }
      },
      decoded->body);
  if (payload > limits.maxPayloadBytes || entries > limits.maxEntries || counters > limits.maxCounters) {
    fail("decoded beyond the limits", input,
         std::to_string(payload) + " payload bytes, " + std::to_string(entries) + " entries, " +
             std::to_string(counters) + " counters for a limit of " + std::to_string(maxFrameBytes));
  }
  const auto encoded = encodeFrame(decoded.value());
  auto again = decodeFrame(encoded, std::max(maxFrameBytes, encoded.size()));
  if (!again.ok()) fail("the re-encoding of a decoded frame is refused", input, again.error().message);
  if (again->sender != decoded->sender || !(again->body == decoded->body)) {
    fail("the re-encoding decodes to a different message", input);
  }
  if (encodeFrame(again.value()) != encoded) fail("re-encoding is not stable", input);
}

// A fresh replica (region 1, peers 2-4) per input: a rejected frame must leave it unchanged.
void checkReplica(std::span<const uint8_t> input) {
  dwcp::base::FakeClock clock;
  NullTransport transport;
  GeoStateConfig config;
  config.self = 1;
  config.peers = {2, 3, 4};
  config.maxFrameBytes = kSmallFrameLimit;
  GeoDistributedState replica(config, clock, transport);
  (void)replica.put("fuzz/seed", "v", WriteOptions{});
  GeoDistributedState* state = &replica;
  auto decoded = decodeFrame(input, kSmallFrameLimit);
  const ReplicaId from = decoded.ok() && decoded->sender >= 2 && decoded->sender <= 4 ? decoded->sender : 3;
  if (decoded.ok() && decoded->sender == from) {
    auto received = state->receive(from, input);
    if (!received.ok()) fail("the replica refuses a frame that decodes", input, received.error().message);
    return;
  }
  const ReplicatedStore before = state->snapshot();
  if (state->receive(from, input).ok()) fail("the replica accepts a frame it must refuse", input);
  if (!state->snapshot().sameContent(before)) fail("a refused frame changed the replica", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const uint8_t> input(data, size);
  checkDecoding(input, kDefaultMaxFrameBytes);
  checkDecoding(input, kSmallFrameLimit);
  checkReplica(input);
  return 0;
}

#ifndef DWCP_LIBFUZZER
namespace {

using Bytes = std::vector<uint8_t>;

void appendVarint(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

std::vector<Bytes> seedFrames() {
  ReplicatedStore a(3), b(4);
  const int64_t t = 1'767'225'600'123;
  StoreDelta delta = a.put("placement/vm-1", "us-east-1", HlcTimestamp{t, 2, 3}, t + 100'000);
  ReplicatedStore::coalesce(delta, a.put("placement/vm-10", "eu-west-1", HlcTimestamp{t + 1, 0, 3}, 0));
  ReplicatedStore::coalesce(delta, a.remove("placement/vm-2", HlcTimestamp{t + 2, 0, 3}));
  ReplicatedStore::coalesce(delta, b.put("placement/vm-1", "ap-south-1", HlcTimestamp{t, 1, 4}, 0));
  ReplicatedStore::coalesce(delta, a.put("placement/vm-1", "us-west-2", HlcTimestamp{t + 7, 0, 3}, 0));
  delta.entries.front().hlc.replica = 9;
  StoreDelta withContext = delta;
  withContext.context.add(Dot{2, 3});
  withContext.context.addRange(2, 5, 9);
  VersionVector seen;
  seen.raise(2, 10);
  seen.raise(4, 2);
  // A small shared-prefix bomb: 40 entries of one 200-byte key, 8000 bytes of keys in a frame of
  // about 500, over the small frame's payload limit and within its entry limit.
  StoreDelta shared;
  for (int i = 0; i < 40; ++i) {
    ReplicatedStore one(static_cast<ReplicaId>(10 + i));
    ReplicatedStore::coalesce(shared, one.put(std::string(200, 'k'), "", HlcTimestamp{5, 0, 0}, 0));
  }
  const std::vector<Frame> frames = {
      Frame{3, DeltaBatch{17, delta}},      Frame{3, DeltaBatch{18, withContext}},
      Frame{4, Ack{17, seen}},              Frame{2, DigestRequest{5, withContext.context}},
      Frame{3, DigestResponse{5, delta}},   Frame{3, DeltaBatch{0, StoreDelta{}}},
      Frame{2, DeltaBatch{1, shared}},
  };
  std::vector<Bytes> out;
  for (const Frame& f : frames) out.push_back(encodeFrame(f));
  return out;
}

// Rewrites the header's body length to match the body, so mutations reach the body's fields.
Bytes fixBodyLength(const Bytes& frame) {
  size_t senderEnd = 4;  // one past the sender varint
  while (senderEnd < frame.size() && (frame[senderEnd] & 0x80)) ++senderEnd;
  ++senderEnd;
  size_t bodyStart = senderEnd;
  while (bodyStart < frame.size() && (frame[bodyStart] & 0x80)) ++bodyStart;
  ++bodyStart;
  if (bodyStart > frame.size()) return frame;
  Bytes out(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(senderEnd));
  appendVarint(out, frame.size() - bodyStart);
  out.insert(out.end(), frame.begin() + static_cast<std::ptrdiff_t>(bodyStart), frame.end());
  return out;
}

Bytes mutate(Bytes s, std::mt19937_64& rng, const std::vector<Bytes>& corpus) {
  static const uint64_t kValues[] = {0,        1,        2,          63,         64,         127,
                                     128,      255,      4096,       4097,       1u << 20,   (1u << 20) + 1,
                                     ~0u,      1ull << 32, 1ull << 62, ~0ull >> 1, ~0ull};
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 7) {
      case 0:
        if (pos < s.size()) s[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (pos < s.size()) s[pos] = static_cast<uint8_t>(rng());
        break;
      case 2: s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<uint8_t>(rng())); break;
      case 3:
        if (pos < s.size()) {
          const size_t n = 1 + rng() % std::min<size_t>(8, s.size() - pos);
          const auto at = s.begin() + static_cast<std::ptrdiff_t>(pos);
          s.erase(at, at + static_cast<std::ptrdiff_t>(n));
        }
        break;
      case 4: {  // a varint spliced over or into the frame
        Bytes v;
        appendVarint(v, kValues[rng() % std::size(kValues)]);
        if (rng() % 2 == 0 && pos + v.size() <= s.size()) {
          std::copy(v.begin(), v.end(), s.begin() + static_cast<std::ptrdiff_t>(pos));
        } else {
          s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), v.begin(), v.end());
        }
        break;
      }
      case 5: {  // a piece of another frame
        const Bytes& other = corpus[rng() % corpus.size()];
        if (other.empty()) break;
        const size_t from = rng() % other.size();
        const size_t n = std::min<size_t>(other.size() - from, rng() % 64);
        const auto piece = other.begin() + static_cast<std::ptrdiff_t>(from);
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), piece, piece + static_cast<std::ptrdiff_t>(n));
        break;
      }
      default:
        if (pos < s.size()) s.resize(pos);
        break;
    }
  }
  return rng() % 4 == 0 ? s : fixBodyLength(s);
}

void run(const Bytes& input) { LLVMFuzzerTestOneInput(input.data(), input.size()); }

}  // namespace

int main(int argc, char** argv) {
  long runs = 20000;
  std::uint64_t seed = 1;
  std::vector<Bytes> corpus = seedFrames();
  for (const Bytes& frame : corpus) {
    if (!decodeFrame(frame).ok()) fail("a built-in seed frame does not decode", frame);
  }
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::vector<std::filesystem::path> files;
      std::error_code ec;
      if (std::filesystem::is_directory(arg, ec)) {
        for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
          if (entry.is_regular_file()) files.push_back(entry.path());
        }
      } else {
        files.emplace_back(arg);
      }
      for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        run(data);
        corpus.push_back(std::move(data));
        ++replayed;
      }
    }
  }
  for (const Bytes& frame : corpus) run(frame);
  std::mt19937_64 rng(seed);
  long decoded = 0;
  for (long i = 0; i < runs; ++i) {
    Bytes input = corpus[rng() % corpus.size()];
    const int depth = 1 + static_cast<int>(rng() % 3);
    for (int d = 0; d < depth; ++d) input = mutate(std::move(input), rng, corpus);
    run(input);
    decoded += decodeFrame(input).ok();
  }
  std::printf("{\"replayed\": %zu, \"mutations\": %ld, \"decoded\": %ld, \"seed\": %llu, \"crashes\": 0}\n",
              replayed, runs, decoded, static_cast<unsigned long long>(seed));
  return 0;
}
#endif
