// A minimal certificate authority for tests and benchmarks: generates a CA and issues region
// certificates (P-256 keys, the region name as CN and as a DNS SAN), all as PEM strings, with
// the OpenSSL 3 APIs. Not for production key management. Pure functions; thread-safe.
#pragma once

#include <string>

#include "net/error.h"

namespace dwcp::net {

struct PemPair {
  std::string certificatePem;
  std::string privateKeyPem;
};

// A self-signed CA named `commonName`, valid for `validDays`.
Result<PemPair> makeCertificateAuthority(const std::string& commonName, int validDays = 30);
// A leaf certificate for `regionName` (CN and DNS SAN, client and server auth) signed by `ca`.
// `regionName` must be one DNS label (lowercase alphanumerics and '-', 1-63 characters, no '-'
// at either end), else kInvalidArgument naming the name and what is wrong with it.
Result<PemPair> issueCertificate(const PemPair& ca, const std::string& regionName, int validDays = 30);

}  // namespace dwcp::net
