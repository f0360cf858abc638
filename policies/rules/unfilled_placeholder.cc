// unfilled-placeholder (all mail): merge fields or placeholders left in the
// subject, the greeting or the own words, where a name, an organisation, a
// role, a date or a detail was meant to be filled in:
//   "{{first_name}}", "{company}", "${nombre}", "*|FNAME|*", "%FIRSTNAME%",
//   "{}" and "{0}" (a format string's slot)
//   "[Company Name]", "[insert job title]", "[notice period]", "[...]"
//   "<NAME>", "(Adresse)", "[TT.MM.JJJJ]", "XX/XX", "XXX" for a name
//   "{row['name']}": a template's expression sent as it is
// A bracketed text counts when it reads like a field (placeholder_words.txt,
// field_names.txt) or starts with "insert"/"enter"/"your". Not
// placeholders: gateway and list tags ([EXTERNAL], "Re: [notmuch]"), image references ([cid:...]), redactions ([name
// redacted]), Markdown links, HTML elements and key names (<title>,
// <Enter>), Windows variables (%APPDATA%), kisses and masked numbers (XXX at
// the end of a line, 07700 XXX XXX), and technical notation - code and code
// comments ("# XXX:"), command syntax ("--queue <name>"), program output,
// markup - as policies/notation.h reads it.

#include "policies/lexicon.h"
#include "policies/notation.h"
#include "policies/rules/rule.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

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
    auto ws = words(content);
    if (ws.empty()) return false;
    for (auto& w : ws)
        if (lx.placeholder_words.count(w)) return true;
    // "[FIRST_NAME]" style identifiers: split on underscores.
    std::string spaced(content);
    for (auto& c : spaced)
        if (c == '_') c = ' ';
    for (auto& w : words(spaced))
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
    for (unsigned char c : std::string_view("{$*%<[X_(")) t[c] = true;
    return t;
}();

// The first byte at or after `i` that can open a placeholder, or s.size().
// Openers are rare in a letter: with SSE2 (every x86-64) 16 bytes are
// tested at once, eight compares and a mask, instead of a table lookup and
// a branch per byte - this scan covers the whole letter.
std::size_t next_opener(std::string_view s, std::size_t i) {
#if defined(__SSE2__)
    static const __m128i open[9] = {_mm_set1_epi8('{'), _mm_set1_epi8('$'), _mm_set1_epi8('*'),
                                    _mm_set1_epi8('%'), _mm_set1_epi8('<'), _mm_set1_epi8('['),
                                    _mm_set1_epi8('X'), _mm_set1_epi8('_'), _mm_set1_epi8('(')};
    for (; i + 16 <= s.size(); i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
        __m128i hit = _mm_cmpeq_epi8(v, open[0]);
        for (int k = 1; k < 9; ++k) hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, open[k]));
        if (int mask = _mm_movemask_epi8(hit)) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
#endif
    for (; i < s.size(); ++i)
        if (kOpeners[static_cast<unsigned char>(s[i])]) return i;
    return s.size();
}

