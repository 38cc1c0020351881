#include "manager/store/store.h"

#include <cerrno>
#include <concepts>
#include <ctime>
#include <limits>
#include <utility>

namespace vessel::manager {

namespace {

// Migration N (1-based) takes the schema from version N-1 to N. Never edit a released one: add the
// next.
const char* const migrations[] = {
    R"sql(
CREATE TABLE instances (
    name TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('container', 'vm')),
    image TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    pid_start_time INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    exit_signal INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE images (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('container', 'vm')),
    path TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE TABLE image_aliases (
    alias TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL REFERENCES images(fingerprint) ON DELETE CASCADE
);
CREATE TABLE operations (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    instance TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
)sql",
    // 2: snapshots. A snapshot keeps the config its instance had when it was taken (a restore puts
    // both back) and goes with its instance.
    R"sql(
CREATE TABLE snapshots (
    instance TEXT NOT NULL REFERENCES instances(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (instance, name)
);
)sql",
    // 3: the remote API. The server's own settings (core.https_address); the client certificates
    // it trusts, by fingerprint; and the one-time tokens that let a new client add its own, kept
    // as digests of their secrets so that the database never holds a usable token.
    R"sql(
CREATE TABLE server_config (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE certificates (
    fingerprint TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    certificate TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE trust_tokens (
    secret_digest TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
)sql",
};

static_assert(std::size(migrations) == Store::schema_version);

constexpr const char* instance_columns =
    "name, type, image, config, state, pid, pid_start_time, exit_code, exit_signal, created_at";

// An integer column that must fit its field: a database edited by hand (or by a bug) is an error
// naming the row and column, not a silently truncated pid.
template <std::integral T>
Result<T> column_in(const Statement& row, int index, std::string_view column,
                    const std::string& name) {
    int64_t value = row.column_int(index);
    if (!std::in_range<T>(value))
        return fail("instance {}: {}: {} is out of range ({} to {})", name, column, value,
                    std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    return static_cast<T>(value);
}

// A word of the model read back from a column: the database is vesseld's own, so a word it does
// not know means a newer vesseld wrote it, or the file was edited by hand.
template <typename Word>
Result<Word> word_in(std::optional<Word> word, std::string_view column, const std::string& text,
                     std::string_view owner) {
    if (!word) return fail("{}: {} {:?} is not one this vesseld knows", owner, column, text);
    return *word;
}

Result<InstanceRecord> read_instance(Statement& row) {
    InstanceRecord record;
    record.name = row.column_text(0);
    auto owner = fmt::format("instance {}", record.name);
    auto kind = row.column_text(1);
    record.kind = TRY(word_in(instance_kind_named(kind), "type", kind, owner));
    record.image = row.column_text(2);
    auto keys = TRY_CTX(parse_json(row.column_text(3), "config"), "instance {}", record.name);
    record.config = TRY_CTX(InstanceConfig::parse(record.kind, keys), "instance {}", record.name);
    auto state = row.column_text(4);
    record.state = TRY(word_in(instance_state_named(state), "state", state, owner));
    record.pid = TRY(column_in<pid_t>(row, 5, "pid", record.name));
    record.pid_start_time = TRY(column_in<uint64_t>(row, 6, "pid_start_time", record.name));
    if (!row.column_is_null(7))
        record.exit_code = TRY(column_in<int>(row, 7, "exit_code", record.name));
    if (!row.column_is_null(8))
        record.exit_signal = TRY(column_in<int>(row, 8, "exit_signal", record.name));
    record.created_at = row.column_int(9);
    return record;
}

// Columns: fingerprint, type, path, description, created_at. The aliases are the caller's.
Result<ImageRecord> read_image(Statement& row) {
    ImageRecord record{.fingerprint = row.column_text(0),
                       .path = row.column_text(2),
                       .description = row.column_text(3),
                       .aliases = {},
                       .created_at = row.column_int(4)};
    auto kind = row.column_text(1);
    record.kind = TRY(word_in(instance_kind_named(kind), "type", kind,
                              fmt::format("image {}", record.fingerprint.substr(0, 12))));
    return record;
}

SqlValue optional_int(std::optional<int> value) {
    if (!value) return std::monostate{};
    return static_cast<int64_t>(*value);
}

}  // namespace

int64_t unix_now() {
    return static_cast<int64_t>(::time(nullptr));
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
    auto db = TRY(Database::open(path));
    std::unique_ptr<Store> store(new Store(std::move(db)));
    TRY_CTX(store->migrate(), "database {}", path);
    return store;
}

Result<> Store::migrate() {
    std::lock_guard lock(mutex_);
    // Read first: an up-to-date database needs no write lock, so opening it never waits for
    // another process's transaction.
    {
        auto current = db_.prepare("SELECT version FROM schema_version");
        if (current && TRY(current->step()) && current->column_int(0) == schema_version) return {};
    }
    TRY(db_.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    for (;;) {
        auto tx = TRY(Transaction::begin(db_));
        auto query = TRY(db_.prepare("SELECT version FROM schema_version"));
        int version = TRY(query.step()) ? static_cast<int>(query.column_int(0)) : 0;
        if (version > schema_version)
            return fail("schema version {} is newer than this vesseld understands ({})", version,
                        schema_version);
        if (version == schema_version) return tx.commit();
        TRY_CTX(db_.execute_script(migrations[version]), "migration to schema version {}",
                version + 1);
        if (version == 0)
            TRY(db_.execute("INSERT INTO schema_version (version) VALUES (?)", {int64_t{1}}));
        else
            TRY(db_.execute("UPDATE schema_version SET version = ?", {int64_t{version + 1}}));
        TRY(tx.commit());
    }
}

Result<int> Store::current_schema_version() {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare("SELECT version FROM schema_version"));
    if (!TRY(query.step())) return 0;
    return static_cast<int>(query.column_int(0));
}

Result<> Store::insert_instance(const InstanceRecord& r) {
    std::lock_guard lock(mutex_);
    auto tx = TRY(Transaction::begin(db_));
    auto exists = TRY(db_.prepare("SELECT 1 FROM instances WHERE name = ?"));
    TRY(exists.bind_all({r.name}));
    if (TRY(exists.step()))
        return fail_errno(EEXIST, fmt::format("instance {} already exists", r.name));
    TRY(db_.execute(fmt::format("INSERT INTO instances ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                instance_columns),
                    {r.name, std::string(name_of(r.kind)), r.image, r.config.to_json().dump(),
                     std::string(name_of(r.state)), int64_t{r.pid},
                     static_cast<int64_t>(r.pid_start_time), optional_int(r.exit_code),
                     optional_int(r.exit_signal), r.created_at != 0 ? r.created_at : unix_now()}));
    return tx.commit();
}

Result<std::optional<InstanceRecord>> Store::find_instance(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto query =
        TRY(db_.prepare(fmt::format("SELECT {} FROM instances WHERE name = ?", instance_columns)));
    TRY(query.bind_all({name}));
    if (!TRY(query.step())) return std::optional<InstanceRecord>{};
    return std::optional<InstanceRecord>(TRY(read_instance(query)));
}

Result<std::vector<InstanceRecord>> Store::list_instances() {
    std::lock_guard lock(mutex_);
    auto query =
        TRY(db_.prepare(fmt::format("SELECT {} FROM instances ORDER BY name", instance_columns)));
    std::vector<InstanceRecord> records;
    while (TRY(query.step()))
        records.push_back(TRY(read_instance(query)));
    return records;
}

Result<std::vector<std::string>> Store::instance_names() {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare("SELECT name FROM instances ORDER BY name"));
    std::vector<std::string> names;
    while (TRY(query.step()))
        names.push_back(query.column_text(0));
    return names;
}

namespace {

Result<> expect_one_change(Database& db, const std::string& name) {
    if (db.changes() == 0) return fail_errno(ENOENT, fmt::format("instance {} not found", name));
    return {};
}

}  // namespace

Result<> Store::set_running(const std::string& name, pid_t pid, uint64_t pid_start_time) {
    std::lock_guard lock(mutex_);
    TRY(
        db_.execute("UPDATE instances SET state = 'running', pid = ?, pid_start_time = ?, "
                    "exit_code = NULL, exit_signal = NULL WHERE name = ?",
                    {int64_t{pid}, static_cast<int64_t>(pid_start_time), name}));
    return expect_one_change(db_, name);
}

Result<> Store::set_state(const std::string& name, InstanceState state) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("UPDATE instances SET state = ? WHERE name = ?",
                    {std::string(name_of(state)), name}));
    return expect_one_change(db_, name);
}

Result<> Store::set_stopped(const std::string& name, std::optional<int> exit_code,
                            std::optional<int> exit_signal) {
    std::lock_guard lock(mutex_);
    TRY(
        db_.execute("UPDATE instances SET state = 'stopped', pid = 0, pid_start_time = 0, "
                    "exit_code = ?, exit_signal = ? WHERE name = ?",
                    {optional_int(exit_code), optional_int(exit_signal), name}));
    return expect_one_change(db_, name);
}

Result<bool> Store::set_stopped_if(const std::string& name, pid_t pid, uint64_t pid_start_time,
                                   std::optional<int> exit_code, std::optional<int> exit_signal) {
    std::lock_guard lock(mutex_);
    TRY(
        db_.execute("UPDATE instances SET state = 'stopped', pid = 0, pid_start_time = 0, "
                    "exit_code = ?, exit_signal = ? WHERE name = ? AND pid = ? AND "
                    "pid_start_time = ?",
                    {optional_int(exit_code), optional_int(exit_signal), name, int64_t{pid},
                     static_cast<int64_t>(pid_start_time)}));
    return db_.changes() > 0;
}

Result<> Store::set_config(const std::string& name, const InstanceConfig& config) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("UPDATE instances SET config = ? WHERE name = ?",
                    {config.to_json().dump(), name}));
    return expect_one_change(db_, name);
}

