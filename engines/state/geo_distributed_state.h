// One region's view of the federation's shared state: get/put (with TTL)/remove/sync at a
// consistency level, replicating deltas to every peer region through a PeerTransport and
// repairing by digest-based anti-entropy. It is a sans-IO state machine: nothing happens on
// its own; the owner delivers frames with receive() and calls tick() often (every few ms)
// with time from the injected Clock. Quorum and strong operations complete through their
// callback when enough regions answer or, at the deadline, with a kQuorumNotReached error.
// Thread-safe: every public method may be called from any thread; callbacks run on the
// calling thread after the internal lock is released, never while it is held.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "engines/state/hlc.h"
#include "engines/state/peer_transport.h"
#include "engines/state/replicated_store.h"
#include "engines/state/state_metrics.h"
#include "engines/state/status.h"
#include "engines/state/wire.h"

namespace dwcp::state {

enum class Consistency {
  kEventual,  // apply locally, acknowledge, replicate in the background
  kLocal,     // durable in the local DurableLog before acknowledging, then replicate
  kQuorum,    // a majority of all regions (this one included) acknowledged / answered
  kStrong,    // every live region acknowledged; reads consult every live region
};
const char* toString(Consistency level);

// Where `local` (and stronger) writes become durable before they are acknowledged. Optional;
// without one, `local` behaves as `eventual`. append() is called under the engine's lock.
class DurableLog {
 public:
  virtual ~DurableLog() = default;
  virtual Status append(const StoreDelta& delta) = 0;
};

struct GeoStateConfig {
  ReplicaId self = 0;  // this region: the sender of its frames, the peer id others know it by
  // The id this incarnation's writes (dots) and HLC timestamps carry; 0: `self`. A process that
  // restarts with its state lost must write under an id it never used before (a fresh random one,
  // say): counters restart at 1, and dots a peer already holds would be taken for old writes.
  ReplicaId writer = 0;
  std::vector<ReplicaId> peers;           // every other region of the federation
  int64_t batchWindowMillis = 5;          // eventual/local writes wait at most this long to be pushed
  size_t maxBatchEntries = 4096;          // a batch this big is pushed at once
  int64_t retransmitMillis = 100;         // unacknowledged batches are sent again after this
  int64_t retransmitGiveUpMillis = 10'000;  // then anti-entropy alone repairs
  int64_t antiEntropyIntervalMillis = 250;  // each round asks one peer, in turn
  int64_t defaultTimeoutMillis = 1'000;   // quorum/strong deadline when the options give none
  size_t maxFrameBytes = kDefaultMaxFrameBytes;
  size_t maxValueBytes = 1u << 20;  // put() refuses larger values, and key + value above maxFrameBytes / 2
  int64_t maxForwardDriftMillis = 300'000;  // see HybridLogicalClock
  size_t latencySampleCapacity = 4'096;
  bool collectGarbage = true;
};

struct WriteOptions {
  Consistency consistency = Consistency::kEventual;
  int64_t ttlMillis = 0;      // 0: no expiry
  int64_t timeoutMillis = 0;  // 0: config.defaultTimeoutMillis
};

struct ReadOptions {
  Consistency consistency = Consistency::kEventual;
  int64_t timeoutMillis = 0;
};

// Identity of an accepted write; returned even when its consistency level later fails.
struct WriteReceipt {
  Dot dot;
  HlcTimestamp hlc;
};

using WriteCallback = std::function<void(Status)>;
using ReadCallback = std::function<void(Result<std::optional<std::string>>)>;

class GeoDistributedState {
 public:
  GeoDistributedState(GeoStateConfig config, const base::Clock& clock, PeerTransport& transport,
                      DurableLog* durableLog = nullptr);

  // Writes. `done` runs exactly once: before return for eventual/local (and when no peer is
  // needed), otherwise from receive() or tick(). On a local-durability failure, or a value
  // above maxValueBytes (or an entry above half a frame), nothing is applied and the receipt
  // is an error (kInvalidArgument naming the key and the limit).
  Result<WriteReceipt> put(const std::string& key, std::string value, const WriteOptions& options,
                           WriteCallback done = {});
  Result<WriteReceipt> remove(const std::string& key, const WriteOptions& options, WriteCallback done = {});

  // Reads. Eventual/local read the local replica before return. Quorum/strong first pull
  // what the required regions have (a digest round), then read locally.
  void get(const std::string& key, const ReadOptions& options, ReadCallback done);
  std::optional<std::string> getLocal(const std::string& key) const;
  // The keys that hold a live value here and start with `prefix`, sorted.
  std::vector<std::string> keysWithPrefix(std::string_view prefix) const;

  // Pushes pending writes now and starts an anti-entropy round with every peer (periodic
  // rounds in tick() ask one peer each, in turn).
  void sync();
  // Pushes pending writes now, without waiting for the batch window (a write someone waits for).
  void flush();
  // A frame from peer `from` (as authenticated by the transport). Malformed, oversized,
  // unknown-version frames and unknown senders are rejected with the error and change nothing.
  Status receive(ReplicaId from, std::span<const uint8_t> frame);
  // Timers: batch flushes, retransmissions, deadlines, anti-entropy, garbage collection.
  void tick();

  // Regions the federation declared failed do not count for `strong`; they still count in the
  // quorum denominator (a majority of all regions).
  void setRegionLive(ReplicaId region, bool live);

