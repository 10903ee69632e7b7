// The mutual-TLS transport in-process: three regions on ephemeral loopback ports with
// certificates generated here. Convergence, consistency levels across a partition injected in
// the real transport, and every refusal: no client certificate, another CA, an unknown region,
// a server naming the wrong region, malformed, unknown-version and oversized frames.
#include <gtest/gtest.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "engines/state/wire.h"
#include "statenet/https_peer_transport.h"
#include "statenet/pki.h"
#include "statenet/replica_node.h"

namespace dwcp::statenet {
namespace {
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

// Polls `condition` every millisecond for up to 20 s: a bound on correctness, not on speed.
template <class F>
bool eventually(F condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return condition();
}

class Federation {
 public:
  explicit Federation(size_t maxFrameBytes = state::kDefaultMaxFrameBytes) {
    for (size_t i = 0; i < kRegions.size(); ++i) {
      ReplicaNodeConfig config;
      config.transport.self = static_cast<state::ReplicaId>(i + 1);
      config.transport.region = kRegions[i];
      config.transport.tls = Pki::get().material(kRegions[i]);
      config.transport.maxFrameBytes = maxFrameBytes;
      for (size_t j = 0; j < kRegions.size(); ++j) {
        if (j != i) config.transport.peers.push_back(PeerEndpoint{static_cast<state::ReplicaId>(j + 1), kRegions[j], "127.0.0.1", 1});
      }
      config.state.defaultTimeoutMillis = 2'000;
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

TEST(HttpsPeerTransport, ThreeRegionsConvergeOverMutualTls) {
  Federation fed;
  ASSERT_TRUE(fed.node(1).state().put("placement/vm-1", "us-east-1", {}).ok());
  ASSERT_TRUE(fed.node(2).state().put("placement/vm-2", "eu-west-1", {}).ok());
  ASSERT_TRUE(eventually([&] {
    return fed.node(3).state().getLocal("placement/vm-1") == std::optional<std::string>("us-east-1") &&
           fed.node(3).state().getLocal("placement/vm-2") == std::optional<std::string>("eu-west-1") && fed.converged();
  }));
  const TransportStats stats = fed.node(1).transport().stats();
  EXPECT_GT(stats.framesDelivered, 0u);
  EXPECT_EQ(stats.framesRefused, 0u);
  EXPECT_EQ(stats.framesRejectedByPeer, 0u);
}

TEST(HttpsPeerTransport, StrongFailsAcrossAnInjectedPartitionQuorumSucceedsAndThePeerCatchesUp) {
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

TEST(HttpsPeerTransport, LossOfEveryFrameIsCountedAndRepairedAfterwards) {
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

TEST(HttpsPeerTransport, KnownPeerWithValidCertificateIsServed) {
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

TEST(HttpsPeerTransport, ClientWithoutCertificateIsRefusedAtTheHandshake) {
  Federation fed;
  TlsMaterial noCertificate{Pki::get().ca.certificatePem, "", ""};
  const Reply reply = request(noCertificate, fed.node(1).peerPort(), http::verb::post, kFramesPath, bytesOf(putFrame(2, "k/x")));
  EXPECT_FALSE(reply.connected) << reply.status << " " << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
  EXPECT_TRUE(eventually([&] { return fed.node(1).transport().stats().handshakeFailures >= 1; }));
}

TEST(HttpsPeerTransport, CertificateFromAnotherCaIsRefusedAtTheHandshake) {
  Federation fed;
  const Reply reply = request(Pki::get().material("rogue"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(2, "k/x")));
  EXPECT_FALSE(reply.connected) << reply.status << " " << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
  EXPECT_TRUE(eventually([&] { return fed.node(1).transport().stats().handshakeFailures >= 1; }));
}

TEST(HttpsPeerTransport, CertificateOfAnUnknownRegionIsForbidden) {
  Federation fed;
  const Reply reply = request(Pki::get().material("stranger"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(2, "k/x")));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 403u);
  EXPECT_NE(reply.body.find("[stranger]"), std::string::npos) << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
}

TEST(HttpsPeerTransport, FrameClaimingAnotherSenderIsForbiddenAndChangesNothing) {
  Federation fed;
  // eu-west-1 (replica 2) posts a frame that says it comes from replica 3.
  const Reply reply = request(Pki::get().material("eu-west-1"), fed.node(1).peerPort(), http::verb::post, kFramesPath,
                              bytesOf(putFrame(3, "k/x")));
  ASSERT_TRUE(reply.connected) << reply.error;
  EXPECT_EQ(reply.status, 403u);
  EXPECT_NE(reply.body.find("claims sender 3"), std::string::npos) << reply.body;
  EXPECT_FALSE(fed.node(1).state().getLocal("k/x").has_value());
}

TEST(HttpsPeerTransport, MalformedUnknownVersionAndOversizedFramesAreRejectedAndChangeNothing) {
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

TEST(HttpsPeerTransport, ServerThatDoesNotNameTheExpectedRegionGetsNothing) {
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

TEST(HttpsPeerTransport, StartFailsWithAClearErrorOnBadKeyMaterial) {
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

TEST(ReplicaNodeControl, PutGetDigestAndBadRequests) {
  Federation fed;
  auto call = [&](http::verb method, const std::string& target, std::string body = "") {
    HttpRequest req{method, target, 11};
    req.body() = std::move(body);
    return fed.node(1).handleControl(req);
  };
  EXPECT_EQ(call(http::verb::post, "/put?key=a%2Fb&consistency=quorum", "v1").result_int(), 200u);
  auto got = call(http::verb::get, "/get?key=a/b&consistency=strong");
  EXPECT_EQ(got.result_int(), 200u);
  EXPECT_NE(got.body().find("\"value\":\"v1\""), std::string::npos) << got.body();
  EXPECT_EQ(call(http::verb::post, "/put?consistency=quorum", "v").result_int(), 400u);
  EXPECT_EQ(call(http::verb::post, "/put?key=k&consistency=sometimes", "v").result_int(), 400u);
  EXPECT_EQ(call(http::verb::post, "/faults?loss=2").result_int(), 400u);
  EXPECT_EQ(call(http::verb::get, "/nothing").result_int(), 404u);
  EXPECT_NE(call(http::verb::get, "/digest").body().find("\"keys\":1"), std::string::npos);
}

}  // namespace
}  // namespace dwcp::statenet
