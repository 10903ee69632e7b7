// The mutual-TLS transport in-process: three regions on ephemeral loopback ports with
// certificates generated here. Convergence, consistency levels across a partition injected in
// the real transport, and every refusal: no client certificate, another CA, an unknown region,
// a server naming the wrong region, malformed, unknown-version and oversized frames, each
// counted by reason and logged once; the links' measured round trip and health.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <map>
#include <functional>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <thread>

#include "base/testing/eventually.h"
#include "engines/state/wire.h"
#include "federation/https_peer_transport.h"
#include "net/testing/pki.h"
#include "federation/replica_node.h"
#include "net/tls_files.h"

namespace dwcp::federation {
namespace {
using net::issueCertificate;
using net::makeCertificateAuthority;
using net::PemPair;
using net::TlsMaterial;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

const std::vector<std::string> kRegions = {"us-east-1", "eu-west-1", "ap-south-1"};

struct Pki {
  PemPair ca, rogueCa;
  std::map<std::string, PemPair> leaves;  // by region; "stranger" is signed by the good CA, "rogue" by the rogue CA
  static const Pki& get() {
    static const Pki pki = [] {
      Pki p;
      p.ca = makeCertificateAuthority("dwcp federation test CA").value();
      p.rogueCa = makeCertificateAuthority("rogue CA").value();
      for (const auto& region : kRegions) p.leaves[region] = issueCertificate(p.ca, region).value();
      p.leaves["stranger"] = issueCertificate(p.ca, "stranger").value();
      p.leaves["rogue"] = issueCertificate(p.rogueCa, "eu-west-1").value();  // a known name, the wrong CA
      return p;
    }();
    return pki;
  }
  TlsMaterial material(const std::string& leaf) const {
    return TlsMaterial{ca.certificatePem, leaves.at(leaf).certificatePem, leaves.at(leaf).privateKeyPem};
  }
};

using dwcp::base::testing::eventually;

class Federation {
 public:
  explicit Federation(size_t maxFrameBytes = state::kDefaultMaxFrameBytes, size_t regions = kRegions.size(),
                      const std::function<void(ReplicaNodeConfig&)>& tweak = {}) {
    for (size_t i = 0; i < regions; ++i) {
      ReplicaNodeConfig config;
      config.transport.self = static_cast<state::ReplicaId>(i + 1);
      config.transport.region = kRegions[i];
      config.transport.tls = Pki::get().material(kRegions[i]);
      config.transport.maxFrameBytes = maxFrameBytes;
      for (size_t j = 0; j < regions; ++j) {
        if (j != i) config.transport.peers.push_back(PeerEndpoint{static_cast<state::ReplicaId>(j + 1), kRegions[j], "127.0.0.1", 1});
      }
      config.state.defaultTimeoutMillis = 2'000;
      if (tweak) tweak(config);
      nodes.push_back(std::make_unique<ReplicaNode>(config));
      auto started = nodes.back()->start();
      EXPECT_TRUE(started.ok()) << started.error().message;
    }
    for (auto& node : nodes) {
      for (size_t j = 0; j < nodes.size(); ++j) node->transport().setPeerAddress(static_cast<state::ReplicaId>(j + 1), "127.0.0.1", nodes[j]->peerPort());
    }
  }
  ReplicaNode& node(state::ReplicaId id) { return *nodes.at(id - 1); }
  bool converged() {
    const std::string first = nodes[0]->contentDigest();
    for (auto& node : nodes) {
      if (node->contentDigest() != first) return false;
    }
    return true;
  }
  std::vector<std::unique_ptr<ReplicaNode>> nodes;
};

struct Reply {
  bool connected = false;  // handshake and exchange completed
  unsigned status = 0;
  std::string body;
  std::string error;
};

// One HTTPS request to 127.0.0.1:port as a client holding `material` (its certificate may be
// empty: no client certificate).
Reply request(const TlsMaterial& material, uint16_t port, http::verb method, const std::string& target, std::string body) {
  Reply reply;
  ssl::context context(ssl::context::tls_client);
  boost::system::error_code ec;
  context.add_certificate_authority(boost::asio::buffer(material.caPem), ec);
  if (!material.certificatePem.empty()) {
    context.use_certificate_chain(boost::asio::buffer(material.certificatePem), ec);
    context.use_private_key(boost::asio::buffer(material.privateKeyPem), ssl::context::pem, ec);
  }
  context.set_verify_mode(ssl::verify_none);  // these tests probe the server's checks, not the client's
  boost::asio::io_context io;
  ssl::stream<tcp::socket> stream(io, context);
  stream.lowest_layer().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
  if (!ec) stream.handshake(ssl::stream_base::client, ec);
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "localhost");
  req.body() = std::move(body);
  req.prepare_payload();
  if (!ec) http::write(stream, req, ec);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) {
    reply.error = ec.message();
    return reply;
  }
  reply.connected = true;
  reply.status = res.result_int();
  reply.body = res.body();
  return reply;
}

std::string bytesOf(const std::vector<uint8_t>& frame) { return std::string(frame.begin(), frame.end()); }

std::vector<uint8_t> putFrame(state::ReplicaId sender, const std::string& key) {
  state::ReplicatedStore store(sender);
  state::StoreDelta delta = store.put(key, "value", state::HlcTimestamp{1'767'225'600'000, 0, sender});
  return state::encodeFrame(state::Frame{sender, state::DeltaBatch{1, delta}});
}

TEST(HttpsPeerTransportTest, ThreeRegionsConvergeOverMutualTls) {
  Federation fed;
  ASSERT_TRUE(fed.node(1).state().put("placement/vm-1", "us-east-1", {}).ok());
  ASSERT_TRUE(fed.node(2).state().put("placement/vm-2", "eu-west-1", {}).ok());
  ASSERT_TRUE(eventually([&] {
    return fed.node(3).state().getLocal("placement/vm-1") == std::optional<std::string>("us-east-1") &&
           fed.node(3).state().getLocal("placement/vm-2") == std::optional<std::string>("eu-west-1") && fed.converged();
  }));
  // A frame counts as delivered when its 204 is read, which can come after the receiver applied
  // it (and the test saw convergence).
  EXPECT_TRUE(eventually([&] { return fed.node(1).transport().stats().framesDelivered > 0; }));
  const TransportStats stats = fed.node(1).transport().stats();
  EXPECT_EQ(stats.framesRefused, 0u);
  EXPECT_EQ(stats.framesRejectedByPeer, 0u);
}

