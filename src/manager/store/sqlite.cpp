#include "manager/store/sqlite.h"

namespace vessel::manager {

namespace {

std::unexpected<Error> sqlite_error(sqlite3* db, std::string_view what) {
    return fail("{}: {}", what, sqlite3_errmsg(db));
}

}  // namespace

Result<> Statement::bind_all(const std::vector<SqlValue>& values) {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
    for (size_t i = 0; i < values.size(); ++i) {
        int index = static_cast<int>(i + 1);
        int rc = SQLITE_OK;
        if (auto* number = std::get_if<int64_t>(&values[i])) {
            rc = sqlite3_bind_int64(stmt_.get(), index, *number);
        } else if (auto* text = std::get_if<std::string>(&values[i])) {
            rc = sqlite3_bind_text(stmt_.get(), index, text->data(), static_cast<int>(text->size()),
                                   SQLITE_TRANSIENT);
        } else {
            rc = sqlite3_bind_null(stmt_.get(), index);
        }
        if (rc != SQLITE_OK) return sqlite_error(db_, fmt::format("bind parameter {}", index));
    }
    return {};
}

Result<bool> Statement::step() {
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, "sqlite step");
}

Result<> Statement::run() {
    while (TRY(step())) {
    }
    return {};
}

int64_t Statement::column_int(int index) const {
    return sqlite3_column_int64(stmt_.get(), index);
}

std::string Statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(stmt_.get(), index);
    if (text == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), index)));
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL;
}

Result<Database> Database::open(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    Database db(raw);
    if (rc != SQLITE_OK) {
        if (raw == nullptr) return fail("open database {}: out of memory", path);
        return sqlite_error(raw, fmt::format("open database {}", path));
    }
    sqlite3_busy_timeout(raw, 5000);
    TRY_CTX(db.execute_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                              "PRAGMA foreign_keys=ON;"),
            "database {}", path);
    return db;
}

Result<Statement> Database::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK)
        return sqlite_error(db_.get(), fmt::format("prepare \"{}\"", sql));
    return Statement(db_.get(), stmt);
}

Result<> Database::execute(std::string_view sql, const std::vector<SqlValue>& values) {
    auto statement = TRY(prepare(sql));
    TRY(statement.bind_all(values));
    return statement.run();
}

Result<> Database::execute_script(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message != nullptr ? message : "unknown error";
        sqlite3_free(message);
        return fail("sqlite: {}", text);
    }
    return {};
}

int64_t Database::changes() const {
    return sqlite3_changes64(db_.get());
}

Result<Transaction> Transaction::begin(Database& db) {
    TRY(db.execute("BEGIN IMMEDIATE"));
    return Transaction(db);
}

Transaction::~Transaction() {
    if (db_ != nullptr && !done_) (void)db_->execute("ROLLBACK");
}

Result<> Transaction::commit() {
    TRY(db_->execute("COMMIT"));
    done_ = true;
    return {};
}

}  // namespace vessel::manager
