// pg.cc - see pg.h.

#include "store/pg.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace rapport::store::pg {
namespace {

// SQLSTATEs after which the statement may well succeed on another
// connection or a little later: the server is going away, starting, or is
// a replica that does not take writes (a failover under way).
bool unavailable_state(const std::string& s) {
    return s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006" || s == "53300";
}

std::string quote_item(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// The URL with connect_timeout and keepalives unless it sets them: a dead
// primary must be noticed in seconds, not after the kernel's two hours.
std::string with_defaults(const std::string& url) {
    std::string extra;
    auto add = [&](const char* key, const char* value) {
        if (url.find(std::string(key) + "=") == std::string::npos)
            extra += (extra.empty() ? "" : "&") + std::string(key) + "=" + value;
    };
    add("connect_timeout", "5");
    add("keepalives_idle", "10");
    add("keepalives_interval", "5");
    add("keepalives_count", "3");
    add("application_name", "rapportd");
    if (extra.empty()) return url;
    return url + (url.find('?') == std::string::npos ? "?" : "&") + extra;
}

} // namespace

std::string redact(const std::string& url) {
    // postgresql://user:secret@host/db?password=secret -> postgresql://user@host/db
    std::string out = url;
    auto scheme = out.find("://");
    if (scheme == std::string::npos) return out;
    auto at = out.find('@', scheme + 3);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) out.erase(colon, at - colon);
    auto q = out.find('?');
    for (auto p = out.find("password=", q == std::string::npos ? out.size() : q); p != std::string::npos;
         p = out.find("password=", p)) {
        auto end = out.find('&', p);
        std::size_t from = p > 0 && (out[p - 1] == '&' || out[p - 1] == '?') ? p - 1 : p;
        bool first = out[from] == '?';
        out.erase(from, (end == std::string::npos ? out.size() : end) - from);
        if (first && from < out.size() && out[from] == '&') out[from] = '?';
        p = from;
    }
    return out;
}

std::string array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + quote_item(items[i]);
    return out + "}";
}

std::string array(const std::vector<std::int64_t>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + std::to_string(items[i]);
    return out + "}";
}

std::vector<std::string> parse_array(std::string_view s) {
    std::vector<std::string> out;
    if (s.size() < 2 || s.front() != '{') return out;
    s = s.substr(1, s.size() - 2);
    std::size_t i = 0;
    while (i < s.size()) {
        std::string item;
        bool quoted = s[i] == '"';
        if (quoted) {
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                item += s[i++];
            }
            ++i; // the closing quote
            out.push_back(std::move(item));
        } else {
            while (i < s.size() && s[i] != ',') item += s[i++];
            if (item != "NULL") out.push_back(std::move(item));
        }
        if (i < s.size() && s[i] == ',') ++i;
    }
    return out;
}

std::int64_t Result::i64(int row, int col) const {
    if (is_null(row, col)) return 0;
    const char* v = PQgetvalue(r_, row, col);
    if (v[0] == 't') return 1;
    if (v[0] == 'f') return 0;
    return std::strtoll(v, nullptr, 10);
}

std::string Result::bytes(int row, int col) const {
    if (is_null(row, col)) return {};
    if (PQfformat(r_, col) == 1) return text(row, col);
    std::size_t n = 0;
    unsigned char* p = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
    if (!p) throw Error("out of memory decoding a bytea value", "", false);
    std::string out(reinterpret_cast<char*>(p), n);
    PQfreemem(p);
    return out;
}

std::int64_t Result::affected() const {
    const char* n = PQcmdTuples(r_);
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

namespace {
std::string seconds(std::chrono::milliseconds d) {
    return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100);
}
} // namespace

std::uint64_t Watch::begin() {
    std::lock_guard lk(mu_);
    running_.emplace(++next_, Clock::now());
    return next_;
}

void Watch::end(std::uint64_t ticket) {
    std::chrono::milliseconds took{0};
    {
        std::lock_guard lk(mu_);
        auto it = running_.find(ticket);
        if (it == running_.end()) return;
        took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - it->second);
        running_.erase(it);
        if (took <= limit_) return;
    }
    if (log_) log_("store: a statement finished after waiting " + seconds(took) + " s");
}

bool Watch::stalled() {
    std::uint64_t oldest;
    std::chrono::milliseconds waited;
    {
        std::lock_guard lk(mu_);
        if (running_.empty()) return false;
        oldest = running_.begin()->first;
        waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - running_.begin()->second);
        if (waited <= limit_) return false;
        if (logged_ == oldest) return true;
        logged_ = oldest;
    }
    if (log_)
        log_("warning: store: a statement has waited " + seconds(waited) +
             " s for PostgreSQL, which answers but does not finish it (a primary waiting for a synchronous "
             "replica that is gone?); accepted mail waits to be judged");
    return true;
}