TEST(HttpsPeerTransportTest, StrongFailsAcrossAnInjectedPartitionQuorumSucceedsAndThePeerCatchesUp) {
  Federation fed;
  FaultSettings cut;
  cut.partitionedPeers = {1, 2};
  fed.node(3).transport().setFaults(cut);

  std::promise<state::Status> strong;
  state::WriteOptions strongOptions{state::Consistency::kStrong, 0, 300};
  ASSERT_TRUE(fed.node(1).state().put("k/strong", "s", strongOptions, [&](state::Status s) { strong.set_value(s); }).ok());
  const state::Status strongStatus = strong.get_future().get();
  ASSERT_FALSE(strongStatus.ok());
  EXPECT_EQ(strongStatus.error().code, state::ErrorCode::kQuorumNotReached);
  EXPECT_EQ(strongStatus.error().answered, 2u);
  EXPECT_EQ(strongStatus.error().needed, 3u);
  EXPECT_NE(strongStatus.error().message.find("applied locally and will converge"), std::string::npos);

  std::promise<state::Status> quorum;
  state::WriteOptions quorumOptions{state::Consistency::kQuorum, 0, 5'000};
  ASSERT_TRUE(fed.node(1).state().put("k/quorum", "q", quorumOptions, [&](state::Status s) { quorum.set_value(s); }).ok());
  const state::Status quorumStatus = quorum.get_future().get();
  EXPECT_TRUE(quorumStatus.ok()) << quorumStatus.error().message;
  EXPECT_FALSE(fed.node(3).state().getLocal("k/quorum").has_value());
  EXPECT_GT(fed.node(3).transport().stats().framesDroppedByFaults, 0u);

  fed.node(3).transport().setFaults(FaultSettings{});
  ASSERT_TRUE(eventually([&] { return fed.node(3).state().getLocal("k/quorum").has_value() && fed.converged(); }));
  EXPECT_EQ(fed.node(3).state().getLocal("k/strong"), std::optional<std::string>("s"));
}

TEST(HttpsPeerTransportTest, LossOfEveryFrameIsCountedAndRepairedAfterwards) {
  Federation fed;
  FaultSettings lossy;
  lossy.lossProbability = 1.0;
  fed.node(2).transport().setFaults(lossy);
  ASSERT_TRUE(fed.node(2).state().put("k/lost", "v", {}).ok());
  ASSERT_TRUE(eventually([&] { return fed.node(2).transport().stats().framesDroppedByFaults >= 2; }));
  EXPECT_FALSE(fed.node(1).state().getLocal("k/lost").has_value());
  fed.node(2).transport().setFaults(FaultSettings{});
  ASSERT_TRUE(eventually([&] { return fed.converged() && fed.node(1).state().getLocal("k/lost").has_value(); }));
}

TEST(HttpsPeerTransportTest, KnownPeerWithValidCertificateIsServed) {
  Federation fed;
  const Reply reply = request(Pki::get().material("eu-west-1"), fed.node(1).peerPort(), http::verb::get, kHealthPath, "");
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 200u);
  EXPECT_NE(reply.body.find("sees region eu-west-1"), std::string::npos);
  const Reply frame = request(Pki::get().material("eu-west-1"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(2, "k/direct")));
  ASSERT_TRUE(frame.connected) << frame.error;
  EXPECT_EQ(frame.status, 204u) << frame.body;
  EXPECT_EQ(fed.node(1).state().getLocal("k/direct"), std::optional<std::string>("value"));
}

TEST(HttpsPeerTransportTest, ClientWithoutCertificateIsRefusedAtTheHandshake) {
  Federation fed;
  TlsMaterial noCertificate{Pki::get().ca.certificatePem, "", ""};
  const Reply reply = request(noCertificate, fed.node(1).peerPort(), http::verb::post, kFramesPath, bytesOf(putFrame(2, "k/x")));
  EXPECT_FALSE(reply.connected) << reply.status << " " << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
  EXPECT_TRUE(eventually([&] { return fed.node(1).transport().stats().handshakeFailures >= 1; }));
}

TEST(HttpsPeerTransportTest, CertificateFromAnotherCaIsRefusedAtTheHandshake) {
  Federation fed;
  const Reply reply = request(Pki::get().material("rogue"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(2, "k/x")));
  EXPECT_FALSE(reply.connected) << reply.status << " " << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
  EXPECT_TRUE(eventually([&] { return fed.node(1).transport().stats().handshakeFailures >= 1; }));
}

TEST(HttpsPeerTransportTest, CertificateOfAnUnknownRegionIsForbidden) {
  Federation fed;
  const Reply reply = request(Pki::get().material("stranger"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(2, "k/x")));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 403u);
  EXPECT_NE(reply.body.find("[stranger]"), std::string::npos) << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
}

TEST(HttpsPeerTransportTest, FrameClaimingAnotherSenderIsForbiddenAndChangesNothing) {
  Federation fed;
  // eu-west-1 (replica 2) posts a frame that says it comes from replica 3.
  const Reply reply = request(Pki::get().material("eu-west-1"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(3, "k/x")));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 403u);
  EXPECT_NE(reply.body.find("claims sender 3"), std::string::npos) << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
}

TEST(HttpsPeerTransportTest, MalformedUnknownVersionAndOversizedFramesAreRejectedAndChangeNothing) {
  Federation fed(4096);
  const TlsMaterial peer = Pki::get().material("eu-west-1");
  const uint16_t port = fed.node(1).peerPort();
  const std::string before = fed.node(1).contentDigest();

  Reply reply = request(peer, port, http::verb::post, kFramesPath, "not a frame");
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 400u);
  EXPECT_NE(reply.body.find("malformed peer message"), std::string::npos) << reply.body;

  auto frame = putFrame(2, "k/x");
  frame[2] = 99;
  reply = request(peer, port, http::verb::post, kFramesPath, bytesOf(frame));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 400u);
  EXPECT_NE(reply.body.find("wire version 99"), std::string::npos) << reply.body;

  frame = putFrame(2, "k/x");
  frame.pop_back();  // truncated
  reply = request(peer, port, http::verb::post, kFramesPath, bytesOf(frame));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 400u);

  reply = request(peer, port, http::verb::post, kFramesPath, std::string(5000, 'x'));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 413u);
  EXPECT_NE(reply.body.find("exceeds the limit of 4096"), std::string::npos) << reply.body;

  reply = request(peer, port, http::verb::get, kFramesPath, "");
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 405u);

  EXPECT_EQ(fed.node(1).contentDigest(), before);
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
  EXPECT_GE(fed.node(1).state().metrics().framesRejected, 3u);
}

