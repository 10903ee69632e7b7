// dwcp-state-replica: one region's state replica as a process, for integration tests and
// benchmarks of the mutual-TLS transport.
//   dwcp-state-replica --id 1 --region us-east-1 --listen 127.0.0.1:7443
//       --peers 2=eu-west-1@127.0.0.1:7444,3=ap-south-1@127.0.0.1:7445
//       --ca ca.crt --cert us-east-1.crt --key us-east-1.key --control 127.0.0.1:8443
//       [--latency-ms 0] [--clock-skew-ms 0] [--log-level info]
// --clock-skew-ms shifts this replica's clock (fault injection; may be negative, also settable
// with POST /faults?clockSkewMillis=N on the control API).
// The --ca, --cert and --key files are read again when they change (a rotated certificate is
// used from the next connection on, without a restart). Runs until SIGINT/SIGTERM.
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "base/strings.h"
#include "federation/replica_node.h"
#include "net/tls_files.h"

namespace {

volatile std::sig_atomic_t gStop = 0;
void onSignal(int) { gStop = 1; }

// HOST:PORT with a host (a replica dials and listens on a named address).
bool splitHostPort(const std::string& text, std::string& host, uint16_t& port) {
  const auto parsed = dwcp::base::splitHostPort(text);
  if (!parsed || parsed->host.empty()) return false;
  host = parsed->host;
  port = parsed->port;
  return true;
}

int usage(const std::string& why) {
  std::cerr << "dwcp-state-replica: " << why << "\n"
            << "usage: dwcp-state-replica --id N --region NAME --listen HOST:PORT --peers ID=NAME@HOST:PORT,...\n"
            << "       --ca FILE --cert FILE --key FILE [--control HOST:PORT] [--latency-ms N]\n"
            << "       [--clock-skew-ms N] [--log-level LEVEL]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dwcp::federation;
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc) return usage("bad argument " + arg);
    flags[arg.substr(2)] = argv[++i];
  }
  for (const char* required : {"id", "region", "listen", "ca", "cert", "key"}) {
    if (!flags.count(required)) return usage(std::string("--") + required + " is required");
  }
  spdlog::set_level(spdlog::level::from_str(flags.count("log-level") ? flags["log-level"] : "info"));

  ReplicaNodeConfig config;
  const auto id = dwcp::base::parseInt<dwcp::state::ReplicaId>(flags["id"]);
  if (!id) return usage("--id must be a number");
  config.transport.self = *id;
  config.transport.region = flags["region"];
  if (!splitHostPort(flags["listen"], config.transport.listenHost, config.transport.listenPort)) {
    return usage("--listen must be HOST:PORT");
  }
  const std::string peers = flags["peers"];
  size_t begin = 0;
  while (begin < peers.size()) {
    size_t comma = peers.find(',', begin);
    if (comma == std::string::npos) comma = peers.size();
    const std::string item = peers.substr(begin, comma - begin);
    begin = comma + 1;
    const size_t eq = item.find('='), at = item.find('@');
    PeerEndpoint peer;
    if (eq == std::string::npos || at == std::string::npos || at < eq) return usage("bad peer " + item);
    const auto peerId = dwcp::base::parseInt<dwcp::state::ReplicaId>(std::string_view(item).substr(0, eq));
    if (!peerId) return usage("bad peer id in " + item);
    peer.id = *peerId;
    peer.region = item.substr(eq + 1, at - eq - 1);
    if (peer.region.empty() || !splitHostPort(item.substr(at + 1), peer.host, peer.port)) return usage("bad peer " + item);
    if (peer.id == config.transport.self) return usage("peer " + item + " has this replica's id");
    config.transport.peers.push_back(peer);
  }
  if (flags.count("control")) {
    std::string host;
    uint16_t port = 0;
    if (!splitHostPort(flags["control"], host, port)) return usage("--control must be HOST:PORT");
    config.controlHost = host;
    config.controlPort = port;
  }

  if (flags.count("clock-skew-ms")) {
    const auto skew = dwcp::base::parseInt<int64_t>(flags["clock-skew-ms"]);
    if (!skew) return usage("--clock-skew-ms must be an integer");
    config.clockSkewMillis = *skew;
  }
  std::optional<int64_t> latencyMillis;
  if (flags.count("latency-ms")) {
    latencyMillis = dwcp::base::parseInt<int64_t>(flags["latency-ms"]);
    if (!latencyMillis || *latencyMillis < 0) return usage("--latency-ms must be a whole number of milliseconds");
  }

  // Files last: every flag is checked before anything is read. They are read again when they
  // change (checked every 10 s), so a rotated certificate needs no restart.
  auto tlsFiles = dwcp::net::TlsFiles::load({flags["ca"], flags["cert"], flags["key"]});
  if (!tlsFiles.ok()) return usage(tlsFiles.error().message);
  config.transport.serverTls = tlsFiles.value()->server();
  config.transport.clientTls = tlsFiles.value()->client();
  tlsFiles.value()->watch(std::chrono::seconds(10));

  ReplicaNode node(config);
  auto started = node.start();
  if (!started.ok()) {
    spdlog::error("dwcp-state-replica: {}", started.error().message);
    return 1;
  }
  if (latencyMillis) {
    FaultSettings faults;
    faults.addedLatencyMillis = *latencyMillis;
    node.transport().setFaults(faults);
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  spdlog::info("dwcp-state-replica: region {} ready (peer port {}, control port {}, clock skew {} ms)",
               config.transport.region, node.peerPort(), node.controlPort(), node.clockSkewMillis());
  while (!gStop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  node.stop();
  return 0;
}
