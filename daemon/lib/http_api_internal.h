// http_api_internal.h - what the HTTP API's files share: the request
// context and JSON answers. The files: http_api.cc (the door: Host, Origin,
// token, sessions, routing, the page), http_api_messages.cc (held and other
// mail: list, detail, release, drop), http_api_judging.cc (drafts, sent and
// received mail, the allow-list, the ledger), http_api_report.cc (stats,
// metrics). Not for other callers: they use http_api.h.

#pragma once

#include "daemon/lib/http_api.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ctime>
#include <map>
#include <string>

namespace rapport::daemon {
namespace http = boost::beast::http;
using json = nlohmann::json;

struct HttpApi::Ctx {
    const HttpRequest& req;
    std::string path;
    std::map<std::string, std::string> query;
    std::string origin;      // as sent; "" when absent
    bool extension = false;  // Origin is a moz-extension:// add-on
    bool by_token = false;   // authenticated by the Bearer token (else by session cookie)
    bool adviser = true;     // sees everyone's mail; false: a member
    std::string member;      // the job club member asking, "" for the API token / a login link
    std::string who() const { return member.empty() ? (by_token ? "token" : "page") : member; }
};

inline std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

inline HttpResponse json_response(const json& j, unsigned version, unsigned status = 200) {
    HttpResponse r{static_cast<http::status>(status), version};
    r.set(http::field::content_type, "application/json");
    r.set(http::field::cache_control, "no-store");
    r.body() = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
}

// A queue row's findings (policies::to_json, kept as text) as JSON; [] when unreadable.
inline json findings_of(const std::string& findings_json) {
    json f = json::parse(findings_json.empty() ? "[]" : findings_json, nullptr, false);
    return f.is_array() ? f : json::array();
}

} // namespace rapport::daemon
