// http_api_report.cc - figures: per-sender stats and the Prometheus
// metrics. See http_api.h.

#include "daemon/lib/http_api_internal.h"
#include "policies/outcomes/ledger_rows.h"

#include <optional>

namespace rapport::daemon {

HttpResponse HttpApi::stats(Ctx& c) {
    std::map<std::string, json> by;
    for (const auto& r : q_.stat_rows()) {
        if (!c.adviser && r.sender != c.member) continue; // a member sees their own figures
        json& s = by[r.sender];
        if (s.is_null())
            s = {{"sender", r.sender}, {"messages", 0}, {"sent", 0}, {"flagged", 0}, {"flagged_by_rule", json::object()},
                 {"held", 0}, {"released", 0}, {"confirmed", 0}, {"dropped", 0}, {"expired", 0}, {"rejected", 0}};
        s["messages"] = s["messages"].get<int>() + 1;
        auto inc = [&](const char* k) { s[k] = s[k].get<int>() + 1; };
        if (r.status == "relayed") inc("sent");
        if (r.status == "dropped") inc("dropped");
        if (r.status == "expired") inc("expired");
        if (r.status == "rejected") inc("rejected");
        if (r.action == "hold" && !r.confirmed) inc("held"); // a confirmed message was never held
        if (r.released) inc("released");
        if (r.confirmed) inc("confirmed");
        json f = findings_of(r.findings_json);
        if (!f.empty()) inc("flagged");
        for (const auto& x : f)
            if (x.is_object() && x.contains("rule") && x["rule"].is_string()) {
                auto& n = s["flagged_by_rule"][x["rule"].get<std::string>()];
                n = n.is_null() ? 1 : n.get<int>() + 1;
            }
    }
    json arr = json::array();
    for (auto& [k, s] : by) {
        if (auto m = members_ ? members_->find(k) : std::nullopt) { // a job club member's row
            s["member"] = true;
            s["group"] = m->group;
        }
        arr.push_back(std::move(s));
    }
    return json_response({{"senders", arr}}, c.req.version());
}

HttpResponse HttpApi::metrics(Ctx& c) {
    // O(messages) per scrape (findings are JSON in the rows): fine at a
    // person's or a job club's volume, scraped once a minute.
    std::string out;
    // The queue's and the ledger's figures come from a shared store when
    // there is one: while it is down or held up they are left out (absent,
    // not zero) rather than asked for, and the rest - rapport_store_up
    // first of all - answers at once.
    std::optional<StoreStatus> store;
    if (store_status_) store = store_status_();
    bool store_up = !store || store->up;
    if (store_up) {
        try {
            std::string queue;
            queue += "# HELP rapport_messages Messages known to the queue, by status.\n# TYPE rapport_messages gauge\n";
            std::map<std::string, std::int64_t> counts;
            for (auto s : {"queued", "held", "relayed", "failed", "captured", "rejected", "dropped", "expired"}) counts[s] = 0;
            for (const auto& [s, n] : q_.status_counts()) counts[s] = n;
            for (const auto& [s, n] : counts) queue += "rapport_messages{status=\"" + s + "\"} " + std::to_string(n) + "\n";
            std::map<std::string, std::int64_t> rules, actions;
            std::int64_t released = 0;
            for (const auto& r : q_.stat_rows()) {
                ++actions[r.action.empty() ? "relay" : r.action];
                released += r.released;
                for (const auto& x : findings_of(r.findings_json))
                    if (x.is_object() && x.contains("rule") && x["rule"].is_string()) ++rules[x["rule"].get<std::string>()];
            }
            queue += "# HELP rapport_findings_total Findings on received messages, by rule.\n# TYPE rapport_findings_total counter\n";
            for (const auto& [r, n] : rules) queue += "rapport_findings_total{rule=\"" + r + "\"} " + std::to_string(n) + "\n";
            queue += "# HELP rapport_verdicts_total Received messages by verdict.\n# TYPE rapport_verdicts_total counter\n";
            for (const auto& [a, n] : actions) queue += "rapport_verdicts_total{action=\"" + a + "\"} " + std::to_string(n) + "\n";
            queue += "# HELP rapport_released_total Held messages sent anyway by a person.\n# TYPE rapport_released_total counter\n";
            queue += "rapport_released_total " + std::to_string(released) + "\n";
            out += queue;
        } catch (const StorageError& e) {
            if (e.unavailable) store_up = false; // found so just now: the ledger need not wait for it too
        }
    }
    // The reply ledger (SPEC.md "Outcomes"): everyone's, ever. With [store]
    // url and PostgreSQL away, its lines are left out rather than the page
    // failing: rapport_store_up says why.
    std::optional<policies::outcomes::Totals> totals;
    if (outcomes_ && store_up) {
        try {
            totals = outcomes_->totals();
        } catch (const policies::outcomes::LedgerUnavailable&) {
        }
    }
    if (totals) {
        const auto& t = *totals;
        out += "# HELP rapport_applications_total Applications that left, by class.\n"
               "# TYPE rapport_applications_total counter\n";
        out += "rapport_applications_total{class=\"clean\"} " + std::to_string(t.clean) + "\n";
        out += "rapport_applications_total{class=\"revised\"} " + std::to_string(t.revised) + "\n";
        out += "rapport_applications_total{class=\"despite-findings\"} " + std::to_string(t.despite_findings) + "\n";
        out += "# HELP rapport_replies_total Replies to applications, by how they were matched.\n"
               "# TYPE rapport_replies_total counter\n";
        out += "rapport_replies_total{match=\"exact\"} " + std::to_string(t.replies_exact) + "\n";
        out += "rapport_replies_total{match=\"probable\"} " + std::to_string(t.replies_probable) + "\n";
    }
    out += "# HELP rapport_analyze_total Drafts analysed since start.\n# TYPE rapport_analyze_total counter\n";
    out += "rapport_analyze_total " + std::to_string(analyzed_) + "\n";
    out += "# HELP rapport_http_responses_total HTTP responses since start, by status code.\n"
           "# TYPE rapport_http_responses_total counter\n";
    for (const auto& [code, n] : responses_)
        out += "rapport_http_responses_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
    if (store) {
        const StoreStatus& st = *store;
        out += "# HELP rapport_store_up Whether PostgreSQL ([store] url) answered the last time it was asked, and no "
               "statement has waited on it for more than 10 s.\n# TYPE rapport_store_up gauge\nrapport_store_up " +
               std::string(st.up ? "1" : "0") + "\n";
        out += "# HELP rapport_store_waiting_messages Accepted messages kept in the spool until the store takes "
               "them.\n# TYPE rapport_store_waiting_messages gauge\nrapport_store_waiting_messages " +
               std::to_string(st.waiting) + "\n";
    }
    HttpResponse r{http::status::ok, c.req.version()};
    r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    r.set(http::field::cache_control, "no-store");
    r.body() = std::move(out);
    return r;
}

} // namespace rapport::daemon
