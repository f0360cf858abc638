// http_api.cc - see http_api.h.

#include "daemon/lib/http_api.h"
#include "policies/people.h"

#include "daemon/lib/web_assets.h"
#include "mime/message.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

namespace rapport::daemon {
namespace http = boost::beast::http;
using json = nlohmann::json;

namespace {

constexpr std::int64_t kSessionSeconds = 12 * 3600;
constexpr std::int64_t kLoginCodeSeconds = 10 * 60;
constexpr std::size_t kMaxSessions = 1000;   // a flood of logins cannot grow memory without bound
constexpr std::size_t kMaxLoginCodes = 100;
constexpr std::size_t kListLimit = 500;
const char* kCookie = "rapport_session";

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
        throw std::runtime_error("no random bytes");
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

std::string iso_time(std::int64_t t) {
    if (t <= 0) return "";
    char buf[32];
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// %XX and '+' decoding for query values.
std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') out += ' ';
        else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else out += s[i];
    }
    return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
    std::map<std::string, std::string> out;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view kv = q.substr(0, amp);
        auto eq = kv.find('=');
        out[url_decode(kv.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return out;
}

// Message ids are ours (hex); anything else is not one.
bool valid_id(std::string_view id) {
    return !id.empty() && id.size() <= 64 &&
           std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

std::string cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        auto semi = header.find(';');
        std::string_view part = header.substr(0, semi);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        auto eq = part.find('=');
        if (eq != std::string_view::npos && part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return "";
}

json findings_of(const std::string& findings_json) {
    json f = json::parse(findings_json.empty() ? "[]" : findings_json, nullptr, false);
    return f.is_array() ? f : json::array();
}

json rules_of(const json& findings) {
    json r = json::array();
    for (const auto& f : findings)
        if (f.is_object() && f.contains("rule")) r.push_back(f["rule"]);
    return r;
}

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

struct HttpApi::Ctx {
    const HttpRequest& req;
    std::string path;
    std::map<std::string, std::string> query;
    std::string origin;      // as sent; "" when absent
    bool extension = false;  // Origin is a moz-extension:// add-on
    bool by_token = false;   // authenticated by the Bearer token (else by session cookie)
    bool adviser = true;     // sees everyone's mail (issue 7); false: a member
    std::string member;      // the job club member asking, "" for the API token / a login link
    std::string who() const { return member.empty() ? (by_token ? "token" : "page") : member; }
};

HttpApi::HttpApi(const Config& cfg, Queue& q, Holds& holds, const policies::Policy& policy, LogFn log,
                 const Members* members)
    : cfg_(cfg), q_(q), holds_(holds), log_(std::move(log)),
      history_(std::make_unique<policies::History>(cfg.state_dir + "/history.db")), checkers_(policy, *history_),
      members_(members) {
    set_port(cfg.http.port);
}

bool HttpApi::may_see(const Ctx& c, const Queue::Record& r) const { return c.adviser || r.account == c.member; }

HttpApi::~HttpApi() = default;

void HttpApi::set_policy(const policies::Policy& policy) {
    std::lock_guard lk(policy_mu_);
    next_policy_ = std::make_shared<const policies::Policy>(policy);
}

void HttpApi::set_port(std::uint16_t port) {
    port_ = port;
    hosts_.clear();
    std::string p = ":" + std::to_string(port);
    const std::string& h = cfg_.http.host;
    hosts_.insert(lower(h.find(':') != std::string::npos ? "[" + h + "]" + p : h + p));
    if (h == "127.0.0.1" || h == "::1" || h == "localhost" || h == "0.0.0.0" || h == "::") {
        hosts_.insert("localhost" + p);
        if (h != "::1") hosts_.insert("127.0.0.1" + p);
        if (h != "127.0.0.1") hosts_.insert("[::1]" + p);
    }
}

std::string HttpApi::base_url() const {
    const std::string& h = cfg_.http.host;
    std::string host = h == "0.0.0.0" || h == "::" ? "127.0.0.1" : h;
    return "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port_);
}

bool HttpApi::host_ok(std::string_view host) const { return hosts_.count(lower(host)) > 0; }

bool HttpApi::same_origin(std::string_view origin) const {
    std::string o = lower(origin);
    return o.rfind("http://", 0) == 0 && hosts_.count(o.substr(7)) > 0;
}

HttpResponse HttpApi::error(unsigned status, std::string code, std::string message, unsigned version) {
    HttpResponse r{static_cast<http::status>(status), version};
    r.set(http::field::content_type, "application/json");
    r.set(http::field::cache_control, "no-store");
    r.body() = json{{"error", std::move(code)}, {"message", std::move(message)}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
}

namespace {
HttpResponse json_response(const json& j, unsigned version, unsigned status = 200) {
    HttpResponse r{static_cast<http::status>(status), version};
    r.set(http::field::content_type, "application/json");
    r.set(http::field::cache_control, "no-store");
    r.body() = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
}
} // namespace

HttpResponse HttpApi::handle(const HttpRequest& req) {
    HttpResponse res;
    std::string origin;
    bool extension = false;
    try {
        std::string_view target(req.target().data(), req.target().size());
        auto qm = target.find('?');
        Ctx c{req, std::string(target.substr(0, qm)), {}, {}, false, false, true, {}};
        if (qm != std::string_view::npos) c.query = parse_query(target.substr(qm + 1));
        auto host = req.find(http::field::host);
        auto org = req.find(http::field::origin);
        if (org != req.end()) c.origin = std::string(org->value());
        c.extension = lower(c.origin).rfind("moz-extension://", 0) == 0;
        if (req.count(http::field::host) > 1 || req.count(http::field::origin) > 1) {
            // Which one counts would be a guess, and a proxy in front may
            // have checked the other: refuse rather than pick.
            res = error(400, "duplicate_header", "Send Host and Origin once each.", req.version());
        } else if (host == req.end() || !host_ok(std::string_view(host->value().data(), host->value().size()))) {
            res = error(403, "forbidden_host",
                        "This address does not belong to this Rapport daemon (Host must be " + base_url().substr(7) + ").",
                        req.version());
        } else if (org != req.end() && !c.extension && !same_origin(c.origin)) {
            res = error(403, "forbidden_origin", "Requests from other web sites are refused.", req.version());
        } else {
            origin = c.origin;
            extension = c.extension;
            res = route(c);
        }
    } catch (const std::exception& e) {
        log_(std::string("warning: http: ") + e.what());
        res = error(500, "internal", "Something went wrong inside Rapport; see its log.", req.version());
    }
    if (extension) {
        // CORS for the Thunderbird add-on; it authenticates with the token, not cookies.
        res.set("Access-Control-Allow-Origin", origin);
        res.set(http::field::vary, "Origin");
    }
    res.set("X-Content-Type-Options", "nosniff");
    // Not "no-referrer": under it a browser sends "Origin: null" with the
    // page's own form POSTs (Sign out), which the Origin check must refuse.
    // "same-origin" still tells other sites nothing.
    res.set("Referrer-Policy", "same-origin");
    res.set("X-Frame-Options", "DENY");
    res.set(http::field::server, "rapportd");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    ++responses_[res.result_int()];
    return res;
}

HttpResponse HttpApi::route(Ctx& c) {
    const auto& req = c.req;
    const auto verb = req.method();
    const std::string& p = c.path;
    unsigned v = req.version();

    // CORS preflight (only an add-on or this page gets here: Origin checked).
    if (verb == http::verb::options) {
        HttpResponse r{http::status::no_content, v};
        if (c.extension) {
            r.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            r.set("Access-Control-Allow-Headers", "Authorization, Content-Type");
            r.set("Access-Control-Max-Age", "600");
        }
        r.set(http::field::allow, "GET, POST, OPTIONS");
        return r;
    }

    // Signing out changes something: POST with the page's header, like
    // every page request that does (a link or an <img> elsewhere must not).
    if (p == "/logout") {
        if (verb != http::verb::post) {
            auto r = error(405, "method_not_allowed", "Sign out with POST.", v);
            r.set(http::field::allow, "POST");
            return r;
        }
        if (req["X-Rapport-Page"] != "1")
            return error(403, "missing_page_header", "Page requests that change something need X-Rapport-Page: 1.", v);
        if (auto s = cookie_value(std::string_view(req[http::field::cookie].data(), req[http::field::cookie].size()), kCookie);
            !s.empty())
            sessions_.erase(s);
        auto r = json_response({{"ok", true}}, v);
        r.set(http::field::set_cookie, std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        return r;
    }

    // The page: static files with no data in them; no authentication needed.
    if (p.rfind("/api/", 0) != 0 && p != "/metrics") {
        if (verb != http::verb::get) return error(405, "method_not_allowed", "Use GET for the page.", v);
        if (p == "/login") return login(c);
        if (p == "/" || p == "/index.html") return asset(c, "index.html");
        if (p.size() > 1 && p.find('/', 1) == std::string::npos) return asset(c, p.substr(1));
        return error(404, "not_found", "There is no such page.", v);
    }

    // A job club member signs in to the page with their password (issue 7).
    if (p == "/api/v1/login") return verb == http::verb::post ? member_login(c) : error(405, "method_not_allowed", "Use POST.", v);

    // Everything else needs the token or the page's session.
    auto auth = req.find(http::field::authorization);
    if (auth != req.end()) {
        std::string_view a(auth->value().data(), auth->value().size());
        std::string_view tok = a.size() >= 7 && lower(a.substr(0, 7)) == "bearer " ? a.substr(7) : std::string_view();
        std::optional<Member> m;
        if (!tok.empty() && same_secret(tok, holds_.token())) {
            c.by_token = true;
        } else if (!tok.empty() && members_ && (m = members_->by_token(tok, holds_.token()))) {
            c.by_token = true; // a member's add-on token: that member's rights
            c.member = m->name;
            c.adviser = m->role == Role::adviser;
        } else {
            auto r = error(401, "bad_token", "The API token is wrong. Get the current one with: rapportctl token", v);
            r.set(http::field::www_authenticate, "Bearer");
            return r;
        }
    } else {
        std::string s = cookie_value(std::string_view(req[http::field::cookie].data(), req[http::field::cookie].size()), kCookie);
        auto it = s.empty() || c.extension ? sessions_.end() : sessions_.find(s);
        if (it == sessions_.end() || it->second.expires < now_s()) {
            auto r = error(401, "unauthorized",
                           "Authorization needed: send the API token (Authorization: Bearer ...), or open the page "
                           "with the link from: rapportctl open",
                           v);
            r.set(http::field::www_authenticate, "Bearer");
            return r;
        }
        if (verb == http::verb::post && req["X-Rapport-Page"] != "1")
            return error(403, "missing_page_header", "Page requests that change something need X-Rapport-Page: 1.", v);
        c.adviser = it->second.adviser;
        c.member = it->second.member;
    }
    // Issue 7: what only the token holder or an adviser may do.
    auto adviser_only = [&](const char* what) {
        return error(403, "adviser_only", std::string(what) + " is for the club's adviser.", v);
    };

    if (p == "/metrics") {
        if (!c.adviser) return adviser_only("Metrics are");
        return verb == http::verb::get ? metrics(c) : error(405, "method_not_allowed", "Use GET.", v);
    }
    const std::string api = "/api/v1/";
    if (p.rfind(api, 0) != 0) return error(404, "not_found", "Unknown API version; this daemon speaks /api/v1/.", v);
    std::string rest = p.substr(api.size());
    auto need = [&](http::verb want) { return verb == want; };
    if (rest == "ping") {
        if (!need(http::verb::get)) return error(405, "method_not_allowed", "Use GET.", v);
        return json_response({{"ok", true}, {"service", "rapportd"}, {"api", 1}}, v);
    }
    if (rest == "me") return need(http::verb::get) ? me(c) : error(405, "method_not_allowed", "Use GET.", v);
    if (rest == "messages") return need(http::verb::get) ? list(c) : error(405, "method_not_allowed", "Use GET.", v);
    if (rest == "analyze") return need(http::verb::post) ? analyze(c) : error(405, "method_not_allowed", "Use POST.", v);
    if (rest == "stats") return need(http::verb::get) ? stats(c) : error(405, "method_not_allowed", "Use GET.", v);
    if (rest == "outcomes" || rest == "incoming" || rest == "sent") {
        if (!outcomes_) return error(404, "not_found", "This daemon keeps no reply ledger.", v);
        if (rest == "outcomes") return need(http::verb::get) ? outcomes(c) : error(405, "method_not_allowed", "Use GET.", v);
        if (!need(http::verb::post)) return error(405, "method_not_allowed", "Use POST.", v);
        return rest == "incoming" ? incoming(c) : sent(c);
    }
    if (rest == "allow") {
        // One allow-list for the whole daemon: changing it is the adviser's call.
        if (need(http::verb::post) && !c.adviser) return adviser_only("Changing the allow-list");
        return need(http::verb::get) || need(http::verb::post) ? allow(c)
                                                               : error(405, "method_not_allowed", "Use GET or POST.", v);
    }
    if (rest == "login-links") {
        if (!need(http::verb::post)) return error(405, "method_not_allowed", "Use POST.", v);
        if (!c.by_token || !c.member.empty())
            return error(403, "token_required", "Login links are made with the API token only.", v);
        return login_link(c);
    }
    if (rest.rfind("messages/", 0) == 0) {
        std::string tail = rest.substr(9);
        auto slash = tail.find('/');
        std::string id = tail.substr(0, slash), action = slash == std::string::npos ? "" : tail.substr(slash + 1);
        if (!valid_id(id)) return error(404, "not_found", "There is no message with that id.", v);
        if (action.empty()) return need(http::verb::get) ? detail(c, id) : error(405, "method_not_allowed", "Use GET.", v);
        if (action == "raw") return need(http::verb::get) ? raw(c, id) : error(405, "method_not_allowed", "Use GET.", v);
        if (action == "release") return need(http::verb::post) ? release(c, id) : error(405, "method_not_allowed", "Use POST.", v);
        if (action == "drop") return need(http::verb::post) ? drop(c, id) : error(405, "method_not_allowed", "Use POST.", v);
    }
    return error(404, "not_found", "No such API endpoint.", v);
}

namespace {
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
    if (q_.release(id)) {
        q_.add_event(id, "released");
        auto now = now_s();
        if (Relay* relay = holds_.relay()) relay->schedule(id, now);
        else q_.set_status(id, Status::captured); // capture mode: nothing leaves
        log_("released " + id + " by " + c.who() + ": sending anyway");
        if (outcomes_ && holds_.relay()) outcomes_->released(id); // it leaves now (capture mode: it never does)
        auto after = q_.record(id);
        return json_response({{"id", id}, {"status", std::string(to_string(after ? after->row.status : Status::queued))},
                              {"released", true}},
                             c.req.version());
    }
    rec = q_.record(id);
    if (rec->released) // a second click: already on its way
        return json_response({{"id", id}, {"status", std::string(to_string(rec->row.status))}, {"released", false},
                              {"note", "already released"}},
                             c.req.version());
    return error(409, "not_held",
                 "This message is " + std::string(to_string(rec->row.status)) + ", not held; it cannot be sent from here.",
                 c.req.version());
}

HttpResponse HttpApi::drop(Ctx& c, const std::string& id) {
    auto rec = q_.record(id);
    if (!rec || rec->row.notice || !may_see(c, *rec))
        return error(404, "not_found", "There is no message with that id.", c.req.version());
    if (q_.drop(id)) {
        q_.add_event(id, "dropped");
        q_.remove_spool(id);
        log_("dropped " + id + " by " + c.who());
        return json_response({{"id", id}, {"status", "dropped"}, {"dropped", true}}, c.req.version());
    }
    if (rec->row.status == Status::dropped)
        return json_response({{"id", id}, {"status", "dropped"}, {"dropped", false}, {"note", "already discarded"}},
                             c.req.version());
    return error(409, "not_held",
                 "This message is " + std::string(to_string(rec->row.status)) + "; only held messages can be discarded.",
                 c.req.version());
}

// The allow-list lives in the history database, so every verdict lane and
// analyze see an entry as soon as it is added. Body of a POST:
//   {"entries": [{"type": "address", "value": "jobs@acme.example"},
//                {"type": "domain", "value": "acme.example"}]}
// Free-mail domains are refused as domains (they would allow everyone).
HttpResponse HttpApi::allow(Ctx& c) {
    const auto& req = c.req;
    auto listing = [&] {
        json arr = json::array();
        for (auto& [type, value] : history_->allow_list()) arr.push_back({{"type", type}, {"value", value}});
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
    for (auto& [type, value] : add) history_->allow(type, value);
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
    policies::CheckContext ctx;
    ctx.record = false; // a draft: nothing was sent, so nothing joins the history
    // A member's draft is judged as their mail will be: their history, their group's rules.
    std::string group;
    if (!c.member.empty()) {
        ctx.account = c.member;
        if (auto who = members_ ? members_->find(c.member) : std::nullopt) group = who->group;
    } else if (!m.from.empty()) {
        ctx.account = lower(m.from.front().address);
    }
    {
        std::lock_guard lk(policy_mu_);
        if (next_policy_) checkers_.set_policy(*std::exchange(next_policy_, nullptr)); // reloaded since the last draft
    }
    policies::Verdict verdict = checkers_.for_group(group).check(m, ctx);
    ++analyzed_;
    json findings = json::array();
    for (const auto& f : verdict.findings)
        findings.push_back({{"rule", f.rule}, {"message", f.message}, {"action", std::string(policies::to_string(f.action))}});
    json out = {{"action", std::string(policies::verdict_name(verdict.action))}, {"findings", findings}};
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
    std::string group, account;
    if (!c.member.empty()) {
        account = c.member;
        if (auto who = members_ ? members_->find(c.member) : std::nullopt) group = who->group;
    } else if (!m.from.empty()) {
        account = lower(m.from.front().address);
    } else {
        return error(400, "no_sender", "\"from\" is required: whose message is it?", req.version());
    }
    if (outcomes_->has_message(account, message_id))
        return json_response({{"recorded", true}, {"duplicate", true}}, req.version());
    {
        std::lock_guard lk(policy_mu_);
        if (next_policy_) checkers_.set_policy(*std::exchange(next_policy_, nullptr));
    }
    policies::CheckContext ctx;
    ctx.account = account;
    ctx.now = now_s();
    ctx.record = true; // it was sent: it joins the template memory like relayed mail
    policies::Verdict verdict = checkers_.for_group(group).check(m, ctx);

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
    out += "# HELP rapport_messages Messages known to the queue, by status.\n# TYPE rapport_messages gauge\n";
    std::map<std::string, std::int64_t> counts;
    for (auto s : {"queued", "held", "relayed", "failed", "captured", "rejected", "dropped", "expired"}) counts[s] = 0;
    for (const auto& [s, n] : q_.status_counts()) counts[s] = n;
    for (const auto& [s, n] : counts) out += "rapport_messages{status=\"" + s + "\"} " + std::to_string(n) + "\n";
    std::map<std::string, std::int64_t> rules, actions;
    std::int64_t released = 0;
    for (const auto& r : q_.stat_rows()) {
        ++actions[r.action.empty() ? "relay" : r.action];
        released += r.released;
        for (const auto& x : findings_of(r.findings_json))
            if (x.is_object() && x.contains("rule") && x["rule"].is_string()) ++rules[x["rule"].get<std::string>()];
    }
    out += "# HELP rapport_findings_total Findings on received messages, by rule.\n# TYPE rapport_findings_total counter\n";
    for (const auto& [r, n] : rules) out += "rapport_findings_total{rule=\"" + r + "\"} " + std::to_string(n) + "\n";
    out += "# HELP rapport_verdicts_total Received messages by verdict.\n# TYPE rapport_verdicts_total counter\n";
    for (const auto& [a, n] : actions) out += "rapport_verdicts_total{action=\"" + a + "\"} " + std::to_string(n) + "\n";
    out += "# HELP rapport_released_total Held messages sent anyway by a person.\n# TYPE rapport_released_total counter\n";
    out += "rapport_released_total " + std::to_string(released) + "\n";
    if (outcomes_) {
        // The reply ledger (SPEC.md "Outcomes"): everyone's, ever.
        const auto t = outcomes_->totals();
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
    HttpResponse r{http::status::ok, c.req.version()};
    r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    r.set(http::field::cache_control, "no-store");
    r.body() = std::move(out);
    return r;
}

HttpResponse HttpApi::login_link(Ctx& c) {
    sweep(now_s());
    if (login_codes_.size() >= kMaxLoginCodes)
        return error(429, "too_many", "Too many unused login links; wait a few minutes.", c.req.version());
    std::string code = random_hex(24);
    login_codes_[code] = now_s() + kLoginCodeSeconds;
    std::string url = base_url() + "/login?code=" + code;
    return json_response({{"url", url}, {"expires", now_s() + kLoginCodeSeconds}}, c.req.version());
}

HttpResponse HttpApi::login(Ctx& c) {
    unsigned v = c.req.version();
    std::string code = c.query.count("code") ? c.query["code"] : "";
    auto it = code.empty() ? login_codes_.end() : login_codes_.find(code);
    if (it == login_codes_.end() || it->second < now_s()) {
        if (it != login_codes_.end()) login_codes_.erase(it);
        HttpResponse r{http::status::forbidden, v};
        r.set(http::field::content_type, "text/html; charset=utf-8");
        r.set(http::field::cache_control, "no-store");
        r.body() = "<!doctype html><meta charset=utf-8><title>Rapport</title><link rel=stylesheet href=/app.css>"
                   "<main class=notice><h1>This login link has expired</h1><p>Each link works once, for ten minutes. "
                   "Get a new one by running <code>rapportctl open</code>.</p></main>\n";
        return r;
    }
    login_codes_.erase(it); // one use only
    sweep(now_s());
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
    std::string session = random_hex(32);
    sessions_[session] = Session{now_s() + kSessionSeconds, true, {}};
    HttpResponse r{http::status::see_other, v};
    r.set(http::field::location, "/");
    r.set(http::field::cache_control, "no-store");
    r.set(http::field::set_cookie, std::string(kCookie) + "=" + session + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                       std::to_string(kSessionSeconds));
    return r;
}

HttpResponse HttpApi::member_login(Ctx& c) {
    unsigned v = c.req.version();
    if (!members_) return error(404, "not_found", "This daemon has no members.", v);
    // Like every page POST: a header a foreign page cannot send without a preflight.
    if (c.req["X-Rapport-Page"] != "1")
        return error(403, "missing_page_header", "Page requests that change something need X-Rapport-Page: 1.", v);
    sweep(now_s());
    // Each check costs tens of milliseconds (argon2id); a guesser gets ten a minute.
    if (login_failures_.size() >= 10)
        return error(429, "too_many", "Too many wrong passwords; wait a minute and try again.", v);
    json d = json::parse(c.req.body(), nullptr, false);
    if (d.is_discarded() || !d.is_object() || !d.contains("name") || !d.contains("password") || !d["name"].is_string() ||
        !d["password"].is_string())
        return error(400, "bad_json", "Send {\"name\": ..., \"password\": ...}.", v);
    auto m = members_->verify(d["name"].get<std::string>(), d["password"].get<std::string>());
    if (!m) {
        login_failures_.push_back(now_s());
        log_("page login failed from the HTTP API"); // never the name or password tried
        return error(401, "wrong_password", "That name and password do not match a member.", v);
    }
    if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
    std::string session = random_hex(32);
    sessions_[session] = Session{now_s() + kSessionSeconds, m->role == Role::adviser, m->name};
    auto r = json_response({{"name", m->name}, {"role", std::string(to_string(m->role))}}, v);
    r.set(http::field::set_cookie, std::string(kCookie) + "=" + session + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                       std::to_string(kSessionSeconds));
    return r;
}

HttpResponse HttpApi::me(Ctx& c) {
    json j = {{"role", c.adviser ? "adviser" : "member"}, {"name", c.member}, {"members", members_ && !members_->empty()}};
    return json_response(j, c.req.version());
}

HttpResponse HttpApi::asset(Ctx& c, std::string name) {
    std::string_view body = web_asset(name);
    if (body.empty()) return error(404, "not_found", "There is no such page.", c.req.version());
    auto ends = [&](std::string_view e) { return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0; };
    HttpResponse r{http::status::ok, c.req.version()};
    r.set(http::field::content_type, ends(".html")  ? "text/html; charset=utf-8"
                                     : ends(".css") ? "text/css; charset=utf-8"
                                     : ends(".js")  ? "text/javascript; charset=utf-8"
                                     : ends(".svg") ? "image/svg+xml"
                                                    : "application/octet-stream");
    r.set(http::field::cache_control, "no-cache");
    r.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    r.body() = std::string(body);
    return r;
}

void HttpApi::sweep(std::int64_t now) {
    std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires < now; });
    std::erase_if(login_failures_, [&](std::int64_t t) { return t < now - 60; });
    std::erase_if(login_codes_, [&](const auto& kv) { return kv.second < now; });
}

} // namespace rapport::daemon
