// kubeconfig parsing with yaml-cpp. Every error is prefixed with "kubeconfig PATH: " and names
// the key as `users[admin].client-key-data`; the inner `user:`/`cluster:`/`context:` level is
// left out of the name because it carries no information. -data fields win over file fields, as
// in client-go. File contents are read here, once; only the token file is left to the transport.
#include "kube/kubeconfig.h"

#include "base/strings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace dwcp::kube {
namespace {

namespace fs = std::filesystem;

Error configError(std::string message) { return Error{0, "InvalidConfig", std::move(message)}; }

constexpr const char* kAllowPlaintextCredentials = "dwcp.io/allow-plaintext-credentials";
constexpr const char* kInsecureWithCa =
    "specifying a root certificates file with the insecure flag is not allowed";

bool isPlainHttp(const std::string& server) { return server.rfind("http://", 0) == 0; }
bool hasBearerToken(const RestConfig& config) {
  return !config.token.empty() || !config.tokenFile.empty();
}

// A DNS name or IP literal, as a certificate could name it.
bool isValidServerName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_';
  });
}

// Strict standard base64 (RFC 4648 with padding); whitespace anywhere is ignored.
std::optional<std::string> decodeBase64(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string compact;
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') compact.push_back(c);
  }
  if (compact.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(compact.size() / 4 * 3);
  for (size_t i = 0; i < compact.size(); i += 4) {
    const bool last = i + 4 == compact.size();
    int padding = 0;
    unsigned bits = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = compact[i + j];
      if (c == '=') {
        // Padding only at the end of the last quantum, and at most two characters.
        if (!last || j < 2) return std::nullopt;
        ++padding;
        bits <<= 6;
        continue;
      }
      if (padding > 0) return std::nullopt;
      const int v = value(c);
      if (v < 0) return std::nullopt;
      bits = (bits << 6) | static_cast<unsigned>(v);
    }
    out.push_back(static_cast<char>((bits >> 16) & 0xff));
    if (padding < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return out;
}

std::optional<std::string> readFile(const fs::path& path, std::string& whyNot) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    whyNot = fs::exists(path, ec) ? "not a regular file" : "no such file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    whyNot = "cannot open";
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Parses one loaded kubeconfig; errors are prefixed with "kubeconfig PATH: ".
class KubeconfigParser {
 public:
  KubeconfigParser(std::string path, YAML::Node root)
      : path_(std::move(path)), root_(root),  // a YAML::Node is a handle: copying shares it
        baseDir_(fs::absolute(fs::path(path_)).parent_path()) {}

  Result<RestConfig> parse(const std::string& requestedContext) {
    RestConfig config;
    config.source = path_;

    std::string contextName = requestedContext;
    if (contextName.empty()) {
      if (!root_["current-context"] || scalar(root_["current-context"]).empty()) {
        return fail("current-context: not set and no context was requested");
      }
      contextName = scalar(root_["current-context"]);
    }
    config.contextName = contextName;

    auto context = findNamed("contexts", "context", contextName);
    if (!context.ok()) return context.error();
    const std::string contextKey = "contexts[" + contextName + "]";
    const YAML::Node& ctx = context.value();
    if (!ctx["cluster"] || scalar(ctx["cluster"]).empty()) return fail(contextKey + ".cluster: missing");
    config.clusterName = scalar(ctx["cluster"]);
    if (ctx["user"]) config.userName = scalar(ctx["user"]);
    if (ctx["namespace"] && !scalar(ctx["namespace"]).empty()) {
      config.defaultNamespace = scalar(ctx["namespace"]);
    }

    if (Status s = parseCluster(config); !s.ok()) return s.error();
    if (!config.userName.empty()) {
      if (Status s = parseUser(config); !s.ok()) return s.error();
    }
    if (isPlainHttp(config.server) && hasBearerToken(config) && !config.allowPlaintextCredentials) {
      return fail("clusters[" + config.clusterName + "].server: http:// would send the bearer token of users[" +
                  config.userName + "] in clear text; use https://, or allow it with the cluster extension " +
                  kAllowPlaintextCredentials + ": true");
    }
    return config;
  }

 private:
  Error fail(const std::string& what) const { return configError("kubeconfig " + path_ + ": " + what); }

  static std::string scalar(const YAML::Node& node) {
    if (!node || node.IsNull()) return "";
    if (!node.IsScalar()) throw YAML::Exception(node.Mark(), "expected a string");
    return node.as<std::string>();
  }

  // The `inner` mapping of the entry of list `listKey` whose name is `name`.
  Result<YAML::Node> findNamed(const std::string& listKey, const std::string& inner,
                               const std::string& name) const {
    const YAML::Node list = root_[listKey];
    const std::string key = listKey + "[" + name + "]";
    if (list && !list.IsNull() && !list.IsSequence()) return fail(listKey + ": must be a list");
    if (list && list.IsSequence()) {
      for (const YAML::Node& entry : list) {
        if (!entry.IsMap() || scalar(entry["name"]) != name) continue;
        const YAML::Node body = entry[inner];
        if (!body || !body.IsMap()) return fail(key + "." + inner + ": missing");
        return body;
      }
    }
    return fail(key + ": not found");
  }

  // A value given inline as base64 (`dataKey`) or as a file (`fileKey`); "" when neither.
  Result<std::string> dataOrFile(const YAML::Node& node, const std::string& owner,
                                 const std::string& dataKey, const std::string& fileKey,
                                 bool expectPem) const {
    std::string content;
    std::string where;
    if (node[dataKey] && !scalar(node[dataKey]).empty()) {
      where = owner + "." + dataKey;
      auto decoded = decodeBase64(scalar(node[dataKey]));
      if (!decoded) return fail(where + ": not valid base64");
      content = std::move(*decoded);
    } else if (node[fileKey] && !scalar(node[fileKey]).empty()) {
      where = owner + "." + fileKey;
      const fs::path file = resolve(scalar(node[fileKey]));
      std::string whyNot;
      auto read = readFile(file, whyNot);
      if (!read) return fail(where + ": cannot read " + file.string() + ": " + whyNot);
      content = std::move(*read);
    } else {
      return std::string();
    }
    if (expectPem && content.find("-----BEGIN ") == std::string::npos) {
      return fail(where + ": not PEM data (no -----BEGIN line)");
    }
    return content;
  }

  fs::path resolve(const std::string& file) const {
    fs::path p(file);
    if (p.is_relative()) p = baseDir_ / p;
    return p.lexically_normal();
  }

  Status parseCluster(RestConfig& config) const {
    auto found = findNamed("clusters", "cluster", config.clusterName);
    if (!found.ok()) return found.error();
    const YAML::Node& cluster = found.value();
    const std::string key = "clusters[" + config.clusterName + "]";
    config.server = scalar(cluster["server"]);
    if (config.server.empty()) return fail(key + ".server: missing");
    if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
      return fail(key + ".server: must start with https:// or http://, got \"" + config.server + "\"");
    }
    while (config.server.size() > 8 && config.server.back() == '/') config.server.pop_back();
    if (cluster["insecure-skip-tls-verify"]) {
      try {
        config.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"].as<bool>();
      } catch (const YAML::Exception&) {
        return fail(key + ".insecure-skip-tls-verify: must be true or false");
      }
    }
    auto ca = dataOrFile(cluster, key, "certificate-authority-data", "certificate-authority", true);
    if (!ca.ok()) return ca.error();
    config.caPem = std::move(ca.value());
    if (config.insecureSkipTLSVerify && !config.caPem.empty()) {
      return fail(key + ".insecure-skip-tls-verify: " + kInsecureWithCa);
    }
    config.tlsServerName = scalar(cluster["tls-server-name"]);
    if (cluster["tls-server-name"] && !isValidServerName(config.tlsServerName)) {
      return fail(key + ".tls-server-name: not a host name: \"" + config.tlsServerName + "\"");
    }
    return parseExtensions(cluster, key, config);
  }

  // Cluster extensions this client understands; others are ignored, as kubectl does.
  Status parseExtensions(const YAML::Node& cluster, const std::string& key, RestConfig& config) const {
    const YAML::Node extensions = cluster["extensions"];
    if (!extensions || extensions.IsNull()) return okStatus();
    if (!extensions.IsSequence()) return fail(key + ".extensions: must be a list");
    for (const YAML::Node& entry : extensions) {
      if (!entry.IsMap() || scalar(entry["name"]) != kAllowPlaintextCredentials) continue;
      const std::string where = key + ".extensions[" + kAllowPlaintextCredentials + "]";
      try {
        config.allowPlaintextCredentials = entry["extension"].as<bool>();
      } catch (const YAML::Exception&) {
        return fail(where + ".extension: must be true or false");
      }
    }
    return okStatus();
  }

  Status parseUser(RestConfig& config) const {
    auto found = findNamed("users", "user", config.userName);
    if (!found.ok()) return found.error();
    const YAML::Node& user = found.value();
    const std::string key = "users[" + config.userName + "]";

    auto cert = dataOrFile(user, key, "client-certificate-data", "client-certificate", true);
    if (!cert.ok()) return cert.error();
    auto keyPem = dataOrFile(user, key, "client-key-data", "client-key", true);
    if (!keyPem.ok()) return keyPem.error();
    if (!cert.value().empty() && keyPem.value().empty()) {
      return fail(key + ".client-key-data: missing (client-certificate is set)");
    }
    if (cert.value().empty() && !keyPem.value().empty()) {
      return fail(key + ".client-certificate-data: missing (client-key is set)");
    }
    config.clientCertPem = std::move(cert.value());
    config.clientKeyPem = std::move(keyPem.value());

    config.token = std::string(base::trim(scalar(user["token"])));
    if (user["tokenFile"] && !scalar(user["tokenFile"]).empty()) {
      const fs::path file = resolve(scalar(user["tokenFile"]));
      std::string whyNot;
      if (!readFile(file, whyNot)) {
        return fail(key + ".tokenFile: cannot read " + file.string() + ": " + whyNot);
      }
      config.tokenFile = file.string();
    }

    const bool hasCredential =
        !config.clientCertPem.empty() || !config.token.empty() || !config.tokenFile.empty();
    if (!hasCredential && (user["exec"] || user["auth-provider"])) {
      return fail(key + (user["exec"] ? ".exec" : ".auth-provider") +
                  ": credential plugins are not supported; use a token or client certificate");
    }
    return okStatus();
  }

  std::string path_;
  YAML::Node root_;
  fs::path baseDir_;
};

