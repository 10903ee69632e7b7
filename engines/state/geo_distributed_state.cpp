// GeoDistributedState: local writes join the replica at once and collect in a pending batch
// (coalesced per key) that is pushed to every peer when the batch window ends, when it is
// full, or at once for quorum/strong writes. Peers acknowledge by batch sequence and report
// their compact causal context, which also feeds lag, quorum accounting and the stability
// bound for garbage collection. Unacknowledged batches are retransmitted for a while; digest
// rounds (peer sends its context, we answer with what it lacks) repair everything else.
// Batches and digest answers too big for one frame are split into pieces that each claim only
// their own entries' dots (a dot claimed before its entry arrives would hide the entry); put()
// refuses entries no frame could carry.
#include "engines/state/geo_distributed_state.h"

#include <algorithm>
#include <new>
#include <set>

namespace dwcp::state {
namespace {

constexpr size_t kMaxOwnWriteTimes = 100'000;
constexpr size_t kMaxDigestEntriesPerFrame = 65'536;
constexpr size_t kRecentDigestIds = 1'024;

std::string quorumMessage(Consistency level, size_t answered, size_t regions, size_t needed, bool isWrite) {
  std::string text = level == Consistency::kStrong ? "strong consistency not reached: " : "quorum not reached: ";
  text += std::to_string(answered) + " of " + std::to_string(regions) +
          (level == Consistency::kStrong ? " live regions " : " regions ") +
          (isWrite ? "acknowledged, " : "answered, ") + std::to_string(needed) + " needed; ";
  text += isWrite ? "the write is applied locally and will converge"
                  : "the read was not served; the local replica may be stale and will converge";
  return text;
}

// An upper bound on an entry's encoded size, and on its share of the piece's context.
size_t entryEstimate(const StoreEntry& entry) { return payloadBytes(entry) + 128 + 24 * entry.supersedes.entries().size(); }

// Dots of `delta.context` that no entry of it carries: writes replaced within the delta.
// Only for local batches, whose context holds just the batch's own writes.
DotContext dotsWithoutEntries(const StoreDelta& delta) {
  std::set<Dot> carried;
  for (const StoreEntry& entry : delta.entries) carried.insert(entry.dot);
  DotContext extras;
  for (const auto& [replica, counter] : delta.context.compact().entries()) {
    for (uint64_t c = 1; c <= counter; ++c) {
      if (carried.count(Dot{replica, c}) == 0) extras.add(Dot{replica, c});
    }
  }
  for (const Dot& dot : delta.context.cloud()) {
    if (carried.count(dot) == 0) extras.add(dot);
  }
  return extras;
}

// `delta` as pieces of at most budgetBytes (estimated) and maxEntries entries. One piece keeps
// the whole context; several claim only their own entries' dots, and the dots without an
// entry go with the last (keepExtras) or not at all (the next digest round carries them).
std::vector<StoreDelta> splitForFrames(StoreDelta delta, size_t budgetBytes, size_t maxEntries, bool keepExtras) {
  std::vector<StoreDelta> pieces;
  size_t total = 0;
  for (const StoreEntry& entry : delta.entries) total += entryEstimate(entry);
  if (total <= budgetBytes && delta.entries.size() <= maxEntries) {
    pieces.push_back(std::move(delta));
    return pieces;
  }
  const DotContext extras = keepExtras ? dotsWithoutEntries(delta) : DotContext{};
  StoreDelta piece;
  size_t bytes = 0;
  for (StoreEntry& entry : delta.entries) {
    const size_t size = entryEstimate(entry);
    if (!piece.entries.empty() && (bytes + size > budgetBytes || piece.entries.size() >= maxEntries)) {
      pieces.push_back(std::move(piece));
      piece = StoreDelta{};
      bytes = 0;
    }
    piece.context.add(entry.dot);
    piece.entries.push_back(std::move(entry));
    bytes += size;
  }
  if (!extras.empty()) {
    const size_t extraBytes = 64 + 32 * (extras.cloud().size() + extras.compact().entries().size());
    if (bytes + extraBytes > budgetBytes) {
      pieces.push_back(std::move(piece));
      piece = StoreDelta{};
    }
    piece.context.merge(extras);
  }
  if (!piece.empty()) pieces.push_back(std::move(piece));
  return pieces;
}

}  // namespace

const char* toString(Consistency level) {
  switch (level) {
    case Consistency::kEventual: return "eventual";
    case Consistency::kLocal: return "local";
    case Consistency::kQuorum: return "quorum";
    case Consistency::kStrong: return "strong";
  }
  return "unknown";
}

GeoDistributedState::GeoDistributedState(GeoStateConfig config, const base::Clock& clock, PeerTransport& transport,
                                         DurableLog* durableLog)
    : config_(std::move(config)),
      writer_(config_.writer != 0 ? config_.writer : config_.self),
      clock_(clock),
      transport_(transport),
      durableLog_(durableLog),
      hlc_(writer_, clock, config_.maxForwardDriftMillis),
      store_(writer_),
      nextBatchSeq_((uint64_t{writer_} << 32) + 1),
      nextRequestId_((uint64_t{writer_} << 32) + 1) {
  nextAntiEntropyMillis_ = clock_.wallMillis() + config_.antiEntropyIntervalMillis;
}

void GeoDistributedState::run(Completions& completions) {
  for (auto& completion : completions) completion();
}

Result<WriteReceipt> GeoDistributedState::put(const std::string& key, std::string value, const WriteOptions& options,
                                              WriteCallback done) {
  return write(key, std::move(value), options, std::move(done));
}

Result<WriteReceipt> GeoDistributedState::remove(const std::string& key, const WriteOptions& options,
                                                 WriteCallback done) {
  return write(key, std::nullopt, options, std::move(done));
}

std::optional<Error> GeoDistributedState::refuseOversized(const std::string& key,
                                                          const std::optional<std::string>& value) const {
  const size_t valueBytes = value ? value->size() : 0;
  if (valueBytes > config_.maxValueBytes) {
    return Error{ErrorCode::kInvalidArgument, "value of key " + key + " is " + std::to_string(valueBytes) +
                                                  " bytes, above the limit of " + std::to_string(config_.maxValueBytes) +
                                                  " bytes (maxValueBytes)"};
  }
  const size_t entryLimit = config_.maxFrameBytes / 2;
  if (key.size() + valueBytes > entryLimit) {
    return Error{ErrorCode::kInvalidArgument, "key " + key + " with its value is " + std::to_string(key.size() + valueBytes) +
                                                  " bytes, above the limit of " + std::to_string(entryLimit) +
                                                  " bytes (half the peer frame limit of " +
                                                  std::to_string(config_.maxFrameBytes) + ")"};
  }
  return std::nullopt;
}

Result<WriteReceipt> GeoDistributedState::write(const std::string& key, std::optional<std::string> value,
                                                const WriteOptions& options, WriteCallback done) {
  if (auto refused = refuseOversized(key, value)) {
    if (done) done(*refused);
    return *refused;
  }
  Completions completions;
  Result<WriteReceipt> receipt = Error{};
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wallMillis();
    const HlcTimestamp hlc = hlc_.now();
    const int64_t expiresAt = options.ttlMillis > 0 && value.has_value() ? hlc.physicalMillis + options.ttlMillis : 0;
    StoreDelta delta = store_.prepare(key, std::move(value), hlc, expiresAt);
    if (durableLog_ != nullptr && options.consistency != Consistency::kEventual) {
      Status logged = durableLog_->append(delta);
      if (!logged.ok()) {
        Error error{ErrorCode::kDurabilityFailed,
                    "write of key " + key + " was not made durable locally and was not applied: " +
                        logged.error().message};
        if (done) done(error);
        return error;
      }
    }
    store_.apply(delta);
    const Dot dot = delta.entries.front().dot;
    receipt = WriteReceipt{dot, hlc};
    if (ownWriteTimes_.size() >= kMaxOwnWriteTimes) ownWriteTimes_.pop_front();
    ownWriteTimes_.emplace_back(dot.counter, now);
    if (pendingBatch_.empty()) pendingSinceMillis_ = now;
    ReplicatedStore::coalesce(pendingBatch_, delta);

    const bool waits = options.consistency == Consistency::kQuorum || options.consistency == Consistency::kStrong;
    if (!waits) {
      if (pendingBatch_.entries.size() >= config_.maxBatchEntries) flushLocked(now);
      if (done) completions.push_back([done = std::move(done)] { done(okStatus()); });
    } else {
      const uint64_t seq = nextBatchSeq_;
      flushLocked(now);
      PendingWrite pending;
      pending.dot = dot;
      pending.batchSeq = seq;
      for (auto it = sentBatches_.lower_bound(seq); it != sentBatches_.end(); ++it) {  // the piece carrying it
        if (std::find(it->second.dots.begin(), it->second.dots.end(), dot) != it->second.dots.end()) {
          pending.batchSeq = it->first;
          break;
        }
      }
      pending.level = options.consistency;
      pending.regions = regionCount();
      if (options.consistency == Consistency::kStrong) {
        pending.required = livePeersLocked();
        pending.needed = pending.required.size() + 1;
        pending.regions = pending.needed;
      } else {
        pending.needed = quorumSize();
      }
      pending.deadlineMillis = now + (options.timeoutMillis > 0 ? options.timeoutMillis : config_.defaultTimeoutMillis);
      pending.done = std::move(done);
      for (const auto& [peer, seen] : peerSeen_) {
        if (seen.covers(dot)) pending.acknowledged.insert(peer);
      }
      pendingWrites_.push_back(std::move(pending));
      settleLocked(now, completions);
    }
  }
  run(completions);
  return receipt;
}

