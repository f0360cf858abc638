// held.cc - `rapportctl held`, `rapportctl token`, `rapportctl open`.
//
//   rapportctl held list [--json] [--status S]   held messages (or those with status S)
//   rapportctl held show ID [--json]             why it was held, its text, attachments
//   rapportctl held release ID                   send it anyway (a second call sends nothing)
//   rapportctl held drop ID                      discard it
//   rapportctl token                             the API token (for the Thunderbird add-on)
//   rapportctl open [--browser]                  a one-time login link for the page (--browser: xdg-open it)
// All take --state DIR (default: the daemon's, see daemon/lib/config.h),
// or --config FILE: rapportd's config, whose state directory names the
// daemon to ask. With a shared store ([store] url) every node's API
// answers for the whole queue, so any node's config will do.
//
// The daemon writes <state>/http-address and <state>/api-token; these
// commands read both and talk to the running daemon's API, so the daemon
// stays the only writer of its queue. Exit status: 0 done, 1 the daemon said
// no (unknown id, not held) or is unreachable, 2 bad usage. What people read
// is in the terminal's language (terminal.h); --json output never is.

#include <utility> // before Boost under C++20 with g++ 12
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "daemon/ctl/api_client.h"
#include "daemon/ctl/terminal.h"
#include "daemon/lib/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <spawn.h>
#include <sys/wait.h>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

using namespace rapport::ctl;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

constexpr const char* kHeldUsage =
    "usage: rapportctl held list [--json] [--status STATUS] [--state DIR | --config FILE]\n"
    "       rapportctl held show ID [--json] [--state DIR | --config FILE]\n"
    "       rapportctl held release ID [--state DIR | --config FILE]\n"
    "       rapportctl held drop ID [--state DIR | --config FILE]\n"
    "       rapportctl token [--state DIR]\n"
    "       rapportctl open [--browser] [--state DIR]\n";

struct Args {
    std::string state, config;
    bool json = false;
    bool browser = false; // open: also start the desktop's browser (xdg-open)
    std::string status = "held";
    std::vector<std::string> rest;
    bool bad = false;
};

Args parse_args(const std::vector<std::string>& args) {
    Args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& s = args[i];
        if (s == "--json") a.json = true;
        else if (s == "--browser") a.browser = true;
        else if ((s == "--state" || s == "--status") && i + 1 < args.size()) (s == "--state" ? a.state : a.status) = args[++i];
        else if (s == "--config" && i + 1 < args.size()) a.config = args[++i];
        else if (s.rfind("--config=", 0) == 0) a.config = s.substr(9);
        else if (s.rfind("--state=", 0) == 0) a.state = s.substr(8);
        else if (s.rfind("--status=", 0) == 0) a.status = s.substr(9);
        else if (s.size() > 1 && s[0] == '-') {
            std::cerr << "rapportctl: unknown option " << s << "\n";
            a.bad = true;
        } else a.rest.push_back(s);
    }
    if (a.state.empty() && !a.config.empty()) {
        try {
            const char* argv[] = {"rapportctl", "--config", a.config.c_str()};
            a.state = rapport::daemon::load_config(3, argv).state_dir;
        } catch (const std::exception& e) {
            std::cerr << "rapportctl: " << e.what() << "\n";
            a.bad = true;
        }
    }
    if (a.state.empty()) a.state = rapport::daemon::default_state_dir();
    return a;
}

std::string str(const json& j, const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}

// A message's status ("held", "relayed", ...) for people.
std::string status_word(const std::string& s) {
    if (s == "held") return tr("status", "held");
    if (s == "warned") return tr("status", "sent with a warning");
    if (s == "queued") return tr("status", "waiting to be sent");
    if (s == "relayed") return tr("status", "sent");
    if (s == "failed") return tr("status", "could not be delivered");
    if (s == "rejected") return tr("status", "refused");
    if (s == "dropped") return tr("status", "discarded");
    if (s == "expired") return tr("status", "expired, not sent");
    if (s == "captured") return tr("status", "kept, not sent (no upstream)");
    return s;
}

std::string cut(std::string s, std::size_t n) {
    if (s.size() <= n) return s;
    s.resize(n - 3);
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back(); // whole UTF-8 characters
    if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
    return s + "...";
}

int held_list(const Args& a) {
    Reply r = call(a.state, http::verb::get, "/api/v1/messages?status=" + a.status + "&limit=500");
    if (r.status != 200) return fail(r);
    json msgs = parse_json(r)["messages"];
    if (a.json) {
        std::cout << msgs.dump() << "\n";
        return 0;
    }
    if (msgs.empty()) {
        std::cout << (a.status == "held" ? tr("held", "No messages are held.") : tr("held", "No messages.")) << "\n";
        return 0;
    }
    for (const auto& m : msgs) {
        std::string rules;
        for (const auto& x : m["rules"]) rules += (rules.empty() ? "" : ", ") + x.get<std::string>();
        std::cout << str(m, "id") << "  " << local_time(m.value("received", std::int64_t{0})) << "  "
                  << cut(str(m, "from"), 30) << " -> " << cut(str(m, "to"), 40) << "\n    "
                  << cut(str(m, "subject").empty() ? tr("held", "(no subject)") : str(m, "subject"), 70) << "\n    "
                  << (rules.empty() ? tr("held", "(no findings)") : rules) << "\n";
    }
    return 0;
}