Result<> Store::set_image(const std::string& name, const std::string& fingerprint) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("UPDATE instances SET image = ? WHERE name = ?", {fingerprint, name}));
    return expect_one_change(db_, name);
}

Result<> Store::delete_instance(const std::string& name) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("DELETE FROM instances WHERE name = ?", {name}));
    return expect_one_change(db_, name);
}

Result<> Store::insert_image(const ImageRecord& r) {
    std::lock_guard lock(mutex_);
    auto tx = TRY(Transaction::begin(db_));
    auto exists = TRY(db_.prepare("SELECT 1 FROM images WHERE fingerprint = ?"));
    TRY(exists.bind_all({r.fingerprint}));
    if (TRY(exists.step()))
        return fail_errno(EEXIST, fmt::format("image {} already exists", r.fingerprint));
    TRY(
        db_.execute("INSERT INTO images (fingerprint, type, path, description, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    {r.fingerprint, std::string(name_of(r.kind)), r.path, r.description,
                     r.created_at != 0 ? r.created_at : unix_now()}));
    for (const auto& alias : r.aliases) {
        auto taken = TRY(db_.prepare("SELECT fingerprint FROM image_aliases WHERE alias = ?"));
        TRY(taken.bind_all({alias}));
        if (TRY(taken.step()))
            return fail_errno(EEXIST, fmt::format("image alias {} is already used by image {}",
                                                  alias, taken.column_text(0).substr(0, 12)));
        TRY(db_.execute("INSERT INTO image_aliases (alias, fingerprint) VALUES (?, ?)",
                        {alias, r.fingerprint}));
    }
    return tx.commit();
}