void GeoDistributedState::get(const std::string& key, const ReadOptions& options, ReadCallback done) {
  Completions completions;
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wallMillis();
    if (options.consistency == Consistency::kEventual || options.consistency == Consistency::kLocal) {
      auto value = store_.get(key, now);
      completions.push_back([done = std::move(done), value = std::move(value)] { done(value); });
    } else {
      const uint64_t id = nextRequestId_++;
      PendingRead pending;
      pending.key = key;
      pending.level = options.consistency;
      std::set<ReplicaId> ask;
      if (options.consistency == Consistency::kStrong) {
        pending.required = livePeersLocked();
        pending.needed = pending.required.size() + 1;
        pending.regions = pending.needed;
        ask = pending.required;
      } else {
        pending.needed = quorumSize();
        pending.regions = regionCount();
        ask.insert(config_.peers.begin(), config_.peers.end());
      }
      pending.deadlineMillis = now + (options.timeoutMillis > 0 ? options.timeoutMillis : config_.defaultTimeoutMillis);
      pending.done = std::move(done);
      pendingReads_.emplace(id, std::move(pending));
      startDigestRoundLocked(id, ask);
      settleLocked(now, completions);
    }
  }
  run(completions);
}

std::optional<std::string> GeoDistributedState::getLocal(const std::string& key) const {
  std::lock_guard lock(mu_);
  return store_.get(key, clock_.wallMillis());
}

