// Mutual-TLS material and contexts for the links between regions: one CA that every region
// trusts, and per region a certificate naming the region in a DNS SAN. Contexts verify the
// other side's chain against that CA only, require a certificate on both sides carrying the
// extended key usage of its role (clientAuth / serverAuth), and accept TLS 1.2 and later. Functions are thread-safe; a context is shared read-only once built.
#pragma once

#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/error.h"

namespace dwcp::net {

struct TlsMaterial {
  std::string caPem;           // the federation CA: the only trust anchor
  std::string certificatePem;  // this region's certificate (chain)
  std::string privateKeyPem;
};

Result<TlsMaterial> loadTlsMaterial(const std::string& caFile, const std::string& certFile,
                                           const std::string& keyFile);

enum class TlsRole { kServer, kClient };
Result<std::shared_ptr<boost::asio::ssl::context>> makeTlsContext(const TlsMaterial& material, TlsRole role);

// The identities a verified peer certificate carries: its DNS SANs only (never its CN).
std::vector<std::string> certificateNames(SSL* ssl);

}  // namespace dwcp::net
