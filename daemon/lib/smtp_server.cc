// smtp_server.cc - see smtp_server.h. All session state is touched only on
// the network thread; intake replies are posted back to it.

#include "daemon/lib/smtp_server.h"

#include "daemon/lib/smtp_protocol.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <deque>
#include <optional>
#include <set>
#include <unordered_map>

namespace rapport::daemon {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

void LatencyStats::add(std::int64_t us) {
    std::lock_guard lk(mu_);
    if (sample_.size() < 4'000'000) sample_.push_back(us);
}

std::string LatencyStats::summary(bool reset) {
    std::vector<std::int64_t> s;
    {
        std::lock_guard lk(mu_);
        s = sample_;
        if (reset) sample_.clear();
    }
    if (s.empty()) return "n=0";
    std::sort(s.begin(), s.end());
    auto pct = [&](double p) { return s[std::min(s.size() - 1, static_cast<std::size_t>(p * static_cast<double>(s.size())))]; };
    return "n=" + std::to_string(s.size()) + " p50=" + std::to_string(pct(0.50)) + "us p90=" +
           std::to_string(pct(0.90)) + "us p99=" + std::to_string(pct(0.99)) + "us max=" + std::to_string(s.back()) +
           "us";
}

// Open sessions per client address. A session may end on any thread (the
// last reference to it can be a reply callback on a pool thread): locked.
class ClientCounts {
public:
    // Counts a new session from `addr`; false (nothing counted) when it
    // already has `limit` open.
    bool add(const std::string& addr, std::size_t limit) {
        std::lock_guard lk(mu_);
        auto& n = open_[addr];
        if (n >= limit) return false;
        ++n;
        return true;
    }
    void remove(const std::string& addr) {
        std::lock_guard lk(mu_);
        auto it = open_.find(addr);
        if (it != open_.end() && --it->second == 0) open_.erase(it);
    }
    // True at most once a minute per address: refusals are logged, not every one.
    bool should_log(const std::string& addr) {
        std::lock_guard lk(mu_);
        auto now = std::chrono::steady_clock::now();
        if (logged_.size() > 10000) logged_.clear();
        auto [it, fresh] = logged_.emplace(addr, now);
        if (!fresh && now - it->second < std::chrono::minutes(1)) return false;
        it->second = now;
        return true;
    }

private:
    std::mutex mu_;
    std::unordered_map<std::string, std::size_t> open_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> logged_;
};

namespace {

// "::ffff:192.0.2.1" -> "192.0.2.1": one address, one count.
std::string client_address(const tcp::socket& sock) {
    error_code ec;
    auto ep = sock.remote_endpoint(ec);
    if (ec) return "unknown";
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a.to_string();
}

class Session : public std::enable_shared_from_this<Session> {
public:
    struct Shared {
        const Config& cfg;
        Intake& intake;
        LogFn& log;
        bool auth_required;
        std::shared_ptr<std::atomic<std::size_t>> active;
        std::shared_ptr<LatencyStats> latency;
        Logins* logins;           // may be null: nobody can log in
        std::shared_ptr<ClientCounts> clients;
        bool counted;             // counted in `clients` (not an exception)
    };

    Session(tcp::socket sock, asio::ssl::context& tls, Shared sh, std::string client)
        : sh_(std::move(sh)), stream_(std::move(sock), tls), timer_(stream_.get_executor()),
          auth_timer_(stream_.get_executor()), client_(std::move(client)) {}
    ~Session() {
        --*sh_.active;
        if (sh_.counted) sh_.clients->remove(client_);
    }

    void start() {
        // Pre-greeting bytes: a client that talks before the 220 is not
        // speaking SMTP (Postfix postscreen's "PREGREET" test).
        error_code ec;
        if (stream_.next_layer().available(ec) > 0 && !ec) {
            reply("554 5.5.1 Error: SMTP protocol synchronization (command sent before greeting)\r\n");
            close_after_write();
            return;
        }
        reply("220 " + sh_.cfg.hostname + " ESMTP Rapport\r\n");
        next_command();
        do_read();
    }

private:
    enum class AuthStep { none, plain, login_user, login_pass };

    const SmtpLimits& lim() const { return sh_.cfg.limits; }

