// relay.cc - see relay.h.

#include "daemon/lib/relay.h"

#include "common/strings.h"

#include "daemon/lib/background.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

namespace rapport::daemon {
namespace {

using common::iequals;
using common::starts_with_ci;

bool dropped_field(std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    auto name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    return iequals(name, "bcc") || iequals(name, "x-rapport-confirm");
}

struct Transcript {
    // What the last command sent was, so the next final reply is attributed.
    enum class Cmd { other, mail, rcpt, data, eod } cmd = Cmd::other;
    std::size_t rcpt_index = 0;     // RCPT commands sent so far
    int mail_code = 0, data_code = 0, eod_code = 0;
    std::string mail_reply, data_reply, eod_reply;
    std::vector<std::pair<int, std::string>> rcpt_replies;
    std::string partial; // multi-line reply text gathered so far
};

int debug_cb(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
    auto* t = static_cast<Transcript*>(userp);
    std::string_view s(data, size);
    if (type == CURLINFO_HEADER_OUT) {
        if (starts_with_ci(s, "RCPT TO:")) {
            t->cmd = Transcript::Cmd::rcpt;
        } else if (starts_with_ci(s, "MAIL FROM:")) {
            t->cmd = Transcript::Cmd::mail;
        } else if (starts_with_ci(s, "DATA")) {
            t->cmd = Transcript::Cmd::data;
        } else if (t->cmd == Transcript::Cmd::eod) {
            // The end-of-data marker may be logged as a header; keep waiting.
        } else {
            t->cmd = Transcript::Cmd::other;
        }
        return 0;
    }
    if (type != CURLINFO_HEADER_IN) return 0;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    if (s.size() < 3) return 0;
    bool final_line = s.size() == 3 || s[3] == ' ';
    std::string text(s.size() > 4 ? s.substr(4) : std::string_view{});
    if (!t->partial.empty()) t->partial += ' ';
    t->partial += text;
    if (!final_line) return 0;
    int code = std::atoi(std::string(s.substr(0, 3)).c_str());
    std::string reply = std::to_string(code) + " " + t->partial;
    t->partial.clear();
    switch (t->cmd) {
    case Transcript::Cmd::mail: t->mail_code = code; t->mail_reply = reply; break;
    case Transcript::Cmd::rcpt: t->rcpt_replies.emplace_back(code, reply); break;
    case Transcript::Cmd::data:
        t->data_code = code;
        t->data_reply = reply;
        if (code == 354) t->cmd = Transcript::Cmd::eod;
        return 0;
    case Transcript::Cmd::eod: t->eod_code = code; t->eod_reply = reply; break;
    case Transcript::Cmd::other: break;
    }
    if (t->cmd != Transcript::Cmd::rcpt) t->cmd = Transcript::Cmd::other;
    return 0;
}

struct Reader {
    std::string_view data;
};

size_t read_cb(char* buf, size_t size, size_t nitems, void* userp) {
    auto* r = static_cast<Reader*>(userp);
    size_t n = std::min(size * nitems, r->data.size());
    std::memcpy(buf, r->data.data(), n);
    r->data.remove_prefix(n);
    return n;
}

std::string rfc5322_date(std::time_t t) {
    char buf[64];
    struct tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

} // namespace

std::string prepare_for_relay(std::string_view data) {
    std::string out;
    out.reserve(data.size() + 64);
    bool in_header = true, dropping = false;
    std::size_t pos = 0;
    while (pos < data.size()) {
        // Find the line and its ending (CRLF, LF or CR).
        std::size_t e = data.find_first_of("\r\n", pos);
        std::string_view line = data.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
        bool has_eol = e != std::string_view::npos;
        std::size_t next = data.size();
        if (has_eol) next = (data[e] == '\r' && e + 1 < data.size() && data[e + 1] == '\n') ? e + 2 : e + 1;
        pos = next;
        if (in_header) {
            if (line.empty()) {
                in_header = false;
                dropping = false;
            } else if (line[0] == ' ' || line[0] == '\t') {
                if (dropping) continue; // a folded line of a dropped field
            } else if (line.find(':') == std::string_view::npos) {
                in_header = false; // no blank line before the body: the body starts here
                dropping = false;
            } else {
                dropping = dropped_field(line);
                if (dropping) continue;
            }
        }
        out.append(line);
        if (has_eol) out += "\r\n";
    }
    return out;
}

SmtpClient::SmtpClient(const Upstream& up, const RelaySettings& rs, std::string helo,
                       const std::atomic<bool>* stopping)
    : up_(up), rs_(rs), stopping_(stopping) {
    // The URL path is the EHLO name (curl's SMTP convention).
    url_ = std::string(up.implicit_tls ? "smtps://" : "smtp://") +
           (up.host.find(':') != std::string::npos ? "[" + up.host + "]" : up.host) + ":" +
           std::to_string(up.port) + "/" + helo;
    curl_ = curl_easy_init();
}

SmtpClient::~SmtpClient() {
    if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

SendOutcome SmtpClient::send(const std::string& mail_from, const std::vector<std::string>& rcpts,
                             std::string_view data) {
    SendOutcome out;
    auto* c = static_cast<CURL*>(curl_);
    if (!c) {
        out.error = "curl_easy_init failed";
        for (const auto& r : rcpts) out.rcpts.push_back({r, "pending", 0, out.error});
        return out;
    }
    Transcript t;
    Reader reader{data};
    curl_slist* list = nullptr;
    for (const auto& r : rcpts) list = curl_slist_append(list, ("<" + r + ">").c_str());
    std::string from = "<" + mail_from + ">";

    curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, list);
    // Keep going when some recipients are refused, so the others still get
    // the message and each refusal is recorded. (Spelt ALLLOWFAILS up to
    // curl 8.1; newer curl keeps that name as an alias.)
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &reader);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(up_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, up_.verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, up_.verify ? 2L : 0L);
    if (!up_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, up_.ca_file.c_str());
    if (!up_.username.empty()) {
        curl_easy_setopt(c, CURLOPT_USERNAME, up_.username.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, up_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(rs_.connect_timeout));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(rs_.transfer_timeout));
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); // feeds debug_cb, which reads the replies
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &t);
    if (stopping_) {
        // A slow upstream must not hold up shutdown: the message stays queued
        // and goes again at the next start (at least once, never lost).
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(stopping_));
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
                         +[](void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
                             return static_cast<std::atomic<bool>*>(p)->load() ? 1 : 0;
                         });
    }
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, nullptr);
    curl_easy_setopt(c, CURLOPT_READDATA, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);

    std::string curl_err = rc == CURLE_OK ? "" : (errbuf[0] ? errbuf : curl_easy_strerror(rc));
    out.transaction_done = t.eod_code != 0;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
        RecipientState r{rcpts[i], "pending", 0, ""};
        if (t.mail_code >= 500) {
            r = {rcpts[i], "failed", t.mail_code, "MAIL FROM: " + t.mail_reply};
        } else if (t.mail_code >= 400) {
            r = {rcpts[i], "pending", t.mail_code, "MAIL FROM: " + t.mail_reply};
        } else if (i < t.rcpt_replies.size()) {
            auto [code, reply] = t.rcpt_replies[i];
            if (code >= 500) r = {rcpts[i], "failed", code, reply};
            else if (code >= 400) r = {rcpts[i], "pending", code, reply};
            else if (t.eod_code >= 200 && t.eod_code < 300) r = {rcpts[i], "sent", t.eod_code, t.eod_reply};
            else if (t.eod_code >= 500) r = {rcpts[i], "failed", t.eod_code, t.eod_reply};
            else if (t.data_code >= 500) r = {rcpts[i], "failed", t.data_code, t.data_reply};
            else if (t.eod_code >= 400) r = {rcpts[i], "pending", t.eod_code, t.eod_reply};
            else r = {rcpts[i], "pending", 0, curl_err.empty() ? "no reply to end of data" : curl_err};
        } else {
            r = {rcpts[i], "pending", 0, curl_err.empty() ? "no reply from upstream" : curl_err};
        }
        out.rcpts.push_back(std::move(r));
    }
    if (rc != CURLE_OK && !out.transaction_done) out.error = curl_err;
    if (rc != CURLE_OK) {
        // After an error the connection state is unknown; start afresh.
        curl_easy_reset(c);
    }
    return out;
}

