// policy.cc - loads and checks the TOML policy (see policy.h).
//
// Validation is strict because the file is written by hand: a typo in a
// rule id or a key would otherwise silently leave a rule at its default.
// The whole file is checked into a fresh copy of the defaults, which is
// returned only when every entry was accepted - nothing is half-applied.

#include "policies/policy.h"

#include "common/strings.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace rapport::policies {
namespace {

// A threshold a rule accepts, with its sane range.
struct Threshold {
    const char* key;
    int RuleSettings::*field;
    int min, max;
};

const std::vector<Threshold>& thresholds_of(const std::string& rule) {
    static const std::vector<Threshold> none;
    static const std::vector<Threshold> cv = {{"min_words", &RuleSettings::min_words, 1, 1000}};
    static const std::vector<Threshold> reuse = {{"min_recipients", &RuleSettings::min_recipients, 2, 1000},
                                                 {"window_days", &RuleSettings::window_days, 1, 365}};
    static const std::vector<Threshold> bulk = {{"min_parties", &RuleSettings::min_parties, 2, 1000}};
    if (rule == "cv-attachment-only") return cv;
    if (rule == "template-reuse") return reuse;
    if (rule == "bulk-recipients") return bulk;
    return none;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

using common::lower;

std::string type_name(const toml::node& n) {
    switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number with a fraction";
    case toml::node_type::boolean: return "true/false";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
    }
}

class Loader {
public:
    explicit Loader(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void fail(const toml::source_position& at, const std::string& what) const {
        std::ostringstream s;
        s << origin_ << ':' << at.line << ':' << at.column << ": " << what;
        throw PolicyError(s.str());
    }
    // Keys carry their own position; a key made up by the parser (a dotted
    // table's parent) may not, then its value's position is used.
    [[noreturn]] void fail(const toml::key& k, const toml::node& n, const std::string& what) const {
        fail(k.source().begin.line ? k.source().begin : n.source().begin, what);
    }

    Policy load(const toml::table& root) {
        Policy p = default_policy();
        const toml::key* groups_key = nullptr;
        const toml::node* groups_node = nullptr;
        for (auto&& [key, node] : root) {
            const std::string k(key.str());
            if (k == "version") {
                auto v = node.value<std::int64_t>();
                if (!node.is_integer()) fail(node.source().begin, "version must be an integer, got " + type_name(node));
                if (*v != 1) fail(node.source().begin, "unsupported policy version " + std::to_string(*v) + " (this program reads version 1)");
            } else if (k == "rules") {
                load_rules(key, node, p);
            } else if (k == "allow") {
                load_allow(key, node, p);
            } else if (k == "groups") {
                groups_key = &key; // after [rules]: a group starts from the main rules
                groups_node = &node;
            } else {
                fail(key, node, "unknown " + std::string(node.is_table() ? "table" : "setting") + " \"" + k +
                                     "\" (known: version, rules, allow, groups)");
            }
        }
        if (groups_node) load_groups(*groups_key, *groups_node, p);
        return p;
    }

private:
    const toml::table& table_or_fail(const toml::key& key, const toml::node& node, const std::string& name) const {
        if (!node.is_table()) fail(key, node, name + " must be a table, got " + type_name(node));
        return *node.as_table();
    }

    void load_rules(const toml::key& key, const toml::node& node, Policy& p) {
        load_rules_into(key, node, "rules", p.rules);
    }

    void load_rules_into(const toml::key& key, const toml::node& node, const std::string& where,
                         std::map<std::string, RuleSettings>& rules) {
        for (auto&& [rkey, rnode] : table_or_fail(key, node, where)) {
            const std::string id(rkey.str());
            auto it = rules.find(id);
            if (it == rules.end()) fail(rkey, rnode, "unknown rule \"" + id + "\" (known: " + join(rule_ids()) + ")");
            load_rule(id, table_or_fail(rkey, rnode, where + "." + id), it->second);
        }
    }

    // [groups.NAME.rules.RULE]: NAME as in `rapportctl member add --group NAME`.
    void load_groups(const toml::key& key, const toml::node& node, Policy& p) {
        for (auto&& [gkey, gnode] : table_or_fail(key, node, "groups")) {
            const std::string name(gkey.str());
            bool ok = !name.empty() && name.size() <= 64 &&
                      std::all_of(name.begin(), name.end(),
                                  [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
            if (!ok) fail(gkey, gnode, "group name \"" + name + "\" may use letters, digits, _ and - only");
            auto rules = p.rules;
            for (auto&& [k, v] : table_or_fail(gkey, gnode, "groups." + name)) {
                if (k.str() != "rules")
                    fail(k, v, "unknown setting \"" + std::string(k.str()) + "\" in [groups." + name +
                                   "] (a group has only rules: [groups." + name + ".rules.RULE])");
                load_rules_into(k, v, "groups." + name + ".rules", rules);
            }
            p.groups[name] = std::move(rules);
        }
    }

    void load_rule(const std::string& id, const toml::table& t, RuleSettings& rs) {
        const auto& th = thresholds_of(id);
        for (auto&& [k, v] : t) {
            const std::string name(k.str());
            if (name == "action") {
                if (!v.is_string())
                    fail(v.source().begin, "action of rule \"" + id + "\" must be a string, got " + type_name(v));
                const std::string& s = v.as_string()->get();
                auto a = parse_action(s);
                if (!a) fail(v.source().begin, "unknown action \"" + s + "\" (expected off, info, warn, hold or reject)");
                rs.action = *a;
                continue;
            }
            auto t_it = std::find_if(th.begin(), th.end(), [&](const Threshold& x) { return name == x.key; });
            if (t_it == th.end()) {
                std::vector<std::string> accepted{"action"};
                for (const auto& x : th) accepted.push_back(x.key);
                fail(k, v, "unknown setting \"" + name + "\" for rule \"" + id + "\" (it accepts: " + join(accepted) + ")");
            }
            if (!v.is_integer())
                fail(v.source().begin, name + " of rule \"" + id + "\" must be a whole number, got " + type_name(v));
            std::int64_t n = **v.as_integer();
            if (n < t_it->min || n > t_it->max)
                fail(v.source().begin, name + " of rule \"" + id + "\" must be between " + std::to_string(t_it->min) +
                                           " and " + std::to_string(t_it->max) + ", got " + std::to_string(n));
            rs.*(t_it->field) = static_cast<int>(n);
        }
    }

    void load_allow(const toml::key& key, const toml::node& node, Policy& p) {
        for (auto&& [k, v] : table_or_fail(key, node, "allow")) {
            const std::string name(k.str());
            bool recipients = name == "recipients";
            if (!recipients && name != "domains")
                fail(k, v, "unknown setting \"" + name + "\" in [allow] (it accepts: recipients, domains)");
            if (!v.is_array()) fail(v.source().begin, "allow." + name + " must be a list of strings, got " + type_name(v));
            std::vector<std::string> out;
            for (const toml::node& item : *v.as_array()) {
                if (!item.is_string())
                    fail(item.source().begin, "allow." + name + " must hold strings, got " + type_name(item));
                std::string s = lower(item.as_string()->get());
                bool has_at = s.find('@') != std::string::npos;
                bool has_space = std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
                if (s.empty() || has_space || (recipients && !has_at) || (!recipients && has_at))
                    fail(item.source().begin, "\"" + item.as_string()->get() + "\" is not " +
                                                  (recipients ? "an email address" : "a domain name"));
                if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
            }
            (recipients ? p.allow_recipients : p.allow_domains) = std::move(out);
        }
    }

    std::string origin_;
};

} // namespace

const std::vector<std::string>& rule_ids() {
    static const std::vector<std::string> ids = {
        "cv-attachment-only", "template-reuse",       "bulk-recipients",    "generic-greeting", "greeting-mismatch",
        "no-personalisation", "unfilled-placeholder", "wrong-organisation", "vague-subject"};
    return ids;
}

Policy default_policy() {
    Policy p;
    for (const auto& id : rule_ids()) p.rules[id] = RuleSettings{};
    for (const char* id : {"cv-attachment-only", "template-reuse", "unfilled-placeholder", "wrong-organisation"})
        p.rules[id].action = Action::hold;
    return p;
}

const RuleSettings& Policy::rule(const std::string& id) const {
    auto it = rules.find(id);
    if (it == rules.end()) throw std::out_of_range("policy: unknown rule \"" + id + "\"");
    return it->second;
}

long long Policy::longest_window_seconds() const {
    long long days = 0;
    for (const auto& [id, rs] : rules) days = std::max<long long>(days, rs.window_days);
    for (const auto& [g, rs_of] : groups)
        for (const auto& [id, rs] : rs_of) days = std::max<long long>(days, rs.window_days);
    return days * 86400;
}

Policy Policy::for_group(const std::string& group) const {
    // `groups` stays: the history is pruned by the longest window of any
    // group, so one group's checks never forget what another still needs.
    Policy p = *this;
    if (auto it = groups.find(group); it != groups.end()) p.rules = it->second;
    return p;
}

bool Policy::can_reject() const {
    auto rejects = [](const std::map<std::string, RuleSettings>& rs) {
        return std::any_of(rs.begin(), rs.end(), [](const auto& kv) { return kv.second.action == Action::reject; });
    };
    if (rejects(rules)) return true;
    return std::any_of(groups.begin(), groups.end(), [&](const auto& kv) { return rejects(kv.second); });
}

Policy parse_policy(std::string_view toml_text, const std::string& origin) {
    Loader loader(origin);
    toml::table root;
    try {
        root = toml::parse(toml_text, origin);
    } catch (const toml::parse_error& e) {
        loader.fail(e.source().begin, std::string(e.description()));
    }
    return loader.load(root);
}

Policy load_policy_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw PolicyError(path + ": cannot read: " + std::strerror(errno));
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) throw PolicyError(path + ": cannot read: " + std::strerror(errno));
    return parse_policy(buf.str(), path);
}

} // namespace rapport::policies