namespace {

// Windows environment variables: "%APPDATA%\Rapport" is a path, not a field.
bool windows_variable(std::string_view name) {
    static constexpr std::string_view kVars[] = {
        "PATH", "APPDATA", "LOCALAPPDATA", "USERPROFILE", "TEMP", "TMP", "PROGRAMFILES", "PROGRAMDATA",
        "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "HOMEPATH", "HOMEDRIVE", "COMPUTERNAME", "USERDOMAIN",
        "ERRORLEVEL", "CD", "DATE", "TIME", "RANDOM", "COMSPEC", "PATHEXT", "OS", "PUBLIC", "ALLUSERSPROFILE"};
    std::string up(name);
    for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return std::find(std::begin(kVars), std::end(kVars), up) != std::end(kVars);
}

// "[name redacted]", "[snip]": text deliberately removed, not a field.
bool redaction(std::string_view folded) {
    for (std::string_view w : {"redact", "withheld", "removed", "omitted", "anonymi", "deleted", "snip", "censored"})
        if (folded.find(w) != std::string_view::npos) return true;
    return false;
}

// A run of X at s[i, j) that is no placeholder: a developer's marker
// ("XXX: fix", "# XXX"), kisses at the end of a line ("See you Sunday
// XXX"), or part of a masked number ("07700 XXX XXX", "XXXX-1234").
bool x_run_is_not_a_name(std::string_view s, std::size_t i, std::size_t j) {
    std::size_t ls = s.rfind('\n', i);
    ls = ls == std::string_view::npos ? 0 : ls + 1;
    std::size_t le = s.find('\n', j);
    if (le == std::string_view::npos) le = s.size();
    std::string_view before = s.substr(ls, i - ls), after = s.substr(j, le - j);
    // A marker: only comment characters before it on the line, a colon after.
    bool only_marks = std::all_of(before.begin(), before.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '#' || c == '/' || c == '*' || c == '-' || c == ';' || c == '!' || c == '<';
    });
    std::size_t a = 0;
    while (a < after.size() && after[a] == ' ') ++a;
    if (only_marks && (a < after.size() && (after[a] == ':' || after[a] == '('))) return true;
    // Right after a comment mark, wherever the comment is quoted: "the
    // block marked \"# XXX: remove\"", "foo(); // XXX".
    std::string_view tight = before;
    while (!tight.empty() && tight.back() == ' ') tight.remove_suffix(1);
    for (std::string_view mark : {"#", "//", "/*", "--", ";", "<!--"})
        if (tight.size() >= mark.size() && tight.substr(tight.size() - mark.size()) == mark) return true;
    if (before.find("//") != std::string_view::npos || before.find("/*") != std::string_view::npos ||
        (!before.empty() && std::string_view(before).find("# ") == 0))
        return true;
    // A masked number: digits or more X next to it.
    auto neighbour_masked = [](std::string_view tok) {
        return !tok.empty() && std::all_of(tok.begin(), tok.end(), [](char c) {
                   return std::isdigit(static_cast<unsigned char>(c)) || c == 'X' || c == 'x' || c == '*';
               });
    };
    std::string_view b = before;
    while (!b.empty() && (b.back() == ' ' || b.back() == '-' || b.back() == '.')) b.remove_suffix(1);
    std::string_view prev_tok = b.substr(b.find_last_of(" \t(") == std::string_view::npos ? 0 : b.find_last_of(" \t(") + 1);
    std::string_view n = after;
    while (!n.empty() && (n.front() == ' ' || n.front() == '-' || n.front() == '.')) n.remove_prefix(1);
    std::string_view next_tok = n.substr(0, n.find_first_of(" \t),"));
    if (neighbour_masked(prev_tok) || neighbour_masked(next_tok)) return true;
    // Kisses: the last thing on the line, after a word that does not ask
    // for a name ("Thanks to XXX" does).
    std::string_view rest = after;
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '!' || static_cast<unsigned char>(rest.front()) >= 0x80))
        rest.remove_prefix(1);
    if (rest.empty() && !prev_tok.empty()) {
        std::string word = fold(prev_tok);
        while (!word.empty() && !std::isalnum(static_cast<unsigned char>(word.back()))) word.pop_back();
        static constexpr std::string_view kAskName[] = {
            "to", "at", "for", "with", "from", "by", "and", "dear", "hi", "hello", "hey", "contact", "call", "ask",
            "email", "mr", "mrs", "ms", "dr", "of", "the", "a", "an", "de", "y", "und", "et", "i", "oraz", "z",
            "an", "bei", "chez", "para", "con", "pour", "fur", "mit", "herr", "frau", "pan", "pani", "sr", "sra"};
        if (std::find(std::begin(kAskName), std::end(kAskName), word) == std::end(kAskName)) return true;
    }
    return false;
}

// The content of "{{ ... }}" reads as a merge field: "first_name",
// "Company Name", "contact.first_name"; not program output ("3 held").
bool field_content(std::string_view in) {
    while (!in.empty() && in.front() == ' ') in.remove_prefix(1);
    while (!in.empty() && in.back() == ' ') in.remove_suffix(1);
    if (in.empty() || !(std::isalpha(static_cast<unsigned char>(in.front())) || in.front() == '_')) return false;
    if (field_like(in)) return true;
    return in.find(' ') == std::string_view::npos; // one identifier: {{FNAME}}, {{ firstName }}
}