std::string failure_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                           const std::vector<RecipientState>& failed, std::string_view original) {
    // Quote the original's header section only: enough to recognise it,
    // without re-sending its attachments.
    std::string subject, msgid;
    std::size_t hdr_end = original.find("\r\n\r\n");
    std::string_view hdr = original.substr(0, hdr_end == std::string_view::npos ? original.size() : hdr_end);
    std::string out;
    out += "From: Mail Delivery System <MAILER-DAEMON@" + hostname + ">\r\n";
    out += "To: <" + sender + ">\r\n";
    out += "Subject: Undelivered Mail Returned to Sender\r\n";
    out += "Date: " + rfc5322_date(std::time(nullptr)) + "\r\n";
    out += "Message-ID: <" + id + ".notice@" + hostname + ">\r\n";
    out += "Auto-Submitted: auto-replied\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "\r\n";
    out += "This is the Rapport mail proxy at " + hostname + ".\r\n\r\n";
    out += "Your message could not be delivered to the following recipients:\r\n\r\n";
    for (const auto& f : failed) out += "  <" + f.rcpt + ">: " + (f.reply.empty() ? "failed" : f.reply) + "\r\n";
    out += "\r\nThe header of your message follows.\r\n\r\n";
    // Dot lines are fine: curl stuffs them; CRLF already normalised.
    out += std::string(hdr.substr(0, 16 * 1024));
    out += "\r\n";
    return out;
}