    // --- I/O ---------------------------------------------------------------
    void do_read() {
        if (reading_ || closing_ || paused_) return;
        reading_ = true;
        auto self = shared_from_this();
        auto h = [this, self](error_code ec, std::size_t n) {
            reading_ = false;
            if (ec) {
                close_now();
                return;
            }
            inbuf_.append(rbuf_.data(), n);
            process_input();
            do_read();
        };
        if (tls_) stream_.async_read_some(asio::buffer(rbuf_), h);
        else stream_.next_layer().async_read_some(asio::buffer(rbuf_), h);
    }

    // --- time limits ---------------------------------------------------------
    // Each command line has command_timeout seconds in all, from when the
    // previous one was answered; bytes that trickle in do not extend it.
    void next_command() {
        deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(lim().command_timeout);
        arm_timer();
    }

    // DATA has data_timeout seconds plus one for every data_min_rate octets
    // received so far, so a slow but steady upload finishes and a trickle
    // does not (Apache mod_reqtimeout's MinRate).
    void data_deadline(bool arm) {
        auto extra = lim().data_min_rate ? reader_->received() / lim().data_min_rate : 0;
        auto d = data_start_ + std::chrono::seconds(lim().data_timeout) + std::chrono::seconds(extra);
        if (d == deadline_ && !arm) return;
        deadline_ = d;
        arm_timer();
    }

    void arm_timer() {
        timer_.expires_at(deadline_);
        auto self = shared_from_this();
        timer_.async_wait([this, self](error_code ec) {
            if (ec || closing_ || paused_) return;
            if (timer_.expiry() > asio::steady_timer::clock_type::now()) return; // re-armed
            if (in_data_) {
                auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - data_start_);
                sh_.log("timeout from " + client_ + " in DATA: " + std::to_string(reader_->received()) + " octets in " +
                        std::to_string(secs.count()) + " s (data_timeout " + std::to_string(lim().data_timeout) +
                        " s, data_min_rate " + std::to_string(lim().data_min_rate) + " octets/s)");
            } else {
                sh_.log("timeout from " + client_ + ": no complete command within " +
                        std::to_string(lim().command_timeout) + " s");
            }
            reply("421 4.4.2 " + sh_.cfg.hostname + " Error: timeout exceeded\r\n");
            // A client that does not read what we send would keep the session
            // open for ever waiting for that reply to drain.
            if (writing_) close_now();
            else close_after_write();
        });
    }

    void reply(std::string s) {
        if (closed_) return;
        outbuf_ += s;
        flush();
    }

    void flush() {
        if (writing_ || outbuf_.empty() || closed_) return;
        writing_ = true;
        wbuf_.swap(outbuf_);
        outbuf_.clear();
        auto self = shared_from_this();
        auto h = [this, self](error_code ec, std::size_t) {
            writing_ = false;
            wbuf_.clear();
            if (ec) {
                close_now();
                return;
            }
            if (eod_pending_) {
                eod_pending_ = false;
                sh_.latency->add(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - eod_time_)
                                     .count());
            }
            if (!outbuf_.empty()) {
                flush();
                return;
            }
            if (closing_) {
                close_now();
                return;
            }
            if (starttls_pending_) {
                starttls_pending_ = false;
                handshake();
            }
        };
        if (tls_) asio::async_write(stream_, asio::buffer(wbuf_), h);
        else asio::async_write(stream_.next_layer(), asio::buffer(wbuf_), h);
    }

    void close_after_write() {
        closing_ = true;
        if (!writing_ && outbuf_.empty()) close_now();
    }

    void close_now() {
        if (closed_) return;
        closed_ = closing_ = true;
        timer_.cancel();
        auth_timer_.cancel();
        error_code ec;
        stream_.next_layer().shutdown(tcp::socket::shutdown_both, ec);
        stream_.next_layer().close(ec);
    }

    void handshake() {
        next_command(); // the handshake has the time of a command
        auto self = shared_from_this();
        stream_.async_handshake(asio::ssl::stream_base::server, [this, self](error_code ec) {
            if (ec) {
                sh_.log("warning: TLS handshake from " + client_ + " failed: " + ec.message());
                close_now();
                return;
            }
            tls_ = true;
            paused_ = false;
            next_command();
            do_read();
        });
    }

