// ledger_behaviour.h - what the reply ledger does, whatever keeps its rows:
// the same tests run on SQLite (outcomes_test.cc) and on PostgreSQL
// (tests/store/store_test.cc), so that the two cannot drift apart.
//
// A suite instantiates LedgerBehaviour with a LedgerStore maker: each test
// gets a new, empty store, and each open() is another Ledger on it
// (another rapportd sharing it, on PostgreSQL). Times are explicit, so 60
// days pass in a line.
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, LedgerBehaviour, ::testing::Values(LedgerStoreMaker{"sqlite", make}),
//                            LedgerBehaviour::name);

#pragma once

#include "policies/outcomes/incoming.h"
#include "policies/outcomes/ledger.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace rapport::policies::outcomes {

namespace behaviour {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t T0 = 1760000000; // October 2025

// A header block: "Name: value" lines, CRLF, a blank line.
inline std::string headers(std::initializer_list<std::pair<const char*, std::string>> fields) {
    std::string h;
    for (const auto& [n, v] : fields) h += std::string(n) + ": " + v + "\r\n";
    return h + "\r\n";
}

inline Outgoing app(const std::string& id, std::vector<std::string> to, std::int64_t t, std::vector<std::string> rules = {},
                    const std::string& account = "priya.shah@example.org") {
    Outgoing m;
    m.id = id;
    m.account = account;
    m.message_id = id + "@example.org";
    m.subject = "Application " + id;
    m.from = {account};
    m.recipients = std::move(to);
    m.time = t;
    m.application = true;
    m.rules = std::move(rules);
    return m;
}

inline Application find(const Summary& s, const std::string& id) {
    for (const auto& a : s.recent)
        if (a.id == id) return a;
    ADD_FAILURE() << "no application " << id;
    return {};
}

// One empty store for one test.
class LedgerStore {
public:
    virtual ~LedgerStore() = default;
    virtual std::unique_ptr<Ledger> open() = 0;
};

struct LedgerStoreMaker {
    std::string name; // the test name's suffix
    std::function<std::unique_ptr<LedgerStore>()> make;
};
inline void PrintTo(const LedgerStoreMaker& m, std::ostream* os) { *os << m.name; }

class LedgerBehaviour : public ::testing::TestWithParam<LedgerStoreMaker> {
protected:
    void SetUp() override { store_ = GetParam().make(); }
    void TearDown() override { store_.reset(); }
    std::unique_ptr<Ledger> open() { return store_->open(); }

public:
    static std::string name(const ::testing::TestParamInfo<LedgerStoreMaker>& info) { return info.param.name; }

private:
    std::unique_ptr<LedgerStore> store_;
};

} // namespace behaviour

namespace {
using namespace behaviour;
}

TEST_P(LedgerBehaviour, ExactReplyAutomatedAckAndOwnMail) {
    auto l_ = open();
    Ledger& l = *l_;
    ASSERT_TRUE(l.record(app("a1", {"k.osei@acme.example"}, T0), Fate::left));
    EXPECT_FALSE(l.record(app("a1", {"k.osei@acme.example"}, T0), Fate::left)) << "recorded twice";
    ASSERT_TRUE(l.record(app("a2", {"jobs@harbour.example"}, T0 + 10), Fate::left));

    // The sender's own copy (Bcc to self, a sent folder): never an answer.
    Answer own = l.add_incoming(read_incoming(headers({{"From", "Priya <priya.shah@example.org>"},
                                                       {"Message-ID", "<o1@example.org>"},
                                                       {"In-Reply-To", "<a1@example.org>"}})),
                                T0 + 20);
    EXPECT_EQ(own.kind, Answer::own);

    // An auto-reply referring to a2: acknowledged, not replied.
    Answer ack = l.add_incoming(read_incoming(headers({{"From", "Harbour <noreply@harbour.example>"},
                                                       {"Message-ID", "<ack@harbour.example>"},
                                                       {"In-Reply-To", "<a2@example.org>"},
                                                       {"Auto-Submitted", "auto-replied"}})),
                                T0 + 30);
    EXPECT_EQ(ack.kind, Answer::acknowledged);
    EXPECT_EQ(ack.application, "a2");
    EXPECT_EQ(ack.match, Match::exact);

    // A person's reply, from an address that was never a recipient
    // (a colleague, a free-mail account): exact by References.
    Answer rep = l.add_incoming(read_incoming(headers({{"From", "Kwame <kwame.o@gmail.com>"},
                                                       {"Message-ID", "<r1@gmail.com>"},
                                                       {"References", "<zz@x> <a1@example.org>"}})),
                                T0 + 40);
    EXPECT_EQ(rep.kind, Answer::replied);
    EXPECT_EQ(rep.application, "a1");
    EXPECT_EQ(rep.match, Match::exact);

    // The same message again (IMAP and the add-on both saw it): counted once.
    Answer dup = l.add_incoming(read_incoming(headers({{"From", "Kwame <kwame.o@gmail.com>"},
                                                       {"Message-ID", "<r1@gmail.com>"},
                                                       {"References", "<a1@example.org>"}})),
                                T0 + 50);
    EXPECT_EQ(dup.kind, Answer::duplicate);

    Summary s = l.summary(nullptr, T0 + 60, {});
    EXPECT_EQ(s.all.applications, 2);
    EXPECT_EQ(s.all.replied, 1);
    EXPECT_EQ(s.all.acknowledged, 1);
    EXPECT_EQ(find(s, "a1").outcome, Outcome::replied);
    EXPECT_EQ(find(s, "a2").outcome, Outcome::acknowledged);
    EXPECT_EQ(find(s, "a2").match, Match::exact);
    ASSERT_TRUE(s.all.reply_rate());
    EXPECT_DOUBLE_EQ(*s.all.reply_rate(), 0.5);
}

