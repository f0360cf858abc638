// greeting.cc - pass 3 of split_text(): the greeting, within the first
// few non-blank lines (further down only after short lines: a pasted
// address block). A line that starts with an opener greets ("Dear ...",
// "Bonjour ...", "Szanowna Pani ..."); so does a first line that only
// addresses someone ("Paul,", "{{first_name}},", a recipient's name).

#include "policies/letter/passes.h"

#include "policies/lexicon.h"
#include "policies/text.h"

#include <algorithm>
#include <cctype>

namespace rapport::policies::letter {
namespace {

// Where a greeting with no comma ends: after the opener and the
// capitalised words (a name, a title, a role) that follow it - "Dear
// Hiring Manager I am ..." ends before "I", "Dear Ms. Patel. Thank you"
// after "Patel.".
std::size_t greeting_end(std::string_view t, std::string_view opener) {
    std::size_t i = 0, words_seen = 0, opener_words = word_count(opener);
    while (i < t.size()) {
        while (i < t.size() && t[i] == ' ') ++i;
        std::size_t j = i;
        while (j < t.size() && t[j] != ' ') ++j;
        std::string_view w = t.substr(i, j - i);
        if (w.empty()) break;
        ++words_seen;
        if (words_seen > opener_words) {
            bool capital = std::isupper(static_cast<unsigned char>(w[0])) || static_cast<unsigned char>(w[0]) >= 0x80;
            if (!capital || w == "I" || words_seen > opener_words + 5) return i;
        }
        char last = w.back();
        if (words_seen >= opener_words && (last == '.' || last == '!' || last == '?' || last == ':')) return j;
        i = j;
    }
    return t.size();
}

// A first line that only addresses someone: one to three capitalised words
// (or a merge field) ended by a comma, colon or dash ("Paul,", "Mr. John
// Smith,", "{{first_name}},"), or a recipient's name alone ("Anna").
bool is_bare_address(std::string_view t, const std::vector<std::string>& recipient_names) {
    if (t.empty() || is_signoff(t)) return false;
    unsigned char first = static_cast<unsigned char>(t.front());
    bool capital = std::isupper(first) || first >= 0x80;
    bool field = std::string_view("{[<%*$").find(static_cast<char>(first)) != std::string_view::npos;
    std::string body(t);
    // "Carol –": an en or em dash after the name ends it like a hyphen.
    for (std::string_view dash : {"\xE2\x80\x93", "\xE2\x80\x94"})
        if (body.size() >= dash.size() && body.compare(body.size() - dash.size(), dash.size(), dash) == 0) {
            body.resize(body.size() - dash.size());
            body.push_back('-');
        }
    char last = body.back();
    if (last == ',' || last == ':' || last == '-') body.pop_back();
    auto ws = words(body);
    if (ws.empty() || ws.size() > 3) return false;
    if ((last == ',' || (last == ':' && ws.size() <= 2)) && (capital || field) &&
        body.find_first_of(",:!?") == std::string::npos)
        return true;
    if (!capital) return false;
    for (auto& w : ws)
        if (std::find(recipient_names.begin(), recipient_names.end(), w) == recipient_names.end()) return false;
    return true;
}

} // namespace

GreetingLine find_greeting(const Lines& own, std::size_t sig_start, const SplitHints& hints) {
    const Lexicon& lx = lexicon();
    GreetingLine g;
    g.line = own.size();
    int seen = 0;
    bool block_only = true; // every line so far is short, as in an address block
    for (std::size_t i = 0; i < sig_start && seen < 16; ++i) {
        if (is_blank(own[i])) continue;
        ++seen;
        auto t = trim(own[i]);
        std::string key = phrase_key(t);
        std::string_view opener = longest_prefix(key, lx.greeting_openers);
        if (!opener.empty() && (seen <= 8 || block_only)) {
            auto wc = word_count(key);
            char last = t.back();
            bool ends_like_greeting = last == ',' || last == ':' || last == '!' || last == ';';
            if ((ends_like_greeting && wc <= 10) || wc <= 5) {
                g = {i, std::string(t), {}};
                return g;
            }
            // "Hi Karen, thanks for ..." - greeting and text on one line.
            auto comma = t.find(',');
            if (comma != std::string_view::npos && word_count(phrase_key(t.substr(0, comma))) <= 5) {
                g = {i, std::string(trim(t.substr(0, comma + 1))), std::string(trim(t.substr(comma + 1)))};
                return g;
            }
            // "Dear Hiring Manager I am writing ..." - no comma at all.
            if (lx.greeting_openers_certain.count(opener)) {
                std::size_t cut = greeting_end(t, opener);
                g = {i, std::string(trim(t.substr(0, cut))), std::string(trim(t.substr(cut)))};
                return g;
            }
        } else if (seen == 1 && is_bare_address(t, hints.recipient_names)) {
            // "Val," / "Paul," / "{{first_name}}," / "Anna" - a bare name
            // addressing someone. Only the very first line can be one,
            // and a strong greeting may still follow a pasted address block.
            g = {i, std::string(t), {}};
        } else if (seen == 1) {
            // "Carol, good morning!" - a recipient's name, then the text.
            auto comma = t.find_first_of(",:");
            if (comma != std::string_view::npos && comma > 0 &&
                is_bare_address(t.substr(0, comma), hints.recipient_names))
                g = {i, std::string(t.substr(0, comma + 1)), std::string(trim(t.substr(comma + 1)))};
        }
        if (t.size() > 60) block_only = false;
    }
    return g;
}

} // namespace rapport::policies::letter
