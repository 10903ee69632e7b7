#include "federation/federation_node.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

namespace dwcp::federation {

namespace {

// A writer id no earlier run of any region used (with overwhelming probability): 32 random bits,
// never 0 and never a region's own id.
state::ReplicaId freshWriterId(state::ReplicaId self) {
  std::random_device entropy;
  std::uniform_int_distribution<state::ReplicaId> pick(1, UINT32_MAX);
  state::ReplicaId id = 0;
  while (id == 0 || id == self) id = pick(entropy);
  return id;
}

}  // namespace

FederationNode::FederationNode(NodeConfig config, const base::Clock& clock)
    : config_(std::move(config)), clock_(clock), self_(replicaIdOf(config_.region)) {}

FederationNode::~FederationNode() { stop(); }

void FederationNode::setLocalState(LocalState state) { localState_ = std::move(state); }
void FederationNode::setListeners(Listeners listeners) { listeners_ = std::move(listeners); }

net::Status FederationNode::start() {
  auto files = net::TlsFiles::load(config_.tls);
  if (!files.ok()) return files.error();
  tlsFiles_ = std::move(files).value();
  tlsFiles_->watch(config_.tlsReloadInterval);

  TransportConfig transport;
  transport.self = self_;
  transport.region = config_.region;
  transport.listenHost = config_.listenHost;
  transport.listenPort = config_.listenPort;
  transport.serverTls = tlsFiles_->server();
  transport.clientTls = tlsFiles_->client();
  transport_ = std::make_unique<HttpsPeerTransport>(transport);

  state::GeoStateConfig stateConfig = config_.state;
  stateConfig.self = self_;
  stateConfig.writer = freshWriterId(self_);
  stateConfig.peers.clear();
  state_ = std::make_unique<state::GeoDistributedState>(stateConfig, clock_, *transport_);
  state_->setChangeListener([this](const std::vector<std::string>& keys) { onChanged(keys); });
  transport_->setReceiver(
      [this](state::ReplicaId from, std::span<const uint8_t> frame) { return state_->receive(from, frame); });
  applyMembership();  // before listening: a peer's first frame finds it known
  if (auto started = transport_->start(); !started.ok()) {
    tlsFiles_->stop();
    return net::Error{"peer listener: " + started.error().message};
  }
  {
    std::lock_guard lock(mu_);
    running_ = true;
    startedAt_ = clock_.steadyNow();
  }
  ticker_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (running_) {
      lock.unlock();
      state_->tick();
      lock.lock();
      cv_.wait_for(lock, config_.tickInterval, [this] { return !running_; });
    }
  });
  heartbeats_ = std::thread([this] { heartbeatLoop(); });
  spdlog::info("federation: region {} writes as {} (replica {}), heartbeat every {}ms, suspects after {} missed",
               config_.region, stateConfig.writer, self_, config_.heartbeatInterval.count(),
               config_.suspectAfterHeartbeats);
  return base::Unit{};
}

void FederationNode::stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    running_ = false;
  }
  cv_.notify_all();
  if (heartbeats_.joinable()) heartbeats_.join();
  if (ticker_.joinable()) ticker_.join();
  transport_->stop();
  tlsFiles_->stop();
}

uint16_t FederationNode::listenPort() const { return transport_ ? transport_->listenPort() : 0; }

void FederationNode::setRegions(const std::vector<RegionPeer>& regions) {
  {
    std::lock_guard lock(mu_);
    regions_ = regions;
    if (!running_) return;
  }
  applyMembership();
}

void FederationNode::applyMembership() {
  std::lock_guard serial(membershipMu_);
  Membership membership;
  {
    std::lock_guard lock(mu_);
    membership = membershipOf(regions_, config_.region);
    for (const std::string& problem : membership.problems) {
      if (std::find(reportedProblems_.begin(), reportedProblems_.end(), problem) == reportedProblems_.end()) {
        spdlog::warn("federation: {}", problem);
      }
    }
    reportedProblems_ = membership.problems;
    ids_.clear();
    for (const PeerEndpoint& peer : membership.peers) ids_[peer.region] = peer.id;
    for (auto it = heard_.begin(); it != heard_.end();) {
      it = ids_.count(it->first) ? std::next(it) : heard_.erase(it);
    }
  }
  apply(membership, *transport_, *state_);
}