TEST_P(LedgerBehaviour, ProbableByAddressThenOrganisationWithinSixtyDays) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"jobs@acme.example"}, T0), Fate::left);
    l.record(app("a2", {"hr@kestrel.example"}, T0 + kDay), Fate::left);
    l.record(app("a3", {"recruit@acme.example"}, T0 + 2 * kDay), Fate::left);

    // From the exact recipient address, no In-Reply-To: probable, a1 (not a3).
    Answer byaddr = l.add_incoming(read_incoming(headers({{"From", "jobs@acme.example"},
                                                          {"Message-ID", "<p1@acme.example>"},
                                                          {"Date", "Wed, 15 Oct 2025 09:00:00 +0000"}})),
                                   T0 + 5 * kDay);
    EXPECT_EQ(byaddr.kind, Answer::replied);
    EXPECT_EQ(byaddr.application, "a1");
    EXPECT_EQ(byaddr.match, Match::probable);

    // Someone else at acme: the organisation; a1 already has its reply, so a3.
    Answer byorg = l.add_incoming(read_incoming(headers({{"From", "Dana <dana@mail.acme.example>"},
                                                         {"Message-ID", "<p2@acme.example>"}})),
                                  T0 + 6 * kDay);
    EXPECT_EQ(byorg.kind, Answer::replied);
    EXPECT_EQ(byorg.application, "a3");

    // kestrel answers 61 days after a2: outside the window, unrelated.
    Answer late = l.add_incoming(read_incoming(headers({{"From", "hr@kestrel.example"}, {"Message-ID", "<p3@k>"}})),
                                 T0 + kDay + 61 * kDay);
    EXPECT_EQ(late.kind, Answer::unrelated);
    // An answer dated before the application cannot be one.
    Answer early = l.add_incoming(read_incoming(headers({{"From", "hr@kestrel.example"},
                                                         {"Message-ID", "<p4@k>"},
                                                         {"Date", "Thu, 1 Jan 2025 00:00:00 +0000"}})),
                                  T0 + 3 * kDay);
    EXPECT_EQ(early.kind, Answer::unrelated);
}

TEST_P(LedgerBehaviour, FreeMailNamesNoOrganisationAndNewslettersAreNoAnswer) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"sam.lee@gmail.com"}, T0), Fate::left);
    l.record(app("a2", {"jobs@acme.example"}, T0), Fate::left);
    // Another gmail.com user is not Sam's organisation.
    EXPECT_EQ(l.add_incoming(read_incoming(headers({{"From", "x@gmail.com"}, {"Message-ID", "<f1@g>"}})), T0 + kDay).kind,
              Answer::unrelated);
    // Acme's newsletter is no answer to the application...
    Answer news = l.add_incoming(read_incoming(headers({{"From", "news@acme.example"},
                                                        {"Message-ID", "<n1@acme>"},
                                                        {"List-Unsubscribe", "<https://acme.example/u>"},
                                                        {"Precedence", "bulk"}})),
                                 T0 + kDay);
    EXPECT_EQ(news.kind, Answer::unrelated);
    // ...but a bulk-sent "we received your application" from the firm is an acknowledgement.
    Answer ack = l.add_incoming(read_incoming(headers({{"From", "noreply@acme.example"},
                                                       {"Message-ID", "<n2@acme>"},
                                                       {"Precedence", "bulk"}})),
                                T0 + kDay);
    EXPECT_EQ(ack.kind, Answer::acknowledged);
    EXPECT_EQ(ack.application, "a2");
}

TEST_P(LedgerBehaviour, ApplicantTrackingSystemNamingTheFirm) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"careers@kestrel-analytics.example"}, T0), Fate::left);
    l.record(app("a2", {"jobs@harbourlets.example"}, T0), Fate::left);
    // Greenhouse answering for Kestrel Analytics: named in the From name.
    Answer ats = l.add_incoming(read_incoming(headers({{"From", "Kestrel Analytics Hiring Team <no-reply@greenhouse.io>"},
                                                       {"Message-ID", "<g1@greenhouse.io>"},
                                                       {"Subject", "Thank you for applying"}})),
                                T0 + kDay);
    EXPECT_EQ(ats.kind, Answer::replied);
    EXPECT_EQ(ats.application, "a1");
    EXPECT_EQ(ats.match, Match::probable);
    // Named in the subject ("Harbour Lets" names harbourlets), automated.
    Answer ats2 = l.add_incoming(read_incoming(headers({{"From", "notifications@smartrecruiters.com"},
                                                        {"Message-ID", "<s1@sr>"},
                                                        {"Auto-Submitted", "auto-generated"},
                                                        {"Subject", "Your application to Harbour Lets"}})),
                                 T0 + kDay);
    EXPECT_EQ(ats2.kind, Answer::acknowledged);
    EXPECT_EQ(ats2.application, "a2");
    // A tracking system naming no firm written to: nothing.
    EXPECT_EQ(l.add_incoming(read_incoming(headers({{"From", "Brightwater <no-reply@greenhouse.io>"},
                                                    {"Message-ID", "<g2@greenhouse.io>"}})),
                             T0 + kDay)
                  .kind,
              Answer::unrelated);
    // An ordinary sender naming the firm is no tracking system.
    EXPECT_EQ(l.add_incoming(read_incoming(headers({{"From", "Kestrel Analytics fan <x@blog.example>"},
                                                    {"Message-ID", "<b1@blog>"}})),
                             T0 + kDay)
                  .kind,
              Answer::unrelated);
}

