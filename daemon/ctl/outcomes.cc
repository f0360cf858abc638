// outcomes.cc - `rapportctl outcomes`: did it work? The reply ledger, from a terminal.
//
//   rapportctl outcomes [--json] [--state DIR]
//
// Asks the running daemon (GET /api/v1/outcomes, see daemon/API.md) and
// prints how many applications left, how many got a reply, an automatic
// acknowledgement or bounced, the reply rate overall and per class (sent
// clean, revised after findings, sent despite findings), the reply rate
// by week, the follow-ups due with a suggestion each, and the latest
// applications; for a job club's adviser also one line
// per member; and whether the inbox can be read. --json prints the API's
// JSON unchanged. Exit status: 0 done, 1 the daemon is unreachable or said
// no, 2 bad usage.

#include <utility> // before Boost under C++20 with g++ 12
#include <boost/beast/http/verb.hpp>

#include "daemon/ctl/api_client.h"
#include "daemon/lib/config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

namespace {

using json = nlohmann::json;
using namespace rapport::ctl;

constexpr const char* kUsage = "usage: rapportctl outcomes [--json] [--state DIR]\n";

std::string local_time(std::int64_t t) {
    char buf[32];
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::localtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

int num(const json& j, const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<int>() : 0; }

std::string rate(const json& j) {
    if (!j.contains("reply_rate") || j["reply_rate"].is_null()) return "no rate yet";
    return std::to_string(static_cast<int>(std::lround(j["reply_rate"].get<double>() * 100))) + "%";
}

std::string to_list(const json& a) {
    std::string out;
    if (a.contains("to") && a["to"].is_array())
        for (const auto& t : a["to"]) out += (out.empty() ? "" : ", ") + t.get<std::string>();
    return out;
}

std::string subject(const json& a) {
    std::string s = a.value("subject", "");
    if (s.empty()) return "(no subject)";
    if (s.size() > 60) {
        s.resize(57);
        while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back(); // whole characters
        if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
        s += "...";
    }
    return "\"" + s + "\"";
}

void print_summary(const json& j, double follow_up_days, const std::string& indent) {
    int apps = num(j, "applications");
    std::cout << indent << "Applications: " << apps << " sent, " << num(j, "replied") << " replied, "
              << num(j, "acknowledged") << " acknowledged automatically, " << num(j, "bounced") << " bounced\n";
    std::cout << indent << "Reply rate: " << rate(j);
    if (!j["reply_rate"].is_null())
        std::cout << " (" << num(j, "replied") << " of the " << apps - num(j, "bounced") << " that arrived)";
    std::cout << "\n";
    const std::pair<const char*, const char*> classes[] = {
        {"clean", "sent clean"}, {"revised", "revised after findings"}, {"despite-findings", "sent despite findings"}};
    for (const auto& [key, label] : classes) {
        const json& c = j["by_class"][key];
        std::string l = label;
        std::cout << indent << "  " << l << ":" << std::string(24 - l.size(), ' ') << num(c, "applications")
                  << " sent, " << num(c, "replied") << " replied (" << rate(c) << ")\n";
    }
    const json& due = j["follow_up_due"];
    if (!due.empty()) {
        std::cout << "\n" << indent << "Follow-up due (no reply after " << follow_up_days << " days):\n";
        for (const auto& a : due) {
            std::cout << indent << "  " << local_time(a.value("sent", std::int64_t{0})) << "  " << to_list(a) << "  "
                      << subject(a) << "\n";
            if (a.contains("suggestion") && a["suggestion"].is_string())
                std::cout << indent << "    " << a["suggestion"].get<std::string>() << "\n";
        }
    }
}

// The page's chart as a table: each week's reply rate, overall and per class.
void print_weeks(const json& j) {
    if (!j.contains("by_week") || !j["by_week"].is_array()) return;
    const json& weeks = j["by_week"];
    bool any = false;
    for (const auto& w : weeks) any |= num(w, "applications") > 0;
    if (!any) return;
    auto cell = [](const json& c) -> std::string {
        if (!c.is_object() || num(c, "applications") == 0) return "-";
        return rate(c) == "no rate yet" ? "?" : rate(c);
    };
    auto pad = [](std::string s, std::size_t w) { return s.size() < w ? std::string(w - s.size(), ' ') + s : s; };
    std::cout << "\nReply rate by week (the week the applications left, Monday to Sunday, UTC):\n"
              << "  week of       sent  replied   rate   clean  revised  despite findings\n";
    for (const auto& w : weeks) {
        std::time_t t = static_cast<std::time_t>(w.value("week", std::int64_t{0}));
        std::tm tm{};
        ::gmtime_r(&t, &tm);
        char day[16];
        std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
        const json& bc = w["by_class"];
        std::cout << "  " << day << pad(std::to_string(num(w, "applications")), 7)
                  << pad(std::to_string(num(w, "replied")), 9) << pad(num(w, "applications") ? cell(w) : "-", 7)
                  << pad(cell(bc["clean"]), 8) << pad(cell(bc["revised"]), 9) << pad(cell(bc["despite-findings"]), 18)
                  << "\n";
    }
}

} // namespace

int cmd_outcomes(const std::vector<std::string>& args) {
    std::string state;
    bool as_json = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--json") as_json = true;
        else if (args[i] == "--state" && i + 1 < args.size()) state = args[++i];
        else if (args[i].rfind("--state=", 0) == 0) state = args[i].substr(8);
        else {
            std::cerr << kUsage;
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
            std::cout << "\nMembers:\n";
            for (const auto& m : j["members"])
                std::cout << "  " << m.value("member", "") << ": " << num(m, "applications") << " sent, "
                          << num(m, "replied") << " replied, " << num(m, "bounced") << " bounced, " << rate(m)
                          << ", " << m["follow_up_due"].size() << " follow-up" << (m["follow_up_due"].size() == 1 ? "" : "s")
                          << " due\n";
        }
        const json& recent = j["recent"];
        if (!recent.empty()) {
            std::cout << "\nLatest applications:\n";
            std::size_t shown = 0;
            for (const auto& a : recent) {
                if (++shown > 10) break;
                std::string outcome = a.value("outcome", "waiting");
                if (a.contains("match") && a["match"].is_string()) outcome += " (" + a["match"].get<std::string>() + ")";
                std::cout << "  " << local_time(a.value("sent", std::int64_t{0})) << "  " << outcome
                          << std::string(outcome.size() < 22 ? 22 - outcome.size() : 1, ' ') << to_list(a) << "  "
                          << subject(a) << "\n";
            }
        }
        if (j.contains("inbox")) std::cout << "\n" << j["inbox"].value("message", "") << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "rapportctl: " << e.what() << "\n";
        return 1;
    }
}