namespace {
// Times one statement on a watched connection.
class Timed {
public:
    explicit Timed(Watch* w) : w_(w), ticket_(w ? w->begin() : 0) {}
    ~Timed() {
        if (w_) w_->end(ticket_);
    }
    Timed(const Timed&) = delete;
    Timed& operator=(const Timed&) = delete;

private:
    Watch* w_;
    std::uint64_t ticket_;
};
} // namespace

Conn::Conn(const std::string& url) {
    c_ = PQconnectdb(with_defaults(url).c_str());
    if (PQstatus(c_) != CONNECTION_OK) {
        std::string why = c_ ? PQerrorMessage(c_) : "out of memory";
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        for (auto& ch : why)
            if (ch == '\n') ch = ' ';
        PQfinish(c_);
        c_ = nullptr;
        throw Error("cannot connect to PostgreSQL at " + redact(url) + ": " + why, "", true);
    }
    // libpq prints the server's notices on stderr ("relation already
    // exists, skipping" at each start's CREATE ... IF NOT EXISTS): only
    // warnings and worse are worth a line in the daemon's output.
    PQclear(PQexec(c_, "SET client_min_messages = warning"));
}

Conn::~Conn() { PQfinish(c_); }

void Conn::fail(const std::string& what, PGresult* r) {
    std::string state;
    if (r) {
        const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (s) state = s;
    }
    std::string msg = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(c_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& ch : msg)
        if (ch == '\n') ch = ' ';
    PQclear(r);
    bool gone = PQstatus(c_) != CONNECTION_OK || unavailable_state(state);
    throw Error(what + ": " + msg + (state.empty() ? "" : " (SQLSTATE " + state + ")"), state, gone);
}

Result Conn::exec(const std::string& sql, const std::vector<Param>& params, bool binary_result) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
        std::string name = "r" + std::to_string(prepared_.size() + 1);
        PGresult* r = PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) fail("prepare " + sql.substr(0, 60), r);
        PQclear(r);
        it = prepared_.emplace(sql, std::move(name)).first;
    }
    Timed timed(watch_);
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        values[i] = params[i].null ? nullptr : params[i].value.data();
        lengths[i] = static_cast<int>(params[i].value.size());
        formats[i] = params[i].binary ? 1 : 0;
    }
    PGresult* r = PQexecPrepared(c_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                                 lengths.data(), formats.data(), binary_result ? 1 : 0);
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(sql.substr(0, 60), r);
    return Result(r);
}

void Conn::run(const std::string& sql) {
    Timed timed(watch_);
    PGresult* r = PQexec(c_, sql.c_str());
    auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(sql.substr(0, 60), r);
    PQclear(r);
}

void Conn::notify(const std::string& channel, const std::string& payload) {
    exec("SELECT pg_notify($1, $2)", {channel, payload});
}

Txn::~Txn() {
    if (done_) return;
    // After a failure the transaction is aborted; ROLLBACK ends it. A
    // broken connection is dropped by its lease, so nothing to do there.
    if (PQstatus(c_.raw()) == CONNECTION_OK) PQclear(PQexec(c_.raw(), "ROLLBACK"));
}

Lease::~Lease() {
    if (pool_ && c_) pool_->give_back(std::move(c_));
}

Pool::Pool(std::string url, std::size_t size, LogFn log, std::chrono::milliseconds wait,
           std::chrono::milliseconds stall)
    : url_(std::move(url)), size_(std::max<std::size_t>(1, size)), log_(std::move(log)), wait_(wait),
      watch_(stall, log_) {}

Pool::~Pool() = default;

void Pool::on_up(std::function<void()> f) {
    std::lock_guard lk(mu_);
    on_up_.push_back(std::move(f));
}

void Pool::failed(const std::string& why) {
    std::lock_guard lk(mu_);
    auto now = std::chrono::steady_clock::now();
    if (up_.exchange(false)) {
        backoff_ = std::chrono::milliseconds(500);
        if (log_) log_("warning: store: PostgreSQL unavailable: " + why + "; accepted mail is kept in the spool "
                       "and judged when it is back; retrying in " + std::to_string(backoff_.count()) + " ms");
        // Only when it goes down: callers failing meanwhile (often on this
        // pool's own "next try in" refusal) must not push the next attempt
        // further away, or a busy node would never try again.
        retry_at_ = now + backoff_;
    }
    // Idle connections to a server that went away are broken too.
    open_ -= std::min(open_, idle_.size());
    idle_.clear();
}