TEST_P(LedgerBehaviour, BouncesLeaveTheDenominator) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"hr@kestrel-analytics.example"}, T0), Fate::left);
    l.record(app("a2", {"jobs@acme.example"}, T0), Fate::left);
    l.record(app("a3", {"jobs@harbour.example", "hr@harbour.example"}, T0), Fate::left);
    l.record(app("a4", {"jobs@brightwater.example"}, T0), Fate::left);
    // Exact: the returned message's Message-ID.
    Answer b1 = l.add_incoming(read_incoming(headers({{"From", "MAILER-DAEMON@mx.example"},
                                                      {"Message-ID", "<d1@mx>"},
                                                      {"Content-Type", "multipart/report; report-type=delivery-status; boundary=b"}}),
                                             "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; "
                                             "hr@kestrel-analytics.example\r\nAction: failed\r\nStatus: 5.1.1\r\n",
                                             "Message-ID: <a1@example.org>\r\n"),
                               T0 + 60);
    EXPECT_EQ(b1.kind, Answer::bounced);
    EXPECT_EQ(b1.application, "a1");
    EXPECT_EQ(b1.match, Match::exact);
    // Probable: no returned header, only the failed recipient.
    Answer b2 = l.add_incoming(read_incoming(headers({{"From", "postmaster@mx.example"},
                                                      {"Message-ID", "<d2@mx>"},
                                                      {"Content-Type", "multipart/report; report-type=delivery-status; boundary=b"}}),
                                             "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; "
                                             "jobs@acme.example\r\nAction: failed\r\n",
                                             ""),
                               T0 + 60);
    EXPECT_EQ(b2.kind, Answer::bounced);
    EXPECT_EQ(b2.application, "a2");
    EXPECT_EQ(b2.match, Match::probable);
    // One of two recipients failed: the other may still answer, so a3 is not bounced.
    l.add_incoming(read_incoming(headers({{"From", "MAILER-DAEMON@mx.example"},
                                          {"Message-ID", "<d3@mx>"},
                                          {"X-Failed-Recipients", "jobs@harbour.example"}})),
                   T0 + 60);
    // A delay is no answer at all.
    Answer delay = l.add_incoming(read_incoming(headers({{"From", "MAILER-DAEMON@mx.example"},
                                                         {"Message-ID", "<d4@mx>"},
                                                         {"Content-Type", "multipart/report; report-type=delivery-status; boundary=b"}}),
                                                "Content-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; "
                                                "jobs@brightwater.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n",
                                                "Message-ID: <a4@example.org>\r\n"),
                                  T0 + 60);
    EXPECT_EQ(delay.kind, Answer::unrelated);
    // a4 replied.
    l.add_incoming(read_incoming(headers({{"From", "jobs@brightwater.example"}, {"Message-ID", "<r4@b>"},
                                          {"In-Reply-To", "<a4@example.org>"}})),
                   T0 + 70);

    Summary s = l.summary(nullptr, T0 + 100, {});
    EXPECT_EQ(s.all.applications, 4);
    EXPECT_EQ(s.all.bounced, 2);
    EXPECT_EQ(s.all.replied, 1);
    EXPECT_EQ(find(s, "a3").outcome, Outcome::waiting);
    EXPECT_EQ(find(s, "a1").outcome, Outcome::bounced);
    ASSERT_TRUE(s.all.reply_rate());
    EXPECT_DOUBLE_EQ(*s.all.reply_rate(), 0.5) << "1 replied of 4 - 2 bounced";
    nlohmann::json j = to_json(s);
    EXPECT_EQ(j["bounced"], 2);
    EXPECT_EQ(j["reply_rate"], 0.5);
}