int held_show(const Args& a) {
    if (a.rest.size() != 2) {
        std::cerr << kHeldUsage;
        return 2;
    }
    Reply r = call(a.state, http::verb::get, "/api/v1/messages/" + a.rest[1]);
    if (r.status != 200) return fail(r);
    json m = parse_json(r);
    if (a.json) {
        std::cout << m.dump(2) << "\n";
        return 0;
    }
    std::cout << fill(tr("held", "Message {id} ({status})"),
                      {{"id", str(m, "id")}, {"status", status_word(str(m, "status"))}})
              << "\n";
    std::vector<std::pair<std::string, std::string>> rows = {
        {tr("held", "Subject:"), str(m, "subject")},
        {tr("held", "From:"), str(m, "from")},
        {tr("held", "To:"), str(m, "to")},
        {tr("held", "Received:"), local_time(m.value("received", std::int64_t{0}))},
    };
    if (m.contains("expires"))
        rows.emplace_back(tr("held", "Held until:"), local_time(m["expires"].get<std::int64_t>()));
    std::size_t column = 0;
    for (const auto& [label, value] : rows) column = std::max(column, width(label) + 1);
    for (const auto& [label, value] : rows) std::cout << "  " << pad(label, column) << value << "\n";
    if (!m["findings"].empty()) {
        std::cout << "\n" << tr("held", "Why Rapport stopped it:") << "\n";
        for (const auto& f : m["findings"]) std::cout << "  - " << str(f, "message") << " [" << str(f, "rule") << "]\n";
    }
    if (m.contains("attachments") && !m["attachments"].empty()) {
        std::cout << "\n" << tr("held", "Attachments:") << "\n";
        for (const auto& at : m["attachments"]) {
            const auto size = at.value("size", std::size_t{0});
            std::cout << "  " << (str(at, "name").empty() ? tr("held", "(unnamed)") : str(at, "name")) << "  "
                      << str(at, "type") << "  "
                      << fill(tr_plural("held", "{n} byte", "{n} bytes", static_cast<long>(size)),
                              {{"n", std::to_string(size)}})
                      << "\n";
        }
    }
    if (m.contains("text")) {
        std::cout << "\n" << tr("held", "Text:") << "\n";
        std::istringstream in(str(m, "text"));
        for (std::string line; std::getline(in, line);) std::cout << "  | " << line << "\n";
    }
    if (str(m, "status") == "held") {
        const std::string send = tr("held", "Send it anyway:"), drop = tr("held", "Discard it:");
        const std::size_t col = std::max(width(send), width(drop)) + 2;
        std::cout << "\n" << pad(send, col) << "rapportctl held release " << str(m, "id") << "\n"
                  << pad(drop, col) << "rapportctl held drop " << str(m, "id") << "\n";
    }
    return 0;
}

int held_act(const Args& a, const std::string& what) {
    if (a.rest.size() != 2) {
        std::cerr << kHeldUsage;
        return 2;
    }
    const std::string& id = a.rest[1];
    Reply r = call(a.state, http::verb::post, "/api/v1/messages/" + id + "/" + what);
    if (r.status != 200) return fail(r);
    json j = parse_json(r);
    bool done = j.value(what == "release" ? "released" : "dropped", false);
    if (what == "release")
        std::cout << fill(done ? tr("held", "Released {id}: it is on its way.")
                               : tr("held", "{id} was already released; nothing more to do."),
                          {{"id", id}})
                  << "\n";
    else
        std::cout << fill(done ? tr("held", "Discarded {id}.") : tr("held", "{id} was already discarded."),
                          {{"id", id}})
                  << "\n";
    return 0;
}

} // namespace

int cmd_held(const std::vector<std::string>& args) {
    Args a = parse_args(args);
    if (a.bad || a.rest.empty()) {
        std::cerr << kHeldUsage;
        return 2;
    }
    try {
        const std::string& sub = a.rest[0];
        if (sub == "list" && a.rest.size() == 1) return held_list(a);
        if (sub == "show") return held_show(a);
        if (sub == "release" || sub == "drop") return held_act(a, sub);
    } catch (const std::exception& e) {
        std::cerr << "rapportctl: " << e.what() << "\n";
        return 1;
    }
    std::cerr << kHeldUsage;
    return 2;
}

int cmd_token(const std::vector<std::string>& args) {
    Args a = parse_args(args);
    if (a.bad || !a.rest.empty()) {
        std::cerr << kHeldUsage;
        return 2;
    }
    auto t = read_line_file(a.state + "/api-token");
    if (!t || t->empty()) {
        std::cerr << "rapportctl: "
                  << fill(tr("token", "no API token in {dir} yet; start rapportd once (or pass --state DIR)"),
                          {{"dir", a.state}})
                  << "\n";
        return 1;
    }
    std::cout << *t << "\n";
    return 0;
}

int cmd_open(const std::vector<std::string>& args) {
    Args a = parse_args(args);
    if (a.bad || !a.rest.empty()) {
        std::cerr << kHeldUsage;
        return 2;
    }
    try {
        Reply r = call(a.state, http::verb::post, "/api/v1/login-links");
        if (r.status != 200) return fail(r);
        json j = parse_json(r);
        std::string url = str(j, "url");
        std::cout << url << "\n";
        if (a.browser) {
            // No shell: the URL goes to xdg-open as one argument.
            pid_t pid = 0;
            char* argv[] = {const_cast<char*>("xdg-open"), url.data(), nullptr};
            if (::posix_spawnp(&pid, "xdg-open", nullptr, nullptr, argv, environ) == 0) {
                int st = 0;
                ::waitpid(pid, &st, 0);
                if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
            }
            std::cerr << "rapportctl: " << tr("open", "could not start a browser; open the link above yourself.")
                      << "\n";
            return 0;
        }
        std::cerr << tr("open", "Open this link in your browser within ten minutes; it works once.") << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "rapportctl: " << e.what() << "\n";
        return 1;
    }
}
