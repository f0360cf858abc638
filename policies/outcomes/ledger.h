// ledger.h - the reply ledger: which applications got answers, and which class did better.
//
//   Ledger ledger(state_dir + "/ledger.db");            // or ":memory:"
//   ledger.record(outgoing, Fate::left);                 // every message that left or was stopped
//   ledger.release(id, now);                             // a held message sent anyway
//   Answer a = ledger.add_incoming(read_incoming(h), now);  // a received message
//   Summary s = ledger.summary(&account, now, {.follow_up_days = 7});
//   nlohmann::json j = to_json(s);                       // SPEC.md's outcomes JSON
//
// The contract is SPEC.md, "Outcomes: the reply ledger":
// - An application is job-seeking new mail that left. Its class is fixed
//   when it leaves: despite-findings (it left with a finding of warn or
//   stronger: warned, released, confirmed), else revised (the add-on says
//   the sender edited it after findings, or a held or rejected message of the
//   same account went to one of its recipients in the 2 days before), else
//   clean.
// - A received message is matched to one application: exactly, when its
//   In-Reply-To or References holds the application's Message-ID (or that
//   of a later message of the sender's that referred to it: a follow-up);
//   else probably, within 60 days after the application, by one of its
//   recipients' address, then by their organisation (registrable domain,
//   not free mail), then by an applicant tracking system (ats_domains.txt)
//   whose From name, sender or subject names the organisation. Among the
//   candidates the most recent one still without that kind of answer wins.
// - A message that refers to the sender's ordinary mail (recorded, no
//   application, not a follow-up of one) and to no application answers that
//   mail: it is no reply to anything, not even probably.
// - Mail from one of the sender's own addresses (From of anything
//   recorded) is never an answer. Automated mail (incoming.h) makes an
//   application acknowledged, a person's mail replied; a newsletter or list
//   mail counts only by an exact match. A delivery report that failed for a
//   recipient marks that recipient bounced; an application is bounced when
//   all its recipients bounced and no reply came; a delay is no answer.
// - Outcome, strongest first: replied, bounced, acknowledged, waiting.
//   Reply rate = replied / (applications - bounced), overall and per class;
//   null when nothing is left to divide by.
// - Follow-up due: an application neither replied nor bounced,
//   follow_up_days after it left and until the 60-day window closes,
//   unless the same account wrote to one of its recipients again since.
// - Each received message counts once: by its Message-ID (or, without
//   one, a hash of its From, Date and Subject), whether it came over IMAP,
//   from the add-on, or both.
//
// What is kept (ledger.db, or PostgreSQL with [store] url): for every message that left or was stopped:
// queue id, account, Message-ID, the Message-IDs it referred to, time,
// recipients and their organisations; for applications also the subject,
// class, the rules that fired and the recipients' display names where they
// name a person (for the follow-up suggestion). Of received mail: a SHA-256 of its
// Message-ID and which application it answered, how, when - never a sender,
// subject or body. Rows of non-applications go after 180 days.
//
// Where the rows live is ledger_rows.h's business (SQLite, or PostgreSQL
// shared by every rapportd of an installation); everything above is
// decided here, once, whatever keeps the rows.
//
// Thread-safe (the rows behind a mutex). Throws std::runtime_error when the
// database cannot be opened or written, LedgerUnavailable (ledger_rows.h)
// when its store cannot be reached: nothing of that call was kept.

#pragma once

#include "policies/outcomes/incoming.h"
#include "policies/outcomes/ledger_rows.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rapport::policies::outcomes {

inline constexpr std::int64_t kReplyWindow = 60 * 86400; // SPEC: probable replies within 60 days
inline constexpr std::int64_t kRevisedWindow = 2 * 86400; // SPEC: a held/rejected one in the 2 days before

enum class Fate { left, held, rejected };

