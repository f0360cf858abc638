// http_api_messages.cc - mail Rapport has seen: listings, one message in
// detail and its raw bytes, "Send anyway" and "Discard". See http_api.h.

#include "daemon/lib/http_api_internal.h"

#include "mime/message.h"

#include <algorithm>
#include <cctype>

namespace rapport::daemon {
namespace {

constexpr std::size_t kListLimit = 500;

std::string iso_time(std::int64_t t) {
    if (t <= 0) return "";
    char buf[32];
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

json rules_of(const json& findings) {
    json r = json::array();
    for (const auto& f : findings)
        if (f.is_object() && f.contains("rule")) r.push_back(f["rule"]);
    return r;
}

// Statuses whose spool copy is kept; for the others the file is gone or
// about to be (and a reused spool log segment may hold anything there).
bool keeps_copy(Status s) {
    return s == Status::held || s == Status::expired || s == Status::queued || s == Status::captured;
}

json summary(const Queue::Record& r, const Holds& holds) {
    json f = findings_of(r.info.findings_json);
    json j = {{"id", r.row.id},
              {"status", std::string(to_string(r.row.status))},
              {"action", r.row.action},
              {"received", r.row.received},
              {"received_at", iso_time(r.row.received)},
              {"from", r.info.header_from.empty() ? r.row.mail_from : r.info.header_from},
              {"to", r.info.header_to},
              {"subject", r.info.subject},
              {"rules", rules_of(f)},
              {"size", r.info.size},
              {"released", r.released}};
    if (r.row.status == Status::held || r.row.status == Status::expired) {
        j["expires"] = holds.expires_at(r.row.received);
        j["expires_at"] = iso_time(holds.expires_at(r.row.received));
    }
    return j;
}
} // namespace

HttpResponse HttpApi::list(Ctx& c) {
    std::optional<Status> st;
    std::string action;
    std::string s = c.query.count("status") ? c.query["status"] : "";
    if (s == "warned") action = "warn";
    else if (!s.empty() && s != "all") {
        st = parse_status(s);
        if (!st)
            return error(400, "bad_status",
                         "Unknown status '" + s + "'; use held, warned, queued, relayed, failed, rejected, dropped, expired or captured.",
                         c.req.version());
    }
    std::size_t limit = 100;
    if (c.query.count("limit")) {
        const std::string& l = c.query["limit"];
        if (l.empty() || l.size() > 6 || !std::all_of(l.begin(), l.end(), ::isdigit))
            return error(400, "bad_limit", "limit must be a number from 1 to 500.", c.req.version());
        limit = std::clamp<std::size_t>(std::stoul(l), 1, kListLimit);
    }
    if (st == Status::held) holds_.expire_due(now_s()); // never show a message as held past its expiry
    json arr = json::array();
    auto mine = c.adviser ? std::nullopt : std::optional<std::string_view>(c.member);
    for (const auto& r : q_.list(st, action, limit, mine)) {
        json j = summary(r, holds_);
        if (c.adviser) j["account"] = r.account; // whose it is, for the adviser's view
        arr.push_back(std::move(j));
    }
    return json_response({{"messages", arr}}, c.req.version());
}

HttpResponse HttpApi::detail(Ctx& c, const std::string& id) {
    auto rec = q_.record(id);
    if (!rec || rec->row.notice || !may_see(c, *rec))
        return error(404, "not_found", "There is no message with that id.", c.req.version());
    json j = summary(*rec, holds_);
    j["findings"] = findings_of(rec->info.findings_json);
    j["message_id"] = rec->info.message_id;
    j["last_error"] = rec->row.last_error;
    j["attempt_count"] = rec->row.attempts;
    json rcpts = json::array();
    for (const auto& r : q_.recipients(id))
        rcpts.push_back({{"rcpt", r.rcpt}, {"status", r.status}, {"code", r.code}, {"reply", r.reply}});
    json env = {{"mail_from", rec->row.mail_from}, {"account", rec->account}, {"helo", rec->helo},
                {"client", rec->client}, {"recipients", rcpts}};
    j["envelope"] = env;
    json attempts = json::array();
    for (const auto& a : q_.attempts(id))
        attempts.push_back({{"time", a.time}, {"time_at", iso_time(a.time)}, {"result", a.result}});
    j["attempts"] = attempts;
    auto sp = keeps_copy(rec->row.status) ? q_.read_spool(id) : std::nullopt;
    j["stored"] = sp.has_value(); // relayed, rejected and dropped messages keep no copy
    if (sp) {
        mime::Message m = mime::parse(sp->data);
        json headers = json::array();
        for (const auto& [name, value] : m.headers) headers.push_back({{"name", name}, {"value", value}});
        j["headers"] = headers;
        j["text"] = m.text; // the sender's text as text; HTML-only mail is converted, never rendered
        j["text_from_html"] = m.text_from_html;
        json atts = json::array();
        for (const auto& a : m.attachments)
            atts.push_back({{"name", a.filename},
                            {"type", a.sniffed_type.empty() ? a.declared_type : a.sniffed_type},
                            {"size", a.size},
                            {"inline", a.is_inline}});
        j["attachments"] = atts;
    }
    return json_response(j, c.req.version());
}

HttpResponse HttpApi::raw(Ctx& c, const std::string& id) {
    auto rec = q_.record(id);
    auto sp = rec && !rec->row.notice && may_see(c, *rec) && keeps_copy(rec->row.status) ? q_.read_spool(id) : std::nullopt;
    if (!sp) return error(404, "not_found", "Rapport keeps no copy of that message.", c.req.version());
    HttpResponse r{http::status::ok, c.req.version()};
    r.set(http::field::content_type, "message/rfc822");
    r.set(http::field::content_disposition, "attachment; filename=\"" + id + ".eml\"");
    r.set(http::field::cache_control, "no-store");
    r.body() = std::move(sp->data);
    return r;
}

HttpResponse HttpApi::release(Ctx& c, const std::string& id) {
    auto rec = q_.record(id);
    if (!rec || rec->row.notice || !may_see(c, *rec))
        return error(404, "not_found", "There is no message with that id.", c.req.version());
    Holds::Decision d = holds_.release(id, c.who());
    json out = {{"id", id}, {"status", std::string(to_string(d.status))}, {"released", d.changed}};
    if (d.changed) return json_response(out, c.req.version());
    if (q_.record(id)->released) { // a second click: already on its way
        out["note"] = "already released";
        return json_response(out, c.req.version());
    }
    return error(409, "not_held",
                 "This message is " + std::string(to_string(d.status)) + ", not held; it cannot be sent from here.",
                 c.req.version());
}

HttpResponse HttpApi::drop(Ctx& c, const std::string& id) {
    auto rec = q_.record(id);
    if (!rec || rec->row.notice || !may_see(c, *rec))
        return error(404, "not_found", "There is no message with that id.", c.req.version());
    Holds::Decision d = holds_.drop(id, c.who());
    json out = {{"id", id}, {"status", std::string(to_string(d.status))}, {"dropped", d.changed}};
    if (d.changed) return json_response(out, c.req.version());
    if (d.status == Status::dropped) {
        out["note"] = "already discarded";
        return json_response(out, c.req.version());
    }
    return error(409, "not_held",
                 "This message is " + std::string(to_string(d.status)) + "; only held messages can be discarded.",
                 c.req.version());
}

} // namespace rapport::daemon