namespace {
constexpr std::chrono::seconds kMaxStoragePause{60};

std::string rcpt_list(const std::vector<RecipientState>& rs) {
    std::string out;
    for (const auto& r : rs) out += (out.empty() ? "<" : ", <") + r.rcpt + ">";
    return out;
}
} // namespace

Relay::Relay(const Config& cfg, Queue& q, LogFn log) : cfg_(cfg), q_(q), log_(std::move(log)) {
    // A write that succeeds again ends a pause at once (the next write of
    // any part of rapportd, or this relay's own retry).
    resumed_handle_ = q_.on_writes_resumed([this] {
        {
            std::lock_guard lk(mu_);
            paused_until_ = {};
            storage_backoff_ = std::chrono::seconds(1);
        }
        cv_.notify_all();
    });
}

Relay::~Relay() {
    stop();
    q_.forget_writes_resumed(resumed_handle_);
}

void Relay::start() {
    for (const auto& id : q_.interrupted())
        log_("warning: relay " + id + ": an attempt was under way when rapportd stopped; it goes again (the "
             "upstream may get it twice)");
    for (const auto& r : q_.rows_with_status(Status::queued)) schedule(r.id, r.next_attempt);
    for (unsigned i = 0; i < cfg_.relay.workers; ++i) threads_.emplace_back([this] { worker(); });
}

void Relay::stop() {
    stopping_ = true;
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
    std::unique_lock lk(mu_);
    if (parked_.empty() || flushing_) return;
    // A last try: the disk may have room again.
    paused_until_ = {};
    if (!flush_parked(lk))
        for (const auto& o : parked_)
            log_("error: relay " + o.id + ": the upstream accepted it but that could not be written down (" +
                 q_.write_error() + "); it goes again after the restart");
    parked_.clear();
}

void Relay::schedule(const std::string& id, std::int64_t due) {
    {
        std::lock_guard lk(mu_);
        if (!scheduled_.insert(id).second) return;
        due_.emplace(due, id);
    }
    cv_.notify_one();
}

std::size_t Relay::backlog() {
    std::lock_guard lk(mu_);
    return scheduled_.size();
}

void Relay::pause_for_storage(const std::string& what, const StorageError& e) {
    auto now = std::chrono::steady_clock::now();
    std::string line = "warning: relay: " + what + ": " + e.what() + "; " + e.kind();
    if (stop_) { // stopping: there is no more relaying to pause
        log_(line);
        return;
    }
    line += ": relaying ";
    if (paused_until_ > now) {
        log_(line + "stays paused");
        return;
    }
    paused_until_ = now + storage_backoff_;
    log_(line + "paused for " + std::to_string(storage_backoff_.count()) + " s");
    storage_backoff_ = std::min(storage_backoff_ * 2, kMaxStoragePause);
}