    // --- framing -----------------------------------------------------------
    void process_input() {
        bool answered = false; // a command line was taken: the next one's clock starts
        while (!paused_ && !closing_) {
            if (in_data_) {
                std::size_t used = reader_->feed(inbuf_);
                inbuf_.erase(0, used);
                if (reader_->state() == smtp::DataReader::State::reading) {
                    data_deadline(false);
                    return;
                }
                if (reader_->state() == smtp::DataReader::State::bare_eol) {
                    bare_eol("message data");
                    return;
                }
                finish_data();
                continue;
            }
            auto lf = inbuf_.find('\n');
            if (lf == std::string::npos) {
                auto cr = inbuf_.find('\r');
                if (cr != std::string::npos && cr + 1 < inbuf_.size()) { // CR not followed by LF
                    bare_eol("command");
                } else if (inbuf_.size() > lim().max_command_line) {
                    reply("500 5.5.2 Error: command line too long\r\n");
                    close_after_write();
                }
                break;
            }
            if (lf == 0 || inbuf_[lf - 1] != '\r') {
                bare_eol("command");
                return;
            }
            std::string line = inbuf_.substr(0, lf - 1);
            inbuf_.erase(0, lf + 1);
            if (line.find('\r') != std::string::npos) {
                bare_eol("command");
                return;
            }
            answered = true;
            if (line.size() + 2 > lim().max_command_line) {
                reply("500 5.5.2 Error: command line too long\r\n");
                if (error()) return;
                continue;
            }
            if (line.find('\0') != std::string::npos) {
                // Where a C string ends is not where the line ends: interpret none of it.
                auth_step_ = AuthStep::none;
                reply("500 5.5.2 Error: NUL character in command\r\n");
                if (error()) return;
                continue;
            }
            handle_line(line);
        }
        if (answered && !in_data_ && !paused_ && !closing_) next_command();
    }

    void bare_eol(const char* where) {
        sh_.log("refused bare CR or LF in " + std::string(where) + " from " + client_);
        reply("521 5.5.2 " + sh_.cfg.hostname + " Error: bare <CR> or <LF> received; only <CR><LF> ends a line\r\n");
        close_after_write();
    }

    // Counts a client error; true when the session was closed for too many.
    bool error() {
        if (++errors_ < lim().max_errors) return false;
        reply("421 4.7.0 " + sh_.cfg.hostname + " Error: too many errors\r\n");
        close_after_write();
        return true;
    }

    bool improper_pipelining() {
        sh_.log("improper command pipelining from " + client_);
        reply("503 5.5.0 Error: improper use of SMTP command pipelining\r\n");
        close_after_write();
        return true;
    }

    void reset_transaction() {
        mail_from_.reset();
        rcpts_.clear();
        rcpt_set_.clear();
    }

    // --- commands ----------------------------------------------------------
    void handle_line(const std::string& line) {
        bool pending = !inbuf_.empty();
        if (auth_step_ != AuthStep::none) {
            auth_continue(line);
            return;
        }
        smtp::Command cmd = smtp::parse_command(line);
        const std::string& v = cmd.verb;
        // RFC 2920: these must end a command group; anything already sent
        // after them was sent blind. Without PIPELINING nothing may be.
        if (pending && (!pipelining_ || v == "EHLO" || v == "HELO" || v == "DATA" || v == "STARTTLS" ||
                        v == "AUTH") && v != "QUIT") {
            improper_pipelining();
            return;
        }
        if (v == "EHLO" || v == "HELO") return cmd_helo(cmd, v == "EHLO");
        if (v == "MAIL") return cmd_mail(cmd);
        if (v == "RCPT") return cmd_rcpt(cmd);
        if (v == "DATA") return cmd_data(cmd);
        if (v == "RSET") {
            reset_transaction();
            return reply("250 2.0.0 Ok\r\n");
        }
        if (v == "NOOP") return reply("250 2.0.0 Ok\r\n");
        if (v == "QUIT") {
            reply("221 2.0.0 Bye\r\n");
            close_after_write();
            return;
        }
        if (v == "STARTTLS") return cmd_starttls(cmd);
        if (v == "AUTH") return cmd_auth(cmd);
        if (v == "VRFY") return reply("252 2.0.0 Cannot VRFY user; try RCPT\r\n");
        if (v == "EXPN") return reply("502 5.5.1 Error: command not implemented\r\n");
        if (v == "HELP") return reply("214 2.0.0 See RFC 5321\r\n");
        if (v == "BDAT") {
            reply("502 5.5.1 Error: command not implemented\r\n");
            // Its payload follows unframed; the only safe thing is to stop.
            close_after_write();
            return;
        }
        reply("502 5.5.2 Error: command not recognized\r\n");
        error();
    }