std::vector<std::string> GeoDistributedState::keysWithPrefix(std::string_view prefix) const {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.wallMillis();
  std::vector<std::string> out;
  for (std::string& key : store_.keys()) {
    if (key.starts_with(prefix) && store_.get(key, now)) out.push_back(std::move(key));
  }
  return out;
}

void GeoDistributedState::flush() {
  std::lock_guard lock(mu_);
  flushLocked(clock_.wallMillis());
}

void GeoDistributedState::sync() {
  std::lock_guard lock(mu_);
  flushLocked(clock_.wallMillis());
  startDigestRoundLocked(0, std::set<ReplicaId>(config_.peers.begin(), config_.peers.end()));
}

void GeoDistributedState::setRegionLive(ReplicaId region, bool live) {
  std::lock_guard lock(mu_);
  if (live) {
    downRegions_.erase(region);
  } else {
    downRegions_.insert(region);
  }
}

void GeoDistributedState::setPeers(std::vector<ReplicaId> peers) {
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  std::erase(peers, config_.self);
  Completions completions;
  {
    std::lock_guard lock(mu_);
    std::vector<ReplicaId> current = config_.peers;
    std::sort(current.begin(), current.end());
    if (current == peers) return;
    std::vector<ReplicaId> removed, added;
    std::set_difference(current.begin(), current.end(), peers.begin(), peers.end(), std::back_inserter(removed));
    std::set_difference(peers.begin(), peers.end(), current.begin(), current.end(), std::back_inserter(added));
    config_.peers = peers;
    for (ReplicaId gone : removed) {
      peerSeen_.erase(gone);
      heardFrom_.erase(gone);
      caughtUp_.erase(gone);
      downRegions_.erase(gone);
      for (auto& [seq, sent] : sentBatches_) sent.unacknowledged.erase(gone);
      for (PendingWrite& pending : pendingWrites_) {
        if (pending.level != Consistency::kStrong || pending.required.erase(gone) == 0) continue;
        pending.needed = pending.required.size() + 1;
        pending.regions = pending.needed;
      }
      for (auto& [id, pending] : pendingReads_) {
        if (pending.level != Consistency::kStrong || pending.required.erase(gone) == 0) continue;
        pending.needed = pending.required.size() + 1;
        pending.regions = pending.needed;
      }
    }
    // Quorums decided from now on count the new membership; those in flight keep theirs.
    startDigestRoundLocked(0, std::set<ReplicaId>(added.begin(), added.end()));
    settleLocked(clock_.wallMillis(), completions);
  }
  run(completions);
}

