// cv-attachment-only (new mail): a CV is attached and the own words, with
// stock lines ("Please find attached my CV") left out, are fewer than
// min_words. A stock line is a sentence made only of stock words
// (policies/data/stock_words.txt): it says a CV is there, not why.

#include <algorithm>
#include "policies/lexicon.h"
#include "policies/rules/rule.h"

namespace rapport::policies {
namespace {

// Words of the own words that explain something: sentences made only of
// stock words are dropped.
std::size_t explaining_words(std::string_view text) {
    const Lexicon& lx = lexicon();
    std::size_t count = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        bool end = i == text.size() || text[i] == '.' || text[i] == '!' || text[i] == '?' ||
                   text[i] == '\n' || text[i] == ';';
        if (!end) continue;
        auto ws = mime::words(text.substr(start, i - start));
        bool stock = std::all_of(ws.begin(), ws.end(), [&](const std::string& w) {
            return lx.stock_words.count(w) > 0 || lx.cv_words.find_in({w}) != nullptr;
        });
        if (!stock) count += ws.size();
        start = i + 1;
    }
    return count;
}

} // namespace

std::optional<std::string> check_cv_attachment_only(const RuleInput& in) {
    const Features& f = in.f;
    if (f.cv_attachments.empty()) return std::nullopt;
    if (explaining_words(f.own_text) >= static_cast<std::size_t>(in.settings.min_words)) return std::nullopt;
    return std::string(
        "Your CV is attached, but the message doesn't say which role you want or why you fit. "
        "Add two or three sentences: the role, where you saw it, and one thing you'd bring.");
}

} // namespace rapport::policies
