// member.cc - `rapportctl member`: the adviser manages a job club's members.
//
//   rapportctl member add NAME [--group G] [--adviser] [--lang L] [--password-stdin]
//   rapportctl member passwd NAME [--password-stdin]
//   rapportctl member set NAME [--group G] [--role member|adviser] [--lang L]
//   rapportctl member remove NAME
//   rapportctl member list [--json]
//   rapportctl member token NAME      a new token for the member's add-on
//   rapportctl hash-password [--password-stdin]
//                                     an argon2id hash for [auth] users in the
//                                     config file (nothing is stored)
// All take --state DIR (default: the daemon's, see daemon/lib/config.h)
// and --config FILE: rapportd's config, whose [store] url, when set, is
// where the members are (PostgreSQL, one list for every node).
// --lang: the language Rapport coaches the member in and shows them the
// page in, "auto" (the language of each mail, the default) or en, fr, de, es, pl.
//
// The password is asked for twice, without echo, when stdin is a terminal;
// otherwise (--password-stdin, scripts) the first line of stdin is it. It
// is never an argument: arguments are visible to everyone in `ps`.
// Members are written straight into <state>/members.db or the store; a
// running rapportd sees a change at the member's next login. Exit: 0 done, 1 refused (no
// such member, already exists, password too short), 2 bad usage.

#include "daemon/lib/config.h"
#include "daemon/lib/hold.h"
#include "daemon/lib/members.h"
#include "policies/language.h"
#include "store/pg_members.h"
#include "store/schema.h"

#include <nlohmann/json.hpp>

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace rd = rapport::daemon;

constexpr const char* kMemberUsage =
    "usage: rapportctl member add NAME [--group GROUP] [--adviser] [--lang LANG] [--password-stdin] [--state DIR] [--config FILE]\n"
    "       rapportctl member passwd NAME [--password-stdin] [--state DIR] [--config FILE]\n"
    "       rapportctl member set NAME [--group GROUP] [--role member|adviser] [--lang LANG] [--state DIR] [--config FILE]\n"
    "       rapportctl member remove NAME [--state DIR] [--config FILE]\n"
    "       rapportctl member list [--json] [--state DIR] [--config FILE]\n"
    "       rapportctl member token NAME [--state DIR] [--config FILE]\n";

struct Args {
    std::string state, config;
    std::optional<std::string> group, role, lang;
    bool json = false, password_stdin = false, adviser = false, bad = false;
    std::vector<std::string> rest;
};

Args parse(const std::vector<std::string>& args) {
    Args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& s = args[i];
        auto value = [&](std::optional<std::string>& out) {
            if (i + 1 < args.size()) out = args[++i];
            else a.bad = true;
        };
        if (s == "--json") a.json = true;
        else if (s == "--password-stdin") a.password_stdin = true;
        else if (s == "--adviser") a.adviser = true;
        else if (s == "--group") value(a.group);
        else if (s == "--role") value(a.role);
        else if (s == "--lang") value(a.lang);
        else if (s == "--state" && i + 1 < args.size()) a.state = args[++i];
        else if (s.rfind("--state=", 0) == 0) a.state = s.substr(8);
        else if (s == "--config" && i + 1 < args.size()) a.config = args[++i];
        else if (s.rfind("--config=", 0) == 0) a.config = s.substr(9);
        else if (s.rfind("--group=", 0) == 0) a.group = s.substr(8);
        else if (s.rfind("--role=", 0) == 0) a.role = s.substr(7);
        else if (s.rfind("--lang=", 0) == 0) a.lang = s.substr(7);
        else if (s.size() > 1 && s[0] == '-') {
            std::cerr << "rapportctl: unknown option " << s << "\n";
            a.bad = true;
        } else a.rest.push_back(s);
    }
    if (a.state.empty()) a.state = rd::default_state_dir();
    return a;
}

std::string read_hidden(const std::string& prompt) {
    std::cerr << prompt << std::flush;
    termios old{};
    bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::string line;
    std::getline(std::cin, line);
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        std::cerr << "\n";
    }
    return line;
}

// The new password, or nullopt (already explained) when none was given.
std::optional<std::string> new_password(const Args& a, const std::string& name) {
    std::string pw;
    if (a.password_stdin || !::isatty(STDIN_FILENO)) {
        if (!std::getline(std::cin, pw)) {
            std::cerr << "rapportctl: no password on standard input\n";
            return std::nullopt;
        }
        if (!pw.empty() && pw.back() == '\r') pw.pop_back();
        return pw;
    }
    pw = read_hidden("New password for " + name + ": ");
    if (read_hidden("The same password again: ") != pw) {
        std::cerr << "rapportctl: the two passwords differ; nothing changed\n";
        return std::nullopt;
    }
    return pw;
}

// The members where rapportd keeps them: the store its config names
// ([store] url), else <state>/members.db. The store is asked once, not
// waited for: rapportctl reports a store it cannot reach and stops.
struct MembersAt {
    std::unique_ptr<rapport::store::pg::Pool> pool; // before members: outlives its rows
    std::unique_ptr<rd::Members> members;
};

