// vesseld's persistent state: instances, images and operations in one SQLite database (WAL). The
// schema carries a version; open() applies every missing migration, each in its own transaction.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "manager/instance/config.h"
#include "manager/instance/model.h"
#include "manager/store/sqlite.h"

namespace vessel::manager {

struct InstanceRecord {
    std::string name;
    InstanceKind kind = InstanceKind::container;
    std::string image;  // image fingerprint
    InstanceConfig config;
    InstanceState state = InstanceState::stopped;
    // The process that embodies the instance (a container's monitor, a VM's vessel-vmm) and its
    // start time in clock ticks since boot (/proc/PID/stat field 22): together they tell the same
    // process from a recycled pid after a daemon restart.
    pid_t pid = 0;
    uint64_t pid_start_time = 0;
    std::optional<int> exit_code;
    std::optional<int> exit_signal;
    int64_t created_at = 0;
};

struct ImageRecord {
    std::string fingerprint;
    InstanceKind kind = InstanceKind::container;
    std::string path;
    std::string description;
    std::vector<std::string> aliases;
    int64_t created_at = 0;
};

// A snapshot's files are under its instance's directory (docs/instance-layout.md); the row says it
// is whole and keeps the instance's config of that moment.
struct SnapshotRecord {
    std::string instance;
    std::string name;
    InstanceConfig config;
    int64_t created_at = 0;
};

struct OperationRecord {
    std::string id;
    std::string kind;  // "launch", "start", "stop", ...
    std::string instance;
    OperationStatus status = OperationStatus::running;
    std::string error;
    int64_t created_at = 0;
    int64_t updated_at = 0;
};

// A client certificate the remote API trusts (store/trust_tables.cpp).
struct CertificateRecord {
    std::string fingerprint;  // lower-case hex SHA-256 of its DER
    std::string name;
    std::string certificate_pem;
    int64_t created_at = 0;
};

// A one-time trust token: only the digest of its secret is kept.
struct TrustTokenRecord {
    std::string secret_digest;
    std::string name;  // what the certificate it admits will be called
    int64_t created_at = 0;
    int64_t expires_at = 0;
};

class Store {
  public:
    static constexpr int schema_version = 3;

    static Result<std::unique_ptr<Store>> open(const std::string& path);

    Result<int> current_schema_version();

    // Fails with EEXIST ("instance NAME already exists") when the name is taken.
    Result<> insert_instance(const InstanceRecord& record);
    Result<std::optional<InstanceRecord>> find_instance(const std::string& name);
    Result<std::vector<InstanceRecord>> list_instances();
    Result<std::vector<std::string>> instance_names();
    // Records the process of a running instance and clears any previous exit status.
    Result<> set_running(const std::string& name, pid_t pid, uint64_t pid_start_time);
    Result<> set_state(const std::string& name, InstanceState state);
    // Records how the instance's process ended and marks it stopped.
    Result<> set_stopped(const std::string& name, std::optional<int> exit_code,
                         std::optional<int> exit_signal);
    // The same, only while the record still names that process (compare-and-set): a watcher that
    // noticed an old monitor's exit must not stop a newer run. True when the row changed.
    Result<bool> set_stopped_if(const std::string& name, pid_t pid, uint64_t pid_start_time,
                                std::optional<int> exit_code, std::optional<int> exit_signal);
    Result<> set_config(const std::string& name, const InstanceConfig& config);
    // An imported instance's image, once the import knows which one it is.
    Result<> set_image(const std::string& name, const std::string& fingerprint);
    // Fails with ENOENT when there is no such instance.
    Result<> delete_instance(const std::string& name);

    // Inserts the image and its aliases in one transaction; an alias already in use fails the whole
    // insert.
    Result<> insert_image(const ImageRecord& record);
    // By alias, full fingerprint, or unique fingerprint prefix (at least 12 characters).
    Result<std::optional<ImageRecord>> find_image(const std::string& alias_or_fingerprint);
    Result<std::vector<ImageRecord>> list_images();
    Result<> delete_image(const std::string& fingerprint);
    Result<std::vector<std::string>> instances_using_image(const std::string& fingerprint);

    // Fails with EEXIST when the instance has a snapshot of that name, ENOENT when there is no
    // such instance.
    Result<> insert_snapshot(const SnapshotRecord& record);
    // Oldest first.
    Result<std::vector<SnapshotRecord>> list_snapshots(const std::string& instance);
    // Instance name -> number of snapshots, for a listing of every instance.
    Result<std::map<std::string, size_t>> snapshot_counts();
    Result<std::optional<SnapshotRecord>> find_snapshot(const std::string& instance,
                                                        const std::string& name);
    // Fails with ENOENT when there is no such snapshot.
    Result<> delete_snapshot(const std::string& instance, const std::string& name);

    Result<> put_operation(const OperationRecord& record);
    Result<std::optional<OperationRecord>> find_operation(const std::string& id);
    // Operations left "running" by a daemon that died cannot finish any more.
    Result<> fail_unfinished_operations(const std::string& reason);

    // vesseld's own settings (core.*), as the user set them.
    Result<std::map<std::string, std::string>> server_config();
    // Sets each key to its value, or removes it for nullopt, in one transaction.
    Result<> set_server_config(const std::map<std::string, std::optional<std::string>>& changes);

    // EEXIST when a certificate with that fingerprint is trusted already.
    Result<> insert_certificate(const CertificateRecord& record);
    Result<std::vector<CertificateRecord>> list_certificates();
    // ENOENT when no certificate has that fingerprint.
    Result<> delete_certificate(const std::string& fingerprint);

    Result<> insert_trust_token(const TrustTokenRecord& record);
    Result<std::vector<TrustTokenRecord>> list_trust_tokens();
    // ENOENT when there is no such token.
    Result<> delete_trust_token(const std::string& secret_digest);
    // In one transaction: the token goes and the certificate comes, so that two clients racing
    // with one token cannot both be trusted. EACCES when no token has that digest (never issued,
    // used, or revoked) and when it expired (it is removed then too); EEXIST when the
    // certificate is trusted already (the token stays usable).
    Result<> redeem_trust_token(const std::string& secret_digest, int64_t now,
                                const CertificateRecord& certificate);

  private:
    explicit Store(Database db) : db_(std::move(db)) {}
    Result<> migrate();
    Result<std::vector<std::string>> aliases_of(const std::string& fingerprint);

    // One connection shared by the daemon's threads; a transaction must not interleave with
    // another thread's statements.
    std::mutex mutex_;
    Database db_;
};

int64_t unix_now();

}  // namespace vessel::manager