void Pool::reached() {
    std::vector<std::function<void()>> calls;
    {
        std::lock_guard lk(mu_);
        if (up_.exchange(true)) return;
        backoff_ = std::chrono::milliseconds(500);
        calls = on_up_;
    }
    if (log_) log_("store: PostgreSQL reachable again at " + redact(url_));
    for (auto& f : calls) f();
}

Lease Pool::acquire() {
    watch_.stalled(); // the log says so even when nobody asks /metrics
    std::unique_lock lk(mu_);
    auto deadline = std::chrono::steady_clock::now() + wait_;
    for (;;) {
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return Lease(*this, std::move(c));
        }
        if (open_ < size_) break;
        if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= size_)
            throw Error("store: no free PostgreSQL connection within " + std::to_string(wait_.count()) +
                            " ms (pool of " + std::to_string(size_) + ")",
                        "", true);
    }
    auto now = std::chrono::steady_clock::now();
    if (!up_ && now < retry_at_)
        throw Error("store: PostgreSQL unavailable; next try in " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now).count()) +
                        " ms",
                    "", true);
    ++open_;
    lk.unlock();
    try {
        auto c = std::make_unique<Conn>(url_);
        c->watched_by(&watch_);
        reached();
        return Lease(*this, std::move(c));
    } catch (const Error& e) {
        lk.lock();
        --open_;
        bool was_up = up_.exchange(false);
        if (!was_up) backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(30000));
        else backoff_ = std::chrono::milliseconds(500);
        retry_at_ = std::chrono::steady_clock::now() + backoff_;
        if (log_)
            log_("warning: store: " + std::string(e.what()) + "; " +
                 (was_up ? "accepted mail is kept in the spool and judged when it is back; " : "") + "retrying in " +
                 std::to_string(backoff_.count()) + " ms");
        cv_.notify_one();
        throw;
    }
}

void Pool::give_back(std::unique_ptr<Conn> c) {
    bool broken = !c->ok();
    {
        std::lock_guard lk(mu_);
        if (broken) {
            if (open_ > 0) --open_;
        } else {
            idle_.push_back(std::move(c));
        }
    }
    cv_.notify_one();
    if (broken) failed("the connection broke");
}

Listener::Listener(std::string url, LogFn log) : url_(std::move(url)), log_(std::move(log)) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
}

Listener::~Listener() {
    stop();
    ::close(wake_[0]);
    ::close(wake_[1]);
}

void Listener::on(const std::string& channel, std::function<void(const std::string&)> f) {
    handlers_[channel].push_back(std::move(f));
}

void Listener::start() { thread_ = std::thread([this] { run(); }); }

void Listener::stop() {
    if (stop_.exchange(true)) return;
    char b = 1;
    (void)!::write(wake_[1], &b, 1);
    if (thread_.joinable()) thread_.join();
}

void Listener::run() {
    auto backoff = std::chrono::milliseconds(500);
    while (!stop_) {
        std::unique_ptr<Conn> c;
        try {
            c = std::make_unique<Conn>(url_);
            for (const auto& [channel, fs] : handlers_) c->run("LISTEN \"" + channel + "\"");
        } catch (const Error& e) {
            struct pollfd p{wake_[0], POLLIN, 0};
            ::poll(&p, 1, static_cast<int>(backoff.count()));
            backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
            continue;
        }
        backoff = std::chrono::milliseconds(500);
        // Changes made before this LISTEN (while away, or before the first
        // connection) sent notifications nobody heard: every listener
        // looks again, now that nothing more can be missed.
        for (const auto& [channel, fs] : handlers_)
            for (const auto& f : fs) f("");
        while (!stop_ && c->ok()) {
            struct pollfd p[2] = {{PQsocket(c->raw()), POLLIN, 0}, {wake_[0], POLLIN, 0}};
            int n = ::poll(p, 2, 30000);
            if (n < 0 && errno != EINTR) break;
            if (p[1].revents) break;
            if (!PQconsumeInput(c->raw())) break;
            while (PGnotify* note = PQnotifies(c->raw())) {
                auto it = handlers_.find(note->relname);
                std::string payload = note->extra ? note->extra : "";
                PQfreemem(note);
                if (it != handlers_.end())
                    for (const auto& f : it->second) f(payload);
            }
            if (n == 0) { // idle: make sure the server is still there
                PGresult* r = PQexec(c->raw(), "SELECT 1");
                PQclear(r);
            }
        }
    }
}

} // namespace rapport::store::pg
