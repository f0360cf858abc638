// outcomes.cc - `rapportctl outcomes`: did it work? The reply ledger, from a terminal.
//
//   rapportctl outcomes [--json] [--state DIR] [--config FILE]
//
// --config: the node whose config that is (its state directory); with
// [store] url every node shares one ledger and answers the same.
// Asks the running daemon (GET /api/v1/outcomes, see daemon/API.md) and
// prints how many applications left, how many got a reply, an automatic
// acknowledgement or bounced, the reply rate overall and per class (sent
// clean, revised after findings, sent despite findings), the reply rate
// by week, the follow-ups due with a suggestion each, and the latest
// applications; for a job club's adviser also one line
// per member; and whether the inbox can be read. --json prints the API's
// JSON unchanged. Exit status: 0 done, 1 the daemon is unreachable or said
// no, 2 bad usage. The figures are told in the terminal's language
// (terminal.h), the JSON never.

#include <utility> // before Boost under C++20 with g++ 12
#include <boost/beast/http/verb.hpp>

#include "daemon/ctl/api_client.h"
#include "daemon/ctl/terminal.h"
#include "daemon/lib/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
using namespace rapport::ctl;

constexpr const char* kUsage = "usage: rapportctl outcomes [--json] [--state DIR] [--config FILE]\n";

int num(const json& j, const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<int>() : 0; }

std::string rate(const json& j) {
    if (!j.contains("reply_rate") || j["reply_rate"].is_null()) return tr("outcomes", "no rate yet");
    return fill(tr("outcomes", "{percent}%"),
                {{"percent", std::to_string(static_cast<int>(std::lround(j["reply_rate"].get<double>() * 100)))}});
}

std::string count(int n) { return std::to_string(n); }

// What became of an application, for people.
std::string outcome_word(const std::string& o) {
    if (o == "replied") return tr("outcome", "replied");
    if (o == "acknowledged") return tr("outcome", "acknowledged");
    if (o == "bounced") return tr("outcome", "bounced");
    if (o == "waiting") return tr("outcome", "waiting");
    return o;
}

// The inbox reader's state in a sentence (the API's "message" is English).
std::string inbox_sentence(const json& inbox) {
    const std::string state = inbox.value("state", "");
    if (state == "off")
        return tr("inbox", "No inbox is set up, so only replies the Thunderbird add-on reports are counted "
                           "([imap] in rapportd's config).");
    if (state == "starting") return tr("inbox", "Rapport is connecting to your inbox.");
    if (state == "ok") {
        if (inbox.value("mode", "") == "idle")
            return tr("inbox", "Rapport reads your inbox for replies (told of new mail at once).");
        return fill(tr("inbox", "Rapport reads your inbox for replies (checking every {seconds} s)."),
                    {{"seconds", std::to_string(inbox.value("poll_seconds", 60))}});
    }
    if (state == "error")
        return fill(tr("inbox", "Rapport can't read your inbox: {problem}"), {{"problem", inbox.value("problem", "")}});
    return inbox.value("message", "");
}

std::string to_list(const json& a) {
    std::string out;
    if (a.contains("to") && a["to"].is_array())
        for (const auto& t : a["to"]) out += (out.empty() ? "" : ", ") + t.get<std::string>();
    return out;
}

std::string subject(const json& a) {
    std::string s = a.value("subject", "");
    if (s.empty()) return tr("outcomes", "(no subject)");
    if (s.size() > 60) {
        s.resize(57);
        while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back(); // whole characters
        if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
        s += "...";
    }
    return "\"" + s + "\"";
}

// "9 days", "5 hours": how long since, in the largest whole unit.
std::string how_long(std::int64_t seconds) {
    if (seconds >= 86400) {
        long n = static_cast<long>(seconds / 86400);
        return fill(tr_plural("outcomes", "{n} day", "{n} days", n), {{"n", std::to_string(n)}});
    }
    if (seconds >= 3600) {
        long n = static_cast<long>(seconds / 3600);
        return fill(tr_plural("outcomes", "{n} hour", "{n} hours", n), {{"n", std::to_string(n)}});
    }
    long n = std::max(1L, static_cast<long>(seconds / 60));
    return fill(tr_plural("outcomes", "{n} minute", "{n} minutes", n), {{"n", std::to_string(n)}});
}

