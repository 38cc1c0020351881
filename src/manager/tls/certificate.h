// The certificates of the remote API: vesseld's server certificate and each client's, both
// self-signed; trust is by SHA-256 fingerprint (pinned by the client, kept in the trust store by
// the server), as Incus does, so no certificate authority is involved.
#pragma once

#include <string>

#include "base/error.h"
#include "manager/tls/openssl_handles.h"

namespace vessel::manager::tls {

struct CertificatePair {
    std::string certificate_pem;
    std::string key_pem;
};

// A new P-256 key and a self-signed certificate for it, valid for ten years, naming
// `common_name` (and `dns_name` as its subjectAltName when given), for TLS servers and clients.
Result<CertificatePair> generate_certificate(const std::string& common_name,
                                             const std::string& dns_name = {});

// Reads `directory`/NAME.crt and NAME.key, making them (key mode 0600) when neither exists.
// One without the other is an error: a key is never replaced silently.
Result<CertificatePair> load_or_create_certificate(const std::string& directory,
                                                   const std::string& name,
                                                   const std::string& common_name);

Result<CertificateHandle> parse_certificate(std::string_view pem);
Result<KeyHandle> parse_private_key(std::string_view pem);

// Lower-case hex SHA-256 of the certificate's DER encoding (what `openssl x509 -fingerprint
// -sha256` prints, without colons).
std::string fingerprint(X509* certificate);
Result<std::string> fingerprint_of_pem(std::string_view pem);
std::string certificate_pem(X509* certificate);

}  // namespace vessel::manager::tls
