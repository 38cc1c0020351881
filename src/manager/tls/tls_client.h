// The client side of the remote API: a TLS 1.3 connection to vesseld's HTTPS listener that
// presents this client's certificate and accepts the server only by its pinned fingerprint. What
// it returns is the plain side of a relay, so that the API client above it is the one the unix
// socket uses, streams included.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "manager/tls/certificate.h"

namespace vessel::manager::tls {

struct HttpsUrl {
    std::string host;  // without brackets
    uint16_t port = 8443;
};
// "https://HOST[:PORT]" or "https://[IPV6][:PORT]", an optional trailing slash; EINVAL otherwise.
Result<HttpsUrl> parse_https_url(std::string_view url);

struct RemoteEndpoint {
    std::string url;
    // The server's certificate must have this SHA-256 fingerprint (lower-case hex).
    std::string pinned_fingerprint;
    CertificatePair client;
};

// For a process whose relay threads may still be in OpenSSL when it exits, as the CLI's are:
// OpenSSL must not free its state at exit under them (a thread that was drawing random bytes
// crashed on a freed lock). It only takes effect as OpenSSL's first initialisation, so such a
// process calls it before anything else uses OpenSSL; connect_remote calls it too.
void keep_openssl_state_at_exit();

// ECONNREFUSED and the like for an unreachable server; EPROTO for a TLS failure (a server that
// speaks no TLS 1.3, or refused the certificate); EPERM for a server whose certificate is not the
// pinned one, with both fingerprints in the message.
Result<UniqueFd> connect_remote(const RemoteEndpoint& endpoint);

}  // namespace vessel::manager::tls