TEST_P(LedgerBehaviour, ClassesAndRatesPerClass) {
    auto l_ = open();
    Ledger& l = *l_;
    const std::string acc = "priya.shah@example.org";
    l.record(app("c1", {"a@one.example"}, T0), Fate::left);                                  // clean
    l.record(app("d1", {"b@two.example"}, T0, {"generic-greeting"}), Fate::left);            // despite-findings (warned)
    l.record(app("h1", {"c@three.example"}, T0, {"cv-attachment-only"}), Fate::held);         // held: no application yet
    l.record(app("r1", {"c@three.example"}, T0 + kDay), Fate::left);                        // revised: clean after a hold
    l.record(app("h2", {"d@four.example"}, T0, {"unfilled-placeholder"}), Fate::rejected);   // rejected...
    l.record(app("c2", {"d@four.example"}, T0 + 3 * kDay), Fate::left);                     // ...3 days before: clean
    Outgoing edited = app("r2", {"e@five.example"}, T0);
    edited.revised = true;                                                                   // the add-on says edited
    l.record(edited, Fate::left);
    l.record(app("h3", {"f@six.example"}, T0, {"template-reuse"}), Fate::held);
    l.record(app("x1", {"f@six.example"}, T0, {"template-reuse"}, "someone.else@example.org"), Fate::left); // another account
    EXPECT_TRUE(l.release("h3", T0 + 2 * kDay));                                             // released: despite-findings
    EXPECT_FALSE(l.release("h3", T0 + 2 * kDay)) << "released twice";
    EXPECT_FALSE(l.release("c1", T0)) << "not held";

    for (const char* ref : {"c1@example.org", "r1@example.org", "d1@example.org"})
        l.add_incoming(read_incoming(headers({{"From", "person@answers.example"},
                                              {"Message-ID", std::string("<re-") + ref + ">"},
                                              {"In-Reply-To", std::string("<") + ref + ">"}})),
                       T0 + 4 * kDay);

    Summary s = l.summary(&acc, T0 + 4 * kDay, {});
    EXPECT_EQ(find(s, "c1").cls, Class::clean);
    EXPECT_EQ(find(s, "d1").cls, Class::despite_findings);
    EXPECT_EQ(find(s, "r1").cls, Class::revised);
    EXPECT_EQ(find(s, "c2").cls, Class::clean) << "the rejected one was more than 2 days before";
    EXPECT_EQ(find(s, "r2").cls, Class::revised);
    EXPECT_EQ(find(s, "h3").cls, Class::despite_findings);
    EXPECT_EQ(s.all.applications, 6) << "held h1 and rejected h2 never left; x1 is another account's";
    EXPECT_EQ(s.clean.applications, 2);
    EXPECT_EQ(s.clean.replied, 1);
    EXPECT_EQ(s.revised.applications, 2);
    EXPECT_EQ(s.revised.replied, 1);
    EXPECT_EQ(s.despite_findings.applications, 2);
    EXPECT_EQ(s.despite_findings.replied, 1);
    EXPECT_DOUBLE_EQ(*s.clean.reply_rate(), 0.5);

    Summary everyone = l.summary(nullptr, T0 + 4 * kDay, {});
    EXPECT_EQ(everyone.all.applications, 7);
    EXPECT_EQ(l.accounts(), (std::vector<std::string>{"priya.shah@example.org", "someone.else@example.org"}));

    nlohmann::json j = to_json(s);
    EXPECT_EQ(j["by_class"]["despite-findings"]["applications"], 2);
    EXPECT_EQ(j["by_class"]["revised"]["reply_rate"], 0.5);
    auto empty_store = GetParam().make();
    auto empty_ = empty_store->open();
    Ledger& empty = *empty_;
    EXPECT_TRUE(to_json(empty.summary(nullptr, T0, {}))["reply_rate"].is_null());
}

TEST_P(LedgerBehaviour, FollowUpDueOnceAndClears) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"jobs@acme.example"}, T0), Fate::left);
    l.record(app("a2", {"hr@kestrel.example"}, T0), Fate::left);
    l.record(app("a3", {"jobs@harbour.example"}, T0), Fate::left);
    l.record(app("a4", {"jobs@brightwater.example"}, T0), Fate::left);
    SummarySettings week{7, 50};
    EXPECT_TRUE(l.summary(nullptr, T0 + 6 * kDay, week).follow_up_due.empty()) << "not yet";
    // a1 gets a reply; a2 bounces; the sender writes to harbour again (a
    // reply to their own message, not an application); a4 gets only an auto-reply.
    l.add_incoming(read_incoming(headers({{"From", "jobs@acme.example"}, {"Message-ID", "<r1@a>"}})), T0 + kDay);
    l.add_incoming(read_incoming(headers({{"From", "MAILER-DAEMON@x.example"}, {"Message-ID", "<b2@x>"},
                                          {"X-Failed-Recipients", "hr@kestrel.example"}})),
                   T0 + kDay);
    Outgoing again;
    again.id = "f3";
    again.account = "priya.shah@example.org";
    again.message_id = "f3@example.org";
    again.refs = {"a3@example.org"};
    again.recipients = {"jobs@harbour.example"};
    again.time = T0 + 8 * kDay;
    l.record(again, Fate::left);
    l.add_incoming(read_incoming(headers({{"From", "jobs@brightwater.example"}, {"Message-ID", "<o4@b>"},
                                          {"X-Autoreply", "yes"}})),
                   T0 + kDay);

    Summary day7 = l.summary(nullptr, T0 + 7 * kDay, week);
    std::vector<std::string> due;
    for (const auto& a : day7.follow_up_due) due.push_back(a.id);
    EXPECT_EQ(due, (std::vector<std::string>{"a3", "a4"})) << "a3 is due until its follow-up on day 8";
    EXPECT_EQ(day7.follow_up_due[0].follow_up, T0 + 7 * kDay);

    Summary day9 = l.summary(nullptr, T0 + 9 * kDay, week);
    ASSERT_EQ(day9.follow_up_due.size(), 1u);
    EXPECT_EQ(day9.follow_up_due[0].id, "a4") << "acknowledged only: still worth a follow-up";
    // A reply to the follow-up (it refers to f3 only) is a reply to a3: exact.
    Answer r3 = l.add_incoming(read_incoming(headers({{"From", "lettings@elsewhere.example"}, {"Message-ID", "<r3@h>"},
                                                      {"In-Reply-To", "<f3@example.org>"}})),
                               T0 + 9 * kDay);
    EXPECT_EQ(r3.application, "a3");
    EXPECT_EQ(r3.match, Match::exact);
    // Past the 60-day window nothing is due any more.
    EXPECT_TRUE(l.summary(nullptr, T0 + 61 * kDay, week).follow_up_due.empty());
    // A shorter setting makes them due sooner (what the daemon's [outcomes] follow_up_days does).
    EXPECT_EQ(l.summary(nullptr, T0 + kDay, {0.5, 50}).follow_up_due.size(), 1u);
}