std::string firstOfList(const std::string& list) {
  const auto colon = list.find(':');
  return colon == std::string::npos ? list : list.substr(0, colon);
}

std::string envOrEmpty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

Status validateRestConfig(const RestConfig& config) {
  if (isPlainHttp(config.server) && hasBearerToken(config) && !config.allowPlaintextCredentials) {
    return configError("server " + config.server +
                       ": http:// would send the bearer token in clear text; use https:// or set "
                       "allowPlaintextCredentials (kubeconfig cluster extension " +
                       std::string(kAllowPlaintextCredentials) + ")");
  }
  if (config.insecureSkipTLSVerify && !config.caPem.empty()) {
    return configError(std::string("insecure-skip-tls-verify: ") + kInsecureWithCa);
  }
  if (!config.tlsServerName.empty() && !isValidServerName(config.tlsServerName)) {
    return configError("tls-server-name: not a host name: \"" + config.tlsServerName + "\"");
  }
  return okStatus();
}

std::string RestConfig::redacted() const {
  std::string out = "server=" + server;
  if (!contextName.empty()) out += " context=" + contextName;
  if (!clusterName.empty()) out += " cluster=" + clusterName;
  if (!userName.empty()) out += " user=" + userName;
  out += " namespace=" + defaultNamespace;
  out += " source=" + source;
  out += caPem.empty() ? " ca=system" : " ca=" + std::to_string(caPem.size()) + "B";
  if (!clientCertPem.empty()) out += " clientCert=set";
  if (!clientKeyPem.empty()) out += " clientKey=set";
  if (!token.empty()) out += " token=set";
  if (!tokenFile.empty()) out += " tokenFile=" + tokenFile;
  if (insecureSkipTLSVerify) out += " insecureSkipTLSVerify=true";
  if (!tlsServerName.empty()) out += " tlsServerName=" + tlsServerName;
  if (allowPlaintextCredentials) out += " allowPlaintextCredentials=true";
  return out;
}

