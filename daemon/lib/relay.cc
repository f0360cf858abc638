// relay.cc - see relay.h.

#include "daemon/lib/relay.h"

#include "daemon/lib/background.h"
#include "daemon/lib/notices.h"

#include <algorithm>
#include <chrono>
#include <ctime>

namespace rapport::daemon {
namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

constexpr std::chrono::seconds kMaxStoragePause{60};

std::string rcpt_list(const std::vector<RecipientState>& rs) {
    std::string out;
    for (const auto& r : rs) out += (out.empty() ? "<" : ", <") + r.rcpt + ">";
    return out;
}
} // namespace

Relay::Relay(const Config& cfg, Queue& q, LogFn log) : cfg_(cfg), q_(q), log_(std::move(log)) {
    // One token for all workers: a helper that refreshes through the
    // provider is asked once, not once per connection.
    if (cfg_.upstream.oauth())
        tokens_ = std::make_unique<TokenSource>(cfg_.upstream.oauth_token_command,
                                                std::max(10u, cfg_.relay.connect_timeout));
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
    if (q_.shared()) threads_.emplace_back([this] { poll(); });
}

void Relay::heard(const std::string& payload) {
    if (!payload.empty()) {
        schedule(payload, now_s());
        return;
    }
    {
        std::lock_guard lk(mu_);
        poll_now_ = true;
    }
    poll_cv_.notify_all();
}

void Relay::poll() {
    lower_this_threads_priority();
    constexpr std::size_t kPollLimit = 1000; // per poll; the rest come with the next
    std::unique_lock lk(mu_);
    while (!stop_) {
        poll_cv_.wait_for(lk, kPollSeconds, [this] { return stop_ || poll_now_; });
        poll_now_ = false;
        if (stop_) break;
        lk.unlock();
        try {
            auto now = now_s();
            for (const auto& id : q_.due(now, kPollLimit)) schedule(id, now);
        } catch (const std::exception&) {
            // The store is down: the pool has said so, and the next poll tries again.
        }
        lk.lock();
    }
}

void Relay::stop() {
    stopping_ = true;
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    poll_cv_.notify_all();
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
    SmtpClient client(cfg_.upstream, cfg_.relay, cfg_.hostname, &stopping_, tokens_.get());
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
    if (!row || row->status != Status::queued) return {}; // dropped, not released, or finished by another node
    auto now = now_s();
    // Another node's attempt may have moved the next try on since this node
    // scheduled it: wait for it rather than cut the backoff short.
    if (q_.shared() && row->next_attempt > now) return {Next::retry, row->next_attempt};
    Outcome o;
    o.id = id;
    o.attempts = row->attempts + 1;
    std::int64_t delay = cfg_.relay.retry_initial;
    for (int i = 1; i < o.attempts && delay < cfg_.relay.retry_max; ++i) delay *= 2;
    delay = std::min<std::int64_t>(delay, cfg_.relay.retry_max);
    o.next = std::max(std::min<std::int64_t>(now + delay, row->received + cfg_.relay.lifetime), now + 1);
    // The intent, before a byte leaves: written, or nothing is sent. With a
    // shared queue it is also the claim: false when another node has it.
    // What to send is read after it, so it is what the last outcome left.
    if (!q_.begin_attempt(id, o.attempts, o.next)) return {};
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
    if (!pending.empty()) {
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
