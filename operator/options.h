// Command-line flags of dwcp-operator. parseOptions() never exits or prints; it returns an
// error that names the flag ("--metrics-bind-address: \"x\" is not HOST:PORT") or the help text.
#pragma once

#include <string>
#include <vector>

#include "kube/result.h"
#include "net/http_server.h"

namespace dwcp::op {

struct Options {
  std::string region;                  // this cluster's Region name (required)
  std::string kubeconfig;              // empty: $KUBECONFIG, in-cluster, ~/.kube/config
  std::string context;
  std::string configFile;              // optional YAML configuration
  bool leaderElect = false;
  std::string leaderElectionNamespace;  // default from the config file (dwcp-system)
  std::string leaderElectionId;
  std::string metricsBindAddress = ":8080";      // "0" disables
  std::string healthProbeBindAddress = ":8081";  // "0" disables
  std::string routingBindAddress = ":8090";      // the routing API; "0" disables
  // The federation's peers (mutual TLS): on when the three files are given, off (this operator
  // alone, a planner) when none is.
  std::string peerBindAddress = ":7443";
  std::string peerTlsCert;
  std::string peerTlsKey;
  std::string peerCa;
  bool federated() const { return !peerTlsCert.empty(); }
  std::string logLevel = "info";
  bool showHelp = false;
};

kube::Result<Options> parseOptions(const std::vector<std::string>& args);
std::string usage();

// Splits "HOST:PORT" (HOST may be empty, meaning every address). Error names `flag`.
struct BindAddress {
  std::string host;
  int port = 0;
};
kube::Result<BindAddress> parseBindAddress(const std::string& flag, const std::string& value);

// `defaults` listening where a bind flag says: an empty host is every IPv4 address, "[::1]" is
// ::1, a host name is resolved when the server starts. Error names `flag`.
kube::Result<net::HttpServerOptions> bindOptions(const std::string& flag, const std::string& value,
                                                 net::HttpServerOptions defaults = {});

}  // namespace dwcp::op