// One message that left or was stopped: its header facts and the verdict's.
struct Outgoing {
    std::string id;                      // the queue id, or one made for the add-on's report
    std::string account;                 // whose: a job club member, else the lower-case sender
    std::string message_id;              // without angle brackets; may be empty
    std::vector<std::string> refs;       // In-Reply-To and References of this message
    std::string subject;
    std::vector<std::string> from;       // lower-case own addresses: header From, envelope sender
    std::vector<std::string> recipients; // lower-case; the sender's own address excluded
    // Display names from To and Cc by lower-case address ("Kowalska, Anna"),
    // for the follow-up suggestion; kept only where they name a person.
    std::map<std::string, std::string> names;
    std::int64_t time = 0;               // when it left (or was stopped)
    bool application = false;            // job-seeking new mail (the checker's features)
    std::vector<std::string> rules;      // findings of action warn or stronger
    bool revised = false;                // the add-on: edited after findings, then sent
};

enum class Class { clean, revised, despite_findings };
enum class Outcome { waiting, acknowledged, bounced, replied };
enum class Match { none, probable, exact };
std::string_view to_string(Class c);   // "clean", "revised", "despite-findings"
std::string_view to_string(Outcome o); // "waiting", "acknowledged", "bounced", "replied"

// What a received message turned out to be.
struct Answer {
    enum Kind { duplicate, own, unrelated, replied, acknowledged, bounced } kind = unrelated;
    std::string application;             // the matched application's id
    std::string account;                 // and whose it is
    Match match = Match::none;
    std::string why;                     // one phrase for the log: "exact: In-Reply-To", "probable: organisation", ...
};
std::string_view to_string(Answer::Kind k);

struct Application {
    std::string id, account, subject;
    std::vector<std::string> to;
    std::string name; // the first recipient's name when it is a person's ("Anna Kowalska"), else ""
    std::int64_t sent = 0;
    Class cls = Class::clean;
    Outcome outcome = Outcome::waiting;
    Match match = Match::none;
    std::int64_t answered = 0; // when the deciding answer came; 0 while waiting
    std::int64_t follow_up = 0; // when a follow-up is due, 0 if none is
};

struct Counts {
    int applications = 0, replied = 0, acknowledged = 0, bounced = 0;
    std::optional<double> reply_rate() const; // nullopt when applications == bounced
};

// One calendar week's applications (Monday 00:00 UTC to the next), by the
// week they left in: how each class of them has fared so far.
struct Week {
    std::int64_t start = 0; // Monday 00:00 UTC
    Counts all, clean, revised, despite_findings;
};

struct Summary {
    std::int64_t now = 0;                   // as of when
    Counts all;
    Counts clean, revised, despite_findings;
    std::vector<Week> by_week;              // oldest first, up to this week; empty weeks included
    std::vector<Application> follow_up_due; // oldest first
    std::vector<Application> recent;        // newest first, at most `recent` of them
};

struct SummarySettings {
    double follow_up_days = 7;
    std::size_t recent = 50;
    std::size_t weeks = 12; // by_week covers at most this many weeks, from the first with an application
};

// Monday 00:00 UTC of the week `t` falls in.
std::int64_t week_start(std::int64_t t);

// One plain line for a follow-up due as of `now`: how long it has been and
// to whom a short, polite note can go. "It's been 9 days - a short, polite
// follow-up to Anna Kowalska asking about your application is fine."
std::string follow_up_suggestion(const Application& a, std::int64_t now);

// SPEC.md's JSON: applications, replied, acknowledged, bounced, reply_rate,
// by_class, follow_up_due, recent; and by_week (the chart of reply rate by
// week and class). A follow-up due also carries "name" (or null),
// "waited_days" and "suggestion" (follow_up_suggestion()).
nlohmann::json to_json(const Summary& s);

class Ledger {
public:
    // The rows in SQLite at `path` (or ":memory:"), created or migrated.
    explicit Ledger(const std::string& path);
    // The rows elsewhere (PostgreSQL: store::Store::ledger_rows()).
    explicit Ledger(std::unique_ptr<LedgerRows> rows);
    ~Ledger();
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;

    using FolderState = outcomes::FolderState;

