// Thin RAII wrappers over the SQLite C API. Every statement is prepared and its values bound as
// parameters: no SQL text is ever built from data.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"

namespace vessel::manager {

// One bindable value; std::monostate is SQL NULL.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

class Statement {
  public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    Statement(Statement&&) noexcept = default;
    Statement& operator=(Statement&&) noexcept = default;

    // Binds parameters 1..n in order.
    Result<> bind_all(const std::vector<SqlValue>& values);
    // Steps once: true when a row is available, false when the statement is done.
    Result<bool> step();
    // Steps until done (for statements that return no rows).
    Result<> run();

    int64_t column_int(int index) const;
    std::string column_text(int index) const;
    bool column_is_null(int index) const;

  private:
    struct Finalizer {
        void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
    };
    sqlite3* db_;
    std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

class Database {
  public:
    // Opens (creating) the database file, turns on WAL, foreign keys and a busy timeout so that
    // two processes (a CLI tool and the daemon) never fail on a momentary lock.
    static Result<Database> open(const std::string& path);

    Result<Statement> prepare(std::string_view sql);
    // Prepares, binds and runs a statement that returns no rows.
    Result<> execute(std::string_view sql, const std::vector<SqlValue>& values = {});
    // Runs several statements of fixed text (schema DDL only; no parameters).
    Result<> execute_script(const std::string& sql);
    // Rows changed by the last INSERT/UPDATE/DELETE.
    int64_t changes() const;

    sqlite3* handle() const { return db_.get(); }

  private:
    struct Closer {
        void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
    };
    explicit Database(sqlite3* db) : db_(db) {}
    std::unique_ptr<sqlite3, Closer> db_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() succeeded. A failure
// anywhere in between leaves the database exactly as it was.
class Transaction {
  public:
    static Result<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept
        : db_(std::exchange(other.db_, nullptr)), done_(other.done_) {}
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    Result<> commit();

  private:
    explicit Transaction(Database& db) : db_(&db) {}
    Database* db_;
    bool done_ = false;
};

}  // namespace vessel::manager
