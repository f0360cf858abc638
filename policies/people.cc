#include "policies/people.h"

#include "common/strings.h"

#include "policies/text.h"
#include "policies/lexicon.h"

#include <libpsl.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <cctype>

namespace rapport::policies {
namespace {

using common::lower;

bool all_letters(std::string_view w) {
    return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
    });
}

std::string concat(const std::vector<std::string>& ws) {
    std::string out;
    for (auto& w : ws) out += w;
    return out;
}

void add_unique(std::vector<std::string>& v, std::string s) {
    if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// "anna.kowalska" / "anna_kowalska" -> {"anna", "kowalska"}; role words,
// digits, initials and other shapes give nothing (SPEC.md: "j.koehler@"
// and addresses with digits never decide).
std::vector<std::string> local_part_name(std::string_view local) {
    const Lexicon& lx = lexicon();
    std::string l = fold(local);
    auto sep = l.find_first_of("._");
    if (sep == std::string::npos || l.find_first_of("._", sep + 1) != std::string::npos) return {};
    std::string first = l.substr(0, sep), last = l.substr(sep + 1);
    if (first.size() < 2 || last.size() < 2 || !all_letters(first) || !all_letters(last)) return {};
    if (lx.role_localparts.count(first) || lx.role_localparts.count(last)) return {};
    return {first, last};
}

bool is_role_local(std::string_view local) {
    const Lexicon& lx = lexicon();
    std::string l = fold(local);
    std::string part;
    for (std::size_t i = 0; i <= l.size(); ++i) {
        if (i == l.size() || l[i] == '.' || l[i] == '_' || l[i] == '-' || l[i] == '+') {
            if (!part.empty() && !lx.role_localparts.count(part)) return false;
            part.clear();
        } else if (!std::isdigit(static_cast<unsigned char>(l[i]))) {
            part += l[i];
        }
    }
    return true;
}

} // namespace

std::string registrable_domain(std::string_view domain) {
    std::string d = lower(domain);
    while (!d.empty() && d.back() == '.') d.pop_back();
    // libpsl's lookup costs some 9k instructions and a check asks about the
    // same few domains several times (people, freemail, allow-lists): a
    // small per-thread memo, emptied when it grows.
    thread_local std::unordered_map<std::string, std::string> memo;
    if (auto it = memo.find(d); it != memo.end()) return it->second;
    const char* reg = psl_registrable_domain(psl_builtin(), d.c_str());
    std::string out = reg ? std::string(reg) : d;
    if (memo.size() >= 4096) memo.clear();
    memo.emplace(std::move(d), out);
    return out;
}

bool is_freemail(std::string_view domain) {
    const Lexicon& lx = lexicon();
    std::string d = lower(domain);
    if (lx.freemail_domains.count(d)) return true;
    std::string reg = registrable_domain(d);
    if (lx.freemail_domains.count(reg)) return true;
    // "yahoo.*": the label before the public suffix is the brand.
    auto dot = reg.find('.');
    std::string brand = reg.substr(0, dot);
    return std::find(lx.freemail_brands.begin(), lx.freemail_brands.end(), brand) !=
           lx.freemail_brands.end();
}

std::vector<std::string> domain_org_keys(std::string_view domain) {
    std::vector<std::string> keys;
    if (domain.empty() || is_freemail(domain)) return keys;
    std::string reg = registrable_domain(domain);
    std::string label = reg.substr(0, reg.find('.'));
    const Lexicon& lx = lexicon();
    std::string joined;
    std::vector<std::string> parts;
    std::string cur;
    for (char c : label + "-") {
        if (c == '-') {
            if (!cur.empty()) parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    add_unique(keys, concat(parts));
    // "aireside-logistics": its distinctive first part names it too.
    if (parts.size() > 1 && parts[0].size() >= 4 && !lx.org_words.count(parts[0]))
        add_unique(keys, parts[0]);
    return keys;
}

Person describe_person(const mime::Address& a) {
    const Lexicon& lx = lexicon();
    Person p;
    p.address = lower(a.address);
    auto at = p.address.rfind('@');
    std::string local = at == std::string::npos ? p.address : p.address.substr(0, at);
    p.domain = at == std::string::npos ? std::string{} : p.address.substr(at + 1);
    p.freemail = !p.domain.empty() && is_freemail(p.domain);
    p.party = p.freemail || p.domain.empty() ? p.address : registrable_domain(p.domain);

    std::vector<std::string> from_local = local_part_name(local);
    bool role = is_role_local(local);

    // Display name: a person, an organisation, or nothing useful.
    std::string display = a.name;
    if (display.find('@') != std::string::npos) display.clear(); // "jobs@x.com" <jobs@x.com>
    // "Kowalska, Anna" -> "Anna Kowalska"
    if (auto comma = display.find(','); comma != std::string::npos &&
        display.find(',', comma + 1) == std::string::npos) {
        display = display.substr(comma + 1) + " " + display.substr(0, comma);
    }
    std::vector<std::string> dw = words(display);
    bool org_display = false;
    if (!dw.empty()) {
        bool confirmed_by_local = false;
        for (auto& w : dw)
            if (std::find(from_local.begin(), from_local.end(), w) != from_local.end())
                confirmed_by_local = true;
        bool has_org_word = std::any_of(dw.begin(), dw.end(),
                                        [&](const std::string& w) { return lx.org_words.count(w) > 0; });
        auto dom_keys = domain_org_keys(p.domain);
        std::string joined = concat(dw);
        bool is_domain_name = std::any_of(dom_keys.begin(), dom_keys.end(), [&](const std::string& k) {
            return k.size() >= 3 && (joined == k || joined.find(k) != std::string::npos);
        });
        org_display = !confirmed_by_local && (has_org_word || is_domain_name || dw.size() > 4 ||
                                              !std::all_of(dw.begin(), dw.end(), all_letters));
    }

    if (org_display) {
        std::vector<std::string> core;
        for (auto& w : dw)
            if (!lx.org_words.count(w)) core.push_back(w);
        add_unique(p.org_keys, concat(dw));
        add_unique(p.org_keys, concat(core));
    } else if (!dw.empty()) {
        p.name_words = dw;
    }
    for (auto& w : from_local)
        if (std::find(p.name_words.begin(), p.name_words.end(), w) == p.name_words.end())
            p.name_words.push_back(w);
    if (p.name_words.empty() && role) p.name_words.clear();
    for (auto& k : domain_org_keys(p.domain)) add_unique(p.org_keys, k);
    // Keys too short to be matched without false hits are dropped ("ee").
    std::erase_if(p.org_keys, [](const std::string& k) { return k.size() < 2; });
    return p;
}

std::string person_name(const mime::Address& a) {
    std::string display = a.name;
    if (display.find('@') != std::string::npos) return {};
    if (auto comma = display.find(','); comma != std::string::npos && display.find(',', comma + 1) == std::string::npos)
        display = display.substr(comma + 1) + " " + display.substr(0, comma);
    // One space between words, none around them.
    std::string out;
    for (char c : display) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    std::vector<std::string> dw = words(out);
    if (dw.empty()) return {};
    // describe_person() takes a display name for a person's only when no
    // word of it marks an organisation: then all its words are name words.
    Person p = describe_person(a);
    for (const auto& w : dw)
        if (std::find(p.name_words.begin(), p.name_words.end(), w) == p.name_words.end()) return {};
    return out;
}

} // namespace rapport::policies