// A follow-up's one-line suggestion, as the page words it (the API's
// "suggestion" is the English of the same).
std::string suggestion(const json& a) {
    std::string who = a.value("name", json()).is_string() ? a["name"].get<std::string>() : std::string();
    if (who.empty() && a.contains("to") && a["to"].is_array() && !a["to"].empty()) who = a["to"][0].get<std::string>();
    std::string time = how_long(a.value("waited", std::int64_t{0})); // by the daemon's clock
    return fill(a.value("acknowledged", false)
                    ? tr("outcomes", "It's been {time} and only an automatic reply came back - a short, polite "
                                     "follow-up to {who} asking about your application is fine.")
                    : tr("outcomes", "It's been {time} - a short, polite follow-up to {who} asking about your "
                                     "application is fine."),
                {{"time", time}, {"who", who}});
}

void print_summary(const json& j, double follow_up_days, const std::string& indent) {
    int apps = num(j, "applications");
    std::cout << indent
              << fill(tr("outcomes", "Applications: {sent} sent, {replied} replied, {acknowledged} acknowledged "
                                     "automatically, {bounced} bounced"),
                      {{"sent", count(apps)},
                       {"replied", count(num(j, "replied"))},
                       {"acknowledged", count(num(j, "acknowledged"))},
                       {"bounced", count(num(j, "bounced"))}})
              << "\n";
    std::cout << indent;
    if (j["reply_rate"].is_null())
        std::cout << fill(tr("outcomes", "Reply rate: {rate}"), {{"rate", rate(j)}});
    else
        std::cout << fill(tr("outcomes", "Reply rate: {rate} ({replied} of the {arrived} that arrived)"),
                          {{"rate", rate(j)}, {"replied", count(num(j, "replied"))},
                           {"arrived", count(apps - num(j, "bounced"))}});
    std::cout << "\n";
    const std::pair<const char*, std::string> classes[] = {
        {"clean", tr("outcomes", "sent clean")},
        {"revised", tr("outcomes", "revised after findings")},
        {"despite-findings", tr("outcomes", "sent despite findings")}};
    std::size_t column = 0;
    for (const auto& [key, label] : classes) column = std::max(column, width(label) + 2);
    for (const auto& [key, label] : classes) {
        const json& c = j["by_class"][key];
        std::cout << indent << "  " << pad(label + ":", column)
                  << fill(tr("outcomes", "{sent} sent, {replied} replied ({rate})"),
                          {{"sent", count(num(c, "applications"))}, {"replied", count(num(c, "replied"))},
                           {"rate", rate(c)}})
                  << "\n";
    }
    const json& due = j["follow_up_due"];
    if (!due.empty()) {
        std::ostringstream days;
        days << follow_up_days;
        std::cout << "\n"
                  << indent
                  << fill(tr_plural("outcomes", "Follow-up due (no reply after {days} day):",
                                    "Follow-up due (no reply after {days} days):", std::lround(follow_up_days)),
                          {{"days", days.str()}})
                  << "\n";
        for (const auto& a : due) {
            std::cout << indent << "  " << local_time(a.value("sent", std::int64_t{0})) << "  " << to_list(a) << "  "
                      << subject(a) << "\n";
            std::cout << indent << "    " << suggestion(a) << "\n";
        }
    }
}

