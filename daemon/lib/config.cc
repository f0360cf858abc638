// config.cc - see config.h. Reads TOML with toml++; strict about keys.

#include "daemon/lib/config.h"

#include "common/files.h"
#include "common/strings.h"
#include "policies/language.h"

#include <toml++/toml.h>

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace rapport::daemon {
namespace {

bool is_ip_address(const std::string& s) {
    unsigned char buf[sizeof(struct in6_addr)];
    return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string trim(std::string_view s) { return std::string(common::trim(s)); }

// Refuses keys the table does not know: a misspelt limit must not be ignored.
void only_keys(const toml::table& t, const std::string& where, std::set<std::string> known) {
    for (auto&& [k, v] : t) {
        (void)v;
        if (!known.count(std::string(k.str())))
            throw ConfigError(where + ": unknown key '" + std::string(k.str()) + "'");
    }
}

template <class T>
void get(const toml::table& t, const char* key, const std::string& where, T& out) {
    auto node = t.get(key);
    if (!node) return;
    if constexpr (std::is_same_v<T, std::string>) {
        auto v = node->value<std::string>();
        if (!v) throw ConfigError(where + "." + key + ": expected a string");
        out = *v;
    } else if constexpr (std::is_same_v<T, bool>) {
        auto v = node->value<bool>();
        if (!v) throw ConfigError(where + "." + key + ": expected true or false");
        out = *v;
    } else {
        auto v = node->value<std::int64_t>();
        if (!v || *v < 0) throw ConfigError(where + "." + key + ": expected a non-negative integer");
        out = static_cast<T>(*v);
    }
}

const toml::table* sub(const toml::table& t, const char* key) {
    auto n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) throw ConfigError(std::string(key) + ": expected a table");
    return n->as_table();
}

// "user:password" on the first line; or two lines "user" / "password".
void read_secret_file(const std::string& path, std::string& user, std::string& pass) {
    std::string text;
    try {
        text = common::read_secret(path, false); // a warning below says when others can read it
    } catch (const std::runtime_error& e) {
        throw ConfigError(std::string("secret file ") + e.what());
    }
    std::string_view rest = text;
    auto next_line = [&rest] {
        auto nl = rest.find('\n');
        std::string line = trim(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        return line;
    };
    std::string a = next_line(), b = next_line();
    if (auto c = a.find(':'); c != std::string::npos && b.empty()) {
        user = a.substr(0, c);
        pass = a.substr(c + 1);
    } else {
        user = a;
        pass = b;
    }
}

// "name:password" lines; '#' comments.
void read_users_file(const std::string& path, std::map<std::string, std::string>& users) {
    std::ifstream in(path);
    if (!in) throw ConfigError("cannot read users file " + path);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        auto c = line.find(':');
        if (c == std::string::npos || c == 0) throw ConfigError(path + ": expected name:password lines");
        users[line.substr(0, c)] = line.substr(c + 1);
    }
}

// [store] url: a PostgreSQL connection URI without its password. The
// password would end up in logs, `ps` and the config's backups; it goes in
// store.password_file (or ~/.pgpass) instead.
void check_store_url(const std::string& url) {
    if (url.empty()) return;
    std::string rest;
    for (const char* scheme : {"postgresql://", "postgres://"})
        if (url.rfind(scheme, 0) == 0) rest = url.substr(std::string(scheme).size());
    if (rest.empty())
        throw ConfigError("store.url: expected postgresql://USER@HOST[:PORT]/DATABASE, got '" + url + "'");
    const std::string authority = rest.substr(0, rest.find_first_of("/?"));
    const auto at = authority.rfind('@');
    const bool password_in_userinfo = at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos;
    const auto query = rest.find('?');
    const bool password_in_query =
        query != std::string::npos && ("&" + rest.substr(query + 1)).find("&password=") != std::string::npos;
    if (password_in_userinfo || password_in_query)
        throw ConfigError("store.url: the password does not belong in the URL; put it in store.password_file "
                          "(or ~/.pgpass)");
}

void apply_file(Config& c, const std::string& path, std::string& upstream_url) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        std::ostringstream os;
        os << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
        throw ConfigError(os.str());
    }
    only_keys(root, path, {"smtp", "http", "state", "policy", "upstream", "relay", "tls", "auth", "spool",
                     "hold", "imap", "outcomes", "coach", "store"});
    if (auto t = sub(root, "smtp")) {
        only_keys(*t, "smtp", {"listen", "hostname", "max_message_size", "max_recipients", "max_command_line",
                               "max_data_line", "max_connections", "max_connections_per_client",
                               "client_limit_exceptions", "max_errors", "command_timeout", "data_timeout",
                               "data_min_rate", "verdict_timeout"});
        std::string listen;
        get(*t, "listen", "smtp", listen);
        if (!listen.empty()) c.listen = parse_host_port(listen, "smtp.listen");
        get(*t, "hostname", "smtp", c.hostname);
        auto& l = c.limits;
        get(*t, "max_message_size", "smtp", l.max_message_size);
        get(*t, "max_recipients", "smtp", l.max_recipients);
        get(*t, "max_command_line", "smtp", l.max_command_line);
        get(*t, "max_data_line", "smtp", l.max_data_line);
        get(*t, "max_connections", "smtp", l.max_connections);
        get(*t, "max_errors", "smtp", l.max_errors);
        get(*t, "command_timeout", "smtp", l.command_timeout);
        get(*t, "data_timeout", "smtp", l.data_timeout);
        get(*t, "data_min_rate", "smtp", l.data_min_rate);
        get(*t, "verdict_timeout", "smtp", l.verdict_timeout);
        get(*t, "max_connections_per_client", "smtp", l.max_connections_per_client);
        if (auto n = t->get("client_limit_exceptions")) {
            auto arr = n->as_array();
            if (!arr) throw ConfigError("smtp.client_limit_exceptions: expected a list of IP addresses");
            l.client_limit_exceptions.clear();
            for (auto&& v : *arr) {
                auto a = v.value<std::string>();
                if (!a || !is_ip_address(*a))
                    throw ConfigError("smtp.client_limit_exceptions: expected a list of IP addresses (\"127.0.0.1\")");
                l.client_limit_exceptions.push_back(*a);
            }
        }
        if (l.command_timeout == 0 || l.data_timeout == 0 || l.verdict_timeout == 0)
            throw ConfigError("smtp.command_timeout, smtp.data_timeout and smtp.verdict_timeout must be at least 1 "
                              "(seconds)");
        if (l.max_connections_per_client == 0) throw ConfigError("smtp.max_connections_per_client must be at least 1");
    }
    if (auto t = sub(root, "http")) {
        only_keys(*t, "http", {"listen", "max_connections", "header_timeout", "request_timeout"});
        std::string listen;
        get(*t, "listen", "http", listen);
        if (!listen.empty()) c.http = parse_host_port(listen, "http.listen");
        get(*t, "max_connections", "http", c.http_limits.max_connections);
        get(*t, "header_timeout", "http", c.http_limits.header_timeout);
        get(*t, "request_timeout", "http", c.http_limits.request_timeout);
        if (c.http_limits.max_connections == 0 || c.http_limits.header_timeout == 0 ||
            c.http_limits.request_timeout == 0)
            throw ConfigError("http.max_connections, header_timeout and request_timeout must be at least 1");
    }
    if (auto t = sub(root, "state")) {
        only_keys(*t, "state", {"dir"});
        get(*t, "dir", "state", c.state_dir);
    }
    if (auto t = sub(root, "policy")) {
        only_keys(*t, "policy", {"file"});
        get(*t, "file", "policy", c.policy_file);
    }
    if (auto t = sub(root, "spool")) {
        only_keys(*t, "spool",
                  {"threads", "check_lanes", "max_backlog", "segment_size", "ready_segments", "max_segments"});
        get(*t, "segment_size", "spool", c.segment_size);
        get(*t, "ready_segments", "spool", c.ready_segments);
        get(*t, "max_segments", "spool", c.max_segments);
        get(*t, "max_backlog", "spool", c.max_backlog);
        get(*t, "threads", "spool", c.spool_threads);
        get(*t, "check_lanes", "spool", c.check_lanes);
    }
    if (auto t = sub(root, "upstream")) {
        only_keys(*t, "upstream", {"url", "username", "password", "secret_file", "ca_file", "verify", "auth",
                                   "oauth_token_command"});
        auto& u = c.upstream;
        get(*t, "url", "upstream", upstream_url);
        get(*t, "username", "upstream", u.username);
        get(*t, "password", "upstream", u.password);
        get(*t, "ca_file", "upstream", u.ca_file);
        get(*t, "verify", "upstream", u.verify);
        std::string auth = "password", secret;
        get(*t, "auth", "upstream", auth);
        get(*t, "secret_file", "upstream", secret);
        get(*t, "oauth_token_command", "upstream", u.oauth_token_command);
        if (auth == "xoauth2") u.auth = UpstreamAuth::xoauth2;
        else if (auth == "oauthbearer") u.auth = UpstreamAuth::oauthbearer;
        else if (auth != "password")
            throw ConfigError("upstream.auth: expected \"password\", \"xoauth2\" or \"oauthbearer\", got '" + auth + "'");
        if (u.oauth()) {
            // The token is the credential; a password next to it would be a
            // second, silently unused secret.
            if (u.oauth_token_command.empty())
                throw ConfigError("upstream.auth = \"" + auth + "\" needs upstream.oauth_token_command (a command "
                                  "that prints a fresh access token)");
            if (!u.password.empty() || !secret.empty())
                throw ConfigError("upstream.auth = \"" + auth + "\" signs in with a token: remove upstream.password "
                                  "and upstream.secret_file");
            if (u.username.empty())
                throw ConfigError("upstream.auth = \"" + auth + "\" needs upstream.username (the account the token "
                                  "belongs to, e.g. your address)");
        } else if (!u.oauth_token_command.empty()) {
            throw ConfigError("upstream.oauth_token_command is used with auth = \"xoauth2\" or \"oauthbearer\"; "
                              "set upstream.auth");
        }
        if (!secret.empty()) read_secret_file(secret, u.username, u.password);
    }
    if (auto t = sub(root, "relay")) {
        only_keys(*t, "relay", {"workers", "retry_initial", "retry_max", "lifetime", "connect_timeout",
                                "transfer_timeout", "notify_sender"});
        auto& r = c.relay;
        get(*t, "workers", "relay", r.workers);
        get(*t, "retry_initial", "relay", r.retry_initial);
        get(*t, "retry_max", "relay", r.retry_max);
        get(*t, "lifetime", "relay", r.lifetime);
        get(*t, "connect_timeout", "relay", r.connect_timeout);
        get(*t, "transfer_timeout", "relay", r.transfer_timeout);
        get(*t, "notify_sender", "relay", r.notify_sender);
        if (r.workers == 0) throw ConfigError("relay.workers must be at least 1");
        if (r.retry_initial == 0) r.retry_initial = 1;
    }
    if (auto t = sub(root, "hold")) { // held messages
        only_keys(*t, "hold", {"expire", "notify_sender", "notify_desktop"});
        get(*t, "expire", "hold", c.hold.expire);
        get(*t, "notify_sender", "hold", c.hold.notify_sender);
        if (t->contains("notify_desktop")) {
            bool on = false;
            get(*t, "notify_desktop", "hold", on);
            c.hold.notify_desktop = on;
        }
        if (c.hold.expire == 0) throw ConfigError("hold.expire must be at least 1 (seconds)");
    }
    if (auto t = sub(root, "imap")) {
        auto& m = c.imap;
        only_keys(*t, "imap", {"url", "user", "secret_file", "oauth_token_command", "folders", "poll_seconds",
                               "ca_file", "retry_initial", "retry_max", "timeout"});
        get(*t, "url", "imap", m.url);
        get(*t, "user", "imap", m.user);
        get(*t, "secret_file", "imap", m.secret_file);
        get(*t, "oauth_token_command", "imap", m.oauth_token_command);
        get(*t, "poll_seconds", "imap", m.poll_seconds);
        get(*t, "ca_file", "imap", m.ca_file);
        get(*t, "retry_initial", "imap", m.retry_initial);
        get(*t, "retry_max", "imap", m.retry_max);
        get(*t, "timeout", "imap", m.timeout);
        if (auto f = t->get("folders")) {
            auto* arr = f->as_array();
            if (!arr) throw ConfigError("imap.folders: expected a list of folder names");
            m.folders.clear();
            for (auto&& e : *arr) {
                auto v = e.value<std::string>();
                if (!v || v->empty()) throw ConfigError("imap.folders: expected folder names (strings)");
                m.folders.push_back(*v);
            }
            if (m.folders.empty()) throw ConfigError("imap.folders: name at least one folder");
        }
        if (!m.url.empty()) {
            parse_imap_url(m);
            if (m.user.empty()) throw ConfigError("imap.user: needed with imap.url (the account to sign in as)");
            if (m.secret_file.empty() == m.oauth_token_command.empty())
                throw ConfigError("imap: give either secret_file (a 0600 file with the password) or oauth_token_command");
            if (!m.secret_file.empty()) {
                struct stat st{};
                if (::stat(m.secret_file.c_str(), &st) != 0)
                    throw ConfigError("imap.secret_file: cannot read " + m.secret_file);
                if (st.st_mode & 0077)
                    throw ConfigError("imap.secret_file: " + m.secret_file +
                                      " is readable by others; chmod 600 it (it holds your mail password)");
            }
            if (m.poll_seconds == 0) throw ConfigError("imap.poll_seconds must be at least 1");
            if (m.retry_initial == 0) m.retry_initial = 1;
            if (m.retry_max < m.retry_initial) m.retry_max = m.retry_initial;
            if (m.timeout == 0) throw ConfigError("imap.timeout must be at least 1 (seconds)");
        }
    }
    if (auto t = sub(root, "store")) {
        only_keys(*t, "store", {"url", "password_file", "pool_size", "node"});
        get(*t, "url", "store", c.store.url);
        get(*t, "node", "store", c.store.node);
        get(*t, "password_file", "store", c.store.password_file);
        get(*t, "pool_size", "store", c.store.pool_size);
        check_store_url(c.store.url);
        if (c.store.pool_size == 0) throw ConfigError("store.pool_size must be at least 1");
    }
    if (auto t = sub(root, "outcomes")) {
        only_keys(*t, "outcomes", {"enabled", "follow_up_days"});
        get(*t, "enabled", "outcomes", c.outcomes.enabled);
        if (auto n = t->get("follow_up_days")) {
            auto v = n->value<double>();
            if (!v || *v < 0) throw ConfigError("outcomes.follow_up_days: expected a number of days (7, or 0.5)");
            c.outcomes.follow_up_days = *v;
        }
    }
    if (auto t = sub(root, "coach")) {
        only_keys(*t, "coach", {"language"});
        std::string lang;
        get(*t, "language", "coach", lang);
        if (!lang.empty()) {
            auto setting = policies::parse_language_setting(lang);
            if (!setting)
                throw ConfigError("coach.language: \"" + lang + "\": expected " + policies::language_setting_choices());
            c.coach.language = *setting;
        }
    }
    if (auto t = sub(root, "tls")) {
        only_keys(*t, "tls", {"cert", "key"});
        get(*t, "cert", "tls", c.tls_cert);
        get(*t, "key", "tls", c.tls_key);
    }
    if (auto t = sub(root, "auth")) {
        only_keys(*t, "auth", {"users_file", "users", "failure_delay", "max_failure_delay", "max_failures",
                               "failure_window", "lockout"});
        get(*t, "failure_delay", "auth", c.auth.failure_delay);
        get(*t, "max_failure_delay", "auth", c.auth.max_failure_delay);
        get(*t, "max_failures", "auth", c.auth.max_failures);
        get(*t, "failure_window", "auth", c.auth.failure_window);
        get(*t, "lockout", "auth", c.auth.lockout);
        if (c.auth.max_failures == 0) throw ConfigError("auth.max_failures must be at least 1");
        std::string users_file;
        get(*t, "users_file", "auth", users_file);
        if (!users_file.empty()) read_users_file(users_file, c.users);
        if (auto u = sub(*t, "users")) {
            for (auto&& [k, v] : *u) {
                auto pw = v.value<std::string>();
                if (!pw) throw ConfigError("auth.users." + std::string(k.str()) + ": expected a string");
                c.users[std::string(k.str())] = *pw;
            }
        }
    }
    // A password in a file others can read is worth a warning, not a refusal.
    struct stat st{};
    if ((!c.upstream.password.empty() || !c.users.empty()) && ::stat(path.c_str(), &st) == 0 &&
        (st.st_mode & 0077))
        std::fprintf(stderr, "rapportd: warning: %s holds passwords and is readable by others (chmod 600)\n",
                     path.c_str());
}

} // namespace

