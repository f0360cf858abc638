// outcomes.cc - see outcomes.h.

#include "daemon/lib/outcomes.h"

#include "common/strings.h"

#include "daemon/lib/background.h"
#include "daemon/lib/imap_reader.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

namespace rapport::daemon {
namespace po = policies::outcomes;

namespace {
// How long a reader waits for the ledger's queued writes (flush()).
constexpr std::chrono::seconds kFlushWait{3};

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

using common::lower;

} // namespace

Outcomes::Outcomes(const Config& cfg, Queue* queue, LogFn log, std::unique_ptr<po::LedgerRows> rows)
    : cfg_(cfg), queue_(queue), log_(std::move(log)),
      ledger_(rows ? std::move(rows) : po::sqlite_ledger_rows(cfg.state_dir + "/ledger.db")) {
    if (cfg_.imap.enabled()) {
        try {
            ledger_.add_own_address(cfg_.imap.user);
        } catch (const po::LedgerUnavailable& e) {
            // Recorded with the first mail this account sends (its From).
            log_(std::string("warning: ") + e.what() + " (the inbox's own address is not recorded yet)");
        }
    }
    thread_ = std::thread([this] { worker(); });
}

std::string Outcomes::inbox_name(const ImapSettings& imap) {
    if (!imap.enabled()) return {};
    return HostPort{imap.host, imap.port}.str() + "/" + lower(imap.user);
}

Outcomes::~Outcomes() { stop(); }

void Outcomes::start() {
    if (!cfg_.imap.enabled() || reader_) return;
    reader_ = std::make_unique<ImapReader>(cfg_.imap, ledger_, log_);
    reader_->start();
}

void Outcomes::stop() {
    if (reader_) reader_->stop();
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Outcomes::post(po::Ledger::Change change) {
    {
        std::lock_guard lk(mu_);
        if (jobs_.size() >= kMaxWaiting) {
            if (dropped_++ == 0)
                log_("warning: ledger: " + std::to_string(kMaxWaiting) +
                     " events wait for the store already; newer ones are dropped until it is back (the mail "
                     "itself is not affected)");
            return;
        }
        jobs_.push_back(std::move(change));
    }
    cv_.notify_one();
}

void Outcomes::worker() {
    lower_this_threads_priority(); // the ledger can wait behind the replies
    // A burst is written in few transactions: the first record waits up to
    // kLinger for others to join it. One transaction per message would
    // write its pages to the WAL each time (and fsync at every checkpoint),
    // competing for the disk with the spool's fdatasyncs.
    constexpr std::size_t kBatch = 256;
    constexpr auto kLinger = std::chrono::milliseconds(200);
    auto retry = std::chrono::milliseconds(1000); // while the store is down: 1 s doubling to 30 s
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) { // stopping and drained
            stopped_ = true;
            idle_cv_.notify_all();
            return;
        }
        cv_.wait_for(lk, kLinger, [&] { return stopping_ || hurry_ || jobs_.size() >= kBatch; });
        hurry_ = false;
        std::vector<po::Ledger::Change> batch;
        while (!jobs_.empty() && batch.size() < kBatch) {
            batch.push_back(std::move(jobs_.front()));
            jobs_.pop_front();
        }
        busy_ = true;
        lk.unlock();
        try {
            ledger_.apply(batch);
        } catch (const po::LedgerUnavailable& e) {
            // Nothing of the batch was kept: it goes back, first in line.
            lk.lock();
            for (auto it = batch.rbegin(); it != batch.rend(); ++it) jobs_.push_front(std::move(*it));
            if (!down_) {
                down_ = true;
                log_(std::string("warning: ") + e.what() + "; the store is unavailable: " + std::to_string(jobs_.size()) +
                     " ledger events wait in memory (at most " + std::to_string(kMaxWaiting) + ") until it is back");
            }
            busy_ = false;
            idle_cv_.notify_all(); // readers stop waiting for these
            if (stopping_) {
                log_("warning: ledger: stopping while the store is unavailable: " + std::to_string(jobs_.size()) +
                     " events not recorded");
                jobs_.clear();
                stopped_ = true;
                idle_cv_.notify_all();
                return;
            }
            cv_.wait_for(lk, retry, [&] { return stopping_ || retry_now_; });
            retry_now_ = false;
            retry = std::min(retry * 2, std::chrono::milliseconds(30000));
            continue;
        } catch (const std::exception& e) {
            // The ledger is coaching memory; the mail itself is safe in the queue.
            log_(std::string("warning: ledger: ") + e.what() + " (" + std::to_string(batch.size()) + " records lost)");
        }
        lk.lock();
        busy_ = false;
        retry = std::chrono::milliseconds(1000);
        if (down_) {
            down_ = false;
            log_("ledger: the store is back; writing the " + std::to_string(batch.size() + jobs_.size()) +
                 " events that waited for it" +
                 (dropped_ ? " (" + std::to_string(dropped_) + " more were dropped)" : std::string()));
            dropped_ = 0;
        }
        if (jobs_.empty()) idle_cv_.notify_all();
    }
}

void Outcomes::store_back() {
    {
        std::lock_guard lk(mu_);
        retry_now_ = true;
    }
    cv_.notify_all();
}

void Outcomes::flush() {
    std::unique_lock lk(mu_);
    if (!jobs_.empty()) {
        hurry_ = true; // someone is waiting: no lingering
        cv_.notify_all();
    }
    // While the store is down the waiting events stay behind: the reader
    // goes on and meets the store's state itself. So it does, after
    // kFlushWait, when the store hangs instead (a primary holding its
    // commits for a synchronous replica that is gone): a page or /metrics
    // a few events behind beats one that never answers.
    idle_cv_.wait_for(lk, kFlushWait, [&] { return (jobs_.empty() && !busy_) || stopped_ || down_; });
}

