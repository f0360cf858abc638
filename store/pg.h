// pg.h - PostgreSQL through libpq: a connection, its results, a bounded
// pool that reconnects with backoff, and a listener for NOTIFY.
//
//   pg::Pool pool(url, 8, log);
//   {
//       pg::Lease c = pool.acquire();              // waits for a free connection
//       pg::Txn t(*c);                             // BEGIN ... COMMIT, else ROLLBACK
//       c->exec("UPDATE t SET x = $1 WHERE k = $2", {x, k});
//       t.commit();
//   }
//
// Every failure is a pg::Error carrying the server's SQLSTATE, or
// `unavailable()` when the server could not be reached or went away (a
// restart, a failover, the network): callers treat that as "the store is
// down, keep the work and try again later", never as an answer. A
// connection that broke is not given back to the pool; the next acquire()
// connects afresh, no sooner than the backoff allows (0.5 s doubling to
// 30 s), so a store that is down costs one failed connect per backoff
// period, not one per message.
//
// Parameters travel as text, except those marked binary (bytea: message
// copies and signatures go as they are). Results are text unless asked
// for in binary (a copy of a message).

#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rapport::store::pg {

struct Error : std::runtime_error {
    Error(const std::string& what, std::string sqlstate, bool unavailable)
        : std::runtime_error(what), sqlstate(std::move(sqlstate)), unavailable_(unavailable) {}
    std::string sqlstate; // "23505" (unique violation), ...; empty when the server never answered
    // The server could not be reached, went away, or is not accepting
    // writes (a replica during a failover): the work is kept and retried.
    bool unavailable() const { return unavailable_; }
    bool disk_full() const { return sqlstate == "53100"; }

private:
    bool unavailable_;
};

// One parameter: a value, NULL, or bytes sent as they are (bytea).
struct Param {
    Param() : null(true) {}
    Param(std::nullptr_t) : null(true) {}
    Param(std::string v) : value(std::move(v)) {}
    Param(std::string_view v) : value(v) {}
    Param(const char* v) : value(v) {}
    Param(std::int64_t v) : value(std::to_string(v)) {}
    Param(int v) : value(std::to_string(v)) {}
    Param(unsigned v) : value(std::to_string(v)) {}
    Param(std::size_t v) : value(std::to_string(v)) {}
    Param(bool v) : value(v ? "t" : "f") {}
    static Param bytes(std::string_view v) {
        Param p{v};
        p.binary = true;
        return p;
    }
    std::string value;
    bool null = false;
    bool binary = false;
};

// A text[] or bigint[] literal: {"a","b"} with quotes and backslashes escaped.
std::string array(const std::vector<std::string>& items);
std::string array(const std::vector<std::int64_t>& items);
// Parses a text[] result column ({a,"b c",NULL}) into its items (NULLs skipped).
std::vector<std::string> parse_array(std::string_view text);

using LogFn = std::function<void(const std::string&)>;

// The statements under way on a pool's connections, and since when. One
// that waits far longer than any of rapportd's should means PostgreSQL
// answers but does not finish writes: a primary whose synchronous replica
// is gone holds every COMMIT until it is back (or synchronous_standby_names
// is emptied). The pool then reports the store as down (up()) and says so
// in the log, although no connection failed.
class Watch {
public:
    using Clock = std::chrono::steady_clock;
    Watch(std::chrono::milliseconds limit, LogFn log) : limit_(limit), log_(std::move(log)) {}
    std::uint64_t begin();
    void end(std::uint64_t ticket);
    // Whether a statement under way has waited longer than the limit; logs
    // the first time it sees one (until that one ends).
    bool stalled();

private:
    const std::chrono::milliseconds limit_;
    LogFn log_;
    std::mutex mu_;
    std::map<std::uint64_t, Clock::time_point> running_; // tickets grow: the first is the oldest
    std::uint64_t next_ = 0;
    std::uint64_t logged_ = 0; // the stalled statement last logged (tickets start at 1)
};

class Result {
public:
    explicit Result(PGresult* r = nullptr) : r_(r) {}
    ~Result() { PQclear(r_); }
    Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    Result& operator=(Result&& o) noexcept {
        std::swap(r_, o.r_);
        return *this;
    }
    int rows() const { return r_ ? PQntuples(r_) : 0; }
    bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
    std::string_view view(int row, int col) const {
        return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
    }
    std::string text(int row, int col) const { return std::string(view(row, col)); }
    // An integer column; a boolean reads as 0 or 1; NULL as 0.
    std::int64_t i64(int row, int col) const;
    bool boolean(int row, int col) const { return view(row, col) == "t"; }
    // A bytea column of a text result (\x... hex), decoded.
    std::string bytes(int row, int col) const;
    // Rows changed by INSERT/UPDATE/DELETE.
    std::int64_t affected() const;

private:
    PGresult* r_;
};