std::string refuse_to_listen(const Config& c, bool have_members) {
    if (!is_loopback_host(c.http.host))
        return "refusing to serve the HTTP API on " + c.http.str() +
               " (not loopback): it speaks plain HTTP and shows people's mail. Keep [http] listen on 127.0.0.1 "
               "(use an SSH tunnel or a TLS reverse proxy to reach it from elsewhere)";
    if (is_loopback_host(c.listen.host)) return "";
    std::vector<std::string> missing;
    if (c.tls_cert.empty() || c.tls_key.empty())
        missing.push_back("a TLS certificate ([tls] cert and key): members' mail clients must be able to check it");
    if (c.users.empty() && !have_members)
        missing.push_back("SMTP AUTH accounts (rapportctl member add NAME, or [auth] users): otherwise anyone on the "
                          "network could relay mail through it");
    if (missing.empty()) return "";
    std::string why = "refusing to listen on " + c.listen.str() + " (not loopback) without ";
    for (std::size_t i = 0; i < missing.size(); ++i) why += (i ? " and without " : "") + missing[i];
    return why;
}

std::string store_connection(const StoreSettings& s) {
    if (s.password_file.empty()) return s.url;
    std::string pw;
    try {
        pw = std::string(common::trim(common::read_secret(s.password_file)));
        if (auto nl = pw.find('\n'); nl != std::string::npos) pw = std::string(common::trim(pw.substr(0, nl)));
    } catch (const std::runtime_error& e) {
        throw ConfigError(std::string("store.password_file: ") + e.what());
    }
    std::string enc; // percent-encoded: a URI's query value
    for (unsigned char ch : pw) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            enc += static_cast<char>(ch);
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", ch);
            enc += b;
        }
    }
    return s.url + (s.url.find('?') == std::string::npos ? "?" : "&") + "password=" + enc;
}

