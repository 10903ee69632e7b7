// One PeerLink per peer: a FIFO of frames bounded in count and bytes, each due at (enqueue
// time + injected latency), and a thread that waits for the head's due time and POSTs it over
// a kept-alive TLS connection (reconnecting once on a stale connection). Every network wait is
// an asynchronous operation with a beast::tcp_stream deadline, run to completion on the link's
// own io_context; stop() closes the socket from inside that io_context, which ends the wait at
// once. Injected reordering parks one frame and posts it right after the next (or alone after
// reorderMaxHoldMillis); duplication queues a copy. A link's health is written by its thread
// under its own lock, which linkHealth() takes inside linksMu_ (never the other way round).
// The server side is an HttpServer whose handler maps the verified certificate to a peer and
// hands the body to the receiver; a refusal's (sender, reason) is remembered in a bounded set
// so that only the first is logged.
#include "federation/https_peer_transport.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace dwcp::federation {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using state::ReplicaId;

namespace {
constexpr size_t kMaxResponseBodyBytes = 64 * 1024;  // peers answer with a short text
constexpr size_t kMaxPeerAnswerInError = 256;        // of a refusal's text, kept in lastError
constexpr double kRttAlpha = 0.3;                    // the weight of a new sample in the smoothed RTT
// (sender, reason) pairs remembered for logging once; beyond, refusals are only counted, so a
// client cannot grow memory or the log.
constexpr size_t kMaxRefusalsLogged = 1024;
}  // namespace

