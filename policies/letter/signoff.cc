// signoff.cc - pass 4 of split_text(): the sign-off ("Kind regards,",
// "Cheers, Rob", "Mit freundlichen Grüßen"), searched upwards from the
// signature marker within the last lines of the text.

#include "policies/letter/passes.h"

#include "policies/lexicon.h"
#include "policies/text.h"

namespace rapport::policies::letter {

// The phrase alone, or the phrase, a separator and a short name.
bool is_signoff(std::string_view line) {
    auto t = trim(line);
    if (t.empty() || t.size() > 60) return false;
    std::string key = phrase_key(t);
    if (key.empty()) return false;
    const WordSet& signoffs = lexicon().signoffs;
    if (signoffs.count(key)) return true;
    // "Cheers, Rob" / "Love, Dot" / "Thanks - Jake": any sign-off the line
    // starts with, then a short remainder after a separator, no sentence
    // punctuation.
    if (t.find_first_of(",-") == std::string_view::npos || t.find_first_of(".?") != std::string_view::npos) return false;
    for (std::size_t end = 0; end < key.size(); ++end) {
        if (key[end] != ' ' || !signoffs.count(std::string_view(key).substr(0, end))) continue;
        if (word_count(trim(std::string_view(key).substr(end))) <= 3) return true;
    }
    return false;
}

std::size_t find_signoff(const Lines& own, std::size_t body_start, std::size_t sig_start) {
    int seen = 0;
    for (std::size_t i = sig_start; i-- > body_start && seen < 8;) {
        if (is_blank(own[i])) continue;
        ++seen;
        if (is_postscript(own[i])) continue;
        if (is_signoff(own[i])) return i;
    }
    return own.size();
}

} // namespace rapport::policies::letter