std::string HostPort::str() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

HostPort parse_host_port(const std::string& s, const std::string& what) {
    HostPort hp;
    std::string port;
    if (!s.empty() && s[0] == '[') {
        auto e = s.find(']');
        if (e == std::string::npos || e + 1 >= s.size() || s[e + 1] != ':')
            throw ConfigError(what + ": expected [ADDR]:PORT, got '" + s + "'");
        hp.host = s.substr(1, e - 1);
        port = s.substr(e + 2);
    } else {
        auto c = s.rfind(':');
        if (c == std::string::npos || c == 0) throw ConfigError(what + ": expected ADDR:PORT, got '" + s + "'");
        hp.host = s.substr(0, c);
        port = s.substr(c + 1);
    }
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || p < 0 || p > 65535) throw ConfigError(what + ": bad port in '" + s + "'");
    hp.port = static_cast<std::uint16_t>(p);
    return hp;
}

bool is_loopback_host(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Upstream parse_upstream(const std::string& url) {
    Upstream u;
    u.url = url;
    std::string rest;
    if (url.rfind("smtp://", 0) == 0) {
        rest = url.substr(7);
    } else if (url.rfind("smtps://", 0) == 0) {
        rest = url.substr(8);
        u.implicit_tls = true;
    } else {
        throw ConfigError("upstream: expected smtp://host:port or smtps://host:port, got '" + url + "'");
    }
    if (rest.find('@') != std::string::npos)
        throw ConfigError("upstream: credentials do not belong in the URL; use the config or secret file");
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find('/') != std::string::npos) throw ConfigError("upstream: unexpected path in '" + url + "'");
    bool bracketed = !rest.empty() && rest[0] == '[';
    bool has_port = bracketed ? rest.find("]:") != std::string::npos : rest.find(':') != std::string::npos;
    HostPort hp = has_port ? parse_host_port(rest, "upstream")
                           : HostPort{bracketed ? rest.substr(1, rest.size() - 2) : rest,
                                      static_cast<std::uint16_t>(u.implicit_tls ? 465 : 587)};
    if (hp.host.empty()) throw ConfigError("upstream: no host in '" + url + "'");
    u.host = hp.host;
    u.port = hp.port;
    u.require_tls = !is_loopback_host(u.host);
    return u;
}