bool FederationNode::initialSyncDone() const {
  std::vector<state::ReplicaId> peers;
  {
    std::lock_guard lock(mu_);
    if (initialSyncDone_) return true;
    if (!running_) return false;
    if (clock_.steadyNow() - startedAt_ >= config_.initialSyncTimeout) {
      initialSyncDone_ = true;
      spdlog::warn("federation: not caught up with every peer {}ms after start; going on", config_.initialSyncTimeout.count());
      return true;
    }
    for (const auto& [region, id] : ids_) peers.push_back(id);
  }
  for (state::ReplicaId peer : peers) {
    if (!state_->caughtUpWith(peer)) return false;
  }
  std::lock_guard lock(mu_);
  initialSyncDone_ = true;
  return true;
}

std::optional<state::ReplicaId> FederationNode::idOf(const std::string& region) const {
  std::lock_guard lock(mu_);
  auto it = ids_.find(region);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

void FederationNode::heartbeatLoop() {
  std::unique_lock lock(mu_);
  while (running_) {
    lock.unlock();
    try {
      beat();
    } catch (const std::exception& e) {
      spdlog::error("federation: heartbeat failed: {}", e.what());
    }
    lock.lock();
    cv_.wait_for(lock, config_.heartbeatInterval, [this] { return !running_; });
  }
}

void FederationNode::beat() {
  api::Heartbeat heartbeat = localState_ ? localState_() : api::Heartbeat{};
  heartbeat.region = config_.region;
  heartbeat.sentAtMillis = clock_.wallMillis();
  heartbeat.peers = links();
  {
    std::lock_guard lock(mu_);
    heartbeat.sequence = ++sequence_;
    ++heartbeatsSent_;
  }
  (void)state_->put(api::heartbeatKey(config_.region), api::serialize(heartbeat), state::WriteOptions{});
  state_->flush();
}

void FederationNode::refused(const std::string& key, const std::string& why) const {
  std::lock_guard lock(mu_);
  if (recordsRefused_++ < 5 || recordsRefused_ % 1000 == 0) spdlog::warn("federation: ignored {}: {}", key, why);
  lastRefusedRecord_ = key + ": " + why;
}

void FederationNode::onChanged(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    const auto parsed = api::parseRecordKey(key);
    if (!parsed) {
      refused(key, "not a key of the federation's layout");
      continue;
    }
    switch (parsed->kind) {
      case api::RecordKey::Kind::kHeartbeat: {
        if (parsed->region == config_.region) break;  // our own, learned back after a restart
        const auto value = state_->getLocal(key);
        if (!value) break;
        auto heartbeat = api::parseHeartbeat(*value);
        if (!heartbeat.ok()) {
          refused(key, heartbeat.error().message);
          break;
        }
        if (heartbeat->region != parsed->region) {
          refused(key, "the heartbeat names region " + heartbeat->region);
          break;
        }
        {
          std::lock_guard lock(mu_);
          if (!ids_.count(parsed->region)) break;  // not (or no longer) a peer
          heard_[parsed->region] = Heard{std::move(heartbeat).value(), clock_.steadyNow(), clock_.wallNow()};
          ++heartbeatsHeard_;
        }
        if (listeners_.heartbeat) listeners_.heartbeat(parsed->region);
        break;
      }
      case api::RecordKey::Kind::kRecord:
        if (auto value = state_->getLocal(key)) {  // absent: removed, which is news too
          auto record = api::parsePlacementRecord(*value);
          if (!record.ok() || record->uid != parsed->uid) {
            refused(key, record.ok() ? "the record names VM " + record->uid : record.error().message);
            break;
          }
        }
        if (listeners_.record) listeners_.record(parsed->uid);
        break;
      case api::RecordKey::Kind::kAnswer:
        if (auto value = state_->getLocal(key)) {
          auto answer = api::parseReservationAnswer(*value);
          if (!answer.ok() || answer->uid != parsed->uid || answer->region != parsed->region) {
            refused(key, answer.ok() ? "the answer names another region or VM" : answer.error().message);
            break;
          }
        }
        if (listeners_.answer) listeners_.answer(parsed->region, parsed->uid);
        break;
    }
  }
}

std::optional<FederationNode::Heard> FederationNode::heartbeat(const std::string& region) const {
  std::lock_guard lock(mu_);
  auto it = heard_.find(region);
  if (it == heard_.end()) return std::nullopt;
  return it->second;
}

