// unfilled-placeholder (all mail): merge fields or placeholders left in the
// subject, the greeting or the own words - "[Company Name]", "{{first_name}}",
// "<NAME>", "%FIRSTNAME%", "*|FNAME|*", "[insert ...]", "XXX" for a name.
// Gateway tags ([EXTERNAL], [SPAM]) and image references ([cid:...]) are
// not placeholders: a bracketed text counts only when it reads like a field
// (policies/data/placeholder_words.txt) or starts with "insert"/"enter".

#include "policies/lexicon.h"
#include "policies/rules/rule.h"

#include <algorithm>
#include <array>
#include <cctype>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rapport::policies {
namespace {

bool ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ' ' || c == '.' || c == '-';
}

bool upper_ident(std::string_view s) {
    if (s.size() < 2 || s.size() > 30) return false;
    bool letter = false;
    for (char c : s) {
        if (std::isupper(static_cast<unsigned char>(c))) letter = true;
        else if (c != '_' && c != ' ' && !std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return letter;
}

// Does a bracketed content read like a field name?
bool field_like(std::string_view content) {
    if (content.empty() || content.size() > 60) return false;
    // Image references, mail links, gateway tags with a colon: not fields.
    if (content.find(':') != std::string_view::npos || content.find('@') != std::string_view::npos ||
        content.find('/') != std::string_view::npos)
        return false;
    const Lexicon& lx = lexicon();
    auto ws = mime::words(content);
    if (ws.empty()) return false;
    for (auto& w : ws)
        if (lx.placeholder_words.count(w)) return true;
    // "[FIRST_NAME]" style identifiers: split on underscores.
    std::string spaced(content);
    for (auto& c : spaced)
        if (c == '_') c = ' ';
    for (auto& w : mime::words(spaced))
        if (lx.placeholder_words.count(w)) return true;
    return false;
}

std::string_view between(std::string_view s, std::size_t open, std::string_view close, std::size_t& end) {
    auto c = s.find(close, open);
    if (c == std::string_view::npos) return {};
    end = c + close.size();
    return s.substr(open, c - open);
}

} // namespace

// Bytes that can open a placeholder (the cases below). Everything else is
// skipped with one table lookup: this scans the whole letter.
constexpr std::array<bool, 256> kOpeners = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : std::string_view("{$*%<[X_")) t[c] = true;
    return t;
}();

// The first byte at or after `i` that can open a placeholder, or s.size().
// Openers are rare in a letter: with SSE2 (every x86-64) 16 bytes are
// tested at once, eight compares and a mask, instead of a table lookup and
// a branch per byte - this scan covers the whole letter.
std::size_t next_opener(std::string_view s, std::size_t i) {
#if defined(__SSE2__)
    static const __m128i open[8] = {_mm_set1_epi8('{'), _mm_set1_epi8('$'), _mm_set1_epi8('*'), _mm_set1_epi8('%'),
                                    _mm_set1_epi8('<'), _mm_set1_epi8('['), _mm_set1_epi8('X'), _mm_set1_epi8('_')};
    for (; i + 16 <= s.size(); i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
        __m128i hit = _mm_cmpeq_epi8(v, open[0]);
        for (int k = 1; k < 8; ++k) hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, open[k]));
        if (int mask = _mm_movemask_epi8(hit)) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
#endif
    for (; i < s.size(); ++i)
        if (kOpeners[static_cast<unsigned char>(s[i])]) return i;
    return s.size();
}