bool Relay::flush_parked(std::unique_lock<std::mutex>& lk) {
    flushing_ = true;
    std::vector<Outcome> todo;
    todo.swap(parked_);
    auto notices = std::move(unqueued_notices_);
    unqueued_notices_.clear();
    lk.unlock();
    std::vector<Outcome> left, done;
    std::optional<StorageError> failure;
    for (auto& o : todo) {
        if (failure) {
            left.push_back(std::move(o));
            continue;
        }
        try {
            q_.record_attempt(o.id, o.results, o.status, o.attempts, o.next, o.error);
            done.push_back(std::move(o));
        } catch (const StorageError& e) {
            failure = e;
            left.push_back(std::move(o));
        }
    }
    for (const auto& o : done) after_recorded(o);
    std::vector<Notice> notices_left;
    for (auto& n : notices) {
        if (!failure && !queue_notice(n)) failure = StorageError("cannot queue a notice", false);
        if (failure) notices_left.push_back(std::move(n));
    }
    lk.lock();
    flushing_ = false;
    for (auto& o : left) parked_.push_back(std::move(o));
    for (auto& n : notices_left) unqueued_notices_.push_back(std::move(n));
    for (const auto& o : done) {
        if (o.status == Status::queued) due_.emplace(o.next, o.id);
        else scheduled_.erase(o.id);
    }
    if (failure) {
        pause_for_storage("still cannot write down " + std::to_string(parked_.size()) + " outcomes and " +
                              std::to_string(unqueued_notices_.size()) + " notices",
                          *failure);
        return false;
    }
    if (!done.empty())
        log_("relay: the queue takes writes again: " + std::to_string(done.size()) +
             " outcomes written down; relaying resumes");
    storage_backoff_ = std::chrono::seconds(1);
    cv_.notify_all();
    return true;
}

void Relay::worker() {
    lower_this_threads_priority(); // behind the 250s
    SmtpClient client(cfg_.upstream, cfg_.relay, cfg_.hostname, &stopping_);
    std::unique_lock lk(mu_);
    while (!stop_) {
        // After a failed write: nothing new is sent until the pause is over
        // and what was sent meanwhile is written down.
        auto steady = std::chrono::steady_clock::now();
        if (paused_until_ > steady) {
            cv_.wait_until(lk, paused_until_);
            continue;
        }
        if (!parked_.empty() || !unqueued_notices_.empty()) {
            if (flushing_) cv_.wait(lk);
            else flush_parked(lk);
            continue;
        }
        if (due_.empty()) {
            cv_.wait(lk);
            continue;
        }
        auto now = now_s();
        if (due_.top().first > now) {
            cv_.wait_for(lk, std::chrono::seconds(due_.top().first - now));
            continue;
        }
        std::string id = due_.top().second;
        due_.pop();
        lk.unlock();
        Next next;
        std::optional<StorageError> write_failed;
        try {
            next = process(client, id);
        } catch (const StorageError& e) {
            // Before anything was sent (the intent, or a status): try again after the pause.
            write_failed = e;
            next = {Next::retry, now_s() + 1};
        } catch (const std::exception& e) {
            // Recovered: the message stays queued and is retried later.
            log_("warning: relay " + id + ": " + e.what());
            next = {Next::retry, now_s() + cfg_.relay.retry_initial};
        }
        lk.lock();
        if (write_failed) pause_for_storage(id + ": nothing sent", *write_failed);
        if (next.what == Next::retry) due_.emplace(next.at, id); // still in scheduled_: no one else takes it
        else if (next.what == Next::done) scheduled_.erase(id);
        // parked: stays in scheduled_ until its outcome is written
    }
}