TEST_P(LedgerBehaviour, FolderStateAndTheSameMessageIdTwice) {
    auto l_ = open();
    Ledger& l = *l_;
    EXPECT_FALSE(l.folder("INBOX"));
    l.save_folder("INBOX", {7, 42, 99, 3});
    auto st = l.folder("INBOX");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->uidvalidity, 7u);
    EXPECT_EQ(st->last_uid, 42u);
    EXPECT_EQ(st->modseq, 99u);
    EXPECT_EQ(st->read, 3u);
    // Relayed by rapportd and reported by the add-on: one application.
    Outgoing a = app("q1", {"jobs@acme.example"}, T0);
    EXPECT_TRUE(l.record(a, Fate::left));
    a.id = "sent-1";
    EXPECT_FALSE(l.record(a, Fate::left));
    EXPECT_TRUE(l.has_message(a.account, a.message_id));
    EXPECT_EQ(l.summary(nullptr, T0, {}).all.applications, 1);
}

// What the daemon's ledger thread does with a burst: one transaction.
TEST_P(LedgerBehaviour, ChangesInOneBatch) {
    auto l_ = open();
    Ledger& l = *l_;
    std::vector<Ledger::Change> batch;
    for (const char* id : {"b1", "b2"}) {
        Ledger::Change c;
        c.message = app(id, {std::string("jobs@") + id + ".example"}, T0, {"cv-attachment-only"});
        c.fate = Fate::held;
        batch.push_back(c);
    }
    Ledger::Change rel;
    rel.kind = Ledger::Change::release;
    rel.id = "b2";
    rel.when = T0 + 5;
    batch.push_back(rel);
    Ledger::Change again = batch[0]; // recorded twice in one batch: once
    batch.push_back(again);
    l.apply(batch);
    Summary s = l.summary(nullptr, T0 + 10, {});
    ASSERT_EQ(s.all.applications, 1) << "b1 is still held";
    EXPECT_EQ(s.recent[0].id, "b2");
    EXPECT_EQ(s.recent[0].sent, T0 + 5);
    EXPECT_EQ(s.recent[0].cls, Class::despite_findings);
}

// An answer to the sender's ordinary mail to someone at a firm she also
// applied to is no reply to the application - not even a probable one.
TEST_P(LedgerBehaviour, AnswerToOrdinaryMailIsNoReply) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"jobs@harbourlets.example"}, T0), Fate::left);
    Outgoing tenant;
    tenant.id = "o1";
    tenant.account = "priya.shah@example.org";
    tenant.message_id = "boiler@example.org";
    tenant.subject = "Boiler at 14 Quay Street";
    tenant.recipients = {"maintenance@harbourlets.example"};
    tenant.time = T0 + kDay;
    l.record(tenant, Fate::left);
    Answer a = l.add_incoming(read_incoming(headers({{"From", "Maintenance <maintenance@harbourlets.example>"},
                                                     {"Message-ID", "<m1@harbourlets.example>"},
                                                     {"In-Reply-To", "<boiler@example.org>"}})),
                              T0 + 2 * kDay);
    EXPECT_EQ(a.kind, Answer::unrelated) << a.why;
    EXPECT_EQ(a.why, "an answer to mail that was no application");
    // The same person writing without reply headers still counts, probably.
    Answer b = l.add_incoming(read_incoming(headers({{"From", "Tom <tom@harbourlets.example>"},
                                                     {"Message-ID", "<m2@harbourlets.example>"}})),
                              T0 + 3 * kDay);
    EXPECT_EQ(b.kind, Answer::replied);
    EXPECT_EQ(b.application, "a1");
    // A reference the sender never wrote (another thread of the firm's) is no reason to ignore it.
    auto m_store = GetParam().make();
    auto m_ = m_store->open();
    Ledger& m = *m_;
    m.record(app("a1", {"jobs@harbourlets.example"}, T0), Fate::left);
    Answer c = m.add_incoming(read_incoming(headers({{"From", "Tom <tom@harbourlets.example>"},
                                                     {"Message-ID", "<m3@harbourlets.example>"},
                                                     {"In-Reply-To", "<internal-42@harbourlets.example>"}})),
                              T0 + 3 * kDay);
    EXPECT_EQ(c.kind, Answer::replied);
}

