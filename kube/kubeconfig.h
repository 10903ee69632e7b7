// Where and how to reach the API server: a kubeconfig file (contexts, clusters, users) or the
// in-cluster service account. Loading validates once and returns an Error naming the bad key;
// a RestConfig holds PEM contents (not file paths), except tokenFile, which the transport re-reads.
// Plain value types and free functions; thread-safe as values are.
#pragma once

#include <string>

#include "kube/result.h"

namespace dwcp::kube {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct RestConfig {
  std::string server;         // "https://host:port", optionally with a path prefix
  std::string caPem;          // CA bundle to verify the server; empty: system roots
  std::string clientCertPem;  // client certificate chain (mutual TLS); empty: none
  std::string clientKeyPem;
  std::string tokenFile;      // bearer token file, re-read when it rotates; wins over token
  std::string token;          // static bearer token
  bool insecureSkipTLSVerify = false;  // an error together with caPem
  // Name the server certificate must carry, also sent as SNI; empty: the host of `server`.
  std::string tlsServerName;
  // Bearer tokens are sent over http:// only when this is set (kubeconfig: the cluster
  // extension `dwcp.io/allow-plaintext-credentials: true`). For local proxies and tests.
  bool allowPlaintextCredentials = false;
  std::string contextName;    // kubeconfig context used, "" for in-cluster
  std::string clusterName;
  std::string userName;
  std::string defaultNamespace = "default";
  std::string source;         // kubeconfig path, or "in-cluster"

  // One line for logs: server, context, namespace and which credentials are present. Never
  // contains token, key or certificate data.
  std::string redacted() const;
};

// The rules every config must pass before a transport uses it: no bearer token over http://
// unless allowPlaintextCredentials, no insecureSkipTLSVerify together with a CA.
Status validateRestConfig(const RestConfig& config);

// Loads `path` and resolves `context` (or current-context when empty). Relative file paths in
// the file are resolved against the kubeconfig's folder. Errors read like
// "kubeconfig /x: users[admin].client-key-data: not valid base64".
Result<RestConfig> loadKubeconfig(const std::string& path, const std::string& context = "");

// The pod's service account: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, CA and
// namespace from serviceAccountDir, the token file re-read by the transport.
Result<RestConfig> inClusterConfig(const std::string& serviceAccountDir = kServiceAccountDir);
// The same with explicit host and port (tests, or callers that read them elsewhere).
Result<RestConfig> inClusterConfigFrom(const std::string& host, const std::string& port,
                                       const std::string& serviceAccountDir);

// What loadDefault looks at; fromProcess() reads the real environment.
struct ConfigEnvironment {
  std::string kubeconfigEnv;  // $KUBECONFIG (a ':' list; the first entry is used)
  std::string serviceHost;    // $KUBERNETES_SERVICE_HOST
  std::string servicePort;    // $KUBERNETES_SERVICE_PORT
  std::string serviceAccountDir = kServiceAccountDir;
  std::string homeDir;        // $HOME
  static ConfigEnvironment fromProcess();
};

// The usual order: explicitPath, else $KUBECONFIG, else in-cluster (when the service env is
// set), else ~/.kube/config. `context` applies to kubeconfig files only.
Result<RestConfig> loadDefault(const std::string& explicitPath, const std::string& context,
                               const ConfigEnvironment& environment);
Result<RestConfig> loadDefault(const std::string& explicitPath = "", const std::string& context = "");

}  // namespace dwcp::kube