    void cmd_helo(const smtp::Command& cmd, bool ehlo) {
        if (cmd.arg.empty()) {
            reply("501 5.5.4 Syntax: " + std::string(ehlo ? "EHLO" : "HELO") + " hostname\r\n");
            error();
            return;
        }
        reset_transaction();
        helo_ = cmd.arg.substr(0, 255);
        pipelining_ = ehlo;
        if (!ehlo) return reply("250 " + sh_.cfg.hostname + "\r\n");
        std::string r = "250-" + sh_.cfg.hostname + "\r\n";
        r += "250-PIPELINING\r\n";
        r += "250-SIZE " + std::to_string(lim().max_message_size) + "\r\n";
        if (!tls_) r += "250-STARTTLS\r\n";
        if (auth_offered()) r += "250-AUTH PLAIN LOGIN\r\n";
        r += "250-ENHANCEDSTATUSCODES\r\n";
        r += "250 8BITMIME\r\n";
        reply(r);
    }

    // Someone can log in: a user of the config file or a job club member.
    bool auth_enabled() const { return sh_.logins && sh_.logins->any(); }
    bool auth_offered() const { return (tls_ || !sh_.auth_required) && auth_enabled(); }

    void cmd_mail(const smtp::Command& cmd) {
        if (helo_.empty()) return reply("503 5.5.1 Error: send HELO/EHLO first\r\n");
        if (mail_from_) return reply("503 5.5.1 Error: nested MAIL command\r\n");
        if (sh_.auth_required && user_.empty()) {
            reply("530 5.7.0 Error: authentication required\r\n");
            error();
            return;
        }
        // The queue refuses writes (a full disk): say so before the client sends the message.
        if (!sh_.intake.accepting()) return reply("452 4.3.1 Insufficient system storage, try again later\r\n");
        std::string why;
        auto path = smtp::parse_path(cmd.arg, "FROM", &why);
        if (path && !path->address.empty()) {
            if (smtp::non_ascii(path->address)) return non_ascii_address("sender");
            why = smtp::mailbox_problem(path->address);
        }
        if (!path || !why.empty()) {
            reply("501 5.1.7 Bad sender address syntax" + (why.empty() ? std::string() : ": " + why) + "\r\n");
            error();
            return;
        }
        for (const auto& [k, val] : path->params) {
            if (k == "SIZE") {
                // size-value ::= 1*20DIGIT (RFC 1870): no sign, no spaces, no hex.
                if (val.empty() || val.size() > 20 ||
                    !std::all_of(val.begin(), val.end(), [](char c) { return c >= '0' && c <= '9'; }))
                    return reply("501 5.5.4 Bad SIZE parameter: expected 1 to 20 digits\r\n");
                errno = 0;
                unsigned long long n = std::strtoull(val.c_str(), nullptr, 10);
                if (errno == ERANGE || n > lim().max_message_size)
                    return reply("552 5.3.4 Message size exceeds fixed limit\r\n");
            } else if (k == "BODY") {
                if (val != "8BITMIME" && val != "7BIT") return reply("501 5.5.4 Bad BODY parameter\r\n");
            } else if (k == "AUTH") {
                // RFC 4954 5: informational; the submitter's identity is the session's.
            } else {
                return reply("555 5.5.4 Unsupported option: " + k + "\r\n");
            }
        }
        mail_from_ = path->address;
        reply("250 2.1.0 Ok\r\n");
    }