// A date format left for the writer to fill in: "TT.MM.JJJJ",
// "DD/MM/YYYY", "JJ/MM/AAAA", "dd-mm-yy", "DD.MM.RRRR".
bool date_mask(std::string_view in) {
    int parts = 0;
    bool month = false;
    std::size_t i = 0;
    while (i <= in.size()) {
        std::size_t j = i;
        while (j < in.size() && std::isalpha(static_cast<unsigned char>(in[j]))) ++j;
        std::string_view run = in.substr(i, j - i);
        if (run.empty() || run.size() > 4) return false;
        char c = static_cast<char>(std::toupper(static_cast<unsigned char>(run[0])));
        if (std::string_view("DTJMYAR").find(c) == std::string_view::npos) return false;
        for (char x : run)
            if (std::toupper(static_cast<unsigned char>(x)) != c) return false;
        month = month || c == 'M';
        ++parts;
        if (j == in.size()) break;
        if (in[j] != '.' && in[j] != '/' && in[j] != '-') return false;
        i = j + 1;
    }
    return parts == 3 && month;
}

// The length of a date or time written with X at s[i] - "XX/XX",
// "XX.XX.XXXX", "XX:XX", "XXh", "XXhXX" - standing as a word; 0 if none.
std::size_t x_date_mask(std::string_view s, std::size_t i) {
    std::size_t j = i, runs = 0, seps = 0;
    while (j < s.size()) {
        std::size_t k = j;
        while (k < s.size() && s[k] == 'X') ++k;
        if (k == j || k - j > 4) return 0;
        ++runs;
        j = k;
        if (j < s.size() && (s[j] == '/' || s[j] == '.' || s[j] == ':' || s[j] == '-' || s[j] == 'h') &&
            j + 1 < s.size() && s[j + 1] == 'X') {
            ++seps;
            ++j;
            continue;
        }
        if (j < s.size() && s[j] == 'h' && (j + 1 == s.size() || !std::isalnum(static_cast<unsigned char>(s[j + 1])))) {
            ++j; // "XXh"
            return runs == 1 && j - i <= 3 ? j - i : 0;
        }
        break;
    }
    if (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) return 0;
    // Digits next to it make it a masked number: "XXXX-XXXX-1234", "07700 XX/XX".
    std::size_t a = j;
    while (a < s.size() && (s[a] == '-' || s[a] == '/' || s[a] == '.' || s[a] == ' ')) ++a;
    if (a < s.size() && std::isdigit(static_cast<unsigned char>(s[a]))) return 0;
    std::size_t b = i;
    while (b > 0 && (s[b - 1] == '-' || s[b - 1] == '/' || s[b - 1] == ' ')) --b;
    if (b > 0 && std::isdigit(static_cast<unsigned char>(s[b - 1]))) return 0;
    return seps >= 1 && runs >= 2 ? j - i : 0;
}

// Is s[i] inside a quotation on its line ("... [...] ...")? An omission
// marked in a quote is no gap left in a template.
bool in_quotation(std::string_view s, std::size_t i) {
    std::size_t ls = s.rfind('\n', i);
    std::string_view before = s.substr(ls == std::string_view::npos ? 0 : ls + 1, i - (ls == std::string_view::npos ? 0 : ls + 1));
    if (std::count(before.begin(), before.end(), '"') % 2 == 1) return true;
    auto open = before.rfind("\xE2\x80\x9C"), close = before.rfind("\xE2\x80\x9D"); // “ ”
    if (open != std::string_view::npos && (close == std::string_view::npos || close < open)) return true;
    auto lo = before.rfind("\xC2\xAB"), lc = before.rfind("\xC2\xBB"); // « »
    return lo != std::string_view::npos && (lc == std::string_view::npos || lc < lo);
}