// The tracking system's mail names the firm in several ways; the keys are
// found through the index, whatever else the ledger holds.
TEST_P(LedgerBehaviour, ApplicantTrackingSystemNamesFoundThroughTheIndex) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"jobs@brightwaterrecruit.example"}, T0), Fate::left);
    l.record(app("a2", {"hr@tescos-stores.example"}, T0), Fate::left); // keys tescosstores, tescos
    l.record(app("a3", {"jobs@mcdonalds.example"}, T0), Fate::left);
    l.record(app("a4", {"jobs@stbrigidshospice.example"}, T0), Fate::left);
    for (int i = 0; i < 300; ++i) // firms named like the words of the mails, never named by them
        l.record(app("x" + std::to_string(i), {"jobs@thank" + std::to_string(i) + ".example"}, T0), Fate::left);
    auto ats = [&](const std::string& from, const std::string& subject, const std::string& id) {
        return l.add_incoming(read_incoming(headers({{"From", from}, {"Subject", subject}, {"Message-ID", "<" + id + "@ats>"}})),
                              T0 + kDay);
    };
    // The key ends inside the last word: "Brightwater Recruitment" names brightwaterrecruit.
    EXPECT_EQ(ats("Brightwater Recruitment <no-reply@greenhouse.io>", "Thank you for applying", "g1").application, "a1");
    // A plural the key lacks: "Tescos" names tescos.
    EXPECT_EQ(ats("Careers <careers@smartrecruiters.com>", "Thank you for applying to Tescos", "g2").application, "a2");
    // A possessive the word list dropped: "McDonald's" names mcdonalds, "St Brigid's Hospice" stbrigidshospice.
    EXPECT_EQ(ats("McDonald's Careers <noreply@myworkday.com>", "Application received", "g3").application, "a3");
    EXPECT_EQ(ats("St Brigid's Hospice <jobs@teamtailor.com>", "Your application", "g4").application, "a4");
    // Naming nobody written to: nothing, however many keys start like its words.
    EXPECT_EQ(ats("Thank You <noreply@greenhouse.io>", "Thanks for your interest", "g5").kind, Answer::unrelated);
}

// What the page and rapportctl show for a follow-up due: whom to write to,
// how long it has been, and one plain line.
TEST_P(LedgerBehaviour, FollowUpSuggestion) {
    auto l_ = open();
    Ledger& l = *l_;
    Outgoing a = app("a1", {"anna.kowalska@acme.co.uk"}, T0);
    a.names = {{"anna.kowalska@acme.co.uk", "Kowalska, Anna"}};
    l.record(a, Fate::left);
    Outgoing b = app("a2", {"hr@brightwater.example"}, T0 + 3600);
    b.names = {{"hr@brightwater.example", "Hiring Team"}};
    l.record(b, Fate::left);
    l.add_incoming(read_incoming(headers({{"From", "hr@brightwater.example"}, {"Message-ID", "<ack@b>"},
                                          {"Auto-Submitted", "auto-replied"}})),
                   T0 + 7200);
    Summary s = l.summary(nullptr, T0 + 9 * kDay + 7200, {});
    ASSERT_EQ(s.follow_up_due.size(), 2u);
    EXPECT_EQ(s.follow_up_due[0].name, "Anna Kowalska");
    EXPECT_EQ(follow_up_suggestion(s.follow_up_due[0], s.now),
              "It's been 9 days - a short, polite follow-up to Anna Kowalska asking about your application is fine.");
    EXPECT_EQ(follow_up_suggestion(s.follow_up_due[1], s.now),
              "It's been 9 days and only an automatic reply came back - a short, polite follow-up to "
              "hr@brightwater.example asking about your application is fine.");
    nlohmann::json j = to_json(s);
    const auto& due = j["follow_up_due"];
    EXPECT_EQ(due[0]["name"], "Anna Kowalska");
    EXPECT_TRUE(due[1]["name"].is_null()) << "a team is not a person";
    EXPECT_EQ(due[0]["waited_days"], 9);
    EXPECT_EQ(due[1]["waited"], 9 * kDay + 3600) << "in seconds, by the ledger's clock, for the page's own wording";
    EXPECT_EQ(due[1]["acknowledged"], true);
    EXPECT_EQ(due[0]["suggestion"], follow_up_suggestion(s.follow_up_due[0], s.now));
    // Shorter waits in hours and minutes (a follow_up_days of 0.5 or less).
    Application x;
    x.to = {"jobs@acme.example"};
    x.sent = T0;
    EXPECT_EQ(follow_up_suggestion(x, T0 + 5 * 3600 + 59).substr(0, 21), "It's been 5 hours - a");
    EXPECT_EQ(follow_up_suggestion(x, T0 + 61).substr(0, 22), "It's been 1 minute - a");
    EXPECT_EQ(follow_up_suggestion(x, T0 + kDay).substr(0, 19), "It's been 1 day - a");
}

