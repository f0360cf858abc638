// cv-attachment-only (new mail): a CV is attached and the own words, with
// stock lines ("Please find attached my CV") and links left out, are fewer
// than min_words. A stock line is a sentence made only of stock words
// (policies/data/stock_words.txt): it says a CV - and a cover letter - is
// there, not why.

#include <algorithm>
#include "policies/lexicon.h"
#include "policies/rules/rule.h"

namespace rapport::policies {
namespace {

// The text without links, addresses and handles ("https://github.com/x",
// "@CVSender"): they point somewhere, they explain nothing.
std::string without_links(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;
        std::string_view tok = text.substr(i, j - i);
        bool link = tok.find("://") != std::string_view::npos || tok.rfind("www.", 0) == 0 ||
                    tok.find('@') != std::string_view::npos;
        if (!link) out.append(tok);
        if (j < text.size()) out += text[j];
        i = j + 1;
    }
    return out;
}

// Words of the own words that explain something: sentences made only of
// stock words are dropped, and so are links.
std::size_t explaining_words(std::string_view own) {
    const Lexicon& lx = lexicon();
    const std::string text = without_links(own);
    std::size_t count = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        bool end = i == text.size() || text[i] == '.' || text[i] == '!' || text[i] == '?' ||
                   text[i] == '\n' || text[i] == ';';
        if (!end) continue;
        auto ws = words(std::string_view(text).substr(start, i - start));
        bool stock = std::all_of(ws.begin(), ws.end(), [&](const std::string& w) {
            return lx.stock_words.count(w) > 0 || lx.cv_words.find_in({w}) != nullptr;
        });
        if (!stock) count += ws.size();
        start = i + 1;
    }
    return count;
}

} // namespace

std::optional<Advice> check_cv_attachment_only(const RuleInput& in) {
    const Features& f = in.f;
    if (f.cv_attachments.empty()) return std::nullopt;
    if (explaining_words(f.own_text) >= static_cast<std::size_t>(in.settings.min_words)) return std::nullopt;
    return advice("cv-attachment-only",
                  "Your CV is attached, but the message doesn't say which role you want or why you fit. "
                  "Add two or three sentences: the role, where you saw it, and one thing you'd bring.");
}

} // namespace rapport::policies
