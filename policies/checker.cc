// checker.cc - features -> rules -> policy -> verdict, and the history update.

#include "policies/checker.h"

#include "policies/features.h"
#include "policies/lexicon.h"
#include "policies/rules/rule.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_set>

namespace rapport::policies {
namespace {

// On the policy's allow-lists, or on the one kept with the history.
bool allowed(const Policy& policy, const History& history, const Person& p) {
    auto has = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    if (has(policy.allow_recipients, p.address) || history.allowed("address", p.address)) return true;
    if (p.domain.empty()) return false;
    std::string reg = registrable_domain(p.domain);
    return has(policy.allow_domains, p.domain) || has(policy.allow_domains, reg) ||
           history.allowed("domain", p.domain) || history.allowed("domain", reg);
}

// Own words with everything recipient-specific masked, for fingerprinting:
// names and organisations (this message's and those written to before)
// become a placeholder token, URLs, addresses and digits disappear.
std::vector<std::string> masked_words(const Features& f, const std::vector<std::string>& earlier_orgs) {
    // URLs and addresses: whole whitespace-separated tokens are dropped
    // (tokenising again only when the text has any).
    const std::string& text = f.own_text;
    std::vector<std::string> relexed;
    bool links = text.find("://") != std::string::npos || text.find("www.") != std::string::npos ||
                 text.find('@') != std::string::npos;
    if (links) {
        std::string cleaned;
        std::size_t i = 0;
        while (i < text.size()) {
            std::size_t j = i;
            while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
            std::string_view tok(text.data() + i, j - i);
            bool link = tok.find("://") != std::string_view::npos || tok.rfind("www.", 0) == 0 ||
                        tok.find('@') != std::string_view::npos;
            if (!link) cleaned.append(tok);
            cleaned += j < text.size() ? text[j] : ' ';
            i = j + 1;
        }
        relexed = mime::words(cleaned);
    }
    const std::vector<std::string>& ws = links ? relexed : f.own.words();

    // Organisation keys by their first word's possible lengths: at each
    // position only keys starting with that word are tried.
    std::unordered_set<std::string> orgs(earlier_orgs.begin(), earlier_orgs.end());
    std::unordered_set<std::string> names;
    for (auto& r : f.recipients) {
        for (auto& k : r.org_keys) orgs.insert(k);
        for (auto& n : r.name_words) names.insert(n);
    }
    std::size_t longest = 0;
    for (auto& k : orgs) longest = std::max(longest, k.size());

    std::vector<std::string> out;
    out.reserve(ws.size());
    std::string joined;
    for (std::size_t k = 0; k < ws.size();) {
        const std::string& w = ws[k];
        if (std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            ++k;
            continue;
        }
        // The longest organisation key spelt by the words from here.
        std::size_t span = 0;
        joined.clear();
        for (std::size_t n = 0; k + n < ws.size() && joined.size() + ws[k + n].size() <= longest; ++n) {
            joined += ws[k + n];
            if (orgs.count(joined)) span = n + 1;
        }
        if (span > 0) {
            out.emplace_back("\x01org");
            k += span;
            continue;
        }
        out.push_back(names.count(w) ? std::string("\x01name") : w);
        ++k;
    }
    return out;
}

} // namespace

Checker::Checker(Policy policy, History& history) : policy_(std::move(policy)), history_(history) {}

Verdict Checker::check(const mime::Message& msg, const CheckContext& ctx) {
    FeatureInputs inputs{ctx.account, ctx.envelope_recipients, ctx.now};
    Features f = extract_features(msg, inputs);

    Verdict verdict;
    // Allow-lists: a message only to allowed people is not judged.
    bool all_allowed = !f.recipients.empty() &&
                       std::all_of(f.recipients.begin(), f.recipients.end(),
                                   [&](const Person& p) { return allowed(policy_, history_, p); });

    Memory memory;
    memory.history = &history_;
    const std::int64_t horizon = f.time - policy_.longest_window_seconds();
    memory.earlier_orgs = history_.organisations(f.account, horizon);
    if (!f.reply) memory.print = fingerprint(masked_words(f, memory.earlier_orgs));

    if (!all_allowed) {
        for (const Rule& rule : all_rules()) {
            const RuleSettings& settings = policy_.rule(std::string(rule.id));
            if (settings.action == Action::off || !applies(rule.scope, f)) continue;
            RuleInput in{f, settings, memory};
            if (auto message = rule.check(in)) {
                verdict.findings.push_back({std::string(rule.id), *message, settings.action});
                verdict.action = std::max(verdict.action, settings.action);
            }
        }
    }

    if (ctx.record) {
        SentRecord rec;
        rec.sender = f.account;
        rec.time = f.time;
        std::set<std::string> orgs;
        for (auto& r : f.recipients) {
            rec.recipients.push_back(r.address);
            for (auto& k : r.org_keys) orgs.insert(k);
        }
        rec.organisations.assign(orgs.begin(), orgs.end());
        rec.print = memory.print;
        history_.record(rec);
        history_.prune(horizon);
    }
    return verdict;
}

} // namespace rapport::policies
