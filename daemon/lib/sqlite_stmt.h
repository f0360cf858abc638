// sqlite_stmt.h - a prepared SQLite statement that cleans up after itself.
//
//   Stmt s(db, "SELECT name FROM members WHERE name = ?");
//   s.bind(1, name);
//   while (s.step()) use(s.text(0));
//
// Errors become std::runtime_error with SQLite's message, so callers never
// forget to look at a return code. Shared by the queue and the members store.

#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rapport::daemon {

struct Stmt {
    sqlite3* db;
    sqlite3_stmt* st = nullptr;
    Stmt(sqlite3* d, const char* sql) : db(d) {
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
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
        throw std::runtime_error(std::string("sqlite step: ") + sqlite3_errmsg(db));
    }
    std::string text(int i) {
        auto p = sqlite3_column_text(st, i);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st, i)))
                 : std::string();
    }
    std::int64_t integer(int i) { return sqlite3_column_int64(st, i); }
};

} // namespace rapport::daemon