std::vector<ReplicaId> GeoDistributedState::peers() const {
  std::lock_guard lock(mu_);
  return config_.peers;
}

std::set<ReplicaId> GeoDistributedState::livePeersLocked() const {
  std::set<ReplicaId> live;
  for (ReplicaId peer : config_.peers) {
    if (downRegions_.count(peer) == 0) live.insert(peer);
  }
  return live;
}

void GeoDistributedState::sendLocked(ReplicaId to, std::vector<uint8_t> frame) {
  metrics_.bytesSent += frame.size();
  ++metrics_.framesSent;
  transport_.send(to, std::move(frame));
}

void GeoDistributedState::flushLocked(int64_t nowMillis) {
  if (pendingBatch_.empty()) return;
  std::vector<StoreDelta> pieces =
      splitForFrames(std::move(pendingBatch_), config_.maxFrameBytes / 2, config_.maxBatchEntries, true);
  pendingBatch_ = StoreDelta{};
  for (StoreDelta& piece : pieces) {
    const uint64_t seq = nextBatchSeq_++;
    SentBatch sent;
    for (const StoreEntry& entry : piece.entries) sent.dots.push_back(entry.dot);
    sent.frame = encodeFrame(Frame{config_.self, DeltaBatch{seq, std::move(piece)}});
    sent.createdAtMillis = pendingSinceMillis_;
    sent.lastSentMillis = nowMillis;
    ++metrics_.batchesSent;
    for (ReplicaId peer : config_.peers) {
      sent.unacknowledged.insert(peer);
      sendLocked(peer, sent.frame);
    }
    if (!sent.unacknowledged.empty()) sentBatches_.emplace(seq, std::move(sent));
  }
}

void GeoDistributedState::startDigestRoundLocked(uint64_t requestId, const std::set<ReplicaId>& peers) {
  if (peers.empty()) return;
  ++metrics_.antiEntropyRounds;
  if (requestId == 0) {  // a periodic round: an id of its own too, so its answers are known as this run's
    requestId = nextRequestId_++;
    recentDigestIds_.push_back(requestId);
    if (recentDigestIds_.size() > kRecentDigestIds) recentDigestIds_.pop_front();
  }
  const auto frame = encodeFrame(Frame{config_.self, DigestRequest{requestId, store_.context()}});
  for (ReplicaId peer : peers) sendLocked(peer, frame);
}

