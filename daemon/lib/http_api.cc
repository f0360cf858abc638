// http_api.cc - the door of the HTTP API: who may ask (Host, Origin,
// token, session), routing, logins and the page's files. See http_api.h.

#include "daemon/lib/http_api_internal.h"

#include "common/strings.h"
#include "daemon/lib/web_assets.h"
#include "policies/language.h"
#include "policies/outcomes/ledger_rows.h"


#include <algorithm>
#include <cctype>
#include <cstring>

namespace rapport::daemon {

using common::lower;

namespace {

constexpr std::int64_t kSessionSeconds = 12 * 3600;
constexpr std::size_t kMaxSessions = 1000;   // a flood of logins cannot grow memory without bound
const char* kCookie = "rapport_session";

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
} // namespace

HttpApi::HttpApi(const Config& cfg, Queue& q, Holds& holds, VerdictStage& verdict, LogFn log, const Members* members)
    : cfg_(cfg), q_(q), holds_(holds), log_(std::move(log)), verdict_(verdict), members_(members) {
    set_port(cfg.http.port);
}

bool HttpApi::may_see(const Ctx& c, const Queue::Record& r) const { return c.adviser || r.account == c.member; }

HttpApi::~HttpApi() = default;

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
        // The shared store down or failing over (the queue's state, held
        // mail and the ledger are there): ask again later.
        auto* se = dynamic_cast<const StorageError*>(&e);
        if ((se && se->unavailable) || dynamic_cast<const policies::outcomes::LedgerUnavailable*>(&e))
            res = error(503, "store_unavailable", "Rapport cannot reach its database just now; try again in a minute.",
                        req.version());
        else
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
        if (p.rfind("/i18n/", 0) == 0 && p.find('/', 6) == std::string::npos) return asset(c, p.substr(1)); // catalogues
        return error(404, "not_found", "There is no such page.", v);
    }

    // A job club member signs in to the page with their password.
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
    // What only the token holder or an adviser may do.
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

HttpResponse HttpApi::login_link(Ctx& c) {
    std::string url = login_link_url();
    if (url.empty()) return error(429, "too_many", "Too many unused login links; wait a few minutes.", c.req.version());
    return json_response({{"url", url}, {"expires", now_s() + LoginCodes::kLifetime}}, c.req.version());
}

std::string HttpApi::login_link_url() {
    std::string code = login_codes_.make(now_s());
    return code.empty() ? "" : base_url() + "/login?code=" + code;
}

HttpResponse HttpApi::login(Ctx& c) {
    unsigned v = c.req.version();
    std::string code = c.query.count("code") ? c.query["code"] : "";
    if (!login_codes_.take(code, now_s())) {
        HttpResponse r{http::status::forbidden, v};
        r.set(http::field::content_type, "text/html; charset=utf-8");
        r.set(http::field::cache_control, "no-store");
        r.body() = "<!doctype html><meta charset=utf-8><title>Rapport</title><link rel=stylesheet href=/app.css>"
                   "<main class=notice><h1>This login link has expired</h1><p>Each link works once, for ten minutes. "
                   "Get a new one by running <code>rapportctl open</code>.</p></main>\n";
        return r;
    }
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
    // The language to show the page in when the browser's choice should
    // not decide: the member's own setting, else the daemon's [coach] language.
    std::string own;
    if (!c.member.empty() && members_)
        if (auto m = members_->find(c.member)) own = m->language;
    j["lang"] = policies::effective_setting({own, cfg_.coach.language});
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
                                     : ends(".json") ? "application/json; charset=utf-8"
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
    login_codes_.sweep(now);
}

} // namespace rapport::daemon