// The chart's figures: each week's applications by the week they left,
// and how each class of them fared.
TEST_P(LedgerBehaviour, ReplyRateByWeekAndClass) {
    const std::int64_t monday = 1760313600; // 2025-10-13
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("w1a", {"a@one.example"}, monday + kDay), Fate::left);                           // clean, replied
    l.record(app("w1b", {"b@two.example"}, monday + 2 * kDay), Fate::left);                       // clean, waiting
    l.record(app("w1c", {"c@three.example"}, monday + 3 * kDay, {"generic-greeting"}), Fate::left); // despite, bounced
    l.record(app("w3a", {"d@four.example"}, monday + 14 * kDay, {"generic-greeting"}), Fate::left); // despite, replied
    l.add_incoming(read_incoming(headers({{"From", "a@one.example"}, {"Message-ID", "<r1@one>"},
                                          {"In-Reply-To", "<w1a@example.org>"}})),
                   monday + 4 * kDay);
    l.add_incoming(read_incoming(headers({{"From", "MAILER-DAEMON@x.example"}, {"Message-ID", "<b@x>"},
                                          {"X-Failed-Recipients", "c@three.example"}})),
                   monday + 4 * kDay);
    l.add_incoming(read_incoming(headers({{"From", "d@four.example"}, {"Message-ID", "<r3@four>"}})),
                   monday + 15 * kDay);
    Summary s = l.summary(nullptr, monday + 22 * kDay, {});
    ASSERT_EQ(s.by_week.size(), 4u) << "from the first week with an application to this one, empty weeks too";
    EXPECT_EQ(s.by_week[0].start, monday);
    EXPECT_EQ(s.by_week[3].start, monday + 21 * kDay);
    EXPECT_EQ(s.by_week[0].all.applications, 3);
    EXPECT_EQ(s.by_week[0].clean.applications, 2);
    EXPECT_EQ(s.by_week[0].clean.replied, 1);
    EXPECT_DOUBLE_EQ(*s.by_week[0].clean.reply_rate(), 0.5);
    EXPECT_EQ(s.by_week[0].despite_findings.bounced, 1);
    EXPECT_FALSE(s.by_week[0].despite_findings.reply_rate()) << "all bounced: nothing to divide by";
    EXPECT_EQ(s.by_week[1].all.applications, 0);
    EXPECT_EQ(s.by_week[2].despite_findings.replied, 1);
    nlohmann::json j = to_json(s);
    ASSERT_EQ(j["by_week"].size(), 4u);
    EXPECT_EQ(j["by_week"][0]["week"], monday);
    EXPECT_EQ(j["by_week"][0]["reply_rate"], 0.5) << "1 replied of 3 - 1 bounced";
    EXPECT_EQ(j["by_week"][0]["by_class"]["clean"]["reply_rate"], 0.5);
    EXPECT_TRUE(j["by_week"][0]["by_class"]["despite-findings"]["reply_rate"].is_null());
    EXPECT_EQ(j["by_week"][2]["by_class"]["despite-findings"]["reply_rate"], 1.0);
    EXPECT_TRUE(j["by_week"][1]["reply_rate"].is_null());
    // Only the last `weeks` weeks are charted.
    EXPECT_EQ(l.summary(nullptr, monday + 22 * kDay, {7, 50, 2}).by_week.size(), 2u);
    EXPECT_TRUE(GetParam().make()->open()->summary(nullptr, monday, {}).by_week.empty());
}

// What /metrics counts: applications that left by class; replies by match.
TEST_P(LedgerBehaviour, TotalsForMetrics) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("c1", {"a@one.example"}, T0), Fate::left);
    l.record(app("c2", {"b@two.example"}, T0), Fate::left);
    l.record(app("d1", {"c@three.example"}, T0, {"generic-greeting"}), Fate::left);
    l.record(app("h1", {"d@four.example"}, T0, {"cv-attachment-only"}), Fate::held);
    l.add_incoming(read_incoming(headers({{"From", "a@one.example"}, {"Message-ID", "<r1@one>"},
                                          {"In-Reply-To", "<c1@example.org>"}})),
                   T0 + kDay);
    l.add_incoming(read_incoming(headers({{"From", "x@two.example"}, {"Message-ID", "<r2@two>"}})), T0 + kDay);
    l.add_incoming(read_incoming(headers({{"From", "c@three.example"}, {"Message-ID", "<a3@three>"},
                                          {"X-Autoreply", "yes"}})),
                   T0 + kDay);
    Totals t = l.totals();
    EXPECT_EQ(t.clean, 2);
    EXPECT_EQ(t.revised, 0);
    EXPECT_EQ(t.despite_findings, 1) << "the held one has not left";
    EXPECT_EQ(t.replies_exact, 1);
    EXPECT_EQ(t.replies_probable, 1) << "the auto-reply is no reply";
    l.release("h1", T0 + 2 * kDay);
    EXPECT_EQ(l.totals().despite_findings, 2);
}

// A reader's batch: the answers and where it got to, in one transaction.
TEST_P(LedgerBehaviour, IncomingBatchWithTheFolderState) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("a1", {"jobs@acme.example"}, T0), Fate::left);
    std::vector<Incoming> batch = {
        read_incoming(headers({{"From", "jobs@acme.example"}, {"Message-ID", "<r1@acme>"}, {"In-Reply-To", "<a1@example.org>"}})),
        read_incoming(headers({{"From", "news@shop.example"}, {"Message-ID", "<n1@shop>"}})),
        read_incoming(headers({{"From", "jobs@acme.example"}, {"Message-ID", "<r1@acme>"}})), // the same again
    };
    Ledger::FolderState st{5, 103, 0, 3};
    std::vector<Answer> answers = l.add_incoming_batch(batch, T0 + kDay, "INBOX", &st);
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_EQ(answers[0].kind, Answer::replied);
    EXPECT_EQ(answers[0].account, "priya.shah@example.org");
    EXPECT_EQ(answers[1].kind, Answer::unrelated);
    EXPECT_EQ(answers[2].kind, Answer::duplicate);
    auto saved = l.folder("INBOX");
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->last_uid, 103u);
    EXPECT_EQ(saved->read, 3u);
    EXPECT_EQ(l.summary(nullptr, T0 + kDay, {}).all.replied, 1);
}