Result<std::vector<std::string>> Store::aliases_of(const std::string& fingerprint) {
    auto query =
        TRY(db_.prepare("SELECT alias FROM image_aliases WHERE fingerprint = ? ORDER BY alias"));
    TRY(query.bind_all({fingerprint}));
    std::vector<std::string> aliases;
    while (TRY(query.step()))
        aliases.push_back(query.column_text(0));
    return aliases;
}

Result<std::optional<ImageRecord>> Store::find_image(const std::string& key) {
    std::lock_guard lock(mutex_);
    constexpr const char* columns = "i.fingerprint, i.type, i.path, i.description, i.created_at";
    auto by_alias = TRY(db_.prepare(
        fmt::format("SELECT {} FROM images i JOIN image_aliases a ON a.fingerprint = i.fingerprint "
                    "WHERE a.alias = ?",
                    columns)));
    TRY(by_alias.bind_all({key}));
    Statement* found = nullptr;
    std::optional<Statement> by_fingerprint;
    bool by_prefix = false;
    if (TRY(by_alias.step())) {
        found = &by_alias;
    } else if (key.size() >= 12 && key.find_first_not_of("0123456789abcdef") == std::string::npos) {
        // A prefix match: the key is hex only, so it carries no LIKE wildcards.
        by_fingerprint = TRY(db_.prepare(
            fmt::format("SELECT {} FROM images i WHERE i.fingerprint LIKE ? || '%'", columns)));
        TRY(by_fingerprint->bind_all({key}));
        if (TRY(by_fingerprint->step())) found = &*by_fingerprint;
        by_prefix = true;
    }
    if (found == nullptr) return std::optional<ImageRecord>{};
    auto record = TRY(read_image(*found));
    if (by_prefix && TRY(found->step())) return fail("image prefix {} is ambiguous", key);
    record.aliases = TRY(aliases_of(record.fingerprint));
    return std::optional<ImageRecord>(std::move(record));
}