    void cmd_rcpt(const smtp::Command& cmd) {
        if (!mail_from_) return reply("503 5.5.1 Error: need MAIL command\r\n");
        std::string why;
        auto path = smtp::parse_path(cmd.arg, "TO", &why);
        if (path) {
            if (smtp::non_ascii(path->address)) return non_ascii_address("recipient");
            why = smtp::mailbox_problem(path->address, /*allow_postmaster=*/true);
        }
        if (!path || !why.empty()) {
            reply("501 5.1.3 Bad recipient address syntax" + (why.empty() ? std::string() : ": " + why) + "\r\n");
            error();
            return;
        }
        if (!path->params.empty()) return reply("555 5.5.4 Unsupported option: " + path->params.begin()->first + "\r\n");
        if (rcpt_set_.count(path->address)) return reply("250 2.1.5 Ok\r\n"); // duplicate: one copy
        if (rcpts_.size() >= lim().max_recipients) return reply("452 4.5.3 Error: too many recipients\r\n");
        rcpt_set_.insert(path->address);
        rcpts_.push_back(path->address);
        reply("250 2.1.5 Ok\r\n");
    }

    // RFC 6531 3.5: an address with non-ASCII octets needs SMTPUTF8, which is not offered.
    void non_ascii_address(const char* whose) {
        reply(std::string("553 5.6.7 Error: non-ASCII ") + whose +
              " address; this server does not offer SMTPUTF8\r\n");
        error();
    }

    void cmd_data(const smtp::Command& cmd) {
        if (!mail_from_) return reply("503 5.5.1 Error: need MAIL command\r\n");
        if (rcpts_.empty()) return reply("554 5.5.1 Error: no valid recipients\r\n");
        if (!cmd.arg.empty()) return reply("501 5.5.4 Syntax: DATA\r\n");
        reader_.emplace(lim().max_message_size, lim().max_data_line);
        in_data_ = true;
        data_start_ = std::chrono::steady_clock::now();
        data_deadline(true);
        reply("354 End data with <CR><LF>.<CR><LF>\r\n");
    }

    void finish_data() {
        in_data_ = false;
        auto& r = *reader_;
        if (r.too_big()) {
            reader_.reset();
            reset_transaction();
            reply("552 5.3.4 Message size exceeds fixed limit\r\n");
            return;
        }
        if (r.line_too_long()) {
            reader_.reset();
            reset_transaction();
            reply("554 5.6.0 Message has a line longer than " + std::to_string(lim().max_data_line) +
                  " octets\r\n");
            return;
        }
        if (r.has_nul()) {
            reader_.reset();
            reset_transaction();
            reply("554 5.6.0 Error: message contains a NUL character; send binary content encoded (base64)\r\n");
            return;
        }
        Envelope env;
        env.mail_from = *mail_from_;
        env.rcpts = rcpts_;
        env.account = user_;
        env.helo = helo_;
        env.client = client_;
        env.received = static_cast<std::int64_t>(std::time(nullptr));
        std::string data = std::move(r.message());
        reader_.reset();
        reset_transaction();
        // Anything after the final dot was sent before our reply: allowed
        // only when PIPELINING was offered (RFC 2920).
        pipelined_after_data_ = !inbuf_.empty();
        paused_ = true;
        timer_.cancel();
        eod_time_ = std::chrono::steady_clock::now();
        auto self = shared_from_this();
        auto ex = stream_.get_executor();
        sh_.intake.submit(std::move(env), std::move(data), [self, ex](std::string rep) {
            asio::post(ex, [self, rep = std::move(rep)]() mutable { self->on_intake(std::move(rep)); });
        });
    }

    void on_intake(std::string rep) {
        if (closed_) return;
        paused_ = false;
        eod_pending_ = true;
        reply(std::move(rep));
        if (pipelined_after_data_ && !pipelining_) {
            improper_pipelining();
            return;
        }
        next_command();
        process_input();
        do_read();
    }

    void cmd_starttls(const smtp::Command& cmd) {
        if (tls_) return reply("503 5.5.1 Error: TLS already active\r\n");
        if (!cmd.arg.empty()) return reply("501 5.5.4 Syntax: STARTTLS\r\n");
        reply("220 2.0.0 Ready to start TLS\r\n");
        // RFC 3207 4.2: forget everything learnt before TLS.
        reset_transaction();
        helo_.clear();
        user_.clear();
        pipelining_ = false;
        inbuf_.clear();
        paused_ = true;
        starttls_pending_ = true;
    }

