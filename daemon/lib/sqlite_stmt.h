// sqlite_stmt.h - a prepared SQLite statement that cleans up after itself.
//
//   Stmt s(db, "SELECT name FROM members WHERE name = ?");
//   s.bind(1, name);
//   while (s.step()) use(s.text(0));
//
// Errors become SqliteError (a std::runtime_error) with SQLite's own message
// and result code, so callers never forget to look at a return code and can
// tell a full disk (SQLITE_FULL) from other failures. Shared by the queue
// and the members store.

#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rapport::daemon {

// The name of SQLite's primary result code, e.g. "SQLITE_FULL".
inline const char* sqlite_code_name(int code) {
    switch (code & 0xff) {
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    default: return "SQLITE_ERROR";
    }
}

// An SQLite call failed; `code` is the extended result code.
struct SqliteError : std::runtime_error {
    SqliteError(const std::string& what, int code) : std::runtime_error(what), code(code) {}
    int code;
    bool disk_full() const { return (code & 0xff) == SQLITE_FULL; }
};

// Throws SqliteError for the connection's last failure: "<what>: database or
// disk is full (SQLITE_FULL)".
[[noreturn]] inline void throw_sqlite(sqlite3* db, const std::string& what) {
    int code = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    throw SqliteError(what + ": " + msg + " (" + sqlite_code_name(code) + ")", code);
}

struct Stmt {
    sqlite3* db;
    sqlite3_stmt* st = nullptr;
    Stmt(sqlite3* d, const char* sql) : db(d) {
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) throw_sqlite(db, "sqlite prepare");
    }
    ~Stmt() { sqlite3_finalize(st); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& bind(int i, std::string_view s) {
        sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(st, i, v);
        return *this;
    }
    bool step() {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw_sqlite(db, "sqlite step");
    }
    std::string text(int i) {
        auto p = sqlite3_column_text(st, i);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, i)))
                 : std::string();
    }
    std::int64_t integer(int i) { return sqlite3_column_int64(st, i); }
};

} // namespace rapport::daemon