  // Changes the federation's membership while running (a Region created or deleted): `peers` are
  // every other region from now on (self and duplicates are ignored). A region added is asked
  // for what it has and receives what it lacks through anti-entropy; garbage collection waits
  // until it has answered. A region removed is no longer sent to, its frames are refused as from
  // an unknown peer, and writes and reads in flight stop waiting for it (a strong one needs the
  // remaining live peers; a quorum keeps the acknowledgements it had, against the new count).
  void setPeers(std::vector<ReplicaId> peers);
  std::vector<ReplicaId> peers() const;

  // Called, outside the engine's lock, with the keys a frame from a peer changed here (each once,
  // in key order), after it was applied. Runs on the thread that called receive(): keep it short.
  using ChangeListener = std::function<void(const std::vector<std::string>& keys)>;
  void setChangeListener(ChangeListener listener);

  // Whether this replica has held, at some point since it started, every write `peer` had seen
  // when it last reported its context (an ack, a digest request or answer): what a restarted
  // region waits for before it trusts an absent key. Stays true once true; false for a region
  // that is no longer a peer.
  bool caughtUpWith(ReplicaId peer) const;

  StateMetrics metrics() const;
  // A copy of the replica, for tests and diagnostics.
  ReplicatedStore snapshot() const;
  HlcTimestamp lastHlc() const { return hlc_.last(); }
  ReplicaId self() const { return config_.self; }
  ReplicaId writer() const { return writer_; }

 private:
  struct PendingWrite {
    Dot dot;
    uint64_t batchSeq = 0;
    Consistency level = Consistency::kQuorum;
    std::set<ReplicaId> acknowledged;  // peers
    std::set<ReplicaId> required;      // strong: the live peers; quorum: empty (any peers)
    size_t needed = 0;                 // regions, this one included
    size_t regions = 0;                // denominator for the message
    int64_t deadlineMillis = 0;
    WriteCallback done;
  };
  struct PendingRead {
    std::string key;
    Consistency level = Consistency::kQuorum;
    std::set<ReplicaId> answered;
    std::set<ReplicaId> required;
    size_t needed = 0;
    size_t regions = 0;
    int64_t deadlineMillis = 0;
    ReadCallback done;
  };
  struct SentBatch {
    std::vector<uint8_t> frame;
    int64_t createdAtMillis = 0;  // the oldest write in it
    int64_t lastSentMillis = 0;
    std::set<ReplicaId> unacknowledged;
    std::vector<Dot> dots;
  };
  using Completions = std::vector<std::function<void()>>;

  Result<WriteReceipt> write(const std::string& key, std::optional<std::string> value, const WriteOptions& options,
                             WriteCallback done);
  // An error naming the key and the limit when the entry could not be replicated in one frame.
  std::optional<Error> refuseOversized(const std::string& key, const std::optional<std::string>& value) const;
  void flushLocked(int64_t nowMillis);
  void sendLocked(ReplicaId to, std::vector<uint8_t> frame);
  void startDigestRoundLocked(uint64_t requestId, const std::set<ReplicaId>& peers);
  void onDeltaBatch(ReplicaId from, const DeltaBatch& batch, std::vector<std::string>& changed);
  void onAck(ReplicaId from, const Ack& ack, int64_t nowMillis, Completions& completions);
  void onDigestRequest(ReplicaId from, const DigestRequest& request);
  void onDigestResponse(ReplicaId from, const DigestResponse& response, std::vector<std::string>& changed);
  void notePeerSeen(ReplicaId peer, const VersionVector& seen);
  void noteCaughtUpLocked(ReplicaId peer);
  void settleLocked(int64_t nowMillis, Completions& completions);
  size_t regionCount() const { return config_.peers.size() + 1; }
  size_t quorumSize() const { return regionCount() / 2 + 1; }
  std::set<ReplicaId> livePeersLocked() const;
  void observeLocked(const StoreDelta& delta);
  static void run(Completions& completions);

  GeoStateConfig config_;  // peers change under mu_ (setPeers); the rest is fixed
  const ReplicaId writer_;
  const base::Clock& clock_;
  PeerTransport& transport_;
  DurableLog* durableLog_;
  HybridLogicalClock hlc_;

  mutable std::mutex mu_;
  ReplicatedStore store_;
  StoreDelta pendingBatch_;
  int64_t pendingSinceMillis_ = 0;
  // Batch numbers and digest request ids start at (writer << 32) + 1: a run writing under another
  // writer id never takes an acknowledgement or an answer meant for an earlier run for its own.
  uint64_t nextBatchSeq_;
  uint64_t nextRequestId_;
  std::deque<uint64_t> recentDigestIds_;  // the periodic rounds' ids still answered as this run's
  std::map<uint64_t, SentBatch> sentBatches_;
  std::vector<PendingWrite> pendingWrites_;
  std::map<uint64_t, PendingRead> pendingReads_;
  std::map<ReplicaId, VersionVector> peerSeen_;
  std::set<ReplicaId> downRegions_;
  std::set<ReplicaId> heardFrom_;  // peers that reported their context since this replica started
  std::set<ReplicaId> caughtUp_;
  ChangeListener changeListener_;
  std::deque<std::pair<uint64_t, int64_t>> ownWriteTimes_;  // (counter, local ms), for lag
  std::deque<double> latencySamplesSeconds_;
  int64_t nextAntiEntropyMillis_ = 0;
  size_t antiEntropyCursor_ = 0;
  StateMetrics metrics_;
};

}  // namespace dwcp::state