std::string find_placeholder(std::string_view s) {
    for (std::size_t i = next_opener(s, 0); i < s.size(); i = next_opener(s, i + 1)) {
        char c = s[i];
        std::size_t end = 0;
        if (c == '{' && i + 1 < s.size() && s[i + 1] == '{') {
            auto in = between(s, i + 2, "}}", end);
            if (!in.empty() && in.size() <= 40 &&
                std::all_of(in.begin(), in.end(), ident_char))
                return std::string(s.substr(i, end - i));
        } else if (c == '{' || (c == '$' && i + 1 < s.size() && s[i + 1] == '{')) {
            std::size_t open = c == '$' ? i + 2 : i + 1;
            auto in = between(s, open, "}", end);
            if (!in.empty() && (c == '$' || field_like(in)) && in.size() <= 40 &&
                std::all_of(in.begin(), in.end(), ident_char))
                return std::string(s.substr(i, end - i));
        } else if (c == '*' && i + 1 < s.size() && s[i + 1] == '|') {
            auto in = between(s, i + 2, "|*", end);
            if (!in.empty() && in.size() <= 30 && std::all_of(in.begin(), in.end(), ident_char))
                return std::string(s.substr(i, end - i));
        } else if (c == '%') {
            auto in = between(s, i + 1, "%", end);
            if (!in.empty() && in.size() >= 2 && in.size() <= 30 &&
                std::all_of(in.begin(), in.end(), [](char x) {
                    return std::isalpha(static_cast<unsigned char>(x)) || x == '_';
                }) &&
                std::any_of(in.begin(), in.end(), [](char x) { return std::isalpha(static_cast<unsigned char>(x)); }))
                return std::string(s.substr(i, end - i));
        } else if (c == '<') {
            auto in = between(s, i + 1, ">", end);
            if (!in.empty() && (upper_ident(in) || (field_like(in) && in.find('.') == std::string_view::npos)))
                return std::string(s.substr(i, end - i));
        } else if (c == '[') {
            bool dbl = i + 1 < s.size() && s[i + 1] == '[';
            auto in = between(s, i + (dbl ? 2 : 1), "]", end);
            if (dbl && end < s.size() && s[end] == ']') ++end;
            std::string folded = mime::fold(in);
            bool starts_insert = folded.rfind("insert", 0) == 0 || folded.rfind("enter ", 0) == 0 ||
                                 folded.rfind("add ", 0) == 0 || folded.rfind("your ", 0) == 0;
            if (!in.empty() && (starts_insert || field_like(in)))
                return std::string(s.substr(i, end - i));
        } else if (c == '$' && i + 3 < s.size()) {
            std::size_t j = i + 1;
            while (j < s.size() && (std::isupper(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
            if (j - i - 1 >= 4 && (j == s.size() || !std::isalnum(static_cast<unsigned char>(s[j]))))
                return std::string(s.substr(i, j - i));
        } else if (c == 'X' && (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])))) {
            // "XXX" standing for a name: three or more capital X as a word.
            std::size_t j = i;
            while (j < s.size() && s[j] == 'X') ++j;
            if (j - i >= 3 && (j == s.size() || !std::isalnum(static_cast<unsigned char>(s[j]))))
                return std::string(s.substr(i, j - i));
        } else if (c == '_' && i + 2 < s.size() && s[i + 1] == '_' && s[i + 2] == '_') {
            // "Dear ____," - a blank to fill, inside a line with other text.
            auto line_start = s.rfind('\n', i);
            auto line_end = s.find('\n', i);
            std::string_view line = s.substr(line_start == std::string_view::npos ? 0 : line_start + 1,
                                             (line_end == std::string_view::npos ? s.size() : line_end) -
                                                 (line_start == std::string_view::npos ? 0 : line_start + 1));
            if (!mime::words(line).empty()) {
                std::size_t j = i;
                while (j < s.size() && s[j] == '_') ++j;
                return std::string(s.substr(i, j - i));
            }
            while (i + 1 < s.size() && s[i + 1] == '_') ++i;
        }
    }
    return {};
}

std::optional<std::string> check_unfilled_placeholder(const RuleInput& in) {
    const Features& f = in.f;
    for (std::string_view part : {std::string_view(f.msg->subject), std::string_view(f.parts.greeting),
                                  std::string_view(f.own_text)}) {
        std::string found = find_placeholder(part);
        if (!found.empty())
            return "\"" + found + "\" is still in the message - a placeholder that was never filled in. "
                   "Replace it before sending: a left-in merge field tells the reader this went to a list.";
    }
    return std::nullopt;
}

} // namespace rapport::policies
