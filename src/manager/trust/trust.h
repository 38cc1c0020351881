// Who may use the remote API: the client certificates vesseld trusts (kept in the store, read into
// memory so that every HTTPS request is checked without a query), and the one-time tokens that
// let a new client add its own certificate (`vessel config trust add`, then `vessel remote add`
// on the client).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "manager/store/store.h"

namespace vessel::manager {

struct IssuedToken {
    std::string secret;  // 64 hex characters; only its digest is stored
    std::string name;
    int64_t expires_at = 0;
};

class Trust {
  public:
    static Result<std::unique_ptr<Trust>> open(Store& store);

    bool trusts(const std::string& fingerprint) const;

    // EINVAL for a PEM that is not one certificate, EEXIST when it is trusted already.
    Result<CertificateRecord> add(const std::string& certificate_pem, std::string name);
    Result<std::vector<CertificateRecord>> list();
    // By fingerprint or a prefix of at least 12 hex characters that names one; the certificate's
    // holder loses access at once, on connections it already has too.
    Result<CertificateRecord> remove(const std::string& fingerprint);

    // A token for a client to be called `name`, usable once within `lifetime`.
    Result<IssuedToken> issue(std::string name, std::chrono::seconds lifetime);
    Result<std::vector<TrustTokenRecord>> tokens();
    // The token's certificate, once it is trusted; EACCES for an unknown, used, revoked or
    // expired token.
    Result<CertificateRecord> redeem(const std::string& secret, const std::string& certificate_pem);
    // By the digest's first characters (at least 12), as `tokens` lists them.
    Result<> revoke(const std::string& digest_prefix);

  private:
    explicit Trust(Store& store) : store_(store) {}
    Result<> reload();

    Store& store_;
    mutable std::mutex mutex_;
    std::set<std::string> trusted_;
};

}  // namespace vessel::manager