Status GeoDistributedState::receive(ReplicaId from, std::span<const uint8_t> bytes) {
  Completions completions;
  std::vector<std::string> changed;
  ChangeListener listener;
  {
    std::lock_guard lock(mu_);
    metrics_.bytesReceived += bytes.size();
    ++metrics_.framesReceived;
    auto reject = [&](Error error) -> Status {
      ++metrics_.framesRejected;
      metrics_.lastRejection = error.message;
      return error;
    };
    if (std::find(config_.peers.begin(), config_.peers.end(), from) == config_.peers.end()) {
      return reject(Error{ErrorCode::kUnknownPeer, "frame from region " + std::to_string(from) +
                                                       ", which is not a peer of region " +
                                                       std::to_string(config_.self)});
    }
    auto decoded = decodeFrame(bytes, config_.maxFrameBytes);
    if (!decoded.ok()) return reject(decoded.error());
    const Frame& frame = decoded.value();
    if (frame.sender != from) {
      return reject(Error{ErrorCode::kUnknownPeer, "frame claims sender " + std::to_string(frame.sender) +
                                                       " but arrived from region " + std::to_string(from)});
    }
    const int64_t now = clock_.wallMillis();
    try {  // out of memory applying it: refused; entries applied so far stay, each with its dot
      std::visit(
          [&](const auto& message) {
            using T = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<T, DeltaBatch>) {
              onDeltaBatch(from, message, changed);
            } else if constexpr (std::is_same_v<T, Ack>) {
              onAck(from, message, now, completions);
            } else if constexpr (std::is_same_v<T, DigestRequest>) {
              onDigestRequest(from, message);
            } else {
              onDigestResponse(from, message, changed);
            }
          },
          frame.body);
    } catch (const std::bad_alloc&) {
      return reject(Error{ErrorCode::kMessageTooLarge,
                          "out of memory applying a frame from region " + std::to_string(from)});
    } catch (const std::exception& e) {
      return reject(Error{ErrorCode::kMalformedMessage,
                          "applying a frame from region " + std::to_string(from) + " failed: " + e.what()});
    }
    noteCaughtUpLocked(from);
    settleLocked(now, completions);
    if (!changed.empty() && changeListener_) {
      std::sort(changed.begin(), changed.end());
      changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
      listener = changeListener_;
    }
  }
  run(completions);
  if (listener) listener(changed);
  return okStatus();
}

void GeoDistributedState::observeLocked(const StoreDelta& delta) {
  for (const StoreEntry& entry : delta.entries) hlc_.observe(entry.hlc);
}

void GeoDistributedState::onDeltaBatch(ReplicaId from, const DeltaBatch& batch, std::vector<std::string>& changed) {
  if (durableLog_ != nullptr && !durableLog_->append(batch.delta).ok()) return;  // no ack: sender retries
  observeLocked(batch.delta);
  if (store_.apply(batch.delta, &changed) == 0 && !batch.delta.entries.empty()) ++metrics_.batchesReplayed;
  sendLocked(from, encodeFrame(Frame{config_.self, Ack{batch.batchSeq, store_.context().compact()}}));
}

void GeoDistributedState::onAck(ReplicaId from, const Ack& ack, int64_t nowMillis, Completions&) {
  auto it = sentBatches_.find(ack.batchSeq);
  if (it != sentBatches_.end() && it->second.unacknowledged.erase(from) > 0) {
    const double seconds = static_cast<double>(nowMillis - it->second.createdAtMillis) / 1000.0;
    latencySamplesSeconds_.push_back(seconds);
    metrics_.syncLatency.observe(seconds);
    if (latencySamplesSeconds_.size() > config_.latencySampleCapacity) latencySamplesSeconds_.pop_front();
    if (it->second.unacknowledged.empty()) sentBatches_.erase(it);
  }
  for (PendingWrite& pending : pendingWrites_) {
    if (pending.batchSeq == ack.batchSeq) pending.acknowledged.insert(from);
  }
  notePeerSeen(from, ack.seen);
}

void GeoDistributedState::onDigestRequest(ReplicaId from, const DigestRequest& request) {
  notePeerSeen(from, request.context.compact());
  StoreDelta missing = store_.missingFrom(request.context);
  std::vector<StoreDelta> pieces =
      splitForFrames(std::move(missing), config_.maxFrameBytes / 2, kMaxDigestEntriesPerFrame, false);
  if (pieces.size() == 1) {
    auto frame = encodeFrame(Frame{config_.self, DigestResponse{request.requestId, pieces.front()}});
    if (frame.size() <= config_.maxFrameBytes) {
      sendLocked(from, std::move(frame));
      return;
    }
    // The whole context does not fit beside the entries: the entries go alone.
    StoreDelta& only = pieces.front();
    if (only.entries.empty()) return;
    only.context = DotContext{};
    for (const StoreEntry& entry : only.entries) only.context.add(entry.dot);
  }
  // Too much for one frame: pieces that claim only their own dots; the next round, small enough
  // for one frame, carries the whole context and answers the request.
  for (StoreDelta& piece : pieces) sendLocked(from, encodeFrame(Frame{config_.self, DigestResponse{0, std::move(piece)}}));
}