// Two ledgers on one store (two rapportd sharing it): an application
// recorded through one is answered through the other, a message both
// read counts once, and both give the same figures.
TEST_P(LedgerBehaviour, TwoLedgersOnOneStoreAreOne) {
    auto a_ = open();
    auto b_ = open();
    Ledger& a = *a_;
    Ledger& b = *b_;
    ASSERT_TRUE(a.record(app("n1", {"k.osei@acme.example"}, T0), Fate::left));
    EXPECT_FALSE(b.record(app("n1", {"k.osei@acme.example"}, T0), Fate::left)) << "known through the other";
    ASSERT_TRUE(b.record(app("n2", {"jobs@harbour.example"}, T0 + 10, {"generic-greeting"}), Fate::left));
    b.record(app("h1", {"hr@kestrel.example"}, T0 + 20, {"cv-attachment-only"}), Fate::held);
    EXPECT_TRUE(a.release("h1", T0 + 30)) << "held through one, released through the other";
    const std::string reply = headers({{"From", "Kwame <kwame.o@acme.example>"},
                                       {"Message-ID", "<shared-r1@acme.example>"},
                                       {"In-Reply-To", "<n1@example.org>"}});
    Answer first = b.add_incoming(read_incoming(reply), T0 + kDay);
    EXPECT_EQ(first.kind, Answer::replied);
    EXPECT_EQ(first.application, "n1");
    EXPECT_EQ(first.account, "priya.shah@example.org");
    EXPECT_EQ(a.add_incoming(read_incoming(reply), T0 + kDay + 1).kind, Answer::duplicate) << "read by both: once";
    // The sender's own address recorded through one is known to the other.
    EXPECT_EQ(a.add_incoming(read_incoming(headers({{"From", "priya.shah@example.org"}, {"Message-ID", "<own@x>"}})),
                             T0 + kDay)
                  .kind,
              Answer::own);
    Summary sa = a.summary(nullptr, T0 + 2 * kDay, {});
    Summary sb = b.summary(nullptr, T0 + 2 * kDay, {});
    EXPECT_EQ(sa.all.applications, 3);
    EXPECT_EQ(sa.all.replied, 1);
    EXPECT_EQ(find(sa, "h1").cls, Class::despite_findings);
    EXPECT_EQ(to_json(sa), to_json(sb));
    EXPECT_EQ(a.totals().replies_exact, 1);
    EXPECT_EQ(b.totals().despite_findings, 2);
    // An inbox reader's place, saved through one, is where the other goes on.
    a.save_folder("INBOX", {9, 120, 0, 12});
    auto st = b.folder("INBOX");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->last_uid, 120u);
}

// A relay failure, several accounts' summaries, accounts() and
// unanswered_since() through the row store.
TEST_P(LedgerBehaviour, RelayFailuresAccountsAndUnanswered) {
    auto l_ = open();
    Ledger& l = *l_;
    l.record(app("f1", {"a@one.example", "b@one.example"}, T0), Fate::left);
    l.record(app("f2", {"c@two.example"}, T0 + 10, {}, "zoe@example.org"), Fate::left);
    l.record(app("f3", {"d@three.example"}, T0 + 20, {}, "zoe@example.org"), Fate::left);
    EXPECT_EQ(l.unanswered_since(T0 + 5), (std::vector<std::string>{"f2", "f3"}));
    EXPECT_FALSE(l.add_failure("nope", {"x@y.example"}, T0 + 30));
    EXPECT_TRUE(l.add_failure("f2", {"C@two.example"}, T0 + 30));
    EXPECT_FALSE(l.add_failure("f2", {"c@two.example"}, T0 + 31)) << "once";
    EXPECT_TRUE(l.add_failure("f1", {"a@one.example"}, T0 + 30));
    EXPECT_EQ(l.unanswered_since(T0), (std::vector<std::string>{"f3"}));
    EXPECT_EQ(l.accounts(), (std::vector<std::string>{"priya.shah@example.org", "zoe@example.org"}));
    const std::string zoe = "zoe@example.org";
    Summary z = l.summary(&zoe, T0 + kDay, {});
    EXPECT_EQ(z.all.applications, 2);
    EXPECT_EQ(z.all.bounced, 1);
    EXPECT_EQ(find(z, "f2").outcome, Outcome::bounced);
    Summary all = l.summary(nullptr, T0 + kDay, {});
    EXPECT_EQ(find(all, "f1").outcome, Outcome::waiting) << "one of its two recipients failed";
    EXPECT_EQ(find(all, "f1").to, (std::vector<std::string>{"a@one.example", "b@one.example"})) << "in their order";
}

} // namespace rapport::policies::outcomes