    void cmd_auth(const smtp::Command& cmd) {
        if (!auth_enabled()) return reply("502 5.5.1 Error: authentication not enabled\r\n");
        if (helo_.empty()) return reply("503 5.5.1 Error: send EHLO first\r\n");
        if (!user_.empty()) return reply("503 5.5.1 Error: already authenticated\r\n");
        if (mail_from_) return reply("503 5.5.1 Error: MAIL transaction in progress\r\n");
        if (!tls_ && sh_.auth_required)
            return reply("538 5.7.11 Encryption required for requested authentication mechanism\r\n");
        auto sp = cmd.arg.find(' ');
        std::string mech = smtp::parse_command(cmd.arg.substr(0, sp)).verb;
        std::string initial = sp == std::string::npos ? "" : cmd.arg.substr(sp + 1);
        if (mech == "PLAIN") {
            if (initial.empty()) {
                auth_step_ = AuthStep::plain;
                return reply("334 \r\n");
            }
            return auth_plain(initial);
        }
        if (mech == "LOGIN") {
            if (initial.empty()) {
                auth_step_ = AuthStep::login_user;
                return reply("334 VXNlcm5hbWU6\r\n"); // "Username:"
            }
            auto u = smtp::base64_decode(initial);
            if (!u) return auth_failed("501 5.5.2 Error: bad base64\r\n");
            login_user_ = *u;
            auth_step_ = AuthStep::login_pass;
            return reply("334 UGFzc3dvcmQ6\r\n"); // "Password:"
        }
        reply("504 5.5.4 Error: unsupported authentication mechanism\r\n");
    }

    void auth_continue(const std::string& line) {
        AuthStep step = auth_step_;
        auth_step_ = AuthStep::none;
        if (line == "*") return reply("501 5.0.0 Error: authentication aborted\r\n");
        if (step == AuthStep::plain) return auth_plain(line);
        auto d = smtp::base64_decode(line);
        if (!d) return auth_failed("501 5.5.2 Error: bad base64\r\n");
        if (step == AuthStep::login_user) {
            login_user_ = *d;
            auth_step_ = AuthStep::login_pass;
            return reply("334 UGFzc3dvcmQ6\r\n");
        }
        check_credentials(login_user_, *d);
    }

    void auth_plain(const std::string& b64) {
        auto d = smtp::base64_decode(b64);
        if (!d) return auth_failed("501 5.5.2 Error: bad base64\r\n");
        // authzid NUL authcid NUL passwd (RFC 4616)
        auto a = d->find('\0');
        auto b = a == std::string::npos ? std::string::npos : d->find('\0', a + 1);
        if (b == std::string::npos) return auth_failed("501 5.5.2 Error: bad PLAIN response\r\n");
        std::string authz = d->substr(0, a), user = d->substr(a + 1, b - a - 1), pass = d->substr(b + 1);
        // Acting for someone else is not offered: a failure like any other
        // (counted, answered after the same delay).
        if (!authz.empty() && authz != user) return check_credentials("", pass);
        check_credentials(user, pass);
    }

    void check_credentials(const std::string& user, const std::string& pass) {
        // A check takes tens of milliseconds (argon2id, on purpose) and a
        // failure is answered later still (logins.h): nothing is read
        // meanwhile (AUTH ends a pipelined group, so nothing may follow it
        // unanswered), and the session's deadline waits.
        paused_ = true;
        timer_.cancel();
        auto self = shared_from_this();
        auto ex = stream_.get_executor();
        sh_.logins->check(client_, user, pass, [self, ex](Logins::Result r) {
            asio::post(ex, [self, r = std::move(r)]() mutable { self->on_auth(std::move(r)); });
        });
    }

    void on_auth(Logins::Result r) {
        if (closed_) return;
        if (r.outcome == Logins::Result::Outcome::wrong && r.answer_at > std::chrono::steady_clock::now()) {
            // Every failure from this address takes the same time, whoever the user.
            auth_timer_.expires_at(r.answer_at);
            auto self = shared_from_this();
            auth_timer_.async_wait([self, r = std::move(r)](error_code ec) mutable {
                if (ec) return;
                r.answer_at = {};
                self->on_auth(std::move(r));
            });
            return;
        }
        paused_ = false;
        switch (r.outcome) {
        case Logins::Result::Outcome::ok:
            user_ = std::move(r.account);
            reply("235 2.7.0 Authentication successful\r\n");
            break;
        case Logins::Result::Outcome::wrong:
            auth_failed("535 5.7.8 Error: authentication failed\r\n");
            break;
        case Logins::Result::Outcome::refused:
            reply(r.reply);
            break;
        }
        next_command();
        process_input();
        do_read();
    }