// "(Adresse)", "(Company Name)", "(your name)": parentheses around field
// names only, one of them a noun - "(first)" or "(here)" are prose.
bool parenthesised_field(std::string_view in) {
    const Lexicon& lx = lexicon();
    auto ws = words(in);
    if (ws.empty() || ws.size() > 4 || in.size() > 40) return false;
    bool noun = false;
    for (auto& w : ws) {
        if (!lx.field_names.count(w)) return false;
        if (w != "first" && w != "last" && w != "full" && w != "your" && w != "the" && w != "job") noun = true;
    }
    return noun;
}

// The placeholder candidate that starts at s[i], as [i, end), or false.
bool candidate_at(std::string_view s, std::size_t i, std::size_t& end) {
    char c = s[i];
    if (c == '{' && i + 1 < s.size() && s[i + 1] == '{') {
        // "{{{hugs}}}" in a friend's note is an embrace, not a merge field.
        if ((i > 0 && s[i - 1] == '{') || (i + 2 < s.size() && s[i + 2] == '{')) return false;
        auto in = between(s, i + 2, "}}", end);
        if (end < s.size() && s[end] == '}') return false;
        return !in.empty() && in.size() <= 40 && std::all_of(in.begin(), in.end(), ident_char) && field_content(in);
    }
    if (c == '{' || (c == '$' && i + 1 < s.size() && s[i + 1] == '{')) {
        // "{company}", "${name}", and a template's expression sent as it
        // is: "{row['name']}", "{data[\"company\"]}".
        std::size_t open = c == '$' ? i + 2 : i + 1;
        auto in = between(s, open, "}", end);
        // A format string's slot sent unfilled: "Dear {},", "at {0}".
        if (c == '{' && end != 0 && in.size() <= 2 &&
            std::all_of(in.begin(), in.end(), [](char x) { return std::isdigit(static_cast<unsigned char>(x)); })) {
            // Not where the text speaks of code: "an empty dict {}", "returns {}".
            std::string_view before = s.substr(0, i);
            while (!before.empty() && before.back() == ' ') before.remove_suffix(1);
            auto sp = before.find_last_of(" \t\n(");
            std::string prev = fold(before.substr(sp == std::string_view::npos ? 0 : sp + 1));
            for (std::string_view w : {"dict", "object", "json", "map", "set", "returns", "return", "empty", "braces",
                                       "brackets", "format", "literal", "array", "hash", "curly", "with", "use", "pass"})
                if (prev == w) return false;
            return true;
        }
        auto expr_char = [](char x) { return ident_char(x) || x == '[' || x == ']' || x == '\'' || x == '"'; };
        return !in.empty() && field_like(in) && in.size() <= 40 && std::all_of(in.begin(), in.end(), expr_char);
    }
    if (c == '(') {
        auto in = between(s, i + 1, ")", end);
        return !in.empty() && in.size() <= 40 && (parenthesised_field(in) || date_mask(in));
    }
    if (c == '*' && i + 1 < s.size() && s[i + 1] == '|') {
        auto in = between(s, i + 2, "|*", end);
        return !in.empty() && in.size() <= 30 && std::all_of(in.begin(), in.end(), ident_char);
    }
    if (c == '%') {
        auto in = between(s, i + 1, "%", end);
        return !in.empty() && in.size() >= 2 && in.size() <= 30 &&
               std::all_of(in.begin(), in.end(), [](char x) { return std::isalpha(static_cast<unsigned char>(x)) || x == '_'; }) &&
               !windows_variable(in);
    }
    if (c == '<') {
        auto in = between(s, i + 1, ">", end);
        if (in.empty() || markup_or_key_name(in)) return false;
        return upper_ident(in) || (field_like(in) && in.find('.') == std::string_view::npos);
    }
    if (c == '[') {
        bool dbl = i + 1 < s.size() && s[i + 1] == '[';
        auto in = between(s, i + (dbl ? 2 : 1), "]", end);
        if (dbl && end < s.size() && s[end] == ']') ++end;
        if (in.empty() || in.size() > 60) return false;
        // "[...]": a gap left for the writer, unless it marks an omission in a quote.
        if (in == "..." || in == "\xE2\x80\xA6") return !in_quotation(s, i);
        if (date_mask(in)) return true;
        std::string folded = fold(in);
        if (redaction(folded)) return false;
        bool starts_insert = folded.rfind("insert", 0) == 0 || folded.rfind("enter ", 0) == 0 ||
                             folded.rfind("add ", 0) == 0 || folded.rfind("your ", 0) == 0;
        return starts_insert || field_like(in);
    }
    if (c == '$' && i + 3 < s.size()) {
        std::size_t j = i + 1;
        while (j < s.size() && (std::isupper(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        end = j;
        return j - i - 1 >= 4 && (j == s.size() || !std::isalnum(static_cast<unsigned char>(s[j]))) &&
               field_like(s.substr(i + 1, j - i - 1));
    }
    if (c == 'X' && (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])))) {
        // A date or time left as X: "le XX/XX à XXh", "XX.XX.XXXX".
        if (std::size_t mask = x_date_mask(s, i)) {
            end = i + mask;
            return true;
        }
        // "XXX" standing for a name: three or more capital X as a word.
        std::size_t j = i;
        while (j < s.size() && s[j] == 'X') ++j;
        end = j;
        return j - i >= 3 && (j == s.size() || !std::isalnum(static_cast<unsigned char>(s[j]))) &&
               !x_run_is_not_a_name(s, i, j);
    }
    if (c == '_' && i + 2 < s.size() && s[i + 1] == '_' && s[i + 2] == '_') {
        // "Dear ____," - a blank to fill, inside a line with other text.
        auto line_start = s.rfind('\n', i);
        auto line_end = s.find('\n', i);
        std::string_view line = s.substr(line_start == std::string_view::npos ? 0 : line_start + 1,
                                         (line_end == std::string_view::npos ? s.size() : line_end) -
                                             (line_start == std::string_view::npos ? 0 : line_start + 1));
        std::size_t j = i;
        while (j < s.size() && s[j] == '_') ++j;
        end = j;
        return !words(line).empty();
    }
    return false;
}

