// rapportctl - Rapport's command line.
//
//   rapportctl check [--state DIR] [--policy FILE] [--lang LANG] [--json] FILE.eml...
//   rapportctl inspect [--json] FILE.eml
//   rapportctl held|token|open ...     held mail, through the daemon's API (held.cc)
//   rapportctl member ...              a job club's members (member.cc)
//   rapportctl outcomes [--json]       the reply ledger, through the daemon's API (outcomes.cc)
//   rapportctl hash-password           an argon2id hash for [auth] users (member.cc)
//
// `check` processes the files in the order given, as if one person sent
// them one after another (SPEC.md "The offline checker"): the sending
// history lives in DIR/history.db with --state, else in memory for this
// call. One result per file; an unreadable or non-mail file gets an error
// line and makes the exit status 1 at the end, the others are still checked.
// The findings are written in the language of each mail's own words, or in
// --lang's ("auto", en, fr, de, es, pl; policies/language.h); every JSON flag
// says which in "lang".
// Exit 2: bad usage or a bad policy file (nothing checked).

#include "daemon/ctl/terminal.h"
#include "mime/message.h"
#include "mime/model_json.h"
#include "policies/checker.h"
#include "policies/features.h"
#include "policies/history.h"
#include "policies/language.h"
#include "policies/policy.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

// daemon/ctl/held.cc.
int cmd_held(const std::vector<std::string>& args);
int cmd_token(const std::vector<std::string>& args);
int cmd_open(const std::vector<std::string>& args);
// daemon/ctl/member.cc.
int cmd_member(const std::vector<std::string>& args);
// daemon/ctl/outcomes.cc.
int cmd_outcomes(const std::vector<std::string>& args);
int cmd_hash_password(const std::vector<std::string>& args);

namespace {

using rapport::policies::Action;

constexpr const char* kUsage =
    "usage: rapportctl check [--state DIR] [--policy FILE] [--lang LANG] [--json] FILE.eml...\n"
    "       rapportctl inspect [--json] FILE.eml\n"
    "       rapportctl held list [--json] | show ID | release ID | drop ID  [--state DIR | --config FILE]\n"
    "       rapportctl token [--state DIR]\n"
    "       rapportctl open [--state DIR]\n"
    "       rapportctl member add|passwd|set|remove|list|token ... [--state DIR]\n"
    "       rapportctl outcomes [--json] [--state DIR] [--config FILE]\n"
    "       rapportctl hash-password [--password-stdin]\n";

// Reads a whole file; nullopt with `error` set when it cannot.
std::optional<std::string> read_file(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = std::string("cannot read: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        error = "read error";
        return std::nullopt;
    }
    return ss.str();
}

// A file is mail if its first line is a header field ("Name: value") and
// the parser found a header block. A PDF, a Markdown file or an empty file
// is refused here, not judged.
bool looks_like_mail(const std::string& raw, const rapport::mime::Message& m) {
    if (m.headers.empty()) return false;
    std::size_t i = raw.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0; // a UTF-8 byte order mark
    if (raw.compare(i, 5, "From ") == 0) i = raw.find('\n', i) + 1; // mbox "From " line
    std::size_t colon = raw.find(':', i);
    std::size_t eol = raw.find('\n', i);
    if (colon == std::string::npos || colon > eol || colon == i) return false;
    for (std::size_t k = i; k < colon; ++k) {
        unsigned char c = static_cast<unsigned char>(raw[k]);
        if (c <= 32 || c >= 127) return false; // field names are printable ASCII without spaces
    }
    return true;
}

bool make_dirs(const std::string& dir) {
    std::string path;
    std::stringstream ss(dir);
    std::string part;
    if (!dir.empty() && dir[0] == '/') path = "/";
    while (std::getline(ss, part, '/')) {
        if (part.empty()) continue;
        path += part + "/";
        if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return false;
    }
    return true;
}

const char* colour_for(Action a) {
    switch (a) {
    case Action::reject: return "\033[1;31m";
    case Action::hold: return "\033[1;33m";
    case Action::warn: return "\033[33m";
    default: return "\033[32m";
    }
}

int cmd_check(const std::vector<std::string>& args) {
    std::string state, policy_path, lang = "auto";
    bool json = false;
    std::vector<std::string> files;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") {
            json = true;
        } else if ((a == "--state" || a == "--policy" || a == "--lang") && i + 1 < args.size()) {
            (a == "--state" ? state : a == "--policy" ? policy_path : lang) = args[++i];
        } else if (a.rfind("--state=", 0) == 0) {
            state = a.substr(8);
        } else if (a.rfind("--policy=", 0) == 0) {
            policy_path = a.substr(9);
        } else if (a.rfind("--lang=", 0) == 0) {
            lang = a.substr(7);
        } else if (a.size() > 1 && a[0] == '-' && a != "-") {
            std::cerr << "rapportctl check: unknown option " << a << "\n" << kUsage;
            return 2;
        } else {
            files.push_back(a);
        }
    }
    if (files.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    auto setting = rapport::policies::parse_language_setting(lang);
    if (!setting) {
        std::cerr << "rapportctl check: --lang " << lang << ": expected "
                  << rapport::policies::language_setting_choices() << "\n";
        return 2;
    }

    rapport::policies::Policy policy;
    try {
        policy = policy_path.empty() ? rapport::policies::default_policy()
                                     : rapport::policies::load_policy_file(policy_path);
    } catch (const rapport::policies::PolicyError& e) {
        std::cerr << "rapportctl: bad policy: " << e.what() << "\n";
        return 2;
    }

    std::string db = ":memory:";
    if (!state.empty()) {
        if (!make_dirs(state)) {
            std::cerr << "rapportctl: cannot create state directory " << state << ": " << std::strerror(errno)
                      << "\n";
            return 2;
        }
        db = state + "/history.db";
    }
    std::optional<rapport::policies::SqliteHistory> history;
    try {
        history.emplace(db);
    } catch (const std::exception& e) {
        std::cerr << "rapportctl: cannot open history " << db << ": " << e.what() << "\n";
        return 2;
    }
    rapport::policies::Checker checker(policy, *history);

    const bool tty = isatty(STDOUT_FILENO) && !json;
    int status = 0;
    for (const auto& file : files) {
        std::string error;
        auto raw = read_file(file, error);
        std::optional<rapport::mime::Message> msg;
        if (raw) {
            msg = rapport::mime::parse(*raw);
            if (!looks_like_mail(*raw, *msg)) error = "not a mail message (no header fields)";
        }
        if (!error.empty()) {
            status = 1;
            if (json)
                std::cout << nlohmann::json{{"file", file}, {"error", error}}.dump() << "\n";
            else
                std::cout << file << ": " << rapport::ctl::tr("check", "error:") << " " << error << "\n";
            continue;
        }
        rapport::policies::CheckContext ctx;
        ctx.language = *setting;
        rapport::policies::Verdict v = checker.check(*msg, ctx);
        std::string action(rapport::policies::verdict_name(v.action));
        if (json) {
            std::cout << nlohmann::json{{"file", file}, {"action", action}, {"flags", rapport::policies::to_json(v.findings)}}.dump()
                      << "\n";
        } else {
            const char* on = tty ? colour_for(v.action) : "";
            const char* off = tty ? "\033[0m" : "";
            std::cout << file << ": " << on << action << off;
            if (v.findings.empty()) std::cout << " " << rapport::ctl::tr("check", "(nothing to flag)");
            std::cout << "\n";
            for (auto& f : v.findings)
                std::cout << "  " << (tty ? "\033[1m" : "") << f.rule << off << " ["
                          << rapport::policies::to_string(f.action) << "] " << f.message << "\n";
        }
    }
    std::cout.flush();
    return status;
}

