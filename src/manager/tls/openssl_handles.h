// OpenSSL's objects as owning handles, and its error queue as an Error: every TLS and certificate
// function here frees what it allocates on every path.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "base/error.h"

namespace vessel::manager::tls {

struct OpenSslFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
    void operator()(X509* certificate) const { X509_free(certificate); }
    void operator()(BIO* bio) const { BIO_free_all(bio); }
    void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
    void operator()(SSL* session) const { SSL_free(session); }
};
using KeyHandle = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using CertificateHandle = std::unique_ptr<X509, OpenSslFree>;
using BioHandle = std::unique_ptr<BIO, OpenSslFree>;
using ContextHandle = std::unique_ptr<SSL_CTX, OpenSslFree>;
using SessionHandle = std::unique_ptr<SSL, OpenSslFree>;

// `what` failed, with OpenSSL's queued reasons (the queue is emptied).
std::unexpected<Error> openssl_error(std::string_view what, int code = EPROTO);

}  // namespace vessel::manager::tls