void parse_imap_url(ImapSettings& s) {
    std::string rest;
    if (s.url.rfind("imaps://", 0) == 0) {
        rest = s.url.substr(8);
        s.implicit_tls = true;
    } else if (s.url.rfind("imap://", 0) == 0) {
        rest = s.url.substr(7);
        s.implicit_tls = false;
    } else {
        throw ConfigError("imap.url: expected imaps://HOST[:PORT] or imap://HOST[:PORT] (STARTTLS), got '" + s.url + "'");
    }
    if (rest.find('@') != std::string::npos)
        throw ConfigError("imap.url: the account goes in imap.user and the password in imap.secret_file, not in the URL");
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find('/') != std::string::npos || rest.find('?') != std::string::npos)
        throw ConfigError("imap.url: no path or options, the folders go in imap.folders ('" + s.url + "')");
    bool bracketed = !rest.empty() && rest[0] == '[';
    bool has_port = bracketed ? rest.find("]:") != std::string::npos : rest.find(':') != std::string::npos;
    HostPort hp = has_port ? parse_host_port(rest, "imap.url")
                           : HostPort{bracketed ? rest.substr(1, rest.size() - 2) : rest,
                                      static_cast<std::uint16_t>(s.implicit_tls ? 993 : 143)};
    if (hp.host.empty()) throw ConfigError("imap.url: no host in '" + s.url + "'");
    s.host = hp.host;
    s.port = hp.port;
    // A password crosses the network only inside TLS; plain IMAP is for this machine.
    s.require_tls = !is_loopback_host(s.host);
}