class Conn {
public:
    // Connects; throws Error (unavailable) when the server cannot be reached.
    explicit Conn(const std::string& url);
    ~Conn();
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    // Runs one statement with $1.. parameters, prepared once per
    // connection (keyed by the text). Throws Error.
    Result exec(const std::string& sql, const std::vector<Param>& params = {}, bool binary_result = false);
    // Runs SQL text without parameters (several statements may follow each other).
    void run(const std::string& sql);
    bool ok() const { return PQstatus(c_) == CONNECTION_OK; }
    PGconn* raw() { return c_; }
    // Every statement from now on is timed by `w` (a pool's connections).
    void watched_by(Watch* w) { watch_ = w; }
    // NOTIFY `channel` with `payload` (sent when the transaction commits).
    void notify(const std::string& channel, const std::string& payload);

private:
    [[noreturn]] void fail(const std::string& what, PGresult* r);
    PGconn* c_ = nullptr;
    Watch* watch_ = nullptr;
    std::unordered_map<std::string, std::string> prepared_; // SQL -> statement name
    bool in_txn_failed_ = false;
};

// BEGIN ... commit(); rolled back when it leaves scope without.
class Txn {
public:
    explicit Txn(Conn& c) : c_(c) { c_.run("BEGIN"); }
    ~Txn();
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    void commit() {
        c_.run("COMMIT");
        done_ = true;
    }

private:
    Conn& c_;
    bool done_ = false;
};

class Pool;

// A connection taken from the pool, given back when it leaves scope
// (dropped instead when it broke).
class Lease {
public:
    Lease(Pool& p, std::unique_ptr<Conn> c) : pool_(&p), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(std::move(o.c_)) {}
    ~Lease();
    Conn& operator*() { return *c_; }
    Conn* operator->() { return c_.get(); }

private:
    Pool* pool_;
    std::unique_ptr<Conn> c_;
};

// At most `size` connections, shared by the node's threads. acquire()
// waits up to `wait` for one to come back, and connects when fewer than
// `size` exist; while the store is unreachable it throws at once until the
// backoff period is over. A statement that has run longer than `stall`
// makes up() false while it waits: rapportd's are short (one account's
// lookups and writes, pruning in chunks), so one that takes 10 s is held
// up, not busy.
class Pool {
public:
    Pool(std::string url, std::size_t size, LogFn log, std::chrono::milliseconds wait = std::chrono::seconds(10),
         std::chrono::milliseconds stall = std::chrono::seconds(10));
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    Lease acquire(); // throws Error (unavailable)
    // Runs f with a connection; when the connection breaks (or the server
    // refuses writes) the call fails with Error::unavailable().
    template <class F> auto with(F&& f) {
        Lease l = acquire();
        return f(*l);
    }
    // Whether the last attempt to reach the store succeeded and no
    // statement has been waiting longer than `stall` (for /metrics).
    bool up() { return up_.load() && !watch_.stalled(); }
    // Called (outside the pool's lock) when the store is reached again after
    // failing; for parts that keep work until then.
    void on_up(std::function<void()> f);
    const std::string& url() const { return url_; }
    std::size_t size() const { return size_; }
    // Marks the store unreachable (a connection broke in use).
    void failed(const std::string& why);

private:
    friend class Lease;
    void give_back(std::unique_ptr<Conn> c);
    void reached();
    std::string url_;
    std::size_t size_;
    LogFn log_;
    std::chrono::milliseconds wait_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Conn>> idle_;
    std::size_t open_ = 0; // idle + leased + connecting
    std::atomic<bool> up_{true};
    std::chrono::steady_clock::time_point retry_at_{};
    std::chrono::milliseconds backoff_{500};
    std::vector<std::function<void()>> on_up_;
    Watch watch_;
};

// LISTEN on a connection of its own, on a thread of its own: calls the
// handler of each channel with each payload, reconnecting with backoff
// (and calling every handler with "" each time its LISTEN is in place,
// the first included: notifications sent before it were lost, so
// listeners look again).
class Listener {
public:
    Listener(std::string url, LogFn log);
    ~Listener();
    void on(const std::string& channel, std::function<void(const std::string& payload)> f);
    void start();
    void stop();

private:
    void run();
    std::string url_;
    LogFn log_;
    std::unordered_map<std::string, std::vector<std::function<void(const std::string&)>>> handlers_;
    std::atomic<bool> stop_{false};
    int wake_[2] = {-1, -1};
    std::thread thread_;
};

// A URL for logs: the password left out.
std::string redact(const std::string& url);

} // namespace rapport::store::pg