void GeoDistributedState::onDigestResponse(ReplicaId from, const DigestResponse& response,
                                           std::vector<std::string>& changed) {
  if (durableLog_ != nullptr && !durableLog_->append(response.delta).ok()) return;
  observeLocked(response.delta);
  // An answer carries the responder's whole context beside what the asker lacked then: it is
  // joined whole only when this run asked (an earlier run of this region, with other contents, may
  // have); any other keeps just its entries' dots, as a piece of a split answer does.
  const uint64_t id = response.requestId;
  const bool ours = id != 0 && (pendingReads_.count(id) > 0 ||
                                std::find(recentDigestIds_.begin(), recentDigestIds_.end(), id) != recentDigestIds_.end());
  if (!ours) {
    StoreDelta entriesOnly;
    entriesOnly.entries = response.delta.entries;
    for (const StoreEntry& entry : entriesOnly.entries) entriesOnly.context.add(entry.dot);
    metrics_.antiEntropyRepairs += store_.apply(entriesOnly, &changed);
    notePeerSeen(from, response.delta.context.compact());
    return;
  }
  metrics_.antiEntropyRepairs += store_.apply(response.delta, &changed);
  notePeerSeen(from, response.delta.context.compact());
  if (auto it = pendingReads_.find(response.requestId); response.requestId != 0 && it != pendingReads_.end()) {
    it->second.answered.insert(from);
  }
}

void GeoDistributedState::noteCaughtUpLocked(ReplicaId peer) {
  if (caughtUp_.count(peer) > 0 || heardFrom_.count(peer) == 0) return;
  auto it = peerSeen_.find(peer);
  if (it != peerSeen_.end() && store_.context().compact().dominates(it->second)) caughtUp_.insert(peer);
}

void GeoDistributedState::setChangeListener(ChangeListener listener) {
  std::lock_guard lock(mu_);
  changeListener_ = std::move(listener);
}

bool GeoDistributedState::caughtUpWith(ReplicaId peer) const {
  std::lock_guard lock(mu_);
  return caughtUp_.count(peer) > 0;
}

void GeoDistributedState::notePeerSeen(ReplicaId peer, const VersionVector& seen) {
  heardFrom_.insert(peer);
  VersionVector& known = peerSeen_[peer];
  known.merge(seen);
  for (PendingWrite& pending : pendingWrites_) {
    if (known.covers(pending.dot)) pending.acknowledged.insert(peer);
  }
}

void GeoDistributedState::settleLocked(int64_t nowMillis, Completions& completions) {
  for (auto it = pendingWrites_.begin(); it != pendingWrites_.end();) {
    PendingWrite& pending = *it;
    size_t answered = 1;
    bool satisfied = false;
    if (pending.level == Consistency::kStrong) {
      for (ReplicaId peer : pending.required) answered += pending.acknowledged.count(peer);
      satisfied = answered >= pending.needed;
    } else {
      answered += pending.acknowledged.size();
      satisfied = answered >= pending.needed;
    }
    if (!satisfied && nowMillis < pending.deadlineMillis) {
      ++it;
      continue;
    }
    Status status = okStatus();
    if (!satisfied) {
      ++metrics_.quorumFailures;
      status = Error{ErrorCode::kQuorumNotReached,
                     quorumMessage(pending.level, answered, pending.regions, pending.needed, true), answered,
                     pending.needed};
    }
    if (pending.done) completions.push_back([done = std::move(pending.done), status] { done(status); });
    it = pendingWrites_.erase(it);
  }
  for (auto it = pendingReads_.begin(); it != pendingReads_.end();) {
    PendingRead& pending = it->second;
    size_t answered = 1;
    if (pending.level == Consistency::kStrong) {
      for (ReplicaId peer : pending.required) answered += pending.answered.count(peer);
    } else {
      answered += pending.answered.size();
    }
    const bool satisfied = answered >= pending.needed;
    if (!satisfied && nowMillis < pending.deadlineMillis) {
      ++it;
      continue;
    }
    Result<std::optional<std::string>> result = store_.get(pending.key, nowMillis);
    if (!satisfied) {
      ++metrics_.quorumFailures;
      result = Error{ErrorCode::kQuorumNotReached,
                     quorumMessage(pending.level, answered, pending.regions, pending.needed, false), answered,
                     pending.needed};
    }
    completions.push_back([done = std::move(pending.done), result = std::move(result)] { done(result); });
    it = pendingReads_.erase(it);
  }
}