Result<std::vector<ImageRecord>> Store::list_images() {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare(
        "SELECT fingerprint, type, path, description, created_at FROM images ORDER BY created_at"));
    std::vector<ImageRecord> images;
    while (TRY(query.step()))
        images.push_back(TRY(read_image(query)));
    for (auto& image : images)
        image.aliases = TRY(aliases_of(image.fingerprint));
    return images;
}

Result<> Store::delete_image(const std::string& fingerprint) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("DELETE FROM images WHERE fingerprint = ?", {fingerprint}));
    if (db_.changes() == 0)
        return fail_errno(ENOENT, fmt::format("image {} not found", fingerprint));
    return {};
}

Result<std::vector<std::string>> Store::instances_using_image(const std::string& fingerprint) {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare("SELECT name FROM instances WHERE image = ? ORDER BY name"));
    TRY(query.bind_all({fingerprint}));
    std::vector<std::string> names;
    while (TRY(query.step()))
        names.push_back(query.column_text(0));
    return names;
}

Result<> Store::put_operation(const OperationRecord& r) {
    std::lock_guard lock(mutex_);
    int64_t now = unix_now();
    return db_.execute(
        "INSERT INTO operations (id, kind, instance, status, error, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET status = excluded.status, "
        "error = excluded.error, updated_at = excluded.updated_at",
        {r.id, r.kind, r.instance, std::string(name_of(r.status)), r.error,
         r.created_at != 0 ? r.created_at : now, now});
}

Result<std::optional<OperationRecord>> Store::find_operation(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare(
        "SELECT id, kind, instance, status, error, created_at, updated_at FROM operations "
        "WHERE id = ?"));
    TRY(query.bind_all({id}));
    if (!TRY(query.step())) return std::optional<OperationRecord>{};
    OperationRecord record{.id = query.column_text(0),
                           .kind = query.column_text(1),
                           .instance = query.column_text(2),
                           .error = query.column_text(4),
                           .created_at = query.column_int(5),
                           .updated_at = query.column_int(6)};
    auto status = query.column_text(3);
    record.status = TRY(word_in(operation_status_named(status), "status", status,
                                fmt::format("operation {}", record.id)));
    return std::optional<OperationRecord>(std::move(record));
}

Result<> Store::fail_unfinished_operations(const std::string& reason) {
    std::lock_guard lock(mutex_);
    return db_.execute(
        "UPDATE operations SET status = 'failure', error = ?, updated_at = ? "
        "WHERE status = 'running'",
        {reason, unix_now()});
}