int cmd_inspect(const std::vector<std::string>& args) {
    bool json = false;
    std::string file;
    for (const auto& a : args) {
        if (a == "--json") json = true;
        else if (file.empty()) file = a;
        else {
            std::cerr << kUsage;
            return 2;
        }
    }
    if (file.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    std::string error;
    auto raw = read_file(file, error);
    if (!raw) {
        std::cerr << "rapportctl: " << file << ": " << error << "\n";
        return 1;
    }
    auto msg = rapport::mime::parse(*raw);
    // What the checks make of it: the parts of the text and the kind of mail.
    auto f = rapport::policies::extract_features(msg, {});
    std::string kind = f.reply ? "reply" : f.job_seeking ? "job seeking" : "ordinary new mail";
    if (json) {
        auto j = rapport::mime::to_json(msg);
        j["reading"] = {{"kind", kind},
                        {"forward", f.forward},
                        {"job_evidence", f.job_evidence},
                        {"greeting", f.parts.greeting},
                        {"own_words", f.own_text},
                        {"signoff", f.parts.signoff},
                        {"signature", f.parts.signature}};
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << rapport::mime::describe(msg);
        std::cout << "\nRead as:  " << kind << (f.forward ? " (a forward)" : "");
        if (!f.job_evidence.empty()) std::cout << ", from " << f.job_evidence;
        std::cout << "\nGreeting: " << (f.parts.greeting.empty() ? "(none)" : f.parts.greeting) << "\n"
                  << "Sign-off: " << (f.parts.signoff.empty() ? "(none)" : f.parts.signoff) << "\n"
                  << "Own words (" << f.own.size() << " words):\n";
        std::string_view t = f.own_text;
        while (!t.empty()) {
            auto nl = t.find('\n');
            std::cout << "| " << t.substr(0, nl) << "\n";
            t = nl == std::string_view::npos ? std::string_view{} : t.substr(nl + 1);
        }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << kUsage;
        return args.empty() ? 2 : 0;
    }
    std::string cmd = args[0];
    args.erase(args.begin());
    if (cmd == "check") return cmd_check(args);
    if (cmd == "inspect") return cmd_inspect(args);
    if (cmd == "held") return cmd_held(args);
    if (cmd == "token") return cmd_token(args);
    if (cmd == "member") return cmd_member(args);
    if (cmd == "hash-password") return cmd_hash_password(args);
    if (cmd == "open") return cmd_open(args);
    if (cmd == "outcomes") return cmd_outcomes(args);
    std::cerr << "rapportctl: unknown command " << cmd << "\n" << kUsage;
    return 2;
}