TEST(HttpsPeerTransportTest, ServerThatDoesNotNameTheExpectedRegionGetsNothing) {
  Federation fed;
  // Replica 1 is told that eu-west-1 lives at ap-south-1's port: the TLS chain is valid but the
  // certificate names the wrong region, so no frame is posted there.
  fed.node(1).transport().setPeerAddress(2, "127.0.0.1", fed.node(3).peerPort());
  FaultSettings cut;
  cut.partitionedPeers = {3};
  fed.node(1).transport().setFaults(cut);
  const uint64_t received = fed.node(3).transport().stats().framesReceived;
  ASSERT_TRUE(fed.node(1).state().put("k/misdirected", "v", {}).ok());
  ASSERT_TRUE(eventually([&] { return fed.node(1).transport().stats().sendFailures >= 1; }));
  EXPECT_EQ(fed.node(3).transport().stats().framesReceived, received);
  EXPECT_FALSE(fed.node(3).state().getLocal("k/misdirected").has_value());
}

TEST(HttpsPeerTransportTest, StartFailsWithAClearErrorOnBadKeyMaterial) {
  TransportConfig config;
  config.self = 1;
  config.region = "us-east-1";
  config.tls = Pki::get().material("us-east-1");
  config.tls.privateKeyPem = Pki::get().leaves.at("eu-west-1").privateKeyPem;  // not this certificate's key
  HttpsPeerTransport transport(config);
  auto started = transport.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("private key"), std::string::npos) << started.error().message;
}

// A control-API request as the server hands it to the handler.
net::HttpResponse control(ReplicaNode& node, std::string_view method, std::string_view target, std::string_view body = {}) {
  net::HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  return node.handleControl(request);
}

TEST(ReplicaNodeControlTest, PutGetDigestAndBadRequests) {
  Federation fed;
  auto call = [&](http::verb method, const std::string& target, std::string body = "") {
    return control(fed.node(1), method == http::verb::post ? "POST" : "GET", target, body);
  };
  EXPECT_EQ(call(http::verb::post, "/put?key=a%2Fb&consistency=quorum", "v1").status, 200);
  auto got = call(http::verb::get, "/get?key=a/b&consistency=strong");
  EXPECT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("\"value\":\"v1\""), std::string::npos) << got.body;
  EXPECT_EQ(call(http::verb::post, "/put?consistency=quorum", "v").status, 400);
  EXPECT_EQ(call(http::verb::post, "/put?key=k&consistency=sometimes", "v").status, 400);
  EXPECT_EQ(call(http::verb::post, "/faults?loss=2").status, 400);
  EXPECT_EQ(call(http::verb::get, "/nothing").status, 404);
  EXPECT_NE(call(http::verb::get, "/digest").body.find("\"keys\":1"), std::string::npos);
}

TEST(ReplicaNodeControlTest, MalformedQueryTextIsRefusedNotThrown) {
  Federation fed;
  auto call = [&](const std::string& target) { return control(fed.node(1), "POST", target); };
  // A bad percent escape is kept as text: the key "a%zz" is stored and read back as such.
  EXPECT_EQ(call("/put?key=a%zz&consistency=eventual").status, 200);
  EXPECT_EQ(control(fed.node(1), "GET", "/get?key=a%25zz&consistency=eventual").status, 200);
  // Numbers are whole or refused by name; nothing is half-applied.
  EXPECT_EQ(call("/faults?latencyMillis=5ms").status, 400);
  EXPECT_EQ(call("/faults?partition=2,x").status, 400);
  EXPECT_EQ(call("/faults?partition=2x").status, 400);
  EXPECT_TRUE(fed.node(1).transport().faults().partitionedPeers.empty());
  EXPECT_EQ(call("/put?key=k&consistency=eventual&ttlMillis=ten").status, 400);
}


// Parses `name{labels} value` lines of a Prometheus exposition into a map keyed by name{labels}.
std::map<std::string, double> parseExposition(const std::string& text) {
  std::map<std::string, double> samples;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string value = line.substr(space + 1);
    samples[line.substr(0, space)] = value == "+Inf" ? INFINITY : std::stod(value);
  }
  return samples;
}

