// The remote API's tables (schema version 3): server settings, trusted certificates, trust tokens.
#include "manager/store/store.h"

#include <fmt/format.h>

namespace vessel::manager {

namespace {

Result<> insert_certificate_row(Database& db, const CertificateRecord& r) {
    auto exists = TRY(db.prepare("SELECT 1 FROM certificates WHERE fingerprint = ?"));
    TRY(exists.bind_all({r.fingerprint}));
    if (TRY(exists.step()))
        return fail_errno(
            EEXIST, fmt::format("certificate {} is trusted already", r.fingerprint.substr(0, 12)));
    return db.execute(
        "INSERT INTO certificates (fingerprint, name, certificate, created_at) VALUES (?, ?, ?, ?)",
        {r.fingerprint, r.name, r.certificate_pem, r.created_at != 0 ? r.created_at : unix_now()});
}

}  // namespace

Result<std::map<std::string, std::string>> Store::server_config() {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare("SELECT key, value FROM server_config ORDER BY key"));
    std::map<std::string, std::string> config;
    while (TRY(query.step()))
        config[query.column_text(0)] = query.column_text(1);
    return config;
}

Result<> Store::set_server_config(
    const std::map<std::string, std::optional<std::string>>& changes) {
    std::lock_guard lock(mutex_);
    auto tx = TRY(Transaction::begin(db_));
    for (const auto& [key, value] : changes) {
        if (value)
            TRY(
                db_.execute("INSERT INTO server_config (key, value) VALUES (?, ?) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            {key, *value}));
        else
            TRY(db_.execute("DELETE FROM server_config WHERE key = ?", {key}));
    }
    return tx.commit();
}

Result<> Store::insert_certificate(const CertificateRecord& record) {
    std::lock_guard lock(mutex_);
    auto tx = TRY(Transaction::begin(db_));
    TRY(insert_certificate_row(db_, record));
    return tx.commit();
}

Result<std::vector<CertificateRecord>> Store::list_certificates() {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare(
        "SELECT fingerprint, name, certificate, created_at FROM certificates ORDER BY created_at, "
        "fingerprint"));
    std::vector<CertificateRecord> list;
    while (TRY(query.step()))
        list.push_back({.fingerprint = query.column_text(0),
                        .name = query.column_text(1),
                        .certificate_pem = query.column_text(2),
                        .created_at = query.column_int(3)});
    return list;
}

Result<> Store::delete_certificate(const std::string& fingerprint) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("DELETE FROM certificates WHERE fingerprint = ?", {fingerprint}));
    if (db_.changes() == 0)
        return fail_errno(ENOENT, fmt::format("no trusted certificate {}", fingerprint));
    return {};
}

Result<> Store::insert_trust_token(const TrustTokenRecord& r) {
    std::lock_guard lock(mutex_);
    return db_.execute(
        "INSERT INTO trust_tokens (secret_digest, name, created_at, expires_at) VALUES (?, ?, ?, "
        "?)",
        {r.secret_digest, r.name, r.created_at != 0 ? r.created_at : unix_now(), r.expires_at});
}

Result<std::vector<TrustTokenRecord>> Store::list_trust_tokens() {
    std::lock_guard lock(mutex_);
    auto query =
        TRY(db_.prepare("SELECT secret_digest, name, created_at, expires_at FROM trust_tokens "
                        "ORDER BY created_at"));
    std::vector<TrustTokenRecord> list;
    while (TRY(query.step()))
        list.push_back({.secret_digest = query.column_text(0),
                        .name = query.column_text(1),
                        .created_at = query.column_int(2),
                        .expires_at = query.column_int(3)});
    return list;
}

Result<> Store::delete_trust_token(const std::string& secret_digest) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("DELETE FROM trust_tokens WHERE secret_digest = ?", {secret_digest}));
    if (db_.changes() == 0) return fail_errno(ENOENT, "no such trust token");
    return {};
}

Result<> Store::redeem_trust_token(const std::string& secret_digest, int64_t now,
                                   const CertificateRecord& certificate) {
    std::lock_guard lock(mutex_);
    auto tx = TRY(Transaction::begin(db_));
    auto query = TRY(db_.prepare("SELECT expires_at FROM trust_tokens WHERE secret_digest = ?"));
    TRY(query.bind_all({secret_digest}));
    if (!TRY(query.step()))
        return fail_errno(EACCES,
                          "the trust token is not valid: it was used already, revoked, or "
                          "never issued by this server");
    int64_t expires_at = query.column_int(0);
    if (expires_at <= now) {
        TRY(db_.execute("DELETE FROM trust_tokens WHERE secret_digest = ?", {secret_digest}));
        TRY(tx.commit());
        return fail_errno(EACCES, fmt::format("the trust token expired {} s ago: ask for a new one",
                                              now - expires_at));
    }
    TRY(insert_certificate_row(db_, certificate));
    TRY(db_.execute("DELETE FROM trust_tokens WHERE secret_digest = ?", {secret_digest}));
    return tx.commit();
}

}  // namespace vessel::manager