class HttpsPeerTransport::PeerLink {
 public:
  PeerLink(HttpsPeerTransport& owner, PeerEndpoint endpoint) : owner_(owner), endpoint_(std::move(endpoint)) {
    health_.region = endpoint_.region;  // a link never changes region: another region gets another link
  }
  ~PeerLink() { stop(); }

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    asio::post(io_, [this] { closeSocket(); });  // ends a connect, handshake or exchange in progress
    if (thread_.joinable()) thread_.join();
  }
  // False when the queue is full (in frames or in bytes).
  bool enqueue(Outgoing outgoing) {
    {
      std::lock_guard lock(mu_);
      const size_t bytes = outgoing.frame.size();
      const size_t maxBytes = owner_.config_.maxQueuedBytesPerPeer;
      if (queue_.size() >= owner_.config_.maxQueuedFramesPerPeer || bytes > maxBytes || queuedBytes_ > maxBytes - bytes) {
        return false;
      }
      queuedBytes_ += bytes;
      queue_.push_back(std::move(outgoing));
    }
    cv_.notify_one();
    return true;
  }
  void setAddress(const std::string& host, uint16_t port) {
    std::lock_guard lock(mu_);
    endpoint_.host = host;
    endpoint_.port = port;
    addressChanged_ = true;
  }
  PeerLinkHealth health() const {
    std::lock_guard lock(healthMu_);
    return health_;
  }

 private:
  using TlsStream = ssl::stream<beast::tcp_stream>;

  void run() {
    std::unique_lock lock(mu_);
    // Posts one frame with the lock released; nothing it throws ends the thread.
    auto postUnlocked = [&](Outgoing outgoing) {
      if (addressChanged_) {
        stream_.reset();
        addressChanged_ = false;
      }
      const PeerEndpoint endpoint = endpoint_;
      lock.unlock();
      try {
        post(endpoint, outgoing);
      } catch (const std::exception& e) {
        stream_.reset();
        fail(std::string("unexpected error: ") + e.what());
      }
      lock.lock();
    };
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || held_.has_value(); });
      if (stopping_) break;
      const auto now = std::chrono::steady_clock::now();
      if (held_ && now >= heldUntil_) {  // no successor came in time
        Outgoing held = std::move(*held_);
        held_.reset();
        postUnlocked(std::move(held));
        continue;
      }
      if (queue_.empty() || now < queue_.front().due) {
        auto wake = held_ ? heldUntil_ : queue_.front().due;
        if (!queue_.empty()) wake = std::min(wake, queue_.front().due);
        cv_.wait_until(lock, wake);  // an enqueue or stop() wakes it early; the loop re-checks
        continue;
      }
      Outgoing outgoing = std::move(queue_.front());
      queue_.pop_front();
      queuedBytes_ -= outgoing.frame.size();
      if (outgoing.holdBack && !held_) {
        heldUntil_ = now + std::chrono::milliseconds(outgoing.maxHoldMillis);
        held_ = std::move(outgoing);
        continue;
      }
      postUnlocked(std::move(outgoing));
      if (held_) {  // reordered: the held frame goes right after its successor
        Outgoing held = std::move(*held_);
        held_.reset();
        postUnlocked(std::move(held));
      }
    }
    stream_.reset();
  }

  // On the link's io_context only (the link thread inside await(), or stop()'s post).
  void closeSocket() {
    if (resolving_ != nullptr) resolving_->cancel();
    if (stream_) beast::get_lowest_layer(*stream_).close();
  }

  // The peer's addresses: its IP address, or every address its host name resolves to now
  // (addresses change; a Region's spec.endpoint usually names a host), within the connect
  // deadline. Connecting tries them in order.
  std::optional<std::vector<tcp::endpoint>> resolve(const PeerEndpoint& endpoint) {
    error_code ec;
    const auto address = asio::ip::make_address(endpoint.host, ec);
    if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(address, endpoint.port)};
    tcp::resolver resolver(io_);
    asio::steady_timer deadline(io_, std::chrono::milliseconds(owner_.config_.connectTimeoutMillis));
    error_code resolved = asio::error::timed_out;
    std::optional<std::vector<tcp::endpoint>> found;
    io_.restart();
    if (stopping_.load()) return std::nullopt;
    resolving_ = &resolver;
    resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                           [&](error_code result, const tcp::resolver::results_type& results) {
                             resolved = result;
                             if (!result && !results.empty()) {
                               found.emplace();
                               for (const auto& entry : results) found->push_back(entry.endpoint());
                             }
                             deadline.cancel();
                           });
    deadline.async_wait([&](error_code result) {
      if (!result) resolver.cancel();  // the deadline passed first
    });
    io_.run();
    resolving_ = nullptr;
    if (!found) {
      const bool timedOut = resolved == asio::error::timed_out ||
                            (resolved == asio::error::operation_aborted && !stopping_.load());
      fail("cannot resolve " + endpoint.host + ": " + (timedOut ? std::string("timed out") : resolved.message()));
    }
    return found;
  }

  // Runs one asynchronous operation to completion; its deadline (the stream's expiry) or
  // stop() ends it. Pending handlers never outlive the call.
  template <class Initiate>
  error_code await(Initiate&& initiate) {
    error_code result = asio::error::operation_aborted;
    io_.restart();
    if (stopping_.load()) return result;
    initiate([&result](error_code ec, auto&&...) { result = ec; });
    io_.run();
    return result;
  }

  static std::string describe(const error_code& ec) {
    return ec == beast::error::timeout ? std::string("timed out") : ec.message();
  }

  bool connect(const PeerEndpoint& endpoint) {
    stream_.reset();
    error_code ec;
    const std::optional<std::vector<tcp::endpoint>> targets = resolve(endpoint);
    if (!targets) return false;  // resolve() said why
    streamTls_ = owner_.clientTls_->current();  // a rotated certificate from the next connection on
    stream_ = std::make_unique<TlsStream>(io_, *streamTls_);
    SSL_set_tlsext_host_name(stream_->native_handle(), endpoint.region.c_str());
    auto& tcpStream = beast::get_lowest_layer(*stream_);
    tcpStream.expires_after(std::chrono::milliseconds(owner_.config_.connectTimeoutMillis));  // connect and handshake
    ec = await([&](auto handler) { tcpStream.async_connect(*targets, std::move(handler)); });
    if (ec) return fail("connect: " + describe(ec));
    tcpStream.socket().set_option(tcp::no_delay(true), ec);
    ec = await([&](auto handler) { stream_->async_handshake(ssl::stream_base::client, std::move(handler)); });
    if (ec) return fail("TLS handshake: " + describe(ec));
    const auto names = net::certificateNames(stream_->native_handle());
    if (std::find(names.begin(), names.end(), endpoint.region) == names.end()) {
      return fail("the server's certificate does not name region " + endpoint.region);
    }
    buffer_.clear();
    return true;
  }

  bool fail(const std::string& why) {
    stream_.reset();
    {
      std::lock_guard lock(healthMu_);
      ++health_.consecutiveFailures;
      health_.lastError = why;
    }
    if (++failuresLogged_ <= 5 || failuresLogged_ % 1000 == 0) {
      spdlog::warn("federation: frame to region {} dropped: {}", endpoint_.region, why);
    }
    return false;
  }

  // An answer of any status: a round-trip sample; `error` is empty for a 2xx.
  void answered(double sampleMillis, std::string error) {
    std::lock_guard lock(healthMu_);
    health_.rttMillis = health_.rttMillis ? kRttAlpha * sampleMillis + (1 - kRttAlpha) * *health_.rttMillis : sampleMillis;
    if (error.empty()) {
      health_.lastDelivered = std::chrono::steady_clock::now();
      health_.consecutiveFailures = 0;
      health_.lastError.clear();
    } else {
      ++health_.consecutiveFailures;
      health_.lastError = std::move(error);
    }
  }

  // One attempt on the kept-alive connection, one more on a fresh one. The round trip is timed
  // from the start of the write that got an answer.
  void post(const PeerEndpoint& endpoint, const Outgoing& outgoing) {
    const std::vector<uint8_t>& frame = outgoing.frame;
    http::request<http::string_body> request{http::verb::post, kFramesPath, 11};
    request.set(http::field::host, endpoint.region);
    request.set(http::field::content_type, "application/octet-stream");
    request.keep_alive(true);
    request.body().assign(reinterpret_cast<const char*>(frame.data()), frame.size());
    request.prepare_payload();
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool fresh = !stream_;
      if (fresh && !connect(endpoint)) break;
      auto& tcpStream = beast::get_lowest_layer(*stream_);
      tcpStream.expires_after(std::chrono::milliseconds(owner_.config_.ioTimeoutMillis));
      const auto writeStarted = std::chrono::steady_clock::now();
      error_code ec = await([&](auto handler) { http::async_write(*stream_, request, std::move(handler)); });
      http::response_parser<http::string_body> response;
      response.body_limit(kMaxResponseBodyBytes);
      if (!ec) {
        tcpStream.expires_after(std::chrono::milliseconds(owner_.config_.ioTimeoutMillis));
        ec = await([&](auto handler) { http::async_read(*stream_, buffer_, response, std::move(handler)); });
      }
      if (ec) {
        stream_.reset();
        if (fresh || stopping_.load()) {
          fail("HTTP exchange: " + describe(ec));
          break;
        }
        continue;  // the kept-alive connection was stale
      }
      const std::chrono::duration<double, std::milli> roundTrip = std::chrono::steady_clock::now() - writeStarted;
      if (!response.get().keep_alive()) stream_.reset();
      const unsigned status = response.get().result_int();
      const bool delivered = status / 100 == 2;
      std::string refusal;
      if (!delivered) {
        std::string_view text = response.get().body();
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
        refusal = "region " + endpoint.region + " answered " + std::to_string(status) + ": " +
                  std::string(text.substr(0, kMaxPeerAnswerInError));
      }
      answered(roundTrip.count() + static_cast<double>(outgoing.addedLatencyMillis), refusal);
      std::lock_guard lock(owner_.mu_);
      if (delivered) {
        ++owner_.stats_.framesDelivered;
        owner_.stats_.bytesSent += frame.size();
      } else {
        ++owner_.stats_.framesRejectedByPeer;
        if (++failuresLogged_ <= 5 || failuresLogged_ % 1000 == 0) spdlog::warn("federation: {}", refusal);
      }
      return;
    }
    std::lock_guard lock(owner_.mu_);
    ++owner_.stats_.sendFailures;
  }

  HttpsPeerTransport& owner_;
  asio::io_context io_{1};
  tcp::resolver* resolving_ = nullptr;  // while resolve() waits, so stop() can cancel it
  std::shared_ptr<ssl::context> streamTls_;  // the context stream_ was made with, kept alive with it
  std::unique_ptr<TlsStream> stream_;  // used on the link thread only (and by closeSocket)
  beast::flat_buffer buffer_;
  uint64_t failuresLogged_ = 0;
  mutable std::mutex healthMu_;
  PeerLinkHealth health_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Outgoing> queue_;
  size_t queuedBytes_ = 0;
  std::optional<Outgoing> held_;  // fault injection: a frame waiting for its successor
  std::chrono::steady_clock::time_point heldUntil_;
  PeerEndpoint endpoint_;
  bool addressChanged_ = false;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

