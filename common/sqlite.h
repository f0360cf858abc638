// sqlite.h - SQLite with errors that cannot be ignored.
//
//   sqlite::Stmt s(db, "SELECT name FROM members WHERE name = ?1");
//   s.bind(1, name);
//   while (s.step()) use(s.text(0));
//
//   sqlite::Transaction t(db);          // BEGIN IMMEDIATE
//   sqlite::Stmt(db, "UPDATE ...").bind(1, x).run();
//   t.commit();                         // else ROLLBACK when t leaves scope
//   sqlite::Transaction t(db, begin, commit);   // the same with kept statements
//
// Every failure is an sqlite::Error (a std::runtime_error) carrying SQLite's
// own message and extended result code - "database or disk is full
// (SQLITE_FULL)" - so a caller can tell a full disk from other trouble and
// never reports a secondary error (a failed ROLLBACK) in place of the real
// one. A Stmt may be kept and used again: step() until done or reset();
// Reset{stmt} resets it when a scope ends, also by exception.

#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rapport::sqlite {

// The name of SQLite's primary result code, e.g. "SQLITE_FULL".
const char* code_name(int code);

// An SQLite call failed; `code` is the extended result code.
struct Error : std::runtime_error {
    Error(const std::string& what, int code) : std::runtime_error(what), code(code) {}
    int code;
    bool disk_full() const { return (code & 0xff) == SQLITE_FULL; }
};

// Opens (creating when missing) the database at `path`, waiting up to 5 s
// for another process's lock. `threads`: the connection is used from more
// than one thread (SQLite then serialises it). Throws Error
// "cannot open <path>: <why>"; the caller closes what it gets.
sqlite3* open(const std::string& path, bool threads = false);

// Throws Error for the connection's last failure: "<what>: <message> (<CODE>)".
[[noreturn]] void fail(sqlite3* db, const std::string& what);

// Runs SQL without results (several statements may follow each other).
void exec(sqlite3* db, const char* sql);

class Stmt {
public:
    // `persistent`: prepared to be kept and run many times.
    Stmt(sqlite3* db, const char* sql, bool persistent = false);
    ~Stmt() { sqlite3_finalize(st_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, std::string_view v);
    Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Stmt& bind_blob(int i, std::string_view v);
    Stmt& bind_null(int i);

    // True while there is a row; throws on failure (and resets).
    bool step();
    // Steps once and resets: for statements without rows.
    void run();
    // Ready to run again, bindings cleared.
    void reset();

    std::int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
    bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
    std::string text(int col) const { return std::string(text_view(col)); }
    // Valid until the statement steps or resets.
    std::string_view text_view(int col) const;
    std::string_view blob_view(int col) const;
    sqlite3_stmt* raw() const { return st_; }

private:
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
};

// Resets a kept statement when a scope ends, also by exception.
struct Reset {
    Stmt& s;
    ~Reset() { s.reset(); }
};

// BEGIN IMMEDIATE ... commit(); rolled back when it leaves scope without.
class Transaction {
public:
    explicit Transaction(sqlite3* db);
    // With "BEGIN IMMEDIATE" and "COMMIT" kept by the caller as prepared
    // statements: a transaction per message then costs no SQL parsing.
    Transaction(sqlite3* db, Stmt& begin, Stmt& commit);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    sqlite3* db_;
    Stmt* commit_ = nullptr; // a kept COMMIT, or none
    bool done_ = false;
};

} // namespace rapport::sqlite