    void auth_failed(const std::string& r) {
        reply(r);
        error();
    }

    Shared sh_;
    asio::ssl::stream<tcp::socket> stream_;
    asio::steady_timer timer_;
    asio::steady_timer auth_timer_;
    std::string client_;
    std::array<char, 16384> rbuf_{};
    std::string inbuf_, outbuf_, wbuf_;
    bool reading_ = false, writing_ = false, closing_ = false, closed_ = false, paused_ = false;
    bool tls_ = false, starttls_pending_ = false, pipelining_ = false, in_data_ = false;
    bool pipelined_after_data_ = false, eod_pending_ = false;
    std::chrono::steady_clock::time_point eod_time_;
    std::chrono::steady_clock::time_point deadline_, data_start_;
    std::size_t errors_ = 0;
    std::string helo_, user_, login_user_;
    AuthStep auth_step_ = AuthStep::none;
    std::optional<std::string> mail_from_;
    std::vector<std::string> rcpts_;
    std::set<std::string> rcpt_set_;
    std::optional<smtp::DataReader> reader_;
};

} // namespace

SmtpServer::SmtpServer(asio::io_context& io, const Config& cfg, Intake& intake, asio::ssl::context& tls, LogFn log)
    : io_(io), cfg_(cfg), intake_(intake), tls_(tls), log_(std::move(log)), acceptor_(io),
      active_(std::make_shared<std::atomic<std::size_t>>(0)), latency_(std::make_shared<LatencyStats>()),
      clients_(std::make_shared<ClientCounts>()) {}

void SmtpServer::start(int inherited) {
    error_code ec;
    auto addr = asio::ip::make_address(cfg_.listen.host == "localhost" ? "127.0.0.1" : cfg_.listen.host, ec);
    if (ec) throw std::runtime_error("listen address '" + cfg_.listen.host + "' is not an IP address");
    auth_required_ = !addr.is_loopback();
    tcp::endpoint ep(addr, cfg_.listen.port);
    if (inherited >= 0) { // socket activation: already bound and listening
        acceptor_.assign(ep.protocol(), inherited);
        do_accept();
        return;
    }
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep, ec);
    if (ec) throw std::runtime_error("cannot listen on " + cfg_.listen.str() + ": " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections);
    do_accept();
}

void SmtpServer::stop() {
    error_code ec;
    acceptor_.close(ec);
}

std::uint16_t SmtpServer::port() const { return acceptor_.local_endpoint().port(); }

void SmtpServer::do_accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket sock) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
            sock.set_option(tcp::no_delay(true), ec);
            std::string client = client_address(sock);
            const auto& lim = cfg_.limits;
            bool exempt = std::find(lim.client_limit_exceptions.begin(), lim.client_limit_exceptions.end(), client) !=
                          lim.client_limit_exceptions.end();
            auto refuse = [&sock](std::string_view why) {
                error_code wec;
                asio::write(sock, asio::buffer(why.data(), why.size()), wec);
                sock.close(wec);
            };
            if (active_->load() >= lim.max_connections) {
                refuse("421 4.7.0 Error: too many connections; try again later\r\n");
                log_("warning: connection limit " + std::to_string(lim.max_connections) + " reached");
            } else if (!exempt && !clients_->add(client, lim.max_connections_per_client)) {
                // One address cannot take every connection: the others still get in.
                refuse("421 4.7.0 Error: too many connections from your address; try again later\r\n");
                if (clients_->should_log(client))
                    log_("warning: " + client + " has " + std::to_string(lim.max_connections_per_client) +
                         " connections open (max_connections_per_client); refusing more (logged once a minute)");
            } else {
                ++*active_;
                auto s = std::make_shared<Session>(
                    std::move(sock), tls_,
                    Session::Shared{cfg_, intake_, log_, auth_required_, active_, latency_, logins_, clients_, !exempt},
                    std::move(client));
                s->start();
            }
        } else {
            // EMFILE and friends: log, pause briefly would be better; keep accepting.
            log_("warning: accept: " + ec.message());
        }
        do_accept();
    });
}

} // namespace rapport::daemon
