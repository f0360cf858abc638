#include "policies/lexicon.h"

#include "policies/text.h"
#include "policies/text_index.h"

#include <algorithm>

namespace rapport::policies {
namespace {

// Non-comment, non-blank lines of a data file, trimmed.
std::vector<std::string> entries(std::string_view name) {
    std::vector<std::string> out;
    std::string_view text = embedded_data(name);
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto hash = line.find('#');
        if (hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
            line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (!line.empty()) out.emplace_back(line);
    }
    return out;
}

WordSet key_set(std::string_view name) {
    WordSet s;
    for (auto& e : entries(name)) s.insert(phrase_key(e));
    return s;
}

WordClass word_class(std::string_view name) {
    WordClass c;
    for (auto& e : entries(name)) {
        std::string_view v = e;
        bool prefix = !v.empty() && v.back() == '*';
        if (prefix) v.remove_suffix(1);
        std::string key = phrase_key(v);
        if (key.empty()) continue;
        if (prefix) {
            if (std::find(c.prefix_lengths.begin(), c.prefix_lengths.end(), key.size()) == c.prefix_lengths.end())
                c.prefix_lengths.push_back(key.size());
            c.prefixes.insert(std::move(key));
        } else {
            c.exact.insert(std::move(key));
        }
    }
    std::sort(c.prefix_lengths.begin(), c.prefix_lengths.end());
    return c;
}

PhraseSet phrase_set(std::string_view name) {
    PhraseSet s;
    for (auto& e : entries(name)) {
        Phrase p;
        std::string_view v = e;
        if (!v.empty() && v.back() == '*') {
            p.prefix = true;
            v.remove_suffix(1);
        }
        p.words = words(v);
        if (!p.words.empty()) s.add(std::move(p));
    }
    return s;
}

Lexicon build() {
    Lexicon lx;
    for (auto& d : entries("freemail_domains")) {
        std::string f = fold(d);
        if (f.size() > 2 && f.compare(f.size() - 2, 2, ".*") == 0)
            lx.freemail_brands.push_back(f.substr(0, f.size() - 2));
        else
            lx.freemail_domains.insert(f);
    }
    lx.role_localparts = key_set("role_localparts");
    lx.org_words = key_set("org_words");
    lx.cv_words = phrase_set("cv_words");
    lx.cv_mentions = PatternSet::load("cv_mentions");
    lx.other_documents = key_set("other_documents");
    lx.job_seeking = PatternSet::load("job_seeking");
    lx.job_subject = PatternSet::load("job_subject");
    lx.application_words = key_set("application_words");
    lx.generic_greetings = key_set("generic_greetings");
    lx.role_greetings = key_set("role_greetings");
    lx.role_words = key_set("role_words");
    lx.name_titles = key_set("name_titles");
    lx.subject_application_words = word_class("subject_application_words");
    lx.subject_fillers = key_set("subject_fillers");
    lx.subject_greetings = key_set("subject_greetings");
    lx.stock_words = key_set("stock_words");
    lx.placeholder_words = key_set("placeholder_words");
    lx.field_names = key_set("field_names");
    lx.greeting_openers = key_set("greeting_openers");
    lx.greeting_openers_certain = key_set("greeting_openers_certain");
    lx.signoffs = key_set("signoffs");
    lx.footers = key_set("footers");
    lx.disclaimers = key_set("disclaimers");
    for (const WordSet* set : {&lx.footers, &lx.disclaimers})
        for (const auto& p : *set) lx.footer_letters[static_cast<unsigned char>(p[0]) & 0x7f] = true;
    for (auto& e : entries("forward_banners")) lx.forward_banners.push_back(phrase_key(e));
    for (auto& e : entries("original_banners")) lx.original_banners.push_back(phrase_key(e));
    lx.quote_from_fields = key_set("quote_from_fields");
    lx.quote_fields = key_set("quote_fields");
    for (auto& e : entries("wrote_verbs")) lx.wrote_verbs.push_back(phrase_key(e));
    return lx;
}

} // namespace

std::vector<std::string> data_entries(std::string_view name) { return entries(name); }

void PhraseSet::add(Phrase p) {
    if (p.prefix && p.words.size() == 1)
        prefixed_.push_back(std::move(p));
    else
        exact_[p.words.front()].push_back(std::move(p));
}

const Phrase* PhraseSet::find_in(const std::vector<std::string>& w) const { return find(w); }
const Phrase* PhraseSet::find_in(const WordList& w) const { return find(w); }

template <class Words> const Phrase* PhraseSet::find(const Words& w) const {
    for (std::size_t i = 0; i < w.size(); ++i) {
        for (auto& p : prefixed_)
            if (std::string_view(w[i]).compare(0, p.words[0].size(), p.words[0]) == 0) return &p;
        auto it = exact_.find(std::string_view(w[i]));
        if (it == exact_.end()) continue;
        for (auto& p : it->second) {
            if (i + p.words.size() > w.size()) continue;
            bool ok = true;
            for (std::size_t k = 1; k < p.words.size() && ok; ++k) {
                const std::string& want = p.words[k];
                std::string_view got = w[i + k];
                bool last = k + 1 == p.words.size();
                ok = (last && p.prefix) ? got.compare(0, want.size(), want) == 0 : got == want;
            }
            if (ok) return &p;
        }
    }
    return nullptr;
}


bool WordClass::contains(std::string_view w) const {
    if (exact.find(w) != exact.end()) return true;
    for (std::size_t len : prefix_lengths) {
        if (len > w.size()) break;
        if (prefixes.find(w.substr(0, len)) != prefixes.end()) return true;
    }
    return false;
}

// Phrase patterns ------------------------------------------------------------

bool PatternSet::Token::matches(std::string_view w) const {
    for (auto& e : exact)
        if (w == e) return true;
    for (auto& p : prefixes)
        if (w.compare(0, p.size(), p) == 0) return true;
    return false;
}

PatternSet PatternSet::load(std::string_view name) {
    PatternSet set;
    std::unordered_map<std::string, std::vector<std::string>> classes;
    // Adds one alternative ("bewerb*", "for") to a token, folded.
    auto add_alternative = [](Token& t, std::string_view a) {
        bool prefix = !a.empty() && a.back() == '*';
        if (prefix) a.remove_suffix(1);
        std::string key = phrase_key(a);
        if (key.empty()) return;
        (prefix ? t.prefixes : t.exact).push_back(std::move(key));
    };
    for (auto& line : entries(name)) {
        Pattern p;
        p.text = line;
        std::string_view rest = line;
        if (!rest.empty() && rest.front() == '?') {
            auto sp = rest.find(' ');
            p.weak = std::string(rest.substr(1, sp - 1));
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
            if (p.weak.empty()) p.weak = "weak";
        }
        while (!rest.empty()) {
            auto sp = rest.find(' ');
            std::string_view tok = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
            if (tok.empty()) continue;
            Token t;
            bool veto = tok.front() == '~';
            if (veto) tok.remove_prefix(1);
            if (tok.size() == 4 && tok.substr(0, 3) == "..." && tok[3] >= '1' && tok[3] <= '9') {
                t.kind = Token::Kind::gap;
                t.gap = tok[3] - '0';
            } else {
                if (tok.front() == '!') {
                    t.kind = Token::Kind::not_next;
                    tok.remove_prefix(1);
                }
                while (!tok.empty()) {
                    auto bar = tok.find('|');
                    std::string_view alt = tok.substr(0, bar);
                    tok = bar == std::string_view::npos ? std::string_view{} : tok.substr(bar + 1);
                    if (!alt.empty() && alt.front() == '@') {
                        std::string cls(alt.substr(1));
                        auto it = classes.find(cls);
                        if (it == classes.end()) it = classes.emplace(cls, entries(cls)).first;
                        for (auto& e : it->second) add_alternative(t, e);
                    } else {
                        add_alternative(t, alt);
                    }
                }
            }
            if (veto)
                p.veto = std::move(t);
            else
                p.tokens.push_back(std::move(t));
        }
        if (p.tokens.empty() || p.tokens.front().kind != Token::Kind::words) continue;
        auto idx = static_cast<std::uint32_t>(set.patterns_.size());
        const Token& first = p.tokens.front();
        for (auto& e : first.exact) set.by_first_[fnv1a(e)].push_back(idx);
        if (!first.prefixes.empty()) set.prefixed_first_.push_back(idx);
        for (auto& pre : first.prefixes) set.prefixed_letter_[static_cast<unsigned char>(pre[0])] = true;
        set.patterns_.push_back(std::move(p));
    }
    return set;
}

// Does pattern `p` from token `t` match the words from `i`, ending by `end`?
// Gaps make this a small backtracking search: at most nine words a gap.
template <class Words>
bool PatternSet::match(const Pattern& p, std::size_t t, const Words& w, std::size_t i, std::size_t end) const {
    if (t == p.tokens.size()) return true;
    const Token& k = p.tokens[t];
    switch (k.kind) {
    case Token::Kind::words:
        return i < end && k.matches(std::string_view(w[i])) && match(p, t + 1, w, i + 1, end);
    case Token::Kind::gap:
        for (std::size_t g = 0; g <= static_cast<std::size_t>(k.gap) && i + g <= end; ++g)
            if (match(p, t + 1, w, i + g, end)) return true;
        return false;
    case Token::Kind::not_next:
        if (i < end && k.matches(std::string_view(w[i]))) return false;
        return match(p, t + 1, w, i, end);
    }
    return false;
}

template <class Words, class HashOf, class Found>
void PatternSet::each_match(const Words& w, const std::vector<std::uint32_t>& starts, HashOf hash,
                            Found&& found) const {
    std::size_t next_start = 0; // index into `starts`
    std::size_t end = starts.empty() ? w.size() : starts[0];
    // A match counts unless a word of its veto is anywhere in the text
    // (looked for only then: matches are rare).
    auto counts = [&](const Pattern& p) {
        if (p.veto.exact.empty() && p.veto.prefixes.empty()) return true;
        for (std::size_t k = 0; k < w.size(); ++k)
            if (p.veto.matches(std::string_view(w[k]))) return false;
        return true;
    };
    for (std::size_t i = 0; i < w.size(); ++i) {
        while (i >= end) {
            ++next_start;
            end = next_start < starts.size() ? starts[next_start] : w.size();
        }
        std::string_view word(w[i]);
        if (word.empty()) continue;
        if (auto it = by_first_.find(hash(i)); it != by_first_.end())
            for (auto idx : it->second)
                if (match(patterns_[idx], 0, w, i, end) && counts(patterns_[idx]) && found(patterns_[idx])) return;
        if (prefixed_letter_[static_cast<unsigned char>(word[0])])
            for (auto idx : prefixed_first_)
                if (match(patterns_[idx], 0, w, i, end) && counts(patterns_[idx]) && found(patterns_[idx])) return;
    }
}

template <class Words, class HashOf>
std::string_view PatternSet::first_strong(const Words& w, const std::vector<std::uint32_t>& starts, HashOf hash) const {
    std::string_view out;
    each_match(w, starts, hash, [&](const Pattern& p) {
        if (!p.weak.empty()) return false;
        out = p.text;
        return true;
    });
    return out;
}

template <class Words, class HashOf>
std::vector<std::string_view> PatternSet::all_weak(const Words& w, const std::vector<std::uint32_t>& starts,
                                                   HashOf hash) const {
    std::vector<std::string_view> out;
    each_match(w, starts, hash, [&](const Pattern& p) {
        if (!p.weak.empty() && std::find(out.begin(), out.end(), std::string_view(p.weak)) == out.end())
            out.push_back(p.weak);
        return false;
    });
    return out;
}

std::string_view PatternSet::find_in(const WordList& w) const {
    return first_strong(w, w.sentence_starts(), [&](std::size_t i) { return fnv1a(w[i]); });
}

std::string_view PatternSet::find_in(const TextIndex& index) const {
    return first_strong(index.words(), index.words().sentence_starts(), [&](std::size_t i) { return index.hash(i); });
}

namespace {
const std::vector<std::uint32_t> kOneSentence;
}

std::string_view PatternSet::find_in(const std::vector<std::string>& w) const {
    return first_strong(w, kOneSentence, [&](std::size_t i) { return fnv1a(w[i]); });
}

std::vector<std::string_view> PatternSet::weak_in(const TextIndex& index) const {
    return all_weak(index.words(), index.words().sentence_starts(), [&](std::size_t i) { return index.hash(i); });
}

std::vector<std::string_view> PatternSet::weak_in(const std::vector<std::string>& w) const {
    return all_weak(w, kOneSentence, [&](std::size_t i) { return fnv1a(w[i]); });
}

const Lexicon& lexicon() {
    static const Lexicon lx = build();
    return lx;
}

} // namespace rapport::policies