void Outcomes::routed(const std::string& id, const Envelope& env, const Judgement& j, Status status) {
    po::Fate fate;
    switch (status) {
    case Status::queued: fate = po::Fate::left; break;
    case Status::held: fate = po::Fate::held; break;
    case Status::rejected: fate = po::Fate::rejected; break;
    default: return; // captured: nothing leaves
    }
    if (env.notice) return;
    po::Outgoing m;
    m.id = id;
    m.account = j.account;
    m.message_id = j.info.message_id;
    m.refs = j.refs;
    m.subject = j.info.subject;
    if (!j.info.header_from.empty()) m.from.push_back(lower(j.info.header_from));
    if (!env.mail_from.empty()) m.from.push_back(lower(env.mail_from));
    m.recipients = j.recipients;
    m.names = j.names;
    m.time = now_s();
    m.application = j.application;
    for (const auto& f : j.findings)
        if (f.action >= policies::Action::warn) m.rules.push_back(f.rule);
    po::Ledger::Change c;
    c.message = std::move(m);
    c.fate = fate;
    post(std::move(c));
}

void Outcomes::released(const std::string& id) {
    po::Ledger::Change c;
    c.kind = po::Ledger::Change::release;
    c.id = id;
    c.when = now_s();
    post(std::move(c));
}

bool Outcomes::record_sent(po::Outgoing m) {
    flush(); // a relayed copy of the same message may be on its way in
    try {
        return ledger_.record(m, po::Fate::left);
    } catch (const po::LedgerUnavailable&) {
        // The sending history has it already: the ledger's row waits with
        // the other events rather than the add-on reporting it again.
        po::Ledger::Change c;
        c.message = std::move(m);
        post(std::move(c));
        return true;
    }
}

po::Totals Outcomes::totals() {
    flush();
    return ledger_.totals();
}

bool Outcomes::has_message(const std::string& account, const std::string& message_id) {
    flush();
    return ledger_.has_message(account, message_id);
}

po::Answer Outcomes::incoming(std::string_view headers) {
    flush();
    po::Answer a = ledger_.add_incoming(po::read_incoming(headers), now_s());
    if (a.kind != po::Answer::duplicate)
        log_("incoming (add-on): " + std::string(po::to_string(a.kind)) +
             (a.application.empty() ? "" : " " + a.application) + (a.why.empty() ? "" : " (" + a.why + ")"));
    return a;
}

void Outcomes::note_relay_failures(std::int64_t now) {
    if (!queue_) return;
    // The relay gives up after `lifetime`; a little more covers a restart.
    for (const auto& id : ledger_.unanswered_since(now - static_cast<std::int64_t>(cfg_.relay.lifetime) - 86400)) {
        if (id.rfind("sent-", 0) == 0) continue; // reported by the add-on: never through our relay
        std::vector<std::string> failed;
        for (const auto& r : queue_->recipients(id))
            if (r.status == "failed") failed.push_back(r.rcpt);
        if (!failed.empty() && ledger_.add_failure(id, failed, now))
            log_("ledger: " + id + " bounced (the upstream refused it for good)");
    }
}

nlohmann::json Outcomes::summary(const std::string* account) {
    flush();
    std::int64_t now = now_s();
    try {
        note_relay_failures(now);
    } catch (const std::exception& e) {
        log_(std::string("warning: ledger: relay results: ") + e.what());
    }
    po::SummarySettings s;
    s.follow_up_days = cfg_.outcomes.follow_up_days;
    return po::to_json(ledger_.summary(account, now, s));
}

nlohmann::json Outcomes::inbox() {
    nlohmann::json j;
    if (!reader_) {
        j = {{"configured", false},
             {"state", "off"},
             {"message", "No inbox is set up, so only replies the Thunderbird add-on reports are counted "
                         "([imap] in rapportd's config)."}};
        return j;
    }
    ImapReader::Status st = reader_->status();
    j = {{"configured", true},
         {"account", cfg_.imap.user},
         {"server", HostPort{cfg_.imap.host, cfg_.imap.port}.str()},
         {"folders", cfg_.imap.folders},
         {"state", st.state},
         {"mode", st.mode.empty() ? nlohmann::json(nullptr) : nlohmann::json(st.mode)},
         {"condstore", st.condstore},
         {"since", st.since},
         {"last_check", st.last_check ? nlohmann::json(st.last_check) : nlohmann::json(nullptr)},
         {"read", st.read},
         {"poll_seconds", cfg_.imap.poll_seconds}};
    // "message" says it in English; "problem" is the reason alone, for a
    // reader (the page, rapportctl) that says the rest in its own language.
    if (st.state == "error") {
        j["message"] = "Rapport can't read your inbox: " + st.problem;
        j["problem"] = st.problem;
    }
    else if (st.state == "standby")
        j["message"] = "Another rapportd of this installation reads your inbox for replies into the shared ledger; "
                       "this one takes over if it stops.";
    else if (st.state == "ok")
        j["message"] = std::string("Rapport reads your inbox for replies (") +
                       (st.mode == "idle" ? "told of new mail at once" : "checking every " +
                                                                             std::to_string(cfg_.imap.poll_seconds) + " s") +
                       ").";
    else j["message"] = "Rapport is connecting to your inbox.";
    return j;
}

} // namespace rapport::daemon