void GeoDistributedState::tick() {
  Completions completions;
  {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wallMillis();
    if (!pendingBatch_.empty() &&
        (now - pendingSinceMillis_ >= config_.batchWindowMillis || pendingBatch_.entries.size() >= config_.maxBatchEntries)) {
      flushLocked(now);
    }
    for (auto it = sentBatches_.begin(); it != sentBatches_.end();) {
      SentBatch& sent = it->second;
      std::erase_if(sent.unacknowledged, [&](ReplicaId peer) {
        const VersionVector& seen = peerSeen_[peer];
        return std::all_of(sent.dots.begin(), sent.dots.end(), [&](const Dot& dot) { return seen.covers(dot); });
      });
      if (sent.unacknowledged.empty() || now - sent.createdAtMillis > config_.retransmitGiveUpMillis) {
        it = sentBatches_.erase(it);
        continue;
      }
      if (now - sent.lastSentMillis >= config_.retransmitMillis) {
        sent.lastSentMillis = now;
        for (ReplicaId peer : sent.unacknowledged) {
          ++metrics_.retransmissions;
          sendLocked(peer, sent.frame);
        }
      }
      ++it;
    }
    while (!ownWriteTimes_.empty() && std::all_of(config_.peers.begin(), config_.peers.end(), [&](ReplicaId peer) {
             return peerSeen_[peer].get(writer_) >= ownWriteTimes_.front().first;
           })) {
      ownWriteTimes_.pop_front();
    }
    for (ReplicaId peer : config_.peers) noteCaughtUpLocked(peer);
    if (now >= nextAntiEntropyMillis_) {
      nextAntiEntropyMillis_ = now + config_.antiEntropyIntervalMillis;
      // One peer per round, in turn: a returning region then receives what it missed once,
      // not once from every peer.
      if (!config_.peers.empty()) {
        startDigestRoundLocked(0, {config_.peers[antiEntropyCursor_++ % config_.peers.size()]});
      }
      if (config_.collectGarbage) {
        VersionVector stable = store_.context().compact();
        for (ReplicaId peer : config_.peers) stable = VersionVector::pointwiseMin(stable, peerSeen_[peer]);
        metrics_.garbageCollected += store_.collectGarbage(stable, now);
      }
    }
    settleLocked(now, completions);
  }
  run(completions);
}

StateMetrics GeoDistributedState::metrics() const {
  std::lock_guard lock(mu_);
  StateMetrics out = metrics_;
  out.syncLatencySeconds.assign(latencySamplesSeconds_.begin(), latencySamplesSeconds_.end());
  const int64_t now = clock_.wallMillis();
  const uint64_t latest = store_.context().compact().get(writer_);
  for (ReplicaId peer : config_.peers) {
    PeerLag lag;
    auto it = peerSeen_.find(peer);
    const uint64_t seen = it == peerSeen_.end() ? 0 : it->second.get(writer_);
    lag.unacknowledgedWrites = latest > seen ? latest - seen : 0;
    for (const auto& [counter, millis] : ownWriteTimes_) {
      if (counter > seen) {
        lag.lagMillis = now - millis;
        break;
      }
    }
    out.lagByPeer[peer] = lag;
  }
  out.hlcDriftRejections = hlc_.rejectedDriftCount();
  return out;
}

ReplicatedStore GeoDistributedState::snapshot() const {
  std::lock_guard lock(mu_);
  return store_;
}

}  // namespace dwcp::state