// The page's chart as lines: each week's reply rate, overall and per class.
void print_weeks(const json& j) {
    if (!j.contains("by_week") || !j["by_week"].is_array()) return;
    const json& weeks = j["by_week"];
    if (std::none_of(weeks.begin(), weeks.end(), [](const json& w) { return num(w, "applications") > 0; })) return;
    auto cell = [](const json& c) { return c.is_object() && num(c, "applications") > 0 ? rate(c) : std::string("-"); };
    std::cout << "\n" << tr("outcomes", "Reply rate by week (the week the applications left, Monday to Sunday, UTC):")
              << "\n";
    for (const auto& w : weeks) {
        std::time_t t = static_cast<std::time_t>(w.value("week", std::int64_t{0}));
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char day[16];
        std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
        const json& bc = w["by_class"];
        std::cout << "  " << day << "  "
                  << fill(tr("outcomes", "{sent} sent, {replied} replied ({rate}); clean {clean}, revised {revised}, "
                                         "despite findings {despite}"),
                          {{"sent", count(num(w, "applications"))}, {"replied", count(num(w, "replied"))},
                           {"rate", cell(w)}, {"clean", cell(bc["clean"])}, {"revised", cell(bc["revised"])},
                           {"despite", cell(bc["despite-findings"])}})
                  << "\n";
    }
}

} // namespace

int cmd_outcomes(const std::vector<std::string>& args) {
    std::string state, config;
    bool as_json = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--json") as_json = true;
        else if (args[i] == "--state" && i + 1 < args.size()) state = args[++i];
        else if (args[i].rfind("--state=", 0) == 0) state = args[i].substr(8);
        else if (args[i] == "--config" && i + 1 < args.size()) config = args[++i];
        else if (args[i].rfind("--config=", 0) == 0) config = args[i].substr(9);
        else {
            std::cerr << kUsage;
            return 2;
        }
    }
    if (!config.empty() && state.empty()) {
        // The node's config: its state directory says where its API listens.
        const char* argv[] = {"rapportctl", "--config", config.c_str()};
        try {
            state = rapport::daemon::load_config(3, argv).state_dir;
        } catch (const std::exception& e) {
            std::cerr << "rapportctl: " << e.what() << "\n";
            return 2;
        }
    }
    if (state.empty()) state = rapport::daemon::default_state_dir();
    try {
        Reply r = call(state, boost::beast::http::verb::get, "/api/v1/outcomes");
        if (r.status != 200) return fail(r);
        json j = parse_json(r);
        if (as_json) {
            std::cout << j.dump() << "\n";
            return 0;
        }
        double days = j.value("follow_up_days", 7.0);
        print_summary(j, days, "");
        print_weeks(j);
        if (j.contains("members") && !j["members"].empty()) {
            std::cout << "\n" << tr("outcomes", "Members:") << "\n";
            for (const auto& m : j["members"]) {
                const long due = static_cast<long>(m["follow_up_due"].size());
                std::cout << "  "
                          << fill(tr_plural("outcomes",
                                            "{member}: {sent} sent, {replied} replied, {bounced} bounced, {rate}, "
                                            "{due} follow-up due",
                                            "{member}: {sent} sent, {replied} replied, {bounced} bounced, {rate}, "
                                            "{due} follow-ups due",
                                            due),
                                  {{"member", m.value("member", "")}, {"sent", count(num(m, "applications"))},
                                   {"replied", count(num(m, "replied"))}, {"bounced", count(num(m, "bounced"))},
                                   {"rate", rate(m)}, {"due", std::to_string(due)}})
                          << "\n";
            }
        }
        const json& recent = j["recent"];
        if (!recent.empty()) {
            std::cout << "\n" << tr("outcomes", "Latest applications:") << "\n";
            std::size_t shown = 0;
            for (const auto& a : recent) {
                if (++shown > 10) break;
                std::string outcome = outcome_word(a.value("outcome", "waiting"));
                if (a.contains("match") && a["match"].is_string())
                    outcome += " (" +
                               (a["match"] == "exact" ? tr("outcome", "certainly") : tr("outcome", "probably")) + ")";
                std::cout << "  " << local_time(a.value("sent", std::int64_t{0})) << "  " << pad(outcome, 22)
                          << to_list(a) << "  " << subject(a) << "\n";
            }
        }
        if (j.contains("inbox")) std::cout << "\n" << inbox_sentence(j["inbox"]) << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "rapportctl: " << e.what() << "\n";
        return 1;
    }
}
