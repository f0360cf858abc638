// http_api_judging.cc - the add-on's and the page's questions about mail
// itself: a draft judged (/analyze), a message that left without the proxy
// (/sent), a received one (/incoming), the allow-list and the reply ledger
// (/outcomes). See http_api.h.

#include "daemon/lib/http_api_internal.h"

#include "common/strings.h"
#include "mime/message.h"
#include "policies/people.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace rapport::daemon {

using common::lower;

namespace {

// Header values built from JSON must not smuggle header lines.
std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) out += (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    return out;
}

std::string type_for_name(std::string_view name) {
    std::string n = lower(name);
    auto ends = [&](std::string_view e) { return n.size() >= e.size() && n.compare(n.size() - e.size(), e.size(), e) == 0; };
    if (ends(".pdf")) return "application/pdf";
    if (ends(".docx")) return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    if (ends(".doc")) return "application/msword";
    if (ends(".odt")) return "application/vnd.oasis.opendocument.text";
    if (ends(".rtf")) return "application/rtf";
    if (ends(".txt")) return "text/plain";
    if (ends(".pages")) return "application/x-iwork-pages";
    if (ends(".png")) return "image/png";
    if (ends(".jpg") || ends(".jpeg")) return "image/jpeg";
    return "application/octet-stream";
}

// A draft from the add-on as a message the parser and checks understand.
// Throws std::invalid_argument with a sentence for the client.
std::string draft_to_mime(const json& d, std::vector<mime::Attachment>& attachments, std::string& message_id) {
    auto str = [&](const char* k) -> std::string {
        if (!d.contains(k) || d[k].is_null()) return "";
        if (!d[k].is_string()) throw std::invalid_argument(std::string("\"") + k + "\" must be a string");
        return d[k].get<std::string>();
    };
    auto list = [&](const char* k) -> std::string {
        if (!d.contains(k) || d[k].is_null()) return "";
        if (d[k].is_string()) return one_line(d[k].get<std::string>());
        if (!d[k].is_array()) throw std::invalid_argument(std::string("\"") + k + "\" must be a string or a list of strings");
        std::string out;
        for (const auto& a : d[k]) {
            if (!a.is_string()) throw std::invalid_argument(std::string("\"") + k + "\" must list strings");
            out += (out.empty() ? "" : ", ") + one_line(a.get<std::string>());
        }
        return out;
    };
    std::string from = one_line(str("from")), to = list("to"), cc = list("cc"), bcc = list("bcc");
    std::string subject = one_line(str("subject")), body = str("body");
    message_id = one_line(str("message_id"));
    bool html = false;
    if (d.contains("html")) {
        if (d["html"].is_boolean()) html = d["html"].get<bool>();
        else if (d["html"].is_string()) {
            html = true;
            if (body.empty()) body = d["html"].get<std::string>();
        } else throw std::invalid_argument("\"html\" must be true/false or the HTML text");
    }
    if (d.contains("attachments") && !d["attachments"].is_null()) {
        if (!d["attachments"].is_array()) throw std::invalid_argument("\"attachments\" must be a list");
        for (const auto& a : d["attachments"]) {
            if (!a.is_object() || !a.contains("name") || !a["name"].is_string())
                throw std::invalid_argument("each attachment needs a \"name\"");
            mime::Attachment att;
            att.filename = a["name"].get<std::string>();
            if (a.contains("size")) {
                if (!a["size"].is_number_unsigned() && !a["size"].is_number_integer())
                    throw std::invalid_argument("an attachment's \"size\" must be a number of bytes");
                att.size = static_cast<std::size_t>(std::max<std::int64_t>(0, a["size"].get<std::int64_t>()));
            }
            att.declared_type = a.contains("type") && a["type"].is_string() ? lower(a["type"].get<std::string>())
                                                                            : type_for_name(att.filename);
            attachments.push_back(std::move(att));
        }
    }
    std::string m;
    if (!from.empty()) m += "From: " + from + "\r\n";
    if (!to.empty()) m += "To: " + to + "\r\n";
    if (!cc.empty()) m += "Cc: " + cc + "\r\n";
    if (!bcc.empty()) m += "Bcc: " + bcc + "\r\n";
    m += "Subject: " + subject + "\r\n";
    if (!message_id.empty()) {
        std::string id = message_id;
        if (id.front() != '<') id = "<" + id + ">";
        m += "Message-ID: " + id + "\r\n";
    }
    for (const char* k : {"in_reply_to", "references"}) {
        std::string v = one_line(str(k));
        if (!v.empty()) m += std::string(k[0] == 'i' ? "In-Reply-To: " : "References: ") + v + "\r\n";
    }
    m += "MIME-Version: 1.0\r\nContent-Type: text/" + std::string(html ? "html" : "plain") +
         "; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body;
    return m;
}
} // namespace