// Is `candidate` written elsewhere in the text as notation? Then this is
// prose about it: "where <name> is sqlite" below a command line with
// "<name>", "the XXX comment" about a "# XXX:" in the code.
bool mentions_notation(std::string_view s, std::string_view candidate, Notation& notation) {
    for (std::size_t p = s.find(candidate); p != std::string_view::npos; p = s.find(candidate, p + 1)) {
        std::size_t e = p + candidate.size();
        if (candidate.front() == 'X' && x_run_is_not_a_name(s, p, e)) return true;
        if (notation.covers(p, e)) return true;
    }
    return false;
}

} // namespace

std::string find_placeholder(std::string_view s) {
    std::optional<Notation> notation; // made at the first candidate: most letters have none
    for (std::size_t i = next_opener(s, 0); i < s.size(); i = next_opener(s, i + 1)) {
        std::size_t end = 0;
        if (!candidate_at(s, i, end)) {
            // Skip the rest of a run of underscores or X at once.
            if (s[i] == '_' || s[i] == 'X')
                while (i + 1 < s.size() && s[i + 1] == s[i]) ++i;
            continue;
        }
        if (!notation) notation.emplace(s);
        if (notation->covers(i, end) || mentions_notation(s, s.substr(i, end - i), *notation)) {
            i = end - 1;
            continue;
        }
        return std::string(s.substr(i, end - i));
    }
    return {};
}

std::optional<Advice> check_unfilled_placeholder(const RuleInput& in) {
    const Features& f = in.f;
    std::string found = find_placeholder(f.msg->subject);
    for (std::string_view part : {std::string_view(f.parts.greeting), std::string_view(f.own_text)})
        if (found.empty()) found = find_placeholder(part);
    if (found.empty()) return std::nullopt;
    return advice("unfilled-placeholder",
                  // TRANSLATORS: {placeholder} is the merge field left in, as written ("[Company Name]").
                  "\"{placeholder}\" is still in the message - a placeholder that was never filled in. Replace it "
                  "before sending: a left-in merge field tells the reader this went to a list.",
                  {{"placeholder", found}});
}

} // namespace rapport::policies
