// signature.cc - pass 2 of split_text(): where the signature starts. A
// "-- " line, a mobile or webmail footer ("Sent from my iPhone") or the
// start of a legal disclaimer begins it; a P.S. after it is own words
// again. Also the name-only lines that end a note without a sign-off.

#include "policies/letter/passes.h"

#include "policies/lexicon.h"
#include "policies/text.h"

#include <cctype>

namespace rapport::policies::letter {
namespace {

// Can the folded key of `line` start a footer or disclaimer? Its first
// letter decides: the key starts with the first ASCII letter or digit of
// the line, lower-cased (ASCII punctuation and spaces only separate words).
// A non-ASCII first letter folds in other ways: it may, the full key tells.
// This is asked of every line of the letter; most start otherwise.
bool may_start_footer(std::string_view line) {
    const auto& letters = lexicon().footer_letters;
    for (char ch : line) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80) return true;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return letters[c];
        if (c >= 'A' && c <= 'Z') return letters[c + 32];
    }
    return false; // no word at all: an empty key starts nothing
}

} // namespace

bool is_footer(std::string_view key) { return !longest_prefix(key, lexicon().footers).empty(); }

bool is_disclaimer(std::string_view key) { return !longest_prefix(key, lexicon().disclaimers).empty(); }

std::size_t signature_start(const Lines& own) {
    for (std::size_t i = 0; i < own.size(); ++i) {
        auto t = own[i];
        // Footers and disclaimers are recognised by how the line starts
        // (the folded key is made only for lines that can start one).
        if (t == "-- " || t == "--" || t == "-- \t" || (trim(t) == "--" && t.size() <= 3)) return i;
        if (may_start_footer(t)) {
            std::string key = phrase_key(t.substr(0, 48));
            if (is_footer(key) || is_disclaimer(key)) return i;
        }
    }
    return own.size();
}

bool is_postscript(std::string_view line) {
    auto t = trim(line);
    std::string head(t.substr(0, 5));
    for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    // "P.S.", "PS:", "P. S.", "PPS", the French "P.-S." and the Spanish "P.D.".
    return starts_with(head, "P.S") || starts_with(head, "PS:") || starts_with(head, "PS ") ||
           starts_with(head, "PS.") || starts_with(head, "P. S") || starts_with(head, "PPS") ||
           starts_with(head, "P.-S") || starts_with(head, "P.D.") || starts_with(head, "P. D.");
}

// "Mike", "Em x", "K x", "Karen xx".
bool is_name_line(std::string_view line, const std::vector<std::string>& names) {
    auto ws = words(line);
    if (ws.empty() || ws.size() > 3) return false;
    bool has_name = false;
    for (auto& w : ws) {
        bool kiss = w.find_first_not_of('x') == std::string::npos;
        bool name = false;
        for (auto& n : names) {
            std::string fn = fold(n);
            if (fn.empty()) continue;
            if (fn == w || (w.size() == 1 && fn[0] == w[0]) ||
                (w.size() >= 2 && fn.size() > w.size() && fn.compare(0, w.size(), w) == 0))
                name = true;
        }
        if (name) has_name = true;
        else if (!kiss) return false;
    }
    return has_name;
}

} // namespace rapport::policies::letter