MembersAt open_members(const Args& a) {
    MembersAt m;
    if (!a.config.empty()) {
        const char* argv[] = {"rapportctl", "--config", a.config.c_str()};
        rd::Config cfg = rd::load_config(3, argv);
        if (cfg.store.enabled()) {
            m.pool = std::make_unique<rapport::store::pg::Pool>(rd::store_connection(cfg.store), 1, nullptr);
            rapport::store::pg::Lease c = m.pool->acquire();
            rapport::store::migrate(*c);
            m.members = std::make_unique<rd::Members>(std::make_unique<rapport::store::PgMemberRows>(*m.pool));
            return m;
        }
    }
    m.members = std::make_unique<rd::Members>(a.state);
    return m;
}

// The API token member add-on tokens are made with: with a store, the one
// every node uses (rapportd's first start puts it there).
std::string api_token(MembersAt& at, const Args& a) {
    std::string mine = rd::load_or_create_token(a.state);
    if (!at.pool) return mine;
    rapport::store::pg::Lease c = at.pool->acquire();
    return rapport::store::shared_secret(*c, "api-token", mine);
}

int run(const std::string& verb, const Args& a) {
    MembersAt at = open_members(a);
    rd::Members& members = *at.members;
    const std::string name = a.rest.empty() ? "" : a.rest[0];
    if (verb == "list") {
        auto all = members.list();
        if (a.json) {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& m : all)
                arr.push_back({{"name", m.name}, {"group", m.group}, {"role", rd::to_string(m.role)}, {"created", m.created},
                               {"token", m.token_generation > 0}, {"lang", m.language}});
            std::cout << arr.dump() << "\n";
            return 0;
        }
        if (all.empty()) {
            std::cout << "No members yet. Add one with: rapportctl member add NAME\n";
            return 0;
        }
        std::printf("%-32s %-16s %-8s %-8s %s\n", "NAME", "GROUP", "ROLE", "LANGUAGE", "ADD-ON TOKEN");
        for (const auto& m : all)
            std::printf("%-32s %-16s %-8s %-8s %s\n", m.name.c_str(), m.group.empty() ? "-" : m.group.c_str(),
                        std::string(rd::to_string(m.role)).c_str(), m.language.c_str(),
                        m.token_generation > 0 ? "issued" : "-");
        return 0;
    }
    if (a.lang && !rapport::policies::parse_language_setting(*a.lang))
        throw rd::MemberError("a language is " + rapport::policies::language_setting_choices());
    if (verb == "add") {
        std::string n = rd::Members::normalise_name(name);
        if (members.find(n)) throw rd::MemberError("there is already a member called " + n);
        auto pw = new_password(a, n);
        if (!pw) return 1;
        members.add(n, *pw, a.group.value_or(""), a.adviser ? rd::Role::adviser : rd::Role::member);
        if (a.lang) members.set_language(n, *a.lang);
        std::cout << "Added " << n << (a.adviser ? " (adviser)" : "")
                  << (a.group && !a.group->empty() ? " to group " + *a.group : "") << ".\n";
        return 0;
    }
    if (verb == "passwd") {
        std::string n = rd::Members::normalise_name(name);
        if (!members.find(n)) throw rd::MemberError("there is no member called " + n);
        auto pw = new_password(a, n);
        if (!pw) return 1;
        members.set_password(n, *pw);
        std::cout << "Changed the password of " << n << ".\n";
        return 0;
    }
    if (verb == "set") {
        if (!a.group && !a.role && !a.lang) {
            std::cerr << kMemberUsage;
            return 2;
        }
        if (a.group) members.set_group(name, *a.group);
        if (a.role) {
            auto r = rd::parse_role(*a.role);
            if (!r) throw rd::MemberError("a role is \"member\" or \"adviser\"");
            members.set_role(name, *r);
        }
        if (a.lang) members.set_language(name, *a.lang);
        std::cout << "Updated " << rd::Members::normalise_name(name) << ".\n";
        return 0;
    }
    if (verb == "remove") {
        if (!members.remove(name)) throw rd::MemberError("there is no member called " + rd::Members::normalise_name(name));
        std::cout << "Removed " << rd::Members::normalise_name(name)
                  << ". Their mail already in Rapport stays until it is sent or dropped.\n";
        return 0;
    }
    if (verb == "token") {
        std::string t = members.issue_token(name, api_token(at, a));
        std::cout << t << "\n";
        std::cerr << "Give this token to " << rd::Members::normalise_name(name)
                  << " for the Thunderbird add-on's options. Any earlier token of theirs no longer works.\n";
        return 0;
    }
    std::cerr << kMemberUsage;
    return 2;
}

} // namespace

int cmd_hash_password(const std::vector<std::string>& args) {
    Args a = parse(args);
    if (a.bad || !a.rest.empty()) {
        std::cerr << "usage: rapportctl hash-password [--password-stdin]\n";
        return 2;
    }
    auto pw = new_password(a, "the config file's user");
    if (!pw) return 1;
    // For `[auth.users] NAME = "..."`: rapportd keeps only hashes anyway; a
    // hash in the file keeps the password out of it too.
    std::cout << rd::hash_password(*pw) << "\n";
    return 0;
}

int cmd_member(const std::vector<std::string>& args) {
    if (args.empty()) {
        std::cerr << kMemberUsage;
        return 2;
    }
    const std::string verb = args[0];
    Args a = parse({args.begin() + 1, args.end()});
    std::size_t want = verb == "list" ? 0 : 1;
    if (a.bad || a.rest.size() != want) {
        std::cerr << kMemberUsage;
        return 2;
    }
    try {
        return run(verb, a);
    } catch (const rd::MemberError& e) {
        std::cerr << "rapportctl: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "rapportctl: " << e.what() << "\n";
        return 1;
    }
}