    // Records a message once (by id; an application whose Message-ID the
    // same account already has, e.g. reported by the add-on and relayed too,
    // is not counted twice). Returns false when it was known already.
    bool record(const Outgoing& m, Fate fate);
    // A held message sent anyway: it leaves now, class despite-findings.
    // False when `id` is unknown or not held.
    bool release(const std::string& id, std::int64_t now);
    // Several records and releases in one transaction: one commit for a
    // burst of mail instead of one each (about 0.35 ms per commit here).
    struct Change {
        enum Kind { record, release } kind = record;
        Outgoing message; // record
        Fate fate = Fate::left;
        std::string id;   // release
        std::int64_t when = 0;
    };
    void apply(const std::vector<Change>& changes);
    // Whether `account` has recorded a message with this Message-ID.
    bool has_message(const std::string& account, const std::string& message_id);

    // Matches one received message (see the file comment) and records the
    // answer, in a transaction of its own. `now` stands in for a missing or
    // future Date.
    Answer add_incoming(const Incoming& in, std::int64_t now);
    // The same for several messages in one transaction (an inbox reader's
    // fetched batch: one commit instead of one each), and with `state`
    // where the reader got to in `folder`, saved in that same transaction:
    // the answers and the place are kept together or not at all.
    std::vector<Answer> add_incoming_batch(const std::vector<Incoming>& batch, std::int64_t now,
                                           const std::string& folder = {}, const FolderState* state = nullptr);
    // A failure the sender's own mail system saw without a report reaching
    // the inbox (rapportd's relay: the upstream refused a recipient for
    // good). Marks those recipients bounced, once; false if `id` is unknown.
    bool add_failure(const std::string& id, const std::vector<std::string>& failed, std::int64_t when);
    // Applications that left at or after `since` and have had no answer yet.
    std::vector<std::string> unanswered_since(std::int64_t since);
    // An address that is the sender's own, besides those seen on outgoing
    // mail (the IMAP account's).
    void add_own_address(const std::string& address);

    // Applications of `account` (nullptr: everyone's) as of `now`.
    Summary summary(const std::string* account, std::int64_t now, const SummarySettings& settings);
    // Accounts that have applications, sorted.
    std::vector<std::string> accounts();
    // For /metrics.
    Totals totals();

    std::optional<FolderState> folder(const std::string& name);
    void save_folder(const std::string& name, const FolderState& st);
    // The right to read the inbox into this ledger (ledger_rows.h): null
    // while another rapportd sharing the ledger reads it.
    std::unique_ptr<InboxClaim> claim_inbox();

private:
    Answer add_incoming_locked(const Incoming& in, std::int64_t now);
    Answer match_locked(const Incoming& in, std::int64_t now, const std::string& key);
    // An application that may be what a received message answers (probably).
    struct Candidate {
        std::string id, account;
        int tier;     // 0 a recipient's address, 1 their organisation, 2 a tracking system naming it
        int answered; // the strongest answer it has had so far (replied 3, bounced 2, acknowledged 1)
        std::int64_t time;
    };
    void named_applications(const Incoming& in, std::int64_t lo, std::int64_t hi, std::vector<Candidate>& cands);
    // A new candidate, or a closer tie for one found already.
    static void consider(std::vector<Candidate>& cands, std::string id, std::string account, int tier, int answered,
                         std::int64_t time);
    // consider() for each row the store found.
    void consider_rows(LedgerRows::By by, const std::string& value, std::int64_t lo, std::int64_t hi, int tier,
                       std::vector<Candidate>& cands);
    bool record_locked(const Outgoing& m, Fate fate); // mu_ held, inside a transaction
    // Runs f inside one transaction of the rows (mu_ held): committed when
    // f returns, rolled back when it throws.
    template <class F> auto in_transaction(F&& f);
    std::unique_ptr<LedgerRows> rows_;
    // Every organisation key of an application (the org_keys table's keys):
    // an applicant tracking system's mail is matched to the ones it names.
    std::set<std::string, std::less<>> org_keys_;
    // Readers of figures (summary, totals) wait for it at most kReadWait:
    // a write held up by the store (a commit a primary keeps for a
    // synchronous replica that is gone) must not take the page and
    // /metrics down with it; they get LedgerUnavailable instead.
    std::timed_mutex mu_;
    std::unique_lock<std::timed_mutex> lock_for_reading();
};

} // namespace rapport::policies::outcomes
