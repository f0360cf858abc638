// http_api.h - the local HTTP API and the held-mail page, without
// sockets: one request in, one response out. http_server.h does the I/O.
//
//   HttpApi api(cfg, queue, holds, verdict, log);
//   api.set_port(bound_port);              // Host/Origin checks need it
//   Response r = api.handle(request);
//
// Routes (JSON unless said otherwise; errors are {"error","message"} 4xx):
//   GET  /api/v1/ping                      {"ok":true,...}  (checks the token)
//   GET  /api/v1/messages?status=S&limit=N list; S = held|warned|queued|relayed|
//                                          failed|rejected|dropped|expired|captured
//   GET  /api/v1/messages/ID               detail: findings, envelope, headers,
//                                          sender's text, attachments, attempts,
//                                          recipients, expiry
//   GET  /api/v1/messages/ID/raw           the exact spooled bytes (message/rfc822)
//   POST /api/v1/messages/ID/release       held -> queued ("Send anyway"); idempotent
//   POST /api/v1/messages/ID/drop          held|expired -> dropped ("Discard"); idempotent
//   POST /api/v1/analyze                   raw MIME, or JSON {from,to,cc,bcc,subject,
//                                          body,html,attachments:[{name,size,type}],
//                                          message_id} -> {action, findings, confirm}
//                                          nothing sent, nothing recorded
//   GET  /api/v1/stats                     per sender: sent, flagged by rule, held,
//                                          released anyway, dropped, expired
//   POST /api/v1/login                     {name,password} -> session cookie (job
//                                          club members; no token needed)
//   GET  /api/v1/me                        who is asking: {role, name}
//   GET  /api/v1/outcomes                  the reply ledger: applications, replies,
//                                          reply rate by class, follow-ups due, the
//                                          inbox reader's state; an adviser's adds
//                                          "members" (outcomes.h)
//   POST /api/v1/incoming                  {"headers": "..."}: a received message's
//                                          header section, from the add-on
//   POST /api/v1/sent                      a draft as for /analyze plus message_id
//                                          (required) and revised: a message the
//                                          add-on saw leave -> {"recorded": true}
//   POST /api/v1/login-links               one-time page login link (token only)
//   GET  /metrics                          Prometheus text format
//   GET  /, /app.js, /app.css, ...         the page (daemon/web, no data in it)
//   GET  /login?code=C                     one-time code -> session cookie -> /
//
// Security (any web page the user visits can reach 127.0.0.1):
//   - Host must name this daemon's own address (defeats DNS rebinding);
//   - an Origin, when sent, must be this page or a moz-extension:// add-on
//     (CORS answered for those only, and they must use the token);
//   - API calls need `Authorization: Bearer TOKEN` (<state>/api-token), or the
//     page's session cookie (HttpOnly, SameSite=Strict, from a one-time link)
//     plus the `X-Rapport-Page: 1` header on POSTs (forces a CORS preflight
//     that foreign pages cannot pass);
//   - tokens and HMACs are compared in constant time; the sender's text is
//     returned as text, never as the mail's HTML; raw bytes only as a download.
// Roles: the API token and advisers see everything. A job club
// member (their add-on token, members.h, or a page login with their
// password) sees and decides about their own mail only - another member's
// message is "not found", not "forbidden", so ids reveal nothing - sees
// only their own stats, and cannot change the allow-list, read /metrics or
// make login links. Their drafts are analysed with their group's rules and
// their own history.
// Not thread-safe: the server calls handle() from one thread.

#pragma once

#include <utility> // before Boost under C++20 with g++ 12
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "daemon/lib/config.h"
#include "daemon/lib/hold.h"
#include "daemon/lib/login_codes.h"
#include "daemon/lib/members.h"
#include "daemon/lib/outcomes.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/verdict.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>
#include <string>

namespace rapport::daemon {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// What /metrics says about the store with [store] url.
struct StoreStatus {
    bool up = true;           // PostgreSQL answered the last time it was asked, and finishes statements
    std::size_t waiting = 0;  // accepted messages waiting for it (or for a full disk)
};

class HttpApi {
public:
    // `members` (may be null): job club members who may use the API and page.
    // `verdict` judges drafts (/analyze) and sent mail (/sent) as the proxy
    // judges mail, with the same policy, and keeps the allow-list.
    HttpApi(const Config& cfg, Queue& q, Holds& holds, VerdictStage& verdict, LogFn log,
            const Members* members = nullptr);
    ~HttpApi();
    void set_port(std::uint16_t port);
    // The reply ledger (may stay null: then /outcomes, /incoming and /sent
    // answer 404). Set before the server starts.
    void set_outcomes(Outcomes* outcomes) { outcomes_ = outcomes; }
    // [store] url: the store's state for /metrics. Set before the server starts.
    void set_store_status(std::function<StoreStatus()> f) { store_status_ = std::move(f); }
    HttpResponse handle(const HttpRequest& req);
    // A one-time login link to the page (as POST /api/v1/login-links
    // makes), or "" when too many are unused. Thread-safe once set_port()
    // has been called: the desktop notice's Review button calls it.
    std::string login_link_url();
    // Drops expired sessions and login codes; called from a timer.
    void sweep(std::int64_t now);
    // A JSON error response (also used by the server for oversized requests).
    static HttpResponse error(unsigned status, std::string code, std::string message, unsigned version = 11);

private:
    struct Ctx;
    HttpResponse route(Ctx& c);
    HttpResponse list(Ctx& c);
    HttpResponse detail(Ctx& c, const std::string& id);
    HttpResponse raw(Ctx& c, const std::string& id);
    HttpResponse release(Ctx& c, const std::string& id);
    HttpResponse drop(Ctx& c, const std::string& id);
    HttpResponse analyze(Ctx& c);
    HttpResponse allow(Ctx& c); // GET/POST /api/v1/allow: the "don't warn me for this one" list
    HttpResponse stats(Ctx& c);
    HttpResponse metrics(Ctx& c);
    HttpResponse login_link(Ctx& c);
    HttpResponse login(Ctx& c);
    HttpResponse member_login(Ctx& c); // POST /api/v1/login
    HttpResponse me(Ctx& c);
    HttpResponse outcomes(Ctx& c); // GET /api/v1/outcomes
    HttpResponse incoming(Ctx& c); // POST /api/v1/incoming
    HttpResponse sent(Ctx& c);     // POST /api/v1/sent
    bool may_see(const Ctx& c, const Queue::Record& r) const;
    HttpResponse asset(Ctx& c, std::string name);
    bool host_ok(std::string_view host) const;
    bool same_origin(std::string_view origin) const;
    std::string base_url() const;

    const Config& cfg_;
    Queue& q_;
    Holds& holds_;
    LogFn log_;
    std::set<std::string> hosts_; // "127.0.0.1:2526", "localhost:2526" (lower case)
    std::uint16_t port_ = 0;
    VerdictStage& verdict_;
    const Members* members_;
    struct Session {
        std::int64_t expires = 0;
        bool adviser = true;  // a login link (token holder) or an adviser's password
        std::string member;   // "" for a login link
    };
    std::map<std::string, Session> sessions_;         // session id -> who, until when
    std::vector<std::int64_t> login_failures_;        // times of recent wrong passwords
    LoginCodes login_codes_; // one-time codes of login links
    std::map<unsigned, std::uint64_t> responses_;     // status code -> count, for /metrics
    std::uint64_t analyzed_ = 0;
    Outcomes* outcomes_ = nullptr;
    std::function<StoreStatus()> store_status_;
};

} // namespace rapport::daemon
