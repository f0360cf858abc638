// ledger.cc - see ledger.h. The rows are ledger_rows.h's (SQLite in
// ledger_sqlite.cc, PostgreSQL in store/pg_ledger.cc); every decision is
// here.
//
// Cost: recording and matching are a few indexed lookups. summary()
// reads every application of the account(s) with their recipients and
// answers: O(applications), a few thousand rows for the busiest job club,
// computed in memory on each call.

#include "policies/outcomes/ledger.h"

#include "common/strings.h"

#include "policies/lexicon.h"
#include "policies/people.h"
#include "policies/text_index.h"

#include <openssl/sha.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <unordered_set>

namespace rapport::policies::outcomes {
namespace {
using common::split;

constexpr std::int64_t kKeepOther = 180 * 86400;  // non-applications: follow-ups and revisions need weeks, not years
constexpr std::int64_t kKeepSeen = 400 * 86400;   // received-message keys: duplicates come within days
constexpr std::int64_t kSkew = 3600;              // an answer's Date may run a little ahead of our clock

using common::lower;

std::string join(const std::vector<std::string>& v, char sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string sha256_hex(std::string_view s) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
    return common::hex(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

std::string domain_of(std::string_view address) {
    auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string() : lower(address.substr(at + 1));
}

// The organisation an address belongs to: its registrable domain, none for free mail.
std::string org_of(std::string_view address) {
    std::string d = domain_of(address);
    if (d.empty() || is_freemail(d)) return {};
    return registrable_domain(d);
}

// Applicant tracking systems answering for a firm (policies/data/ats_domains.txt).
const std::unordered_set<std::string>& ats_domains() {
    static const std::unordered_set<std::string> set = [] {
        std::unordered_set<std::string> s;
        for (auto line : split(embedded_data("ats_domains"), '\n')) {
            if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
            while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
            while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.erase(0, 1);
            if (!line.empty()) s.insert(lower(line));
        }
        return s;
    }();
    return set;
}

Class parse_class(std::string_view s) {
    if (s == "revised") return Class::revised;
    if (s == "despite-findings") return Class::despite_findings;
    return Class::clean;
}

// Schema 1 (PRAGMA user_version), what a new ledger gets.

int kind_rank(std::string_view kind) { // for "still without that kind of answer"
    if (kind == "replied") return 3;
    if (kind == "bounced") return 2;
    if (kind == "acknowledged") return 1;
    return 0;
}

} // namespace

void Ledger::consider(std::vector<Candidate>& cands, std::string id, std::string account, int tier, int answered,
                      std::int64_t time) {
    for (auto& c : cands)
        if (c.id == id) {
            c.tier = std::min(c.tier, tier);
            return;
        }
    cands.push_back({std::move(id), std::move(account), tier, answered, time});
}

std::string_view to_string(Class c) {
    switch (c) {
    case Class::clean: return "clean";
    case Class::revised: return "revised";
    case Class::despite_findings: return "despite-findings";
    }
    return "clean";
}

std::string_view to_string(Outcome o) {
    switch (o) {
    case Outcome::waiting: return "waiting";
    case Outcome::acknowledged: return "acknowledged";
    case Outcome::bounced: return "bounced";
    case Outcome::replied: return "replied";
    }
    return "waiting";
}

std::string_view to_string(Answer::Kind k) {
    switch (k) {
    case Answer::duplicate: return "duplicate";
    case Answer::own: return "own";
    case Answer::unrelated: return "unrelated";
    case Answer::replied: return "replied";
    case Answer::acknowledged: return "acknowledged";
    case Answer::bounced: return "bounced";
    }
    return "unrelated";
}

std::optional<double> Counts::reply_rate() const {
    int denominator = applications - bounced;
    if (denominator <= 0) return std::nullopt;
    return static_cast<double>(replied) / denominator;
}

template <class F> auto Ledger::in_transaction(F&& f) {
    rows_->begin();
    try {
        if constexpr (std::is_void_v<decltype(f())>) {
            f();
            rows_->commit();
        } else {
            auto r = f();
            rows_->commit();
            return r;
        }
    } catch (...) {
        rows_->rollback();
        throw;
    }
}

Ledger::Ledger(const std::string& path) : Ledger(sqlite_ledger_rows(path)) {}

Ledger::Ledger(std::unique_ptr<LedgerRows> rows) : rows_(std::move(rows)) {
    try {
        rows_->org_keys(org_keys_);
        const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
        in_transaction([&] { rows_->prune(now - kKeepOther, now - kKeepSeen); });
    } catch (const LedgerUnavailable&) {
        // A store that is down now: the keys are read when first needed, and
        // what is old is forgotten at the next start.
    }
}

Ledger::~Ledger() = default;

bool Ledger::record(const Outgoing& m, Fate fate) {
    std::lock_guard lk(mu_);
    return in_transaction([&] { return record_locked(m, fate); });
}

void Ledger::apply(const std::vector<Change>& changes) {
    std::lock_guard lk(mu_);
    in_transaction([&] {
        for (const auto& c : changes) {
            if (c.kind == Change::record) record_locked(c.message, c.fate);
            else rows_->release(c.id, c.when);
        }
    });
}

bool Ledger::record_locked(const Outgoing& m, Fate fate) {
    if (rows_->has_id(m.id)) return false;
    if (!m.message_id.empty() && fate == Fate::left && rows_->has_message(m.account, m.message_id, true)) return false;
    std::vector<std::string> rcpts;
    for (const auto& r : m.recipients) {
        std::string a = lower(r);
        if (!a.empty() && std::find(rcpts.begin(), rcpts.end(), a) == rcpts.end()) rcpts.push_back(a);
    }
    LedgerRows::OutgoingRow row;
    if (fate == Fate::left && m.application) {
        Class c = Class::clean;
        if (!m.rules.empty()) c = Class::despite_findings;
        else if (m.revised) c = Class::revised;
        else {
            // The sender changed it after findings: a held or rejected message
            // to one of the same people shortly before.
            for (const auto& a : rcpts)
                if (rows_->stopped_to(m.account, a, m.time - kRevisedWindow, m.time)) {
                    c = Class::revised;
                    break;
                }
        }
        row.cls = std::string(to_string(c));
    }
    row.id = m.id;
    row.account = m.account;
    row.message_id = m.message_id;
    row.refs = join(m.refs, ' ');
    row.subject = m.application ? m.subject : std::string(); // only applications are listed by subject
    row.fate = fate == Fate::left ? "left" : fate == Fate::held ? "held" : "rejected";
    row.time = m.time;
    row.application = m.application;
    row.rules = join(m.rules, ',');
    std::vector<LedgerRows::RcptRow> rrows;
    std::vector<std::string> all_keys;
    for (const auto& a : rcpts) {
        const std::vector<std::string> keys = domain_org_keys(domain_of(a));
        std::string name;
        if (m.application)
            if (auto it = m.names.find(a); it != m.names.end()) name = person_name(mime::Address{it->second, a});
        rrows.push_back({a, org_of(a), join(keys, ' '), std::move(name)});
        // For an applicant tracking system's answer naming the firm (named_applications).
        if (m.application)
            for (const auto& k : keys)
                if (std::find(all_keys.begin(), all_keys.end(), k) == all_keys.end()) all_keys.push_back(k);
    }
    if (!rows_->insert(row, rrows, all_keys)) return false;
    for (const auto& k : all_keys) org_keys_.insert(k); // kept if the transaction fails: a key without rows finds nothing
    for (const auto& f : m.from)
        if (!f.empty()) rows_->add_own_address(lower(f));
    return true;
}

bool Ledger::release(const std::string& id, std::int64_t now) {
    std::lock_guard lk(mu_);
    return rows_->release(id, now);
}

bool Ledger::has_message(const std::string& account, const std::string& message_id) {
    std::lock_guard lk(mu_);
    return rows_->has_message(account, message_id, false);
}

bool Ledger::add_failure(const std::string& id, const std::vector<std::string>& failed, std::int64_t when) {
    std::lock_guard lk(mu_);
    return in_transaction([&] {
        auto account = rows_->account_of(id, true);
        if (!account) return false;
        const std::string key = "relay:" + id;
        if (rows_->has_answer(id, key)) return false;
        for (const auto& a : failed) rows_->mark_bounced(*account, id, lower(a));
        rows_->insert_answer(*account, id, key, "bounced", "exact", when);
        return true;
    });
}

std::vector<std::string> Ledger::unanswered_since(std::int64_t since) {
    std::lock_guard lk(mu_);
    return rows_->unanswered_since(since);
}

void Ledger::add_own_address(const std::string& address) {
    if (address.find('@') == std::string::npos) return;
    std::lock_guard lk(mu_);
    rows_->add_own_address(lower(address));
}

Answer Ledger::add_incoming(const Incoming& in, std::int64_t now) {
    std::lock_guard lk(mu_);
    return in_transaction([&] { return add_incoming_locked(in, now); });
}

std::vector<Answer> Ledger::add_incoming_batch(const std::vector<Incoming>& batch, std::int64_t now,
                                               const std::string& folder, const FolderState* state) {
    std::lock_guard lk(mu_);
    return in_transaction([&] {
        std::vector<Answer> out;
        out.reserve(batch.size());
        for (const auto& in : batch) out.push_back(add_incoming_locked(in, now));
        if (state) rows_->save_folder(folder, *state);
        return out;
    });
}

Answer Ledger::add_incoming_locked(const Incoming& in, std::int64_t now) {
    // Without a Message-ID, its sender, date and subject stand for it.
    std::string key = !in.message_id.empty()
                          ? "m:" + sha256_hex(in.message_id)
                          : "h:" + sha256_hex(in.from + "\n" + (in.date ? std::to_string(*in.date) : "") + "\n" + in.subject);
    return match_locked(in, now, key);
}

Answer Ledger::match_locked(const Incoming& in, std::int64_t now, const std::string& key) {
    Answer ans;
    // Seen before: the key is there already (whichever rapportd read it).
    if (!rows_->mark_seen(key, now)) {
        ans.kind = Answer::duplicate;
        return ans;
    }
    auto finish = [&](Answer a) {
        if (!a.application.empty() && a.account.empty())
            if (auto acc = rows_->account_of(a.application, false)) a.account = *acc;
        return a;
    };
    if (!in.from.empty() && rows_->is_own(in.from)) {
        ans.kind = Answer::own;
        ans.why = "from one of the sender's own addresses";
        return finish(ans);
    }
    // When it came: its Date, unless missing or in the future.
    const std::int64_t t = in.date && *in.date <= now + 86400 ? *in.date : now;

    // The application a message with this Message-ID belongs to: itself, or
    // for a later message of the sender's (a follow-up) the one it referred
    // to. `known` says whether the Message-ID is one of the sender's at all.
    // Sets ans.account to the application's account when it finds one.
    auto application_by_id = [&](const std::string& mid, bool* known = nullptr) -> std::string {
        std::vector<std::string> via;
        for (auto& row : rows_->left_by_message_id(mid)) {
            if (known) *known = true;
            if (row.application) {
                ans.account = row.account;
                return row.id;
            }
            for (auto& r : split(row.refs, ' ')) via.push_back(r);
        }
        for (const auto& r : via)
            if (auto a = rows_->application_by_message_id(r)) {
                ans.account = a->second;
                return a->first;
            }
        return {};
    };
    auto insert_answer = [&](const std::string& app, const std::string& account, const char* kind, Match match) {
        rows_->insert_answer(account, app, key, kind, match == Match::exact ? "exact" : "probable", t);
    };

    if (in.report) {
        // A delivery status notification: only failures are news.
        if (in.failed.empty()) {
            ans.why = "a delivery report without a failure";
            return finish(ans);
        }
        std::string app;
        Match match = Match::none;
        if (!in.returned_id.empty()) app = application_by_id(in.returned_id);
        for (std::size_t i = 0; app.empty() && i < in.refs.size(); ++i) app = application_by_id(in.refs[i]);
        if (!app.empty()) {
            match = Match::exact;
            int marked = 0;
            for (const auto& a : in.failed) marked += rows_->mark_bounced(ans.account, app, a);
            // The report names the recipient as rewritten further on (an
            // alias): it is still this message's failure.
            if (marked == 0) rows_->mark_bounced(ans.account, app, "");
            insert_answer(app, ans.account, "bounced", match);
        } else {
            for (const auto& a : in.failed) {
                auto found = rows_->bounce_candidate(a, t - kReplyWindow, t + kSkew);
                if (!found) continue;
                rows_->mark_bounced(found->second, found->first, a);
                insert_answer(found->first, found->second, "bounced", Match::probable);
                if (app.empty()) {
                    app = found->first;
                    ans.account = found->second;
                }
                match = Match::probable;
            }
        }
        if (app.empty()) {
            ans.why = "a bounce for no recorded application";
            return finish(ans);
        }
        ans.kind = Answer::bounced;
        ans.application = app;
        ans.match = match;
        ans.why = match == Match::exact ? "exact: the returned message" : "probable: the failed recipient";
        return finish(ans);
    }

    const char* kind = in.automated ? "acknowledged" : "replied";
    const Answer::Kind akind = in.automated ? Answer::acknowledged : Answer::replied;
    bool refers_to_own = false; // it answers mail of the sender's that was no application
    for (const auto& r : in.refs) {
        std::string app = application_by_id(r, &refers_to_own);
        if (app.empty()) continue;
        insert_answer(app, ans.account, kind, Match::exact);
        ans.kind = akind;
        ans.application = app;
        ans.match = Match::exact;
        ans.why = "exact: it refers to the application";
        return finish(ans);
    }
    if (refers_to_own) {
        // A colleague at a firm the sender applied to, answering the
        // sender's ordinary mail to them: an answer to that mail, not to the
        // application, however close in time.
        ans.why = "an answer to mail that was no application";
        return finish(ans);
    }
    if (in.list) {
        ans.why = "list or newsletter mail that refers to no application";
        return finish(ans);
    }
    if (in.from.empty()) return finish(ans);

    // Probable: candidates in the window before it, by tier.
    std::vector<Candidate> cands;
    const std::int64_t lo = t - kReplyWindow, hi = t + kSkew;
    consider_rows(LedgerRows::By::address, in.from, lo, hi, 0, cands);
    for (const auto& a : in.also_from) consider_rows(LedgerRows::By::address, a, lo, hi, 0, cands);
    // A closer tier always wins (below), so a farther one is looked at only
    // when the closer ones found nothing.
    if (std::string org = cands.empty() ? org_of(in.from) : std::string(); !org.empty()) {
        consider_rows(LedgerRows::By::org, org, lo, hi, 1, cands);
        // An applicant tracking system answers for the firm its mail names:
        // in the sender's name, the address before the @, or the subject.
        if (cands.empty() && ats_domains().count(org)) named_applications(in, lo, hi, cands);
    }
    if (cands.empty()) {
        ans.why = "no application to its sender or their organisation in the last 60 days";
        return finish(ans);
    }
    // The closest tie first; then one still without this kind of answer
    // (two applications to one firm, two replies: one each); then the latest.
    const int rank = kind_rank(kind);
    auto best = std::min_element(cands.begin(), cands.end(), [&](const Candidate& a, const Candidate& b) {
        if (a.tier != b.tier) return a.tier < b.tier;
        bool a_open = a.answered < rank, b_open = b.answered < rank;
        if (a_open != b_open) return a_open;
        return a.time > b.time;
    });
    insert_answer(best->id, best->account, kind, Match::probable);
    ans.kind = akind;
    ans.application = best->id;
    ans.account = best->account;
    ans.match = Match::probable;
    static const char* tiers[] = {"probable: a recipient's address", "probable: a recipient's organisation",
                                  "probable: an applicant tracking system naming the organisation"};
    ans.why = tiers[best->tier];
    return finish(ans);
}

// The applications in [lo, hi] to an organisation that the tracking
// system's mail names. A key named in the text starts at a word and either
// is that word (perhaps less a plural ending: "Tescos") or goes on into the
// next one ("Kestrel Analytics", "Brightwater Recruitment" for
// brightwaterrecruit). So each word asks the set of keys written to
// (org_keys_, in memory) for a few exact keys and for the keys that begin
// with it and the next word's first letters: a few lookups in a sorted set,
// whatever the number of applications; TextIndex::names_key confirms each
// key found, and only a named key costs a query.
void Ledger::named_applications(const Incoming& in, std::int64_t lo, std::int64_t hi, std::vector<Candidate>& cands) {
    std::string text = in.from_name + " " + in.from.substr(0, in.from.find('@')) + " " + in.subject;
    for (auto& c : text)
        if (c == '.' || c == '_' || c == '-' || c == '+') c = ' ';
    rows_->org_keys(org_keys_); // with those other rapportd wrote since
    TextIndex named(word_list(text));
    const auto& words = named.words();
    // The keys written to that the text may name (names_key() decides);
    // looked up through one buffer, without a string made per lookup.
    std::set<std::string, std::less<>> keys;
    std::string buf;
    auto exact = [&](std::string_view k) {
        if (auto it = org_keys_.find(k); it != org_keys_.end()) keys.insert(*it);
    };
    auto prefixed = [&](std::string_view p) {
        for (auto it = org_keys_.lower_bound(p); it != org_keys_.end() && std::string_view(*it).substr(0, p.size()) == p; ++it)
            keys.insert(*it);
    };
    for (std::size_t i = 0; i < words.size() && i < 64; ++i) {
        const std::string_view w = words[i];
        if (w.empty()) continue;
        exact(w);
        buf.assign(w).push_back('s'); // "McDonald's" spells mcdonalds
        exact(buf);
        if (w.size() > 2 && w.back() == 's') exact(w.substr(0, w.size() - 1));
        if (w.size() > 3 && w.substr(w.size() - 2) == "es") exact(w.substr(0, w.size() - 2));
        if (i + 1 >= words.size() || words[i + 1].empty()) continue;
        // A key that goes on into the next word: ending one or two letters
        // into it (asked for exactly), or taking at least three of them, or
        // all of a shorter one (asked for by prefix) - so "No reply" asks
        // for nor, nore and norep..., not every key from "north" on.
        const std::string_view next = words[i + 1];
        for (int possessive = 0; possessive < 2; ++possessive) { // "St Brigid's Hospice": an 's' the word list dropped
            buf.assign(w);
            if (possessive) buf.push_back('s');
            const std::size_t head = buf.size();
            for (std::size_t m = 1; m < std::min<std::size_t>(3, next.size()); ++m) {
                buf.resize(head);
                buf.append(next.substr(0, m));
                exact(buf);
            }
            buf.resize(head);
            buf.append(next.substr(0, std::min<std::size_t>(3, next.size())));
            prefixed(buf);
        }
    }
    for (const auto& k : keys) {
        if (!named.names_key(k)) continue;
        consider_rows(LedgerRows::By::org_key, k, lo, hi, 2, cands);
    }
}


void Ledger::consider_rows(LedgerRows::By by, const std::string& value, std::int64_t lo, std::int64_t hi, int tier,
                           std::vector<Candidate>& cands) {
    std::vector<LedgerRows::Candidate> found;
    rows_->candidates(by, value, lo, hi, found);
    for (auto& c : found) consider(cands, std::move(c.id), std::move(c.account), tier, c.answered, c.time);
}

std::vector<std::string> Ledger::accounts() {
    std::lock_guard lk(mu_);
    return rows_->accounts();
}

std::unique_lock<std::timed_mutex> Ledger::lock_for_reading() {
    constexpr std::chrono::seconds kReadWait{3};
    std::unique_lock lk(mu_, kReadWait);
    if (!lk) throw LedgerUnavailable("ledger: a write has waited for the store for more than 3 s");
    return lk;
}

Summary Ledger::summary(const std::string* account, std::int64_t now, const SummarySettings& settings) {
    auto lk = lock_for_reading();
    LedgerRows::SummaryRows rows = rows_->summary_rows(account, now);
    std::vector<Application> apps;
    std::map<std::string, std::size_t> at;
    for (auto& r : rows.apps) {
        Application a;
        a.id = std::move(r.id);
        a.account = std::move(r.account);
        a.subject = std::move(r.subject);
        a.sent = r.time;
        a.cls = parse_class(r.cls);
        at[a.id] = apps.size();
        apps.push_back(std::move(a));
    }
    std::map<std::string, std::pair<int, int>> bounced; // id -> (recipients, bounced)
    for (auto& r : rows.rcpts) {
        auto it = at.find(r.id);
        if (it == at.end()) continue;
        Application& a = apps[it->second];
        a.to.push_back(std::move(r.address));
        if (a.name.empty()) a.name = std::move(r.name);
        auto& b = bounced[r.id];
        ++b.first;
        b.second += r.bounced ? 1 : 0;
    }
    struct Seen {
        bool replied = false, acknowledged = false;
        Match replied_match = Match::none, ack_match = Match::none, bounce_match = Match::none;
        std::int64_t replied_at = 0, ack_at = 0, bounce_at = 0;
    };
    std::map<std::string, Seen> seen;
    for (const auto& r : rows.answers) {
        Seen& x = seen[r.id];
        Match m = r.match == "exact" ? Match::exact : Match::probable;
        if (r.kind == "replied") {
            if (!x.replied) x.replied_at = r.time;
            x.replied = true;
            x.replied_match = std::max(x.replied_match, m);
        } else if (r.kind == "acknowledged") {
            if (!x.acknowledged) x.ack_at = r.time;
            x.acknowledged = true;
            x.ack_match = std::max(x.ack_match, m);
        } else if (r.kind == "bounced") {
            x.bounce_at = std::max(x.bounce_at, r.time);
            x.bounce_match = std::max(x.bounce_match, m);
        }
    }
    // When each account last wrote to each address: a follow-up is done once
    // the sender wrote to that person again.
    std::map<std::pair<std::string, std::string>, std::int64_t> last_written;
    for (auto& w : rows.written) last_written[{std::move(w.account), std::move(w.address)}] = w.last;

    Summary out;
    out.now = now;
    // The weeks of the chart: from the first with an application among the
    // last settings.weeks, up to this one.
    const std::int64_t this_week = week_start(now);
    const std::int64_t first_week = this_week - static_cast<std::int64_t>(settings.weeks > 0 ? settings.weeks - 1 : 0) * 7 * 86400;
    std::int64_t chart_from = this_week + 1;
    for (const auto& a : apps)
        if (a.sent >= first_week && a.sent < this_week + 7 * 86400) chart_from = std::min(chart_from, week_start(a.sent));
    if (settings.weeks > 0 && chart_from <= this_week)
        for (std::int64_t w = chart_from; w <= this_week; w += 7 * 86400) out.by_week.push_back(Week{w, {}, {}, {}, {}});
    const auto follow_after = static_cast<std::int64_t>(std::llround(settings.follow_up_days * 86400.0));
    for (auto& a : apps) {
        const Seen& x = seen[a.id];
        auto b = bounced[a.id];
        if (x.replied) {
            a.outcome = Outcome::replied;
            a.match = x.replied_match;
            a.answered = x.replied_at;
        } else if (b.first > 0 && b.second == b.first) {
            a.outcome = Outcome::bounced;
            a.match = x.bounce_match;
            a.answered = x.bounce_at;
        } else if (x.acknowledged) {
            a.outcome = Outcome::acknowledged;
            a.match = x.ack_match;
            a.answered = x.ack_at;
        }
        if (a.outcome == Outcome::waiting || a.outcome == Outcome::acknowledged) {
            bool wrote_again = false;
            for (const auto& r : a.to) {
                auto it = last_written.find({a.account, r});
                wrote_again |= it != last_written.end() && it->second > a.sent;
            }
            std::int64_t due = a.sent + follow_after;
            if (!wrote_again && now >= due && now < a.sent + kReplyWindow) a.follow_up = due;
        }
        Counts* by = a.cls == Class::clean ? &out.clean : a.cls == Class::revised ? &out.revised : &out.despite_findings;
        Counts* week_all = nullptr;
        Counts* week_by = nullptr;
        if (!out.by_week.empty() && a.sent >= out.by_week.front().start) {
            std::size_t i = static_cast<std::size_t>((week_start(a.sent) - out.by_week.front().start) / (7 * 86400));
            if (i < out.by_week.size()) {
                Week& w = out.by_week[i];
                week_all = &w.all;
                week_by = a.cls == Class::clean ? &w.clean : a.cls == Class::revised ? &w.revised : &w.despite_findings;
            }
        }
        for (Counts* c : {&out.all, by, week_all, week_by}) {
            if (!c) continue;
            ++c->applications;
            c->replied += a.outcome == Outcome::replied;
            c->acknowledged += a.outcome == Outcome::acknowledged;
            c->bounced += a.outcome == Outcome::bounced;
        }
        if (a.follow_up) out.follow_up_due.push_back(a);
    }
    for (auto it = apps.rbegin(); it != apps.rend() && out.recent.size() < settings.recent; ++it)
        out.recent.push_back(*it);
    return out;
}

std::optional<Ledger::FolderState> Ledger::folder(const std::string& name) {
    std::lock_guard lk(mu_);
    return rows_->folder(name);
}

void Ledger::save_folder(const std::string& name, const FolderState& st) {
    std::lock_guard lk(mu_);
    rows_->save_folder(name, st);
}

std::unique_ptr<InboxClaim> Ledger::claim_inbox() {
    std::lock_guard lk(mu_);
    return rows_->claim_inbox();
}

namespace {

nlohmann::json counts_json(const Counts& c, bool with_answers) {
    nlohmann::json j = {{"applications", c.applications}, {"replied", c.replied}};
    if (with_answers) {
        j["acknowledged"] = c.acknowledged;
        j["bounced"] = c.bounced;
    }
    auto r = c.reply_rate();
    j["reply_rate"] = r ? nlohmann::json(std::round(*r * 10000.0) / 10000.0) : nlohmann::json(nullptr);
    return j;
}

// "9 days", "1 day", "5 hours", "3 minutes": how long, in the largest whole unit.
std::string how_long(std::int64_t seconds) {
    auto n = [](std::int64_t v, const char* unit) { return std::to_string(v) + " " + unit + (v == 1 ? "" : "s"); };
    if (seconds >= 86400) return n(seconds / 86400, "day");
    if (seconds >= 3600) return n(seconds / 3600, "hour");
    return n(std::max<std::int64_t>(1, seconds / 60), "minute");
}

nlohmann::json application_json(const Application& a, bool full, std::int64_t now) {
    nlohmann::json j = {{"id", a.id}, {"account", a.account}, {"to", a.to}, {"subject", a.subject}, {"sent", a.sent}};
    if (full) {
        j["class"] = std::string(to_string(a.cls));
        j["outcome"] = std::string(to_string(a.outcome));
        j["match"] = a.match == Match::none ? nlohmann::json(nullptr)
                                             : nlohmann::json(a.match == Match::exact ? "exact" : "probable");
        if (a.answered) j["answered"] = a.answered;
    } else {
        j["due"] = a.follow_up;
        j["name"] = a.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.name);
        j["waited_days"] = (now - a.sent) / 86400;
        j["waited"] = std::max<std::int64_t>(0, now - a.sent); // seconds, for a suggestion worded elsewhere
        j["acknowledged"] = a.outcome == Outcome::acknowledged;
        j["suggestion"] = follow_up_suggestion(a, now);
    }
    return j;
}

} // namespace

std::int64_t week_start(std::int64_t t) {
    // 1970-01-01 was a Thursday: Mondays are 4 days after a multiple of 7 days.
    constexpr std::int64_t kWeek = 7 * 86400, kMonday = 4 * 86400;
    std::int64_t k = t - kMonday;
    std::int64_t weeks = k >= 0 ? k / kWeek : -((-k + kWeek - 1) / kWeek);
    return weeks * kWeek + kMonday;
}

std::string follow_up_suggestion(const Application& a, std::int64_t now) {
    std::string who = !a.name.empty() ? a.name : !a.to.empty() ? a.to.front() : std::string("them");
    std::string line = "It's been " + how_long(std::max<std::int64_t>(0, now - a.sent));
    if (a.outcome == Outcome::acknowledged) line += " and only an automatic reply came back";
    return line + " - a short, polite follow-up to " + who + " asking about your application is fine.";
}

Totals Ledger::totals() {
    auto lk = lock_for_reading();
    return rows_->totals();
}

nlohmann::json to_json(const Summary& s) {
    nlohmann::json j = counts_json(s.all, true);
    j["by_class"] = {{"clean", counts_json(s.clean, true)},
                     {"revised", counts_json(s.revised, true)},
                     {"despite-findings", counts_json(s.despite_findings, true)}};
    nlohmann::json weeks = nlohmann::json::array();
    for (const auto& w : s.by_week)
        weeks.push_back({{"week", w.start},
                         {"applications", w.all.applications},
                         {"replied", w.all.replied},
                         {"bounced", w.all.bounced},
                         {"reply_rate", counts_json(w.all, false)["reply_rate"]},
                         {"by_class",
                          {{"clean", counts_json(w.clean, true)},
                           {"revised", counts_json(w.revised, true)},
                           {"despite-findings", counts_json(w.despite_findings, true)}}}});
    j["by_week"] = std::move(weeks);
    nlohmann::json due = nlohmann::json::array();
    for (const auto& a : s.follow_up_due) due.push_back(application_json(a, false, s.now));
    j["follow_up_due"] = std::move(due);
    nlohmann::json recent = nlohmann::json::array();
    for (const auto& a : s.recent) recent.push_back(application_json(a, true, s.now));
    j["recent"] = std::move(recent);
    return j;
}

} // namespace rapport::policies::outcomes
