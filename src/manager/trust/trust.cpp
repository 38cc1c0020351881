#include "manager/trust/trust.h"

#include <openssl/rand.h>

#include <fmt/format.h>

#include "manager/backup/content_digest.h"
#include "manager/instance/name.h"
#include "manager/tls/certificate.h"

namespace vessel::manager {

namespace {

constexpr size_t min_prefix = 12;

std::string digest_of(std::string_view secret) {
    ContentDigest digest;
    digest.add(secret);
    return digest.hex();
}

bool is_lower_hex(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The one entry whose key starts with `prefix`.
template <typename Record, typename Key>
Result<Record> one_by_prefix(const std::vector<Record>& records, const std::string& prefix, Key key,
                             std::string_view what) {
    if (prefix.size() < min_prefix || !is_lower_hex(prefix))
        return fail_errno(EINVAL, fmt::format("{} {:?}: give at least {} lower-case hex "
                                              "characters of its fingerprint",
                                              what, prefix, min_prefix));
    const Record* found = nullptr;
    for (const auto& record : records) {
        if (!key(record).starts_with(prefix)) continue;
        if (found != nullptr)
            return fail_errno(EINVAL, fmt::format("{} {}: more than one starts so; give more of it",
                                                  what, prefix));
        found = &record;
    }
    if (found == nullptr) return fail_errno(ENOENT, fmt::format("no {} {}", what, prefix));
    return *found;
}

Result<> validate_client_name(const std::string& name) {
    if (name.empty()) return {};
    return with_context(validate_instance_name(name), "client name");
}

}  // namespace

Result<std::unique_ptr<Trust>> Trust::open(Store& store) {
    std::unique_ptr<Trust> trust(new Trust(store));
    TRY(trust->reload());
    return trust;
}

Result<> Trust::reload() {
    std::set<std::string> trusted;
    for (const auto& certificate : TRY(store_.list_certificates()))
        trusted.insert(certificate.fingerprint);
    std::lock_guard lock(mutex_);
    trusted_ = std::move(trusted);
    return {};
}

bool Trust::trusts(const std::string& fingerprint) const {
    std::lock_guard lock(mutex_);
    return trusted_.contains(fingerprint);
}

Result<CertificateRecord> Trust::add(const std::string& certificate_pem, std::string name) {
    TRY(validate_client_name(name));
    auto certificate = TRY_CTX(tls::parse_certificate(certificate_pem), "certificate");
    CertificateRecord record{.fingerprint = tls::fingerprint(certificate.get()),
                             .name = std::move(name),
                             .certificate_pem = tls::certificate_pem(certificate.get()),
                             .created_at = unix_now()};
    TRY(store_.insert_certificate(record));
    TRY(reload());
    return record;
}

Result<std::vector<CertificateRecord>> Trust::list() {
    return store_.list_certificates();
}

Result<CertificateRecord> Trust::remove(const std::string& fingerprint) {
    auto record = TRY(one_by_prefix(
        TRY(store_.list_certificates()), fingerprint,
        [](const CertificateRecord& r) { return r.fingerprint; }, "trusted certificate"));
    TRY(store_.delete_certificate(record.fingerprint));
    TRY(reload());
    return record;
}

Result<IssuedToken> Trust::issue(std::string name, std::chrono::seconds lifetime) {
    TRY(validate_client_name(name));
    if (lifetime.count() <= 0)
        return fail_errno(EINVAL, "a trust token's lifetime must be at least one second");
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) return fail("no random bytes for a trust token");
    std::string secret;
    for (unsigned char byte : random)
        secret += fmt::format("{:02x}", byte);
    IssuedToken token{
        .secret = secret, .name = std::move(name), .expires_at = unix_now() + lifetime.count()};
    TRY(store_.insert_trust_token({.secret_digest = digest_of(secret),
                                   .name = token.name,
                                   .created_at = unix_now(),
                                   .expires_at = token.expires_at}));
    return token;
}

Result<std::vector<TrustTokenRecord>> Trust::tokens() {
    return store_.list_trust_tokens();
}

Result<CertificateRecord> Trust::redeem(const std::string& secret,
                                        const std::string& certificate_pem) {
    if (secret.size() != 64 || !is_lower_hex(secret))
        return fail_errno(EACCES, "the trust token is malformed");
    auto certificate = TRY_CTX(tls::parse_certificate(certificate_pem), "client certificate");
    CertificateRecord record{.fingerprint = tls::fingerprint(certificate.get()),
                             .name = {},
                             .certificate_pem = tls::certificate_pem(certificate.get()),
                             .created_at = unix_now()};
    auto digest = digest_of(secret);
    for (const auto& token : TRY(store_.list_trust_tokens()))
        if (token.secret_digest == digest) record.name = token.name;
    TRY(store_.redeem_trust_token(digest, unix_now(), record));
    TRY(reload());
    return record;
}

Result<> Trust::revoke(const std::string& digest_prefix) {
    auto token = TRY(one_by_prefix(
        TRY(store_.list_trust_tokens()), digest_prefix,
        [](const TrustTokenRecord& r) { return r.secret_digest; }, "trust token"));
    return store_.delete_trust_token(token.secret_digest);
}

}  // namespace vessel::manager