// The allow-list lives in the history database, so every verdict lane and
// analyze see an entry as soon as it is added. Body of a POST:
//   {"entries": [{"type": "address", "value": "jobs@acme.example"},
//                {"type": "domain", "value": "acme.example"}]}
// Free-mail domains are refused as domains (they would allow everyone).
HttpResponse HttpApi::allow(Ctx& c) {
    const auto& req = c.req;
    auto listing = [&] {
        json arr = json::array();
        for (auto& [type, value] : verdict_.allow_list()) arr.push_back({{"type", type}, {"value", value}});
        return arr;
    };
    if (req.method() == http::verb::get) return json_response({{"entries", listing()}}, req.version());
    json d = json::parse(req.body(), nullptr, false);
    if (d.is_discarded() || !d.is_object() || !d.contains("entries") || !d["entries"].is_array() ||
        d["entries"].size() > 100)
        return error(400, "bad_json", "Send {\"entries\": [{\"type\": \"address\"|\"domain\", \"value\": ...}]}.",
                     req.version());
    std::vector<std::pair<std::string, std::string>> add;
    for (const auto& e : d["entries"]) {
        if (!e.is_object() || !e.contains("type") || !e.contains("value") || !e["type"].is_string() ||
            !e["value"].is_string())
            return error(400, "bad_entry", "Each entry needs a type and a value.", req.version());
        std::string type = e["type"], value = lower(e["value"].get<std::string>());
        bool has_at = value.find('@') != std::string::npos;
        bool sane = !value.empty() && value.size() <= 254 &&
                    value.find_first_of(" \t\r\n<>,;\"") == std::string::npos;
        if (type == "address" && (!sane || !has_at))
            return error(400, "bad_entry", "An address entry must be local@domain.", req.version());
        if (type == "domain" && (!sane || has_at || value.find('.') == std::string::npos))
            return error(400, "bad_entry", "A domain entry must be a domain such as acme.example.", req.version());
        if (type == "domain" && policies::is_freemail(value))
            return error(400, "freemail_domain", "A free-mail domain would allow everyone on it; add the address instead.",
                         req.version());
        if (type != "address" && type != "domain")
            return error(400, "bad_entry", "type must be \"address\" or \"domain\".", req.version());
        add.emplace_back(type, value);
    }
    for (auto& [type, value] : add) verdict_.allow(type, value);
    return json_response({{"ok", true}, {"added", add.size()}, {"entries", listing()}}, req.version());
}

HttpResponse HttpApi::analyze(Ctx& c) {
    const auto& req = c.req;
    std::string ctype = lower(std::string_view(req[http::field::content_type].data(), req[http::field::content_type].size()));
    std::string raw, message_id;
    std::vector<mime::Attachment> extra;
    if (ctype.rfind("application/json", 0) == 0) {
        json d = json::parse(req.body(), nullptr, false);
        if (d.is_discarded() || !d.is_object())
            return error(400, "bad_json", "The body is not a JSON object.", req.version());
        try {
            raw = draft_to_mime(d, extra, message_id);
        } catch (const std::invalid_argument& e) {
            return error(400, "bad_draft", e.what(), req.version());
        }
    } else {
        if (req.body().empty()) return error(400, "empty", "Send a message (raw MIME) or a JSON draft.", req.version());
        raw = req.body();
    }
    mime::Message m = mime::parse(raw);
    if (m.headers.empty()) return error(400, "not_mail", "The body is not a mail message (no header fields).", req.version());
    for (auto& a : extra) m.attachments.push_back(std::move(a));
    if (message_id.empty()) message_id = m.message_id;
    // A member's draft is judged as their mail will be: their history, their group's rules.
    policies::CheckContext ctx;
    ctx.login = c.member;
    policies::Verdict verdict = verdict_.check(m, ctx, VerdictStage::Record::no); // a draft: nothing was sent
    ++analyzed_;
    json out = {{"action", std::string(policies::verdict_name(verdict.action))}, {"findings", policies::to_json(verdict.findings)}};
    if (!message_id.empty()) out["confirm"] = confirm_value(holds_.token(), message_id);
    return json_response(out, req.version());
}

// The reply ledger (SPEC.md "Outcomes"). A member sees their own figures;
// the token holder and advisers see everyone's together, plus each
// member's when the club has members.
HttpResponse HttpApi::outcomes(Ctx& c) {
    json out;
    if (!c.adviser) {
        out = outcomes_->summary(&c.member);
    } else {
        out = outcomes_->summary(nullptr);
        if (members_ && !members_->empty()) {
            json arr = json::array();
            for (const auto& m : members_->list()) {
                json one = outcomes_->summary(&m.name);
                one["member"] = m.name;
                one["group"] = m.group;
                arr.push_back(std::move(one));
            }
            out["members"] = std::move(arr);
        }
    }
    out["follow_up_days"] = cfg_.outcomes.follow_up_days;
    out["inbox"] = outcomes_->inbox();
    return json_response(out, c.req.version());
}