Result<> Store::insert_snapshot(const SnapshotRecord& r) {
    std::lock_guard lock(mutex_);
    auto tx = TRY(Transaction::begin(db_));
    auto exists = TRY(db_.prepare("SELECT 1 FROM snapshots WHERE instance = ? AND name = ?"));
    TRY(exists.bind_all({r.instance, r.name}));
    if (TRY(exists.step()))
        return fail_errno(EEXIST,
                          fmt::format("instance {} already has a snapshot {}", r.instance, r.name));
    auto owner = TRY(db_.prepare("SELECT 1 FROM instances WHERE name = ?"));
    TRY(owner.bind_all({r.instance}));
    if (!TRY(owner.step()))
        return fail_errno(ENOENT, fmt::format("instance {} not found", r.instance));
    TRY(db_.execute(
        "INSERT INTO snapshots (instance, name, config, created_at) VALUES (?, ?, ?, ?)",
        {r.instance, r.name, r.config.to_json().dump(),
         r.created_at != 0 ? r.created_at : unix_now()}));
    return tx.commit();
}

namespace {

// With the instance's type, which says what its config may hold.
constexpr const char* snapshot_columns = "s.instance, s.name, s.config, s.created_at, i.type";
constexpr const char* snapshot_source = "snapshots s JOIN instances i ON i.name = s.instance";

Result<SnapshotRecord> read_snapshot(Statement& row) {
    SnapshotRecord record{.instance = row.column_text(0),
                          .name = row.column_text(1),
                          .config = {},
                          .created_at = row.column_int(3)};
    auto owner = fmt::format("snapshot {}/{}", record.instance, record.name);
    auto type = row.column_text(4);
    auto kind = TRY(word_in(instance_kind_named(type), "type", type, owner));
    auto keys = TRY_CTX(parse_json(row.column_text(2), "config"), "{}", owner);
    record.config = TRY_CTX(InstanceConfig::parse(kind, keys), "{}", owner);
    return record;
}

}  // namespace

Result<std::vector<SnapshotRecord>> Store::list_snapshots(const std::string& instance) {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare(
        fmt::format("SELECT {} FROM {} WHERE s.instance = ? ORDER BY s.created_at, s.rowid",
                    snapshot_columns, snapshot_source)));
    TRY(query.bind_all({instance}));
    std::vector<SnapshotRecord> snapshots;
    while (TRY(query.step()))
        snapshots.push_back(TRY(read_snapshot(query)));
    return snapshots;
}

Result<std::map<std::string, size_t>> Store::snapshot_counts() {
    std::lock_guard lock(mutex_);
    auto query = TRY(db_.prepare("SELECT instance, COUNT(*) FROM snapshots GROUP BY instance"));
    std::map<std::string, size_t> counts;
    while (TRY(query.step()))
        counts[query.column_text(0)] = static_cast<size_t>(query.column_int(1));
    return counts;
}

Result<std::optional<SnapshotRecord>> Store::find_snapshot(const std::string& instance,
                                                           const std::string& name) {
    std::lock_guard lock(mutex_);
    auto query =
        TRY(db_.prepare(fmt::format("SELECT {} FROM {} WHERE s.instance = ? AND s.name = ?",
                                    snapshot_columns, snapshot_source)));
    TRY(query.bind_all({instance, name}));
    if (!TRY(query.step())) return std::optional<SnapshotRecord>{};
    return std::optional<SnapshotRecord>(TRY(read_snapshot(query)));
}

Result<> Store::delete_snapshot(const std::string& instance, const std::string& name) {
    std::lock_guard lock(mutex_);
    TRY(db_.execute("DELETE FROM snapshots WHERE instance = ? AND name = ?", {instance, name}));
    if (db_.changes() == 0)
        return fail_errno(ENOENT, fmt::format("instance {} has no snapshot {}", instance, name));
    return {};
}

}  // namespace vessel::manager