TEST(ReplicaNodeControlTest, MetricsAreAPrometheusExpositionWithSaneValuesAfterTraffic) {
  Federation fed;
  for (int i = 0; i < 10; ++i) {
    std::promise<state::Status> done;
    state::WriteOptions quorum{state::Consistency::kQuorum, 0, 5'000};
    ASSERT_TRUE(fed.node(1).state().put("k/" + std::to_string(i), "v", quorum, [&](state::Status s) { done.set_value(s); }).ok());
    ASSERT_TRUE(done.get_future().get().ok());
  }
  const std::string p = "dwcp_federation_state_";
  std::map<std::string, double> m;
  std::string text;
  // Acknowledged by everyone: the lag row of region 1 drops to zero.
  ASSERT_TRUE(eventually([&] {
    const net::HttpResponse response = control(fed.node(1), "GET", "/metrics");
    if (response.status != 200 || response.contentType.find("text/plain") != 0) return false;
    text = response.body;
    m = parseExposition(text);
    return fed.converged() && m[p + "unacknowledged_writes{peer=\"eu-west-1\"}"] == 0 &&
           m[p + "unacknowledged_writes{peer=\"ap-south-1\"}"] == 0 && m.count(p + "sync_latency_seconds_count") &&
           m[p + "sync_latency_seconds_count"] >= 20;  // 10 batches at least, 2 peers each
  })) << text;
  EXPECT_NE(text.find("# TYPE " + p + "sync_latency_seconds histogram"), std::string::npos);
  const double count = m[p + "sync_latency_seconds_count"];
  EXPECT_EQ(m.at(p + "sync_latency_seconds_bucket{le=\"+Inf\"}"), count);
  ASSERT_TRUE(m.count(p + "sync_latency_seconds_bucket{le=\"0.25\"}")) << text;
  EXPECT_LE(m[p + "sync_latency_seconds_bucket{le=\"0.25\"}"], count);
  EXPECT_GT(m[p + "sync_latency_seconds_sum"], 0);
  EXPECT_LT(m[p + "sync_latency_seconds_sum"] / count, 10.0);  // a mean below the last bucket: sane, not a timing claim
  for (const char* peer : {"eu-west-1", "ap-south-1"}) {
    const std::string label = std::string("{peer=\"") + peer + "\"}";
    ASSERT_TRUE(m.count(p + "replication_lag_seconds" + label)) << text;
    EXPECT_EQ(m[p + "replication_lag_seconds" + label], 0) << peer;
  }
  EXPECT_FALSE(m.count(p + "replication_lag_seconds{peer=\"us-east-1\"}")) << "no lag series for itself";
  EXPECT_GT(m.at(p + "bytes_sent_total"), 0);
  EXPECT_GT(m.at(p + "bytes_received_total"), 0);
  EXPECT_EQ(m.at(p + "frames_rejected_total"), 0);
  EXPECT_EQ(m.at(p + "quorum_failures_total"), 0);
  EXPECT_TRUE(m.count(p + "anti_entropy_repairs_total"));

  // A write region 3 cannot get shows up as lag in region 1's row, then a quorum failure.
  FaultSettings cut;
  cut.partitionedPeers = {3};
  fed.node(1).transport().setFaults(cut);
  std::promise<state::Status> strong;
  ASSERT_TRUE(fed.node(1).state().put("k/strong", "s", {state::Consistency::kStrong, 0, 200},
                                      [&](state::Status s) { strong.set_value(s); }).ok());
  EXPECT_FALSE(strong.get_future().get().ok());
  m = parseExposition(fed.node(1).prometheusMetrics());
  EXPECT_GE(m[p + "unacknowledged_writes{peer=\"ap-south-1\"}"], 1);
  EXPECT_GT(m[p + "replication_lag_seconds{peer=\"ap-south-1\"}"], 0);
  EXPECT_EQ(m[p + "quorum_failures_total"], 1);

  // The JSON counters moved to /metrics.json.
  EXPECT_NE(control(fed.node(1), "GET", "/metrics.json").body.find("\"bytesReceived\""), std::string::npos);
}

TEST(ReplicaNodeControlTest, FaultsSetDuplicationReorderingAndClockSkew) {
  Federation fed;
  auto call = [&](const std::string& target) { return control(fed.node(1), "POST", target); };
  EXPECT_EQ(call("/faults?duplicate=0.25&reorder=0.5&clockSkewMillis=-400").status, 200);
  EXPECT_EQ(fed.node(1).transport().faults().duplicateProbability, 0.25);
  EXPECT_EQ(fed.node(1).transport().faults().reorderProbability, 0.5);
  EXPECT_EQ(fed.node(1).clockSkewMillis(), -400);
  EXPECT_EQ(call("/faults?duplicate=1.5").status, 400);
  EXPECT_EQ(call("/faults?reorder=often").status, 400);
  EXPECT_EQ(call("/faults?clockSkewMillis=4s").status, 400);
  EXPECT_EQ(fed.node(1).clockSkewMillis(), -400) << "a refused call changes nothing";
  EXPECT_EQ(call("/faults").status, 200);
  EXPECT_EQ(fed.node(1).clockSkewMillis(), 0);
  EXPECT_EQ(fed.node(1).transport().faults().duplicateProbability, 0.0);
}

// Two bare transports: region 1 sends numbered frames to region 2, which records them.
struct TransportPair {
  TransportPair() {
    for (state::ReplicaId id : {1, 2}) {
      TransportConfig config;
      config.self = id;
      config.region = kRegions[id - 1];
      config.tls = Pki::get().material(kRegions[id - 1]);
      const state::ReplicaId other = id == 1 ? 2 : 1;
      config.peers.push_back(PeerEndpoint{other, kRegions[other - 1], "127.0.0.1", 1});
      transports.push_back(std::make_unique<HttpsPeerTransport>(config));
    }
    transports[1]->setReceiver([this](state::ReplicaId, std::span<const uint8_t> frame) {
      std::lock_guard lock(mu);
      received.emplace_back(frame.begin(), frame.end());
      return state::okStatus();
    });
    for (auto& transport : transports) EXPECT_TRUE(transport->start().ok());
    transports[0]->setPeerAddress(2, "127.0.0.1", transports[1]->listenPort());
  }
  std::vector<std::string> got() {
    std::lock_guard lock(mu);
    return received;
  }
  std::vector<std::unique_ptr<HttpsPeerTransport>> transports;
  std::mutex mu;
  std::vector<std::string> received;
};

TEST(HttpsPeerTransportTest, InjectedReorderingPostsAHeldFrameAfterItsSuccessor) {
  TransportPair pair;
  FaultSettings faults;
  faults.reorderProbability = 1.0;
  faults.reorderMaxHoldMillis = 60'000;  // only a successor releases a held frame here
  pair.transports[0]->setFaults(faults);
  for (const char* frame : {"1", "2", "3", "4"}) pair.transports[0]->send(2, std::vector<uint8_t>(frame, frame + 1));
  ASSERT_TRUE(eventually([&] { return pair.got().size() == 4; }));
  EXPECT_EQ(pair.got(), (std::vector<std::string>{"2", "1", "4", "3"}));
  EXPECT_EQ(pair.transports[0]->stats().framesReordered, 4u);

  // A held frame with no successor goes alone after the hold time.
  faults.reorderMaxHoldMillis = 20;
  pair.transports[0]->setFaults(faults);
  pair.transports[0]->send(2, std::vector<uint8_t>{'5'});
  ASSERT_TRUE(eventually([&] { return pair.got().size() == 5; }));
  EXPECT_EQ(pair.got().back(), "5");
}

TEST(HttpsPeerTransportTest, InjectedDuplicationDeliversEveryFrameTwice) {
  TransportPair pair;
  FaultSettings faults;
  faults.duplicateProbability = 1.0;
  pair.transports[0]->setFaults(faults);
  for (const char* frame : {"a", "b"}) pair.transports[0]->send(2, std::vector<uint8_t>(frame, frame + 1));
  ASSERT_TRUE(eventually([&] { return pair.got().size() == 4; }));
  EXPECT_EQ(pair.got(), (std::vector<std::string>{"a", "a", "b", "b"}));
  EXPECT_EQ(pair.transports[0]->stats().framesDuplicated, 2u);
  // Counted when the sender reads the 2xx, which may come after the receiver handed the frame on.
  EXPECT_TRUE(eventually([&] { return pair.transports[0]->stats().framesDelivered == 4u; }))
      << pair.transports[0]->stats().framesDelivered;
}

TEST(HttpsPeerTransportTest, ReplicasConvergeDespiteDuplicationReorderingAndClockSkew) {
  Federation fed;
  const int64_t skews[] = {400, -400, 0};
  for (state::ReplicaId id : {1, 2, 3}) {
    FaultSettings faults;
    faults.duplicateProbability = 0.3;
    faults.reorderProbability = 0.3;
    faults.reorderMaxHoldMillis = 30;
    fed.node(id).transport().setFaults(faults);
    fed.node(id).setClockSkewMillis(skews[id - 1]);
  }
  std::map<std::string, std::string> acknowledged;
  for (int i = 0; i < 60; ++i) {
    const state::ReplicaId writer = static_cast<state::ReplicaId>(i % 3 + 1);
    const std::string key = "k/" + std::to_string(i), value = "v" + std::to_string(i) + "@" + std::to_string(writer);
    ASSERT_TRUE(fed.node(writer).state().put(key, value, {}).ok());
    acknowledged[key] = value;
    // Every region also overwrites one shared key: concurrent LWW writes under skewed clocks.
    ASSERT_TRUE(fed.node(writer).state().put("shared", value, {}).ok());
    if (i % 10 == 9) {  // removed by its own writer, which has seen it (an observed-remove)
      const state::ReplicaId previous = static_cast<state::ReplicaId>((i - 1) % 3 + 1);
      ASSERT_TRUE(fed.node(previous).state().remove("k/" + std::to_string(i - 1), {}).ok());
    }
  }
  for (int i = 9; i < 60; i += 10) acknowledged.erase("k/" + std::to_string(i - 1));
  auto allHaveEverything = [&] {
    for (state::ReplicaId id : {1, 2, 3}) {
      for (const auto& [key, value] : acknowledged) {
        if (fed.node(id).state().getLocal(key) != std::optional<std::string>(value)) return false;
      }
      for (int i = 9; i < 60; i += 10) {
        if (fed.node(id).state().getLocal("k/" + std::to_string(i - 1)).has_value()) return false;
      }
    }
    return fed.converged();
  };
  ASSERT_TRUE(eventually(allHaveEverything));
  const auto shared = fed.node(1).state().getLocal("shared");
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(fed.node(2).state().getLocal("shared"), shared);
  EXPECT_EQ(fed.node(3).state().getLocal("shared"), shared);
  uint64_t duplicated = 0, reordered = 0;
  for (state::ReplicaId id : {1, 2, 3}) {
    duplicated += fed.node(id).transport().stats().framesDuplicated;
    reordered += fed.node(id).transport().stats().framesReordered;
    EXPECT_EQ(fed.node(id).state().metrics().framesRejected, 0u);
    EXPECT_EQ(fed.node(id).state().metrics().hlcDriftRejections, 0u);
  }
  EXPECT_GT(duplicated, 0u) << "the faults were injected";
  EXPECT_GT(reordered, 0u) << "the faults were injected";
}

// A listening socket nobody accepts from. With room in its backlog the kernel completes TCP
// handshakes (connect succeeds, then nothing ever answers); fill() takes the last place of a
// backlog-0 queue, after which SYNs are dropped and connect itself waits.
struct BlackHole {
  explicit BlackHole(int backlog) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd, backlog), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~BlackHole() {
    for (int filler : fillers) ::close(filler);
    ::close(fd);
  }
  void fill() {
    const int filler = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    fillers.push_back(filler);
  }
  bool hasPendingConnection() const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  int fd = -1;
  uint16_t port = 0;
  std::vector<int> fillers;
};

