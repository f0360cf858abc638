// checker.cc - features -> rules -> policy -> verdict, and the history update.

#include "policies/checker.h"

#include "common/strings.h"

#include "policies/features.h"
#include "policies/language.h"
#include "policies/lexicon.h"
#include "policies/minhash.h"
#include "policies/rules/rule.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <set>

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
// become a placeholder token, URLs, addresses and digits disappear. As the
// words' hashes (minhash::word_hash), which is all the fingerprint needs:
// no copy of every word.
std::vector<std::uint64_t> masked_word_hashes(const Features& f, const std::vector<std::string>& earlier_orgs) {
    // URLs and addresses: whole whitespace-separated tokens are dropped
    // (tokenising again only when the text has any). Otherwise the words
    // and their hashes come from the index built for the rules.
    const std::string& text = f.own_text;
    bool links = text.find("://") != std::string::npos || text.find("www.") != std::string::npos ||
                 text.find('@') != std::string::npos;
    TextIndex relexed;
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
        relexed = TextIndex(word_list(cleaned));
    }
    const TextIndex& index = links ? relexed : f.own;
    const WordList& ws = index.words();

    // Organisation keys and recipient names bucketed by their first byte:
    // at each position only the few keys starting like the word there are
    // compared, instead of hashing every word (and every run of words up
    // to the longest key) - this loop runs once per word of the letter.
    using Buckets = std::array<std::vector<std::string_view>, 256>;
    auto add = [](Buckets& b, std::string_view k) { // a duplicate costs a compare, no harm
        if (!k.empty()) b[static_cast<unsigned char>(k[0])].push_back(k);
    };
    Buckets orgs, names;
    for (auto& k : earlier_orgs) add(orgs, k);
    for (auto& r : f.recipients) {
        for (auto& k : r.org_keys) add(orgs, k);
        for (auto& n : r.name_words) add(names, n);
    }
    // And the first two bytes of every key: most words start unlike any
    // key (a sender's earlier firms can share a first letter by the
    // hundred), so they cost one bit test.
    auto pair = [](unsigned char a, unsigned char b) { return static_cast<std::size_t>(a) << 8 | b; };
    std::bitset<65536> starts;
    for (auto& bucket : orgs)
        for (std::string_view key : bucket)
            if (key.size() >= 2) starts.set(pair(key[0], key[1]));
            else starts.set(pair(key[0], 0)); // a one-byte key
    auto may_start_key = [&](std::string_view w) {
        auto a = static_cast<unsigned char>(w[0]);
        if (starts.test(pair(a, 0))) return true;
        if (w.size() >= 2) return starts.test(pair(a, static_cast<unsigned char>(w[1])));
        return !orgs[a].empty(); // a one-letter word: the key's second byte is the next word's
    };

    static const std::uint64_t kOrg = minhash::word_hash("\x01org"), kName = minhash::word_hash("\x01name");
    std::vector<std::uint64_t> out;
    out.reserve(ws.size());
    for (std::size_t k = 0; k < ws.size();) {
        std::string_view w = ws[k];
        if (std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            ++k;
            continue;
        }
        // The longest organisation key spelt by the words from here (keys
        // have no spaces: "harbourlets" is spelt by "harbour", "lets").
        std::size_t span = 0;
        if (may_start_key(w)) {
            for (std::string_view key : orgs[static_cast<unsigned char>(w[0])]) {
                std::size_t len = 0, n = 0;
                while (k + n < ws.size() && len < key.size() && key.compare(len, ws[k + n].size(), ws[k + n]) == 0)
                    len += ws[k + n++].size();
                if (len == key.size()) span = std::max(span, n);
            }
        }
        if (span > 0) {
            out.push_back(kOrg);
            k += span;
            continue;
        }
        const auto& same_start = names[static_cast<unsigned char>(w[0])];
        bool name = !same_start.empty() && std::find(same_start.begin(), same_start.end(), w) != same_start.end();
        out.push_back(name ? kName : minhash::word_hash_of_fnv(index.hash(k)));
        ++k;
    }
    return out;
}

} // namespace

Checker::Checker(Policy policy, History& history) : policy_(std::move(policy)), history_(history) {}

std::string account_of(const mime::Message& msg, const CheckContext& ctx) {
    if (!ctx.login.empty()) return ctx.login;
    if (!msg.from.empty() && !msg.from.front().address.empty()) return common::lower(msg.from.front().address);
    return common::lower(ctx.envelope_from);
}

Judged Checker::judge(const mime::Message& msg, const CheckContext& ctx) {
    FeatureInputs inputs{account_of(msg, ctx), ctx.envelope_recipients, ctx.now};
    Features f = extract_features(msg, inputs);

    Judged judged;
    Verdict& verdict = judged.verdict;
    verdict.reply = f.reply;
    verdict.job_seeking = f.job_seeking;
    for (const auto& r : f.recipients) verdict.recipients.push_back(r.address);
    Memory memory;
    memory.history = &history_;
    judged.horizon = f.time - policy_.longest_window_seconds();
    {
        // Every history read of this check in one read transaction.
        History::Snapshot snapshot(history_);

        // Allow-lists: a message only to allowed people is not judged.
        bool all_allowed = !f.recipients.empty() &&
                           std::all_of(f.recipients.begin(), f.recipients.end(),
                                       [&](const Person& p) { return allowed(policy_, history_, p); });

        memory.earlier_orgs = history_.organisations(f.account, judged.horizon);
        if (!f.reply) memory.print = minhash::fingerprint_of_hashes(masked_word_hashes(f, memory.earlier_orgs));

        if (!all_allowed) {
            std::vector<Advice> advised;
            for (const Rule& rule : all_rules()) {
                const RuleSettings& settings = policy_.rule(std::string(rule.id));
                if (settings.action == Action::off || !applies(rule.scope, f)) continue;
                RuleInput in{f, settings, memory};
                if (auto a = rule.check(in)) {
                    advised.push_back(std::move(*a));
                    verdict.findings.push_back({std::string(rule.id), {}, settings.action});
                    verdict.action = std::max(verdict.action, settings.action);
                }
            }
            // Said in one language, chosen only now that someone is told something.
            if (!advised.empty()) {
                const std::string lang = coach_language(f, ctx.language);
                for (std::size_t i = 0; i < advised.size(); ++i) {
                    verdict.findings[i].message = say(advised[i], lang);
                    verdict.findings[i].lang = lang;
                }
            }
        }
    }

    SentRecord& rec = judged.sent;
    rec.sender = f.account;
    rec.time = f.time;
    std::set<std::string> orgs;
    for (auto& r : f.recipients) {
        rec.recipients.push_back(r.address);
        for (auto& k : r.org_keys) orgs.insert(k);
    }
    rec.organisations.assign(orgs.begin(), orgs.end());
    rec.print = std::move(memory.print);
    return judged;
}

void Checker::record(const Judged& judged) {
    history_.record(judged.sent);
    history_.prune(judged.horizon);
}

Verdict Checker::check(const mime::Message& msg, const CheckContext& ctx) {
    Judged judged = judge(msg, ctx);
    record(judged);
    return std::move(judged.verdict);
}

Checker& GroupCheckers::for_group(const std::string& group) {
    const std::string key = policy_.has_group(group) ? group : std::string();
    auto& c = checkers_[key];
    if (!c) c = std::make_unique<Checker>(policy_.for_group(key), history_);
    return *c;
}

void GroupCheckers::set_policy(Policy p) {
    policy_ = std::move(p);
    checkers_.clear();
}

} // namespace rapport::policies