// A received message's header section, from the add-on. Only the header:
// a body sent along is cut off unread.
HttpResponse HttpApi::incoming(Ctx& c) {
    const auto& req = c.req;
    json d = json::parse(req.body(), nullptr, false);
    if (d.is_discarded() || !d.is_object() || !d.contains("headers") || !d["headers"].is_string())
        return error(400, "bad_json", "Send {\"headers\": \"<the message's raw header section>\"}.", req.version());
    std::string h = d["headers"].get<std::string>();
    if (h.size() > 256 * 1024) return error(413, "too_large", "A header section is at most 256 KiB.", req.version());
    // The header ends at the first empty line; nothing after it is looked at.
    for (const char* end : {"\r\n\r\n", "\n\n"})
        if (auto p = h.find(end); p != std::string::npos) h.resize(p + std::strlen(end));
    if (h.find(':') == std::string::npos)
        return error(400, "not_headers", "That is not a mail header section (no fields).", req.version());
    policies::outcomes::Answer a = outcomes_->incoming(h);
    json out = {{"recorded", true}, {"kind", std::string(policies::outcomes::to_string(a.kind))}};
    // Which application it answered is told to whoever may see that application.
    if (!a.application.empty() && (c.adviser || a.account == c.member)) {
        out["application"] = a.application;
        out["match"] = a.match == policies::outcomes::Match::exact ? "exact" : "probable";
    }
    return json_response(out, req.version());
}

// A message Thunderbird sent straight to the provider (SPEC.md "Mail that
// Thunderbird sent itself"): recorded in the sending history and the
// ledger as if rapportd had relayed it; once per Message-ID.
HttpResponse HttpApi::sent(Ctx& c) {
    const auto& req = c.req;
    json d = json::parse(req.body(), nullptr, false);
    if (d.is_discarded() || !d.is_object()) return error(400, "bad_json", "The body is not a JSON object.", req.version());
    if (!d.contains("message_id") || !d["message_id"].is_string() || d["message_id"].get<std::string>().empty())
        return error(400, "no_message_id", "\"message_id\" (the sent message's Message-ID) is required.", req.version());
    if (d.contains("revised") && !d["revised"].is_boolean())
        return error(400, "bad_draft", "\"revised\" must be true or false.", req.version());
    std::string raw, message_id;
    std::vector<mime::Attachment> extra;
    try {
        raw = draft_to_mime(d, extra, message_id);
    } catch (const std::invalid_argument& e) {
        return error(400, "bad_draft", e.what(), req.version());
    }
    if (message_id.size() >= 2 && message_id.front() == '<' && message_id.back() == '>')
        message_id = message_id.substr(1, message_id.size() - 2);
    mime::Message m = mime::parse(raw);
    for (auto& a : extra) m.attachments.push_back(std::move(a));
    policies::CheckContext ctx;
    ctx.login = c.member;
    ctx.now = now_s();
    const std::string account = policies::account_of(m, ctx);
    if (account.empty()) return error(400, "no_sender", "\"from\" is required: whose message is it?", req.version());
    if (outcomes_->has_message(account, message_id))
        return json_response({{"recorded", true}, {"duplicate", true}}, req.version());
    // It has left: it joins the sender's history like relayed mail.
    policies::Verdict verdict = verdict_.check(m, ctx, VerdictStage::Record::yes);

    policies::outcomes::Outgoing o;
    o.id = "sent-" + hmac_hex("rapport sent", account + "\n" + message_id).substr(0, 24);
    o.account = account;
    o.message_id = message_id;
    if (!m.in_reply_to.empty()) o.refs.push_back(m.in_reply_to);
    for (const auto& r : m.references) o.refs.push_back(r);
    o.subject = m.subject;
    for (const auto& f : m.from) o.from.push_back(lower(f.address));
    o.recipients = verdict.recipients;
    for (const auto* list : {&m.to, &m.cc})
        for (const auto& a : *list)
            if (!a.name.empty()) o.names.emplace(lower(a.address), a.name);
    o.time = ctx.now;
    o.application = verdict.job_seeking && !verdict.reply;
    for (const auto& f : verdict.findings)
        if (f.action >= policies::Action::warn) o.rules.push_back(f.rule);
    o.revised = d.value("revised", false);
    bool fresh = outcomes_->record_sent(o);
    log_("sent " + o.id + " reported by " + c.who() + ": " + (o.application ? "an application" : "not an application") +
         (o.rules.empty() ? "" : ", findings " + std::to_string(o.rules.size())));
    json out = {{"recorded", true}};
    if (!fresh) out["duplicate"] = true;
    return json_response(out, req.version());
}

} // namespace rapport::daemon
