#include "operator/options.h"

#include "base/strings.h"

#include <cstdlib>
#include <functional>
#include <map>
#include <regex>

namespace dwcp::op {

using kube::Error;

std::string usage() {
  return R"(Usage: dwcp-operator --region NAME [flags]

The dwcp-federation operator: reconciles Regions, VMPlacements, Migrations and SLAPolicies of
this cluster's region of the federation.

Flags:
  --region NAME                     this cluster's Region (required)
  --kubeconfig PATH                 kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --context NAME                    kubeconfig context (default: current-context)
  --config PATH                     YAML configuration file
  --leader-elect                    elect one active replica through a Lease
  --leader-election-namespace NS    namespace of the Lease (default: runtime.lease_namespace)
  --leader-election-id NAME         name of the Lease (default: runtime.lease_name)
  --metrics-bind-address ADDR       serve /metrics on ADDR (default :8080; "0" disables)
  --health-probe-bind-address ADDR  serve /healthz and /readyz on ADDR (default :8081; "0" disables)
  --routing-bind-address ADDR       serve the routing API (POST /v1/route, GET /v1/regions) on ADDR,
                                    on every replica (default :8090; "0" disables)
  --peer-bind-address ADDR          serve the other regions' operators (mutual TLS) on ADDR, on the
                                    leader (default :7443)
  --peer-tls-cert PATH              this region's peer certificate (its DNS SAN is the region name);
                                    with --peer-tls-key and --peer-ca it turns federation on.
                                    The three files are read again when they change
  --peer-tls-key PATH               its private key
  --peer-ca PATH                    the federation's CA: peers must present a certificate it signed
  --log-level LEVEL                 trace, debug, info, warn, error (default info)
  -h, --help                        show this help
)";
}

kube::Result<BindAddress> parseBindAddress(const std::string& flag, const std::string& value) {
  static const std::regex re(R"(^([A-Za-z0-9.\-]*|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$)");
  std::smatch m;
  if (!std::regex_match(value, m, re)) {
    return Error{0, "Invalid", flag + ": \"" + value + "\" is not HOST:PORT (e.g. :8080 or 127.0.0.1:8080)"};
  }
  const int port = base::parseInt<int>(m[2].str()).value_or(65536);  // one to five digits
  if (port > 65535) return Error{0, "Invalid", flag + ": port " + m[2].str() + " is out of range 0-65535"};
  return BindAddress{m[1].str(), port};
}

kube::Result<net::HttpServerOptions> bindOptions(const std::string& flag, const std::string& value,
                                                 net::HttpServerOptions defaults) {
  auto bind = parseBindAddress(flag, value);
  if (!bind.ok()) return bind.error();
  const std::string& host = bind->host;
  if (host.empty()) {
    defaults.address = "0.0.0.0";
  } else if (host.front() == '[') {
    defaults.address = host.substr(1, host.size() - 2);
  } else {
    defaults.address = host;
  }
  defaults.port = static_cast<std::uint16_t>(bind->port);
  return defaults;
}

kube::Result<Options> parseOptions(const std::vector<std::string>& args) {
  Options o;
  std::map<std::string, std::string*> stringFlags = {
      {"--region", &o.region},
      {"--kubeconfig", &o.kubeconfig},
      {"--context", &o.context},
      {"--config", &o.configFile},
      {"--leader-election-namespace", &o.leaderElectionNamespace},
      {"--leader-election-id", &o.leaderElectionId},
      {"--metrics-bind-address", &o.metricsBindAddress},
      {"--health-probe-bind-address", &o.healthProbeBindAddress},
      {"--routing-bind-address", &o.routingBindAddress},
      {"--peer-bind-address", &o.peerBindAddress},
      {"--peer-tls-cert", &o.peerTlsCert},
      {"--peer-tls-key", &o.peerTlsKey},
      {"--peer-ca", &o.peerCa},
      {"--log-level", &o.logLevel},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      o.showHelp = true;
      return o;
    }
    std::string name = arg, value;
    bool hasValue = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    if (name == "--leader-elect") {
      if (!hasValue || value == "true") o.leaderElect = true;
      else if (value == "false") o.leaderElect = false;
      else return Error{0, "Invalid", "--leader-elect: \"" + value + "\" is not true or false"};
      continue;
    }
    auto it = stringFlags.find(name);
    if (it == stringFlags.end()) {
      return Error{0, "Invalid", "unknown flag \"" + arg + "\" (see --help)"};
    }
    if (!hasValue) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        return Error{0, "Invalid", name + ": needs a value"};
      }
      value = args[++i];
    }
    *it->second = value;
  }
  if (o.region.empty()) return Error{0, "Invalid", "--region: is required (this cluster's Region name, e.g. us-east-1)"};
  static const std::regex dnsLabel("^[a-z]([-a-z0-9]*[a-z0-9])?$");
  if (o.region.size() > 63 || !std::regex_match(o.region, dnsLabel)) {
    return Error{0, "Invalid", "--region: \"" + o.region + "\" is not a DNS label (e.g. us-east-1)"};
  }
  for (auto [flag, value] : {std::pair{"--metrics-bind-address", &o.metricsBindAddress},
                             std::pair{"--health-probe-bind-address", &o.healthProbeBindAddress},
                             std::pair{"--routing-bind-address", &o.routingBindAddress},
                             std::pair{"--peer-bind-address", &o.peerBindAddress}}) {
    if (*value == "0") continue;
    if (auto b = parseBindAddress(flag, *value); !b.ok()) return b.error();
  }
  const int peerFiles = !o.peerTlsCert.empty() + !o.peerTlsKey.empty() + !o.peerCa.empty();
  if (peerFiles != 0 && peerFiles != 3) {
    for (auto [flag, value] : {std::pair{"--peer-tls-cert", &o.peerTlsCert}, std::pair{"--peer-tls-key", &o.peerTlsKey},
                               std::pair{"--peer-ca", &o.peerCa}}) {
      if (value->empty()) {
        return Error{0, "Invalid",
                     std::string(flag) + ": is required with the other --peer-tls-* flags (federation needs all three files)"};
      }
    }
  }
  if (peerFiles == 3 && o.peerBindAddress == "0") {
    return Error{0, "Invalid", "--peer-bind-address: cannot be \"0\" when the --peer-tls-* flags turn federation on"};
  }
  static const std::vector<std::string> levels = {"trace", "debug", "info", "warn", "error"};
  if (std::find(levels.begin(), levels.end(), o.logLevel) == levels.end()) {
    return Error{0, "Invalid", "--log-level: \"" + o.logLevel + "\" is not one of trace, debug, info, warn, error"};
  }
  return o;
}

}  // namespace dwcp::op