std::vector<api::PeerLink> FederationNode::links() const {
  std::vector<api::PeerLink> out;
  if (!transport_) return out;
  const auto now = clock_.steadyNow();
  for (const PeerLinkHealth& link : transport_->linkHealth()) {
    api::PeerLink peer;
    peer.region = link.region;
    peer.rttMs = link.rttMillis;
    // Reachable: a frame went through within the suspicion time.
    peer.reachable = link.lastDelivered && now - *link.lastDelivered <= suspectAfter();
    out.push_back(std::move(peer));
  }
  std::sort(out.begin(), out.end(), [](const api::PeerLink& a, const api::PeerLink& b) { return a.region < b.region; });
  return out;
}

std::chrono::milliseconds FederationNode::suspectAfter() const {
  return config_.heartbeatInterval * config_.suspectAfterHeartbeats;
}

void FederationNode::put(const std::string& key, std::string value) {
  if (!state_) return;  // before start(): the controllers that write run after it
  if (state_->getLocal(key) == value) return;
  auto written = state_->put(key, std::move(value), state::WriteOptions{});
  if (!written.ok()) spdlog::error("federation: writing {}: {}", key, written.error().message);
  state_->flush();  // another region waits for it
}

void FederationNode::remove(const std::string& key) {
  if (!state_ || !state_->getLocal(key)) return;
  (void)state_->remove(key, state::WriteOptions{});
  state_->flush();
}

// Reads: a value that does not parse, or names another key, reads as absent (it was counted and
// logged when it arrived).
std::optional<api::PlacementRecord> FederationNode::record(const std::string& uid) const {
  if (!state_ || !api::isUid(uid)) return std::nullopt;
  auto value = state_->getLocal(api::recordKey(uid));
  if (!value) return std::nullopt;
  auto parsed = api::parsePlacementRecord(*value);
  if (!parsed.ok() || parsed->uid != uid) return std::nullopt;
  return std::move(parsed).value();
}

std::vector<api::PlacementRecord> FederationNode::recordsIn(const std::string& region) const {
  std::vector<api::PlacementRecord> out;
  if (!state_) return out;
  for (const std::string& key : state_->keysWithPrefix(api::recordKey(""))) {
    const auto parsed = api::parseRecordKey(key);
    if (!parsed) continue;
    if (auto found = record(parsed->uid); found && found->region == region) out.push_back(std::move(*found));
  }
  return out;
}

void FederationNode::putRecord(const api::PlacementRecord& record) { put(api::recordKey(record.uid), api::serialize(record)); }

void FederationNode::removeRecord(const std::string& uid) { remove(api::recordKey(uid)); }

std::optional<api::ReservationAnswer> FederationNode::answer(const std::string& region, const std::string& uid) const {
  if (!state_ || !api::isRegionName(region) || !api::isUid(uid)) return std::nullopt;
  auto value = state_->getLocal(api::answerKey(region, uid));
  if (!value) return std::nullopt;
  auto parsed = api::parseReservationAnswer(*value);
  if (!parsed.ok() || parsed->uid != uid || parsed->region != region) return std::nullopt;
  return std::move(parsed).value();
}

void FederationNode::putAnswer(const api::ReservationAnswer& answer) {
  put(api::answerKey(config_.region, answer.uid), api::serialize(answer));
}

void FederationNode::removeAnswer(const std::string& uid) { remove(api::answerKey(config_.region, uid)); }

std::vector<std::string> FederationNode::answeredUids() const {
  const std::string prefix = api::answerKey(config_.region, "");
  std::vector<std::string> out;
  if (!state_) return out;
  for (const std::string& key : state_->keysWithPrefix(prefix)) {
    if (std::string uid = key.substr(prefix.size()); api::isUid(uid)) out.push_back(std::move(uid));
  }
  return out;
}

bool FederationNode::caughtUpWith(const std::string& region) const {
  auto id = idOf(region);
  return id && state_ && state_->caughtUpWith(*id);
}

NodeStats FederationNode::stats() const {
  NodeStats out;
  if (state_) out.state = state_->metrics();
  if (transport_) out.transport = transport_->stats();
  std::lock_guard lock(mu_);
  out.heartbeatsSent = heartbeatsSent_;
  out.heartbeatsHeard = heartbeatsHeard_;
  out.recordsRefused = recordsRefused_;
  out.lastRefusedRecord = lastRefusedRecord_;
  out.peers = ids_.size();
  out.tlsReloads = tlsFiles_ ? tlsFiles_->reloads() : 0;
  return out;
}

}  // namespace dwcp::federation