HttpsPeerTransport::HttpsPeerTransport(TransportConfig config) : config_(std::move(config)) {
  for (std::string_view reason : kRefusalReasons) stats_.refusedByReason.emplace(reason, 0);
  for (const PeerEndpoint& peer : config_.peers) {
    peers_[peer.id] = peer;
    links_[peer.id] = std::make_shared<PeerLink>(*this, peer);
  }
}

HttpsPeerTransport::~HttpsPeerTransport() { stop(); }

void HttpsPeerTransport::setReceiver(Receiver receiver) {
  std::lock_guard lock(mu_);
  receiver_ = std::move(receiver);
}

state::Status HttpsPeerTransport::start() {
  std::shared_ptr<net::TlsContextSource> serverTls = config_.serverTls;
  clientTls_ = config_.clientTls;
  if (!serverTls || !clientTls_) {
    auto server = net::makeTlsContext(config_.tls, net::TlsRole::kServer);
    if (!server.ok()) return state::Error{state::ErrorCode::kInvalidArgument, server.error().message};
    auto client = net::makeTlsContext(config_.tls, net::TlsRole::kClient);
    if (!client.ok()) return state::Error{state::ErrorCode::kInvalidArgument, client.error().message};
    serverTls = std::make_shared<net::TlsContextSource>(server.value());
    clientTls_ = std::make_shared<net::TlsContextSource>(client.value());
  }
  net::HttpServerOptions serverOptions;
  serverOptions.name = "peers";
  serverOptions.address = config_.listenHost;
  serverOptions.port = config_.listenPort;
  serverOptions.threads = 2;
  serverOptions.bodyLimitBytes = config_.maxFrameBytes;
  serverOptions.maxConnections = config_.maxInboundConnections;
  serverOptions.handshakeTimeout = std::chrono::milliseconds(config_.ioTimeoutMillis);
  // A whole frame, its first byte to its last: at least 30 s, so a large frame on a slow link is
  // not cut.
  serverOptions.readTimeout = std::chrono::milliseconds(std::max<int64_t>(config_.ioTimeoutMillis, 30'000));
  serverOptions.writeTimeout = std::chrono::milliseconds(config_.ioTimeoutMillis);
  serverOptions.idleTimeout = std::chrono::milliseconds(config_.inboundIdleTimeoutMillis);
  serverOptions.tls = serverTls;
  server_ = net::makeHttpServer(serverOptions, [this](const net::HttpRequest& request, net::HttpResponse& response) {
    handle(request, response);
  });
  if (auto listening = server_->start(); !listening.ok()) {
    return state::Error{state::ErrorCode::kInvalidArgument, listening.error().message};
  }
  {
    std::lock_guard lock(linksMu_);
    started_ = true;
    for (auto& [id, link] : links_) link->start();
  }
  spdlog::info("federation: region {} (replica {}) listening on {}:{} for {} peers", config_.region, config_.self,
               config_.listenHost, server_->port(), peers().size());
  return state::okStatus();
}

void HttpsPeerTransport::stop() {
  if (server_) server_->stop();
  std::vector<std::shared_ptr<PeerLink>> links;
  {
    std::lock_guard lock(linksMu_);
    started_ = false;
    for (auto& [id, link] : links_) links.push_back(link);
  }
  for (auto& link : links) link->stop();
}

std::shared_ptr<HttpsPeerTransport::PeerLink> HttpsPeerTransport::linkTo(ReplicaId peer) const {
  std::lock_guard lock(linksMu_);
  auto it = links_.find(peer);
  return it == links_.end() ? nullptr : it->second;
}

void HttpsPeerTransport::addPeer(PeerEndpoint peer) {
  std::shared_ptr<PeerLink> replaced;
  {
    std::lock_guard lock(linksMu_);
    auto known = peers_.find(peer.id);
    if (known != peers_.end() && known->second.region == peer.region) {
      if (known->second.host == peer.host && known->second.port == peer.port) return;
      known->second = peer;
      links_.at(peer.id)->setAddress(peer.host, peer.port);
      return;
    }
    if (known != peers_.end()) replaced = links_.at(peer.id);  // another region under this id
    peers_[peer.id] = peer;
    auto link = std::make_shared<PeerLink>(*this, peer);
    links_[peer.id] = link;
    if (started_) link->start();
  }
  if (replaced) replaced->stop();
  spdlog::info("federation: region {} now peers with region {} at {}:{}", config_.region, peer.region, peer.host,
               peer.port);
}

void HttpsPeerTransport::removePeer(ReplicaId peer) {
  std::shared_ptr<PeerLink> link;
  std::string region;
  {
    std::lock_guard lock(linksMu_);
    auto known = peers_.find(peer);
    if (known == peers_.end()) return;
    region = known->second.region;
    peers_.erase(known);
    auto it = links_.find(peer);
    link = std::move(it->second);
    links_.erase(it);
  }
  link->stop();  // outside the lock: it joins the sender thread
  spdlog::info("federation: region {} no longer peers with region {}", config_.region, region);
}

std::vector<PeerEndpoint> HttpsPeerTransport::peers() const {
  std::lock_guard lock(linksMu_);
  std::vector<PeerEndpoint> out;
  for (const auto& [id, peer] : peers_) out.push_back(peer);
  return out;
}

uint16_t HttpsPeerTransport::listenPort() const { return server_ ? server_->port() : 0; }

void HttpsPeerTransport::setPeerAddress(ReplicaId peer, const std::string& host, uint16_t port) {
  std::lock_guard lock(linksMu_);
  auto known = peers_.find(peer);
  if (known == peers_.end()) return;
  known->second.host = host;
  known->second.port = port;
  links_.at(peer)->setAddress(host, port);
}

void HttpsPeerTransport::send(ReplicaId to, std::vector<uint8_t> frame) {
  const std::shared_ptr<PeerLink> link = linkTo(to);  // kept alive while used, even if removed meanwhile
  Outgoing outgoing;
  bool duplicate = false;
  {
    std::lock_guard lock(mu_);
    if (!link || faults_.partitionedPeers.count(to) > 0) {
      ++stats_.framesDroppedByFaults;
      return;
    }
    std::uniform_real_distribution<double> coin(0, 1);
    if (faults_.lossProbability > 0 && coin(rng_) < faults_.lossProbability) {
      ++stats_.framesDroppedByFaults;
      return;
    }
    duplicate = faults_.duplicateProbability > 0 && coin(rng_) < faults_.duplicateProbability;
    outgoing.holdBack = faults_.reorderProbability > 0 && coin(rng_) < faults_.reorderProbability;
    outgoing.maxHoldMillis = faults_.reorderMaxHoldMillis;
    stats_.framesQueued += duplicate ? 2 : 1;
    if (duplicate) ++stats_.framesDuplicated;
    if (outgoing.holdBack) ++stats_.framesReordered;
    outgoing.addedLatencyMillis = faults_.addedLatencyMillis;
    outgoing.due = std::chrono::steady_clock::now() + std::chrono::milliseconds(outgoing.addedLatencyMillis);
  }
  outgoing.frame = std::move(frame);
  std::optional<Outgoing> copy;
  if (duplicate) copy = Outgoing{outgoing.due, outgoing.frame, false, 0, outgoing.addedLatencyMillis};
  size_t overflow = link->enqueue(std::move(outgoing)) ? 0 : 1;
  if (copy && !link->enqueue(std::move(*copy))) ++overflow;
  if (overflow > 0) {
    std::lock_guard lock(mu_);
    stats_.framesDroppedOverflow += overflow;
  }
}

void HttpsPeerTransport::setFaults(FaultSettings faults) {
  std::lock_guard lock(mu_);
  faults_ = std::move(faults);
}

FaultSettings HttpsPeerTransport::faults() const {
  std::lock_guard lock(mu_);
  return faults_;
}

TransportStats HttpsPeerTransport::stats() const {
  std::lock_guard lock(mu_);
  TransportStats stats = stats_;
  stats.handshakeFailures = server_ ? server_->handshakeFailures() : 0;
  stats.inboundConnectionsRefused = server_ ? server_->refusedConnections() : 0;
  return stats;
}

std::vector<PeerLinkHealth> HttpsPeerTransport::linkHealth() const {
  std::lock_guard lock(linksMu_);
  std::vector<PeerLinkHealth> out;
  out.reserve(links_.size());
  for (const auto& [id, link] : links_) out.push_back(link->health());
  return out;
}

std::optional<PeerLinkHealth> HttpsPeerTransport::linkHealth(ReplicaId peer) const {
  std::lock_guard lock(linksMu_);
  auto it = links_.find(peer);
  if (it == links_.end()) return std::nullopt;
  return it->second->health();
}

std::optional<PeerEndpoint> HttpsPeerTransport::peerByNames(const std::vector<std::string>& names) const {
  std::lock_guard lock(linksMu_);
  for (const auto& [id, peer] : peers_) {
    if (std::find(names.begin(), names.end(), peer.region) != names.end()) return peer;
  }
  return std::nullopt;
}

void HttpsPeerTransport::handle(const net::HttpRequest& request, net::HttpResponse& response) {
  auto answer = [&](int status, std::string message) {
    response.status = status;
    response.contentType = "text/plain";
    response.body = std::move(message) + "\n";
  };
  const std::vector<std::string>& names = *request.peerNames;
  const std::optional<PeerEndpoint> peer = peerByNames(names);
  if (!peer) {
    std::string listed;
    for (const auto& name : names) listed += (listed.empty() ? "" : ", ") + name;
    std::string message = "the client certificate names [" + listed + "], which is not a known peer region of " + config_.region;
    countRefusal("unknown-peer", listed.empty() ? "(no DNS name)" : listed, message);
    return answer(403, std::move(message));
  }
  auto refuse = [&](int status, std::string_view reason, std::string message) {
    countRefusal(reason, peer->region, message);
    answer(status, std::move(message));
  };
  const std::string target(request.target);
  if (target == kHealthPath) {
    if (request.method != "GET") return refuse(405, "bad-request", "use GET");
    return answer(200, "region " + config_.region + " sees region " + peer->region);
  }
  if (target != kFramesPath) return refuse(404, "bad-request", "no such path " + target);
  if (request.method != "POST") return refuse(405, "bad-request", "use POST");
  Receiver receiver;
  {
    std::lock_guard lock(mu_);
    if (faults_.partitionedPeers.count(peer->id) > 0) {
      ++stats_.framesDroppedByFaults;
      return answer(503, "partitioned from region " + peer->region);
    }
    receiver = receiver_;
    ++stats_.framesReceived;
    stats_.bytesReceived += request.body.size();
  }
  if (!receiver) return refuse(503, "not-ready", "region " + config_.region + " is not ready");
  const auto* data = reinterpret_cast<const uint8_t*>(request.body.data());
  state::Status received = receiver(peer->id, std::span<const uint8_t>(data, request.body.size()));
  if (!received.ok()) {
    const state::Error& error = received.error();
    int status = 400;
    std::string_view reason = "other";
    switch (error.code) {
      case state::ErrorCode::kMalformedMessage: reason = "malformed"; break;
      case state::ErrorCode::kUnsupportedVersion: reason = "unsupported-version"; break;
      case state::ErrorCode::kMessageTooLarge:
        reason = "too-large";
        status = 413;
        break;
      case state::ErrorCode::kUnknownPeer:
        reason = "unknown-sender";
        status = 403;
        break;
      default: break;
    }
    return refuse(status, reason, "frame from region " + peer->region + " rejected: " + error.message);
  }
  response.status = 204;
  response.contentType.clear();
}

void HttpsPeerTransport::countRefusal(std::string_view reason, const std::string& sender, const std::string& message) {
  bool first = false;
  bool nowFull = false;
  {
    std::lock_guard lock(mu_);
    ++stats_.framesRefused;
    ++stats_.refusedByReason[std::string(reason)];
    stats_.lastRefusal = message;
    if (refusalsLogged_.size() < kMaxRefusalsLogged) {
      first = refusalsLogged_.emplace(sender, reason).second;
      nowFull = first && refusalsLogged_.size() == kMaxRefusalsLogged;
    }
  }
  if (first) spdlog::warn("federation: refusing region {}: {}: {}", sender, reason, message);
  if (nowFull) {
    spdlog::warn("federation: region {} has refused {} different (sender, reason) pairs; new ones are only counted",
                 config_.region, kMaxRefusalsLogged);
  }
}

}  // namespace dwcp::federation