Relay::Next Relay::process(SmtpClient& client, const std::string& id) {
    auto row = q_.row(id);
    if (!row || row->status != Status::queued) return {}; // dropped, or not released
    auto msg = q_.read_spool(id);
    if (!msg) {
        log_("panic: relay " + id + ": spool file missing; marking failed");
        q_.record_attempt(id, {}, Status::failed, row->attempts, 0, "spool file missing");
        return {};
    }
    std::vector<std::string> pending;
    bool sent_before = false;
    for (const auto& r : q_.recipients(id)) {
        if (r.status == "pending") pending.push_back(r.rcpt);
        sent_before |= r.status == "sent";
    }
    auto now = now_s();
    Outcome o;
    o.id = id;
    o.attempts = row->attempts + 1;
    std::int64_t delay = cfg_.relay.retry_initial;
    for (int i = 1; i < o.attempts && delay < cfg_.relay.retry_max; ++i) delay *= 2;
    delay = std::min<std::int64_t>(delay, cfg_.relay.retry_max);
    o.next = std::max(std::min<std::int64_t>(now + delay, msg->env.received + cfg_.relay.lifetime), now + 1);
    if (!pending.empty()) {
        // The intent, before a byte leaves: written, or nothing is sent.
        if (!q_.begin_attempt(id, o.attempts, o.next)) return {};
        auto t0 = std::chrono::steady_clock::now();
        SendOutcome s = client.send(msg->env.mail_from, pending, prepare_for_relay(msg->data));
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        o.results = std::move(s.rcpts);
        o.error = s.error;
        std::string summary;
        for (const auto& r : o.results) summary += " <" + r.rcpt + ">=" + r.status + "(" + std::to_string(r.code) + ")";
        log_("relay " + id + " attempt=" + std::to_string(o.attempts) + " ms=" + std::to_string(ms) + summary +
             (o.error.empty() ? "" : " error=\"" + o.error + "\""));
    }
    bool expired = now - msg->env.received >= static_cast<std::int64_t>(cfg_.relay.lifetime);
    bool any_pending = false, any_sent = sent_before;
    for (auto& r : o.results) {
        if (r.status == "pending" && expired) {
            r.status = "failed";
            r.reply = "gave up after " + std::to_string(cfg_.relay.lifetime) + "s: " + r.reply;
        }
        if (r.status == "failed") o.failed.push_back(r);
        any_pending |= r.status == "pending";
        any_sent |= r.status == "sent";
    }
    if (any_pending) {
        o.status = Status::queued;
    } else {
        o.status = any_sent ? Status::relayed : Status::failed;
        o.next = 0;
    }
    if (!o.failed.empty()) {
        log_("bounce " + id + " from=<" + msg->env.mail_from + "> failed: " + rcpt_list(o.failed));
        // Never about a notice or a null sender: that is how mail loops start.
        if (cfg_.relay.notify_sender && !msg->env.notice && !msg->env.mail_from.empty()) {
            o.sender = msg->env.mail_from;
            o.notice = failure_notice(cfg_.hostname, id, msg->env.mail_from, o.failed, msg->data);
        }
    }
    return finish(std::move(o));
}

Relay::Next Relay::finish(Outcome o) {
    try {
        q_.record_attempt(o.id, o.results, o.status, o.attempts, o.next, o.error);
    } catch (const StorageError& e) {
        // The upstream may have it: keep the outcome, send nothing more.
        std::lock_guard lk(mu_);
        std::string what = "cannot write down attempt " + std::to_string(o.attempts) + " of " + o.id;
        if (!o.results.empty()) what += " (" + rcpt_list(o.results) + ")";
        parked_.push_back(std::move(o));
        pause_for_storage(what + "; kept, and not sent again", e);
        return {Next::parked, 0};
    }
    after_recorded(o);
    if (o.status == Status::queued) return {Next::retry, o.next};
    return {};
}

void Relay::after_recorded(const Outcome& o) {
    if (o.status != Status::queued) q_.remove_spool(o.id);
    if (!o.notice.empty()) notify({o.sender, o.notice, "Undelivered Mail Returned to Sender", o.id});
}

void Relay::notify(Notice n) {
    if (queue_notice(n)) return;
    std::lock_guard lk(mu_);
    unqueued_notices_.push_back(std::move(n));
    cv_.notify_all();
}

bool Relay::queue_notice(const Notice& n) {
    Envelope env;
    env.mail_from = "";
    env.rcpts = {n.sender};
    env.received = now_s();
    env.notice = true;
    std::string id = q_.new_id();
    bool spooled = false;
    try {
        q_.write_spool(id, env, n.data);
        spooled = true;
        MessageInfo info;
        info.action = "relay";
        info.findings_json = "[]";
        info.subject = n.subject;
        info.header_to = n.sender;
        info.size = n.data.size();
        q_.insert(id, env, info, Status::queued, env.received);
    } catch (const std::exception& e) {
        // Kept in memory and queued once writes succeed; a spool file
        // without a row would otherwise be found again at the next start.
        if (spooled) q_.remove_spool(id);
        log_("warning: relay: cannot queue the notice to <" + n.sender + ">" +
             (n.about.empty() ? "" : " about " + n.about) + ": " + e.what() + "; trying again later");
        return false;
    }
    schedule(id, env.received);
    return true;
}

} // namespace rapport::daemon