// Region 1 with two peers behind black holes: eu-west-1 accepts and never answers, ap-south-1
// never completes a TCP handshake.
struct BlackHoledRegion {
  explicit BlackHoledRegion(int64_t timeoutMillis, size_t maxQueuedBytes = 64u << 20)
      : silent(new BlackHole(16)), full(new BlackHole(0)) {
    full->fill();
    TransportConfig config;
    config.self = 1;
    config.region = kRegions[0];
    config.tls = Pki::get().material(kRegions[0]);
    config.peers = {PeerEndpoint{2, kRegions[1], "127.0.0.1", silent->port},
                    PeerEndpoint{3, kRegions[2], "127.0.0.1", full->port}};
    config.connectTimeoutMillis = timeoutMillis;
    config.ioTimeoutMillis = timeoutMillis;
    config.maxQueuedBytesPerPeer = maxQueuedBytes;
    transport = std::make_unique<HttpsPeerTransport>(config);
    EXPECT_TRUE(transport->start().ok());
  }
  // Runs stop() with a guard against hanging; on a hang everything is leaked, so the failing
  // test ends instead of blocking in a destructor.
  bool stopReturns() {
    auto stopped = std::make_shared<std::promise<void>>();
    auto returned = stopped->get_future();
    HttpsPeerTransport* raw = transport.get();
    std::thread stopper([raw, stopped] {
      raw->stop();
      stopped->set_value();
    });
    if (returned.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      stopper.detach();
      (void)transport.release();
      (void)silent.release();
      (void)full.release();
      return false;
    }
    stopper.join();
    return true;
  }
  ~BlackHoledRegion() {
    if (transport) (void)stopReturns();
  }
  std::unique_ptr<BlackHole> silent, full;
  std::unique_ptr<HttpsPeerTransport> transport;
};