Result<RestConfig> loadKubeconfig(const std::string& path, const std::string& context) {
  const std::string prefix = "kubeconfig " + path + ": ";
  std::string whyNot;
  auto text = readFile(path, whyNot);
  if (!text) return configError(prefix + "cannot read: " + whyNot);
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) return configError(prefix + "not a YAML mapping");
    return KubeconfigParser(path, root).parse(context);
  } catch (const YAML::Exception& e) {
    return configError(prefix + "invalid YAML: " + e.what());
  }
}

Result<RestConfig> inClusterConfigFrom(const std::string& host, const std::string& port,
                                       const std::string& serviceAccountDir) {
  if (host.empty() || port.empty()) {
    return configError("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  const fs::path dir(serviceAccountDir);
  RestConfig config;
  config.source = "in-cluster";
  // IPv6 literals need brackets in a URL.
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  config.server = "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + port;

  std::string whyNot;
  const fs::path tokenPath = dir / "token";
  auto token = readFile(tokenPath, whyNot);
  if (!token) return configError("in-cluster: cannot read " + tokenPath.string() + ": " + whyNot);
  if (base::trim(*token).empty()) return configError("in-cluster: " + tokenPath.string() + " is empty");
  config.tokenFile = tokenPath.string();

  const fs::path caPath = dir / "ca.crt";
  auto ca = readFile(caPath, whyNot);
  if (!ca) return configError("in-cluster: cannot read " + caPath.string() + ": " + whyNot);
  if (ca->find("-----BEGIN ") == std::string::npos) {
    return configError("in-cluster: " + caPath.string() + ": not PEM data");
  }
  config.caPem = std::move(*ca);

  if (auto ns = readFile(dir / "namespace", whyNot); ns && !base::trim(*ns).empty()) {
    config.defaultNamespace = std::string(base::trim(*ns));
  }
  return config;
}

Result<RestConfig> inClusterConfig(const std::string& serviceAccountDir) {
  return inClusterConfigFrom(envOrEmpty("KUBERNETES_SERVICE_HOST"),
                             envOrEmpty("KUBERNETES_SERVICE_PORT"), serviceAccountDir);
}

ConfigEnvironment ConfigEnvironment::fromProcess() {
  ConfigEnvironment env;
  env.kubeconfigEnv = envOrEmpty("KUBECONFIG");
  env.serviceHost = envOrEmpty("KUBERNETES_SERVICE_HOST");
  env.servicePort = envOrEmpty("KUBERNETES_SERVICE_PORT");
  env.homeDir = envOrEmpty("HOME");
  return env;
}

Result<RestConfig> loadDefault(const std::string& explicitPath, const std::string& context,
                               const ConfigEnvironment& environment) {
  if (!explicitPath.empty()) return loadKubeconfig(explicitPath, context);
  if (const std::string fromEnv = firstOfList(environment.kubeconfigEnv); !fromEnv.empty()) {
    return loadKubeconfig(fromEnv, context);
  }
  if (!environment.serviceHost.empty()) {
    return inClusterConfigFrom(environment.serviceHost, environment.servicePort,
                               environment.serviceAccountDir);
  }
  if (!environment.homeDir.empty()) {
    const fs::path home = fs::path(environment.homeDir) / ".kube" / "config";
    std::error_code ec;
    if (fs::exists(home, ec)) return loadKubeconfig(home.string(), context);
  }
  return configError(
      "no configuration: no --kubeconfig, no $KUBECONFIG, not in a cluster "
      "(KUBERNETES_SERVICE_HOST unset) and no ~/.kube/config");
}

Result<RestConfig> loadDefault(const std::string& explicitPath, const std::string& context) {
  return loadDefault(explicitPath, context, ConfigEnvironment::fromProcess());
}

}  // namespace dwcp::kube
