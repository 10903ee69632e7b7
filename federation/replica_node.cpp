// Control API (JSON answers, plain HTTP, loopback only):
//   GET  /health
//   POST /put?key=K[&consistency=eventual|local|quorum|strong][&timeoutMillis=N][&ttlMillis=N]  body: value
//   POST /delete?key=K[&consistency=...]
//   GET  /get?key=K[&consistency=...]
//   GET  /digest            {"keys": N, "digest": hex}
//   GET  /metrics           Prometheus text exposition (dwcp_federation_state_*)
//   GET  /metrics.json      engine and transport counters as JSON
//   POST /faults?latencyMillis=N&loss=P&duplicate=P&reorder=P&partition=2,3&clockSkewMillis=N
//                           (missing parameters reset to none)
//   POST /sync
// Quorum/strong calls block the HTTP thread until the engine's callback runs.
#include "federation/replica_node.h"

#include "base/strings.h"
#include "federation/state_exposition.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <future>
#include <map>
#include <nlohmann/json.hpp>

namespace dwcp::federation {
using nlohmann::json;

namespace {

std::string percentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    int value = 0;
    const char* hex = in.data() + i + 1;
    if (in[i] == '%' && i + 2 < in.size() &&
        std::from_chars(hex, hex + 2, value, 16) == std::from_chars_result{hex + 2, std::errc()}) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {  // a bad escape stays as text
      out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> queryOf(std::string_view target, std::string& path) {
  std::map<std::string, std::string> query;
  const size_t question = target.find('?');
  path = std::string(target.substr(0, question));
  if (question == std::string_view::npos) return query;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    query[percentDecode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return query;
}

std::optional<state::Consistency> consistencyOf(const std::string& text) {
  if (text.empty() || text == "eventual") return state::Consistency::kEventual;
  if (text == "local") return state::Consistency::kLocal;
  if (text == "quorum") return state::Consistency::kQuorum;
  if (text == "strong") return state::Consistency::kStrong;
  return std::nullopt;
}

// A whole integer parameter; `fallback` when absent or empty, nullopt when malformed.
std::optional<int64_t> integerOf(const std::map<std::string, std::string>& query, const std::string& name,
                                 int64_t fallback) {
  auto it = query.find(name);
  if (it == query.end() || it->second.empty()) return fallback;
  return base::parseInt<int64_t>(it->second);
}

net::HttpResponse jsonResponse(int status, const json& body) { return net::HttpResponse{status, "application/json", body.dump() + "\n"}; }

}  // namespace

ReplicaNode::ReplicaNode(ReplicaNodeConfig config)
    : config_(std::move(config)), clock_(systemClock_, config_.clockSkewMillis), transport_(config_.transport) {
  config_.state.self = config_.transport.self;
  config_.state.peers.clear();
  for (const PeerEndpoint& peer : config_.transport.peers) config_.state.peers.push_back(peer.id);
  config_.state.maxFrameBytes = config_.transport.maxFrameBytes;
  state_ = std::make_unique<state::GeoDistributedState>(config_.state, clock_, transport_);
  transport_.setReceiver([this](state::ReplicaId from, std::span<const uint8_t> frame) { return state_->receive(from, frame); });
}

ReplicaNode::~ReplicaNode() { stop(); }

state::Status ReplicaNode::start() {
  state::Status started = transport_.start();
  if (!started.ok()) return started;
  if (config_.controlPort >= 0) {
    net::HttpServerOptions controlOptions;
    controlOptions.name = "replica control";
    controlOptions.address = config_.controlHost;
    controlOptions.port = static_cast<uint16_t>(config_.controlPort);
    controlOptions.bodyLimitBytes = 1 << 20;
    controlOptions.threads = 8;  // quorum and strong calls hold an io thread until the engine answers
    controlOptions.readTimeout = std::chrono::seconds(30);
    control_ = net::makeHttpServer(controlOptions, [this](const net::HttpRequest& request, net::HttpResponse& response) {
      response = handleControl(request);
    });
    if (auto listening = control_->start(); !listening.ok()) {
      return state::Error{state::ErrorCode::kInvalidArgument, listening.error().message};
    }
  }
  running_ = true;
  ticker_ = std::thread([this] {
    while (running_.load()) {
      state_->tick();
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.tickMillis));
    }
  });
  return state::okStatus();
}

void ReplicaNode::stop() {
  // The control API first: a quorum call in progress needs the ticker for its deadline.
  if (control_) control_->stop();
  running_ = false;
  if (ticker_.joinable()) ticker_.join();
  transport_.stop();
}

std::string ReplicaNode::prometheusMetrics() const {
  std::map<state::ReplicaId, std::string> regions;
  for (const PeerEndpoint& peer : config_.transport.peers) regions[peer.id] = peer.region;
  return renderStateExposition(state_->metrics(), transport_.stats(), regions);
}

std::string ReplicaNode::contentDigest(size_t* keyCount) const {
  const state::ReplicatedStore snapshot = state_->snapshot();
  const int64_t now = clock_.wallMillis();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  size_t live = 0;
  for (const std::string& key : snapshot.keys()) {
    auto value = snapshot.get(key, now);
    if (!value) continue;
    ++live;
    const std::string line = key + "=" + *value + "\n";
    EVP_DigestUpdate(ctx, line.data(), line.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  if (keyCount != nullptr) *keyCount = live;
  return hex;
}

net::HttpResponse ReplicaNode::handleControl(const net::HttpRequest& request) {
  std::string path;
  const std::string target(request.target);
  const auto query = queryOf(target, path);
  auto bad = [&](const std::string& message) {
    return jsonResponse(400, json{{"ok", false}, {"error", message}});
  };
  auto param = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  if (path == "/health") return jsonResponse(200, json{{"ok", true}});
  if (path == "/put" || path == "/delete") {
    if (request.method != "POST") return bad("use POST");
    const std::string key = param("key");
    if (key.empty()) return bad("parameter key is required");
    auto level = consistencyOf(param("consistency"));
    if (!level) return bad("consistency must be eventual, local, quorum or strong");
    const auto ttl = integerOf(query, "ttlMillis", 0), timeout = integerOf(query, "timeoutMillis", 0);
    if (!ttl) return bad("ttlMillis must be an integer number of milliseconds");
    if (!timeout) return bad("timeoutMillis must be an integer number of milliseconds");
    state::WriteOptions options{*level, *ttl, *timeout};
    std::promise<state::Status> promise;
    auto future = promise.get_future();
    auto done = [&promise](state::Status status) { promise.set_value(std::move(status)); };
    auto receipt = path == "/put" ? state_->put(key, std::string(request.body), options, done) : state_->remove(key, options, done);
    state::Status status = future.get();
    if (!receipt.ok() && receipt.error().code == state::ErrorCode::kInvalidArgument) return bad(receipt.error().message);
    if (!status.ok()) {
      return jsonResponse(503,
                          json{{"ok", false},
                               {"error", status.error().message},
                               {"answered", status.error().answered},
                               {"needed", status.error().needed},
                               {"appliedLocally", receipt.ok()}});
    }
    return jsonResponse(200,
                        json{{"ok", true}, {"replica", receipt->dot.replica}, {"counter", receipt->dot.counter}});
  }
  if (path == "/get") {
    const std::string key = param("key");
    if (key.empty()) return bad("parameter key is required");
    auto level = consistencyOf(param("consistency"));
    if (!level) return bad("consistency must be eventual, local, quorum or strong");
    const auto timeout = integerOf(query, "timeoutMillis", 0);
    if (!timeout) return bad("timeoutMillis must be an integer number of milliseconds");
    std::promise<state::Result<std::optional<std::string>>> promise;
    auto future = promise.get_future();
    state_->get(key, state::ReadOptions{*level, *timeout},
                [&promise](state::Result<std::optional<std::string>> value) { promise.set_value(std::move(value)); });
    auto value = future.get();
    if (!value.ok()) {
      return jsonResponse(503,
                          json{{"ok", false}, {"error", value.error().message}});
    }
    json body{{"ok", true}, {"found", value->has_value()}};
    if (value->has_value()) body["value"] = *value.value();
    return jsonResponse(200, body);
  }
  if (path == "/digest") {
    size_t keys = 0;
    const std::string digest = contentDigest(&keys);
    return jsonResponse(200, json{{"keys", keys}, {"digest", digest}});
  }
  if (path == "/metrics") {
    if (request.method != "GET") return bad("use GET");
    return net::HttpResponse{200, kPrometheusContentType, prometheusMetrics()};
  }
  if (path == "/metrics.json") {
    const state::StateMetrics m = state_->metrics();
    const TransportStats t = transport_.stats();
    json lag = json::object();
    for (const auto& [peer, peerLag] : m.lagByPeer) {
      lag[std::to_string(peer)] = {{"unacknowledgedWrites", peerLag.unacknowledgedWrites}, {"lagMillis", peerLag.lagMillis}};
    }
    return jsonResponse(200,
        json{{"bytesSent", m.bytesSent},
             {"bytesReceived", m.bytesReceived},
             {"framesSent", m.framesSent},
             {"framesReceived", m.framesReceived},
             {"framesRejected", m.framesRejected},
             {"lastRejection", m.lastRejection},
             {"antiEntropyRounds", m.antiEntropyRounds},
             {"antiEntropyRepairs", m.antiEntropyRepairs},
             {"retransmissions", m.retransmissions},
             {"quorumFailures", m.quorumFailures},
             {"lagByPeer", lag},
             {"clockSkewMillis", clockSkewMillis()},
             {"transport",
              {{"framesQueued", t.framesQueued},
               {"framesDelivered", t.framesDelivered},
               {"framesDroppedByFaults", t.framesDroppedByFaults},
               {"framesDuplicated", t.framesDuplicated},
               {"framesReordered", t.framesReordered},
               {"sendFailures", t.sendFailures},
               {"framesRejectedByPeer", t.framesRejectedByPeer},
               {"framesReceived", t.framesReceived},
               {"framesRefused", t.framesRefused},
               {"handshakeFailures", t.handshakeFailures},
               {"inboundConnectionsRefused", t.inboundConnectionsRefused},
               {"lastRefusal", t.lastRefusal}}}});
  }
  if (path == "/faults") {
    if (request.method != "POST") return bad("use POST");
    FaultSettings faults;
    const auto latency = integerOf(query, "latencyMillis", 0);
    if (!latency) return bad("latencyMillis must be an integer number of milliseconds");
    faults.addedLatencyMillis = *latency;
    for (auto [name, field] : {std::pair{"loss", &faults.lossProbability}, std::pair{"duplicate", &faults.duplicateProbability},
                               std::pair{"reorder", &faults.reorderProbability}}) {
      const std::string text = param(name);
      const auto probability = text.empty() ? std::optional<double>(0.0) : base::parseDouble(text);
      if (!probability) return bad(std::string(name) + " must be a probability");
      *field = *probability;
      if (!(*field >= 0 && *field <= 1)) return bad(std::string(name) + " must be within [0, 1]");
    }
    const std::string skew = param("clockSkewMillis");
    int64_t skewMillis = 0;
    if (!skew.empty()) {
      const auto parsed = base::parseInt<int64_t>(skew);
      if (!parsed) return bad("clockSkewMillis must be an integer number of milliseconds");
      skewMillis = *parsed;
    }
    std::string partition = param("partition");
    size_t begin = 0;
    while (begin < partition.size()) {
      size_t comma = partition.find(',', begin);
      if (comma == std::string::npos) comma = partition.size();
      const auto peer = base::parseInt<state::ReplicaId>(std::string_view(partition).substr(begin, comma - begin));
      if (!peer) return bad("partition must be a comma-separated list of replica ids");
      faults.partitionedPeers.insert(*peer);
      begin = comma + 1;
    }
    if (faults.addedLatencyMillis < 0 || faults.lossProbability < 0 || faults.lossProbability > 1) {
      return bad("latencyMillis must be >= 0 and loss within [0, 1]");
    }
    transport_.setFaults(faults);
    setClockSkewMillis(skewMillis);
    return jsonResponse(200, json{{"ok", true}});
  }
  if (path == "/sync") {
    state_->sync();
    return jsonResponse(200, json{{"ok", true}});
  }
  return jsonResponse(404, json{{"ok", false}, {"error", "no such path " + path}});
}

}  // namespace dwcp::federation