TEST(HttpsPeerTransportTest, StopReturnsWhileLinksWaitOnBlackHoledPeers) {
  BlackHoledRegion region(600'000);  // only stop() itself can end these waits
  region.transport->send(2, std::vector<uint8_t>(100, 'x'));
  region.transport->send(3, std::vector<uint8_t>(100, 'x'));
  ASSERT_TRUE(eventually([&] { return region.silent->hasPendingConnection(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both links inside their waits
  EXPECT_TRUE(region.stopReturns()) << "stop() must interrupt a connect and a TLS handshake in progress";
}

TEST(HttpsPeerTransportTest, ConnectAndHandshakeDeadlinesFireOnBlackHoledPeers) {
  BlackHoledRegion region(200);
  region.transport->send(2, std::vector<uint8_t>(100, 'x'));
  region.transport->send(3, std::vector<uint8_t>(100, 'x'));
  EXPECT_TRUE(eventually([&] { return region.transport->stats().sendFailures >= 2; }))
      << "sendFailures " << region.transport->stats().sendFailures;
  EXPECT_EQ(region.transport->stats().framesDelivered, 0u);
  EXPECT_TRUE(region.stopReturns());
}

TEST(HttpsPeerTransportTest, QueuesAreBoundedInBytes) {
  BlackHoledRegion region(600'000, 10'000);
  for (int i = 0; i < 10; ++i) region.transport->send(2, std::vector<uint8_t>(4'000, 'x'));
  // One frame may be in flight; the queue holds two more (8,000 bytes), the rest overflow.
  const TransportStats stats = region.transport->stats();
  EXPECT_GE(stats.framesDroppedOverflow, 7u);
  EXPECT_LE(stats.framesDroppedOverflow, 8u);
  region.transport->send(2, std::vector<uint8_t>(20'000, 'x'));  // larger than the whole bound
  EXPECT_EQ(region.transport->stats().framesDroppedOverflow, stats.framesDroppedOverflow + 1);
  EXPECT_TRUE(region.stopReturns());
}

TEST(HttpsPeerTransportTest, FourThousandValuesOfFiveKibConvergeBetweenTwoRegions) {
  // One batch window for all writes: without splitting, the batch (and every digest answer)
  // is a 21 MB frame above the 16 MiB limit that the peer refuses with 413.
  Federation fed(state::kDefaultMaxFrameBytes, 2, [](ReplicaNodeConfig& config) { config.state.batchWindowMillis = 60'000; });
  for (int i = 0; i < 4096; ++i) {
    std::string value = std::to_string(i) + ":";
    value.resize(5 * 1024, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(fed.node(1).state().put("bulk/" + std::to_string(i), std::move(value), {}).ok());
  }
  size_t keys = 0;
  EXPECT_TRUE(eventually([&] {
    fed.node(2).contentDigest(&keys);
    return keys == 4096 && fed.converged();
  })) << "region 2 has " << keys << " keys; rejected by peer " << fed.node(1).transport().stats().framesRejectedByPeer
      << ", last refusal: " << fed.node(2).transport().stats().lastRefusal;
  EXPECT_EQ(fed.node(1).transport().stats().framesRejectedByPeer, 0u);
  EXPECT_EQ(fed.node(2).state().metrics().framesRejected, 0u);
}

// Membership while running: a peer added is admitted and sent to, a peer removed is refused and
// no longer sent to, without restarting either transport.
TEST(HttpsPeerTransportTest, PeersAddedAndRemovedWhileRunning) {
  auto transportFor = [](state::ReplicaId id, const std::string& region) {
    TransportConfig config;
    config.self = id;
    config.region = region;
    config.tls = Pki::get().material(region);
    return std::make_unique<HttpsPeerTransport>(config);
  };
  auto a = transportFor(1, "eu-west-1");
  auto b = transportFor(2, "us-east-1");
  std::mutex mu;
  std::vector<std::string> receivedByB;
  b->setReceiver([&](state::ReplicaId from, std::span<const uint8_t> frame) -> state::Status {
    std::lock_guard lock(mu);
    receivedByB.push_back(std::to_string(from) + ":" + std::string(frame.begin(), frame.end()));
    return state::okStatus();
  });
  a->setReceiver([](state::ReplicaId, std::span<const uint8_t>) -> state::Status { return state::okStatus(); });
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(b->start().ok());
  auto received = [&] {
    std::lock_guard lock(mu);
    return receivedByB;
  };

  a->send(2, {'x'});  // not a peer yet: dropped
  EXPECT_EQ(a->stats().framesDroppedByFaults, 1u);
  // B does not know A yet: A's certificate is refused.
  Reply unknown = request(Pki::get().material("eu-west-1"), b->listenPort(), http::verb::get, kHealthPath, "");
  ASSERT_TRUE(unknown.connected) << unknown.error;
  EXPECT_EQ(unknown.status, 403u);

  a->addPeer({2, "us-east-1", "127.0.0.1", b->listenPort()});
  b->addPeer({1, "eu-west-1", "127.0.0.1", a->listenPort()});
  a->addPeer({2, "us-east-1", "127.0.0.1", b->listenPort()});  // unchanged: a no-op
  EXPECT_EQ(a->peers().size(), 1u);
  a->send(2, {'h', 'i'});
  EXPECT_TRUE(eventually([&] { return received() == std::vector<std::string>{"1:hi"}; }));

  b->removePeer(1);
  EXPECT_TRUE(b->peers().empty());
  Reply removed = request(Pki::get().material("eu-west-1"), b->listenPort(), http::verb::get, kHealthPath, "");
  EXPECT_EQ(removed.status, 403u);
  a->send(2, {'n', 'o'});
  EXPECT_TRUE(eventually([&] { return a->stats().framesRejectedByPeer >= 1; }));
  EXPECT_EQ(received(), std::vector<std::string>{"1:hi"});

  a->removePeer(2);
  a->removePeer(2);  // already gone: a no-op
  const uint64_t dropped = a->stats().framesDroppedByFaults;
  a->send(2, {'z'});
  EXPECT_EQ(a->stats().framesDroppedByFaults, dropped + 1);
  a->stop();
  b->stop();
}

// A Region's endpoint usually names a host: it is resolved at each connect, within the connect
// deadline, and a name that does not resolve drops the frame and counts a failure.
TEST(HttpsPeerTransportTest, PeersAtHostNamesAreResolved) {
  TransportConfig configA;
  configA.self = 1;
  configA.region = "eu-west-1";
  configA.tls = Pki::get().material("eu-west-1");
  configA.connectTimeoutMillis = 500;
  TransportConfig configB;
  configB.self = 2;
  configB.region = "us-east-1";
  configB.tls = Pki::get().material("us-east-1");
  HttpsPeerTransport a(configA), b(configB);
  std::atomic<int> received{0};
  b.setReceiver([&](state::ReplicaId, std::span<const uint8_t>) -> state::Status {
    ++received;
    return state::okStatus();
  });
  ASSERT_TRUE(a.start().ok());
  ASSERT_TRUE(b.start().ok());
  b.addPeer({1, "eu-west-1", "127.0.0.1", a.listenPort()});
  a.addPeer({2, "us-east-1", "localhost", b.listenPort()});
  a.send(2, {'h', 'i'});
  EXPECT_TRUE(eventually([&] { return received.load() == 1; }));

  a.addPeer({3, "ap-south-1", "no-such-peer.invalid", 7443});
  a.send(3, {'x'});
  EXPECT_TRUE(eventually([&] { return a.stats().sendFailures >= 1; }));
  a.stop();
  b.stop();
}

// The certificate (PEM) a server on 127.0.0.1:port presents to a fresh connection.
std::string presentedCertificate(uint16_t port) {
  ssl::context context(ssl::context::tls_client);
  const TlsMaterial client = Pki::get().material("us-east-1");
  boost::system::error_code ec;
  context.add_certificate_authority(boost::asio::buffer(client.caPem), ec);
  context.use_certificate_chain(boost::asio::buffer(client.certificatePem), ec);
  context.use_private_key(boost::asio::buffer(client.privateKeyPem), ssl::context::pem, ec);
  context.set_verify_mode(ssl::verify_none);
  boost::asio::io_context io;
  ssl::stream<tcp::socket> stream(io, context);
  stream.lowest_layer().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
  if (!ec) stream.handshake(ssl::stream_base::client, ec);
  if (ec) return "";
  X509* cert = SSL_get1_peer_certificate(stream.native_handle());
  if (cert == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  X509_free(cert);
  boost::system::error_code ignored;
  stream.shutdown(ignored);
  return pem;
}

// With contexts from net::TlsFiles, a certificate rotated on disk is what the next connection
// gets, without restarting the transport.
TEST(HttpsPeerTransportTest, ARotatedCertificateIsPresentedToNewConnections) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("dwcp-peer-rotation-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Pki& pki = Pki::get();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / (name + ".next"), std::ios::binary) << text;
    fs::rename(dir / (name + ".next"), dir / name);
  };
  write("ca.crt", pki.ca.certificatePem);
  write("tls.crt", pki.leaves.at("eu-west-1").certificatePem);
  write("tls.key", pki.leaves.at("eu-west-1").privateKeyPem);
  auto files = net::TlsFiles::load({(dir / "ca.crt").string(), (dir / "tls.crt").string(), (dir / "tls.key").string()});
  ASSERT_TRUE(files.ok()) << files.error().message;

  TransportConfig config;
  config.self = 1;
  config.region = "eu-west-1";
  config.serverTls = files.value()->server();
  config.clientTls = files.value()->client();
  HttpsPeerTransport transport(config);
  ASSERT_TRUE(transport.start().ok());
  EXPECT_EQ(presentedCertificate(transport.listenPort()), pki.leaves.at("eu-west-1").certificatePem);

  const PemPair renewed = issueCertificate(pki.ca, "eu-west-1").value();
  write("tls.crt", renewed.certificatePem);
  write("tls.key", renewed.privateKeyPem);
  auto reloaded = files.value()->reloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;
  ASSERT_TRUE(reloaded.value());
  EXPECT_EQ(presentedCertificate(transport.listenPort()), renewed.certificatePem);
  transport.stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dwcp::federation

namespace dwcp::federation {
namespace {

// The default logger's lines while it lives. Declare it before the transports, so that none of
// their threads logs through it after it is gone.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()), sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096)) {
    auto logger = std::make_shared<spdlog::logger>("captured", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  // How many lines contain `text`.
  size_t count(const std::string& text) const {
    size_t lines = 0;
    for (const std::string& line : sink_->last_formatted()) lines += line.find(text) != std::string::npos ? 1 : 0;
    return lines;
  }
  std::string text() const {
    std::string all;
    for (const std::string& line : sink_->last_formatted()) all += line;
    return all;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

// A loopback port nobody listens on any more: connecting to it is refused.
uint16_t closedPort() {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

TEST(HttpsPeerTransportTest, LinkHealthReportsTheRoundTripOfDeliveredFrames) {
  TransportPair pair;
  HttpsPeerTransport& sender = *pair.transports[0];
  std::optional<PeerLinkHealth> before = sender.linkHealth(2);
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(before->rttMillis.has_value()) << "nothing exchanged yet";
  EXPECT_FALSE(before->lastDelivered.has_value());
  const auto sent = std::chrono::steady_clock::now();
  for (const char* frame : {"a", "b", "c"}) sender.send(2, std::vector<uint8_t>(frame, frame + 1));
  ASSERT_TRUE(eventually([&] { return sender.stats().framesDelivered == 3; }));
  const std::vector<PeerLinkHealth> all = sender.linkHealth();
  ASSERT_EQ(all.size(), 1u);
  const PeerLinkHealth& health = all[0];
  EXPECT_EQ(health.region, "eu-west-1");
  ASSERT_TRUE(health.rttMillis.has_value());
  EXPECT_GT(*health.rttMillis, 0.0);
  ASSERT_TRUE(health.lastDelivered.has_value());
  EXPECT_GE(*health.lastDelivered, sent);
  EXPECT_LE(*health.lastDelivered, std::chrono::steady_clock::now());
  EXPECT_EQ(health.consecutiveFailures, 0u);
  EXPECT_EQ(health.lastError, "");
  // The receiving side has sent nothing: its link to the sender has no round trip yet.
  ASSERT_TRUE(pair.transports[1]->linkHealth(1).has_value());
  EXPECT_FALSE(pair.transports[1]->linkHealth(1)->rttMillis.has_value());
}

TEST(HttpsPeerTransportTest, InjectedLatencyIsPartOfTheMeasuredRoundTrip) {
  TransportPair pair;
  FaultSettings faults;
  faults.addedLatencyMillis = 200;
  pair.transports[0]->setFaults(faults);
  pair.transports[0]->send(2, {'x'});
  ASSERT_TRUE(eventually([&] { return pair.transports[0]->stats().framesDelivered == 1; }));
  const std::optional<PeerLinkHealth> health = pair.transports[0]->linkHealth(2);
  ASSERT_TRUE(health.has_value() && health->rttMillis.has_value());
  EXPECT_GE(*health->rttMillis, 200.0) << "the frame waited 200 ms before it was posted";
}

TEST(HttpsPeerTransportTest, APeerAtAClosedPortShowsConnectFailuresUntilAFrameIsDelivered) {
  TransportPair pair;
  HttpsPeerTransport& sender = *pair.transports[0];
  sender.setPeerAddress(2, "127.0.0.1", closedPort());
  sender.send(2, {'a'});
  sender.send(2, {'b'});
  ASSERT_TRUE(eventually([&] { return sender.stats().sendFailures == 2; }));
  std::optional<PeerLinkHealth> health = sender.linkHealth(2);
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->consecutiveFailures, 2u);
  EXPECT_NE(health->lastError.find("connect: "), std::string::npos) << health->lastError;
  EXPECT_NE(health->lastError.find("refused"), std::string::npos) << health->lastError;
  EXPECT_FALSE(health->lastDelivered.has_value());
  EXPECT_FALSE(health->rttMillis.has_value()) << "no exchange took place";

  sender.setPeerAddress(2, "127.0.0.1", pair.transports[1]->listenPort());
  sender.send(2, {'c'});
  ASSERT_TRUE(eventually([&] { return sender.stats().framesDelivered == 1; }));
  health = sender.linkHealth(2);
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->consecutiveFailures, 0u);
  EXPECT_EQ(health->lastError, "");
  EXPECT_TRUE(health->lastDelivered.has_value());
  EXPECT_TRUE(health->rttMillis.has_value());
}

TEST(HttpsPeerTransportTest, APeerThatRefusesFramesIsAFailingLinkWithAMeasuredRoundTrip) {
  TransportPair pair;
  pair.transports[1]->setReceiver([](state::ReplicaId, std::span<const uint8_t>) -> state::Status {
    return state::Error{state::ErrorCode::kMalformedMessage, "malformed peer message: bad magic"};
  });
  pair.transports[0]->send(2, {'x'});
  ASSERT_TRUE(eventually([&] { return pair.transports[0]->stats().framesRejectedByPeer == 1; }));
  const std::optional<PeerLinkHealth> health = pair.transports[0]->linkHealth(2);
  ASSERT_TRUE(health.has_value());
  EXPECT_TRUE(health->rttMillis.has_value()) << "any answer is a round trip";
  EXPECT_FALSE(health->lastDelivered.has_value());
  EXPECT_EQ(health->consecutiveFailures, 1u);
  EXPECT_NE(health->lastError.find("400"), std::string::npos) << health->lastError;
  EXPECT_NE(health->lastError.find("bad magic"), std::string::npos) << health->lastError;
}

TEST(HttpsPeerTransportTest, ARemovedPeerLeavesLinkHealthAndAnAddedOneStartsAfresh) {
  TransportPair pair;
  HttpsPeerTransport& sender = *pair.transports[0];
  sender.send(2, {'x'});
  ASSERT_TRUE(eventually([&] { return sender.stats().framesDelivered == 1; }));
  ASSERT_TRUE(sender.linkHealth(2).has_value());
  sender.removePeer(2);
  EXPECT_TRUE(sender.linkHealth().empty());
  EXPECT_FALSE(sender.linkHealth(2).has_value());

  sender.addPeer({3, "ap-south-1", "127.0.0.1", closedPort()});
  sender.addPeer({2, "eu-west-1", "127.0.0.1", pair.transports[1]->listenPort()});
  const std::vector<PeerLinkHealth> all = sender.linkHealth();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].region, "eu-west-1");
  EXPECT_EQ(all[1].region, "ap-south-1");
  EXPECT_FALSE(all[0].rttMillis.has_value());
  EXPECT_FALSE(all[0].lastDelivered.has_value());
}

TEST(HttpsPeerTransportTest, RefusalsAreCountedByReasonAndLoggedOncePerSenderAndReason) {
  CapturedLog log;
  Federation fed(4096);
  const uint16_t port = fed.node(1).peerPort();
  const TlsMaterial stranger = Pki::get().material("stranger"), peer = Pki::get().material("eu-west-1");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(request(stranger, port, http::verb::post, kFramesPath, bytesOf(putFrame(2, "k/x"))).status, 403u);
  }
  for (int i = 0; i < 2; ++i) EXPECT_EQ(request(peer, port, http::verb::post, kFramesPath, "not a frame").status, 400u);
  auto frame = putFrame(2, "k/x");
  frame[2] = 99;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(request(peer, port, http::verb::post, kFramesPath, bytesOf(frame)).status, 400u);
  EXPECT_EQ(request(peer, port, http::verb::post, kFramesPath, bytesOf(putFrame(3, "k/x"))).status, 403u);
  EXPECT_EQ(request(peer, port, http::verb::post, "/v1/elsewhere", "").status, 404u);
  EXPECT_EQ(request(peer, port, http::verb::get, kFramesPath, "").status, 405u);
  // Answered 413 by the HTTP layer, which never hands it to the transport.
  EXPECT_EQ(request(peer, port, http::verb::post, kFramesPath, std::string(5000, 'x')).status, 413u);

  const TransportStats stats = fed.node(1).transport().stats();
  const std::map<std::string, uint64_t> expected = {
      {"unknown-peer", 3}, {"malformed", 2}, {"unsupported-version", 2}, {"too-large", 0},
      {"unknown-sender", 1}, {"not-ready", 0}, {"bad-request", 2}, {"other", 0}};
  EXPECT_EQ(stats.refusedByReason, expected);
  EXPECT_EQ(stats.framesRefused, 10u);
  EXPECT_EQ(log.count("federation: refusing region stranger: unknown-peer: the client certificate names [stranger]"), 1u)
      << log.text();
  for (const char* reason : {"malformed", "unsupported-version", "unknown-sender", "bad-request"}) {
    EXPECT_EQ(log.count(std::string("federation: refusing region eu-west-1: ") + reason + ": "), 1u) << reason;
  }
  EXPECT_EQ(log.count("federation: refusing region"), 5u) << log.text();
  EXPECT_EQ(log.count("not a frame"), 0u) << "frame contents are never logged";
}

TEST(HttpsPeerTransportTest, EachRejectionByTheReceiverIsCountedUnderItsReason) {
  struct Case {
    state::ErrorCode code;
    std::string reason;
    unsigned status;
  };
  const Case cases[] = {{state::ErrorCode::kMalformedMessage, "malformed", 400},
                        {state::ErrorCode::kUnsupportedVersion, "unsupported-version", 400},
                        {state::ErrorCode::kMessageTooLarge, "too-large", 413},
                        {state::ErrorCode::kUnknownPeer, "unknown-sender", 403},
                        {state::ErrorCode::kDurabilityFailed, "other", 400},
                        {state::ErrorCode::kInvalidArgument, "other", 400}};
  TransportPair pair;  // transports[1] is eu-west-1, which knows us-east-1
  HttpsPeerTransport& receiving = *pair.transports[1];
  for (const Case& c : cases) {
    receiving.setReceiver([&c](state::ReplicaId, std::span<const uint8_t>) -> state::Status {
      return state::Error{c.code, "refused"};
    });
    const uint64_t before = receiving.stats().refusedByReason.at(c.reason);
    const Reply reply = request(Pki::get().material("us-east-1"), receiving.listenPort(), http::verb::post, kFramesPath, "f");
    ASSERT_TRUE(reply.connected) << reply.error;
    EXPECT_EQ(reply.status, c.status) << c.reason;
    EXPECT_EQ(receiving.stats().refusedByReason.at(c.reason), before + 1) << c.reason;
  }
  EXPECT_EQ(receiving.stats().framesRefused, std::size(cases));
  EXPECT_EQ(receiving.stats().refusedByReason.at("other"), 2u);
}

TEST(HttpsPeerTransportTest, NoReceiverIsNotReadyAndAPartitionedPeerIsNoRefusal) {
  TransportPair pair;  // transports[0] (us-east-1) has no receiver
  HttpsPeerTransport& unready = *pair.transports[0];
  Reply reply = request(Pki::get().material("eu-west-1"), unready.listenPort(), http::verb::post, kFramesPath, "f");
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 503u);
  EXPECT_EQ(unready.stats().refusedByReason.at("not-ready"), 1u);

  HttpsPeerTransport& receiving = *pair.transports[1];
  FaultSettings cut;
  cut.partitionedPeers = {1};
  receiving.setFaults(cut);
  reply = request(Pki::get().material("us-east-1"), receiving.listenPort(), http::verb::post, kFramesPath, "f");
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 503u);
  const TransportStats stats = receiving.stats();
  EXPECT_EQ(stats.framesRefused, 0u);
  EXPECT_EQ(stats.framesDroppedByFaults, 1u);
  for (const auto& [reason, count] : stats.refusedByReason) EXPECT_EQ(count, 0u) << reason;
}

}  // namespace
}  // namespace dwcp::federation