std::string default_state_dir() {
    if (const char* s = std::getenv("STATE_DIRECTORY"); s && *s) {
        std::string d = s;
        auto c = d.find(':'); // systemd lists several, colon-separated
        return c == std::string::npos ? d : d.substr(0, c);
    }
    if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/rapport";
    if (::geteuid() == 0) return "/var/lib/rapport";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/state/rapport";
    return "/var/lib/rapport";
}

std::string usage() {
    return "usage: rapportd [--config FILE] [--listen ADDR:PORT] [--http ADDR:PORT]\n"
           "                [--upstream smtp://HOST:PORT|smtps://HOST:PORT] [--state DIR] [--policy FILE]\n"
           "Credentials for the upstream and SMTP AUTH users come from the config file\n"
           "(or the secret/users files it names), never from the command line.\n";
}

Config load_config(int argc, const char* const* argv) {
    Config c;
    std::string listen, http, upstream, state, policy, config_file;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") throw ConfigError(usage());
        std::string val;
        auto eq = a.find('=');
        std::string name = a.substr(0, eq);
        if (eq != std::string::npos) {
            val = a.substr(eq + 1);
        } else if (name == "--config" || name == "--listen" || name == "--http" || name == "--upstream" ||
                   name == "--state" || name == "--policy") {
            if (i + 1 >= argc) throw ConfigError(name + " needs a value\n" + usage());
            val = argv[++i];
        } else {
            throw ConfigError("unknown argument '" + a + "'\n" + usage());
        }
        if (name == "--config") config_file = val;
        else if (name == "--listen") listen = val;
        else if (name == "--http") http = val;
        else if (name == "--upstream") upstream = val;
        else if (name == "--state") state = val;
        else if (name == "--policy") policy = val;
        else throw ConfigError("unknown argument '" + a + "'\n" + usage());
    }
    std::string file_upstream;
    if (!config_file.empty()) {
        c.config_file = config_file;
        apply_file(c, config_file, file_upstream);
    }
    if (!listen.empty()) c.listen = parse_host_port(listen, "--listen");
    if (!http.empty()) c.http = parse_host_port(http, "--http");
    if (!state.empty()) c.state_dir = state;
    if (!policy.empty()) c.policy_file = policy;
    std::string url = upstream.empty() ? file_upstream : upstream;
    if (!url.empty()) {
        Upstream u = parse_upstream(url);
        u.username = c.upstream.username;
        u.password = c.upstream.password;
        u.ca_file = c.upstream.ca_file;
        u.verify = c.upstream.verify;
        u.auth = c.upstream.auth;
        u.oauth_token_command = c.upstream.oauth_token_command;
        c.upstream = u;
    }
    if (c.state_dir.empty()) c.state_dir = default_state_dir();
    std::string machine = "localhost";
    {
        char buf[256] = {};
        if (::gethostname(buf, sizeof buf - 1) == 0 && buf[0]) machine = buf;
    }
    if (c.hostname.empty()) c.hostname = machine;
    if (c.store.node.empty()) c.store.node = machine;
    return c;
}

} // namespace rapport::daemon
