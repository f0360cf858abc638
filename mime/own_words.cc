// own_words.cc - see own_words.h.
//
// The split works on lines, in four passes over the sender's text:
//   1. set aside quoted and forwarded material (">" lines with their
//      attribution, then everything from the first reply/forward header);
//   2. find the signature markers ("-- ", "Sent from my ...", disclaimers);
//   3. find the greeting near the top (text above it is a preamble);
//   4. find the sign-off near the bottom; what follows it is signature,
//      except a P.S., which is own words again.
// Each phrase table below is short and multilingual; matching is done on
// folded text (lower case, no accents), so "Grüße" matches "grusse".

#include "mime/own_words.h"

#include "mime/codec.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rapport::mime {
namespace {

// Folded forms of U+00C0..U+017F (Latin-1 Supplement, Latin Extended-A).
constexpr std::array<const char*, 192> kLatinFold = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s"};

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i.
// Invalid bytes come back as U+FFFD, one byte at a time.
char32_t next_cp(std::string_view s, std::size_t& i) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) { ++i; return b0; }
    int len = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) { ++i; return 0xFFFD; }
    char32_t cp = b0 & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) { ++i; return 0xFFFD; }
        cp = (cp << 6) | (b & 0x3F);
    }
    i += len;
    return cp;
}

using detail::trim;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::size_t word_count(std::string_view key) {
    if (key.empty()) return 0;
    return static_cast<std::size_t>(std::count(key.begin(), key.end(), ' ')) + 1;
}

// Does `key` begin with `phrase` followed by the end or a space?
bool key_starts_with_phrase(std::string_view key, std::string_view phrase) {
    return starts_with(key, phrase) && (key.size() == phrase.size() || key[phrase.size()] == ' ');
}

// Greeting openers (folded). A greeting line starts with one of these.
constexpr std::string_view kGreetingOpeners[] = {
    // English
    "dear", "hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening",
    "morning", "greetings", "to whom it may concern", "to the hiring manager", "howdy", "yo",
    "good day", "respected", "attn", "fao", "for the attention of",
    // French
    "bonjour", "bonsoir", "cher", "chere", "madame", "monsieur", "messieurs", "mesdames",
    "coucou", "salut", "a l attention",
    // German
    "sehr geehrte", "sehr geehrter", "sehr geehrtes", "liebe", "lieber", "hallo", "guten tag",
    "guten morgen", "moin", "servus", "hi", "gruss gott", "gruezi", "grussgott", "z hd", "zu handen",
    // Spanish
    "hola", "estimado", "estimada", "estimados", "estimadas", "buenos dias", "buenas tardes",
    "buenas", "querido", "querida", "queridos", "a quien corresponda", "a quien pueda interesar",
    "muy senor", "muy senora", "muy senores", "buen dia", "a la atencion de",
    // Polish
    "szanowny", "szanowna", "szanowni", "dzien dobry", "witam", "witaj", "czesc", "hej",
    "drogi", "droga", "drodzy", "witajcie", "do rak",
};

// Openers that begin a greeting whatever follows on the line: "Dear Hiring
// Manager I am writing to ..." greets, even with no comma after the name.
constexpr std::string_view kCertainOpeners[] = {
    "dear", "to whom it may concern", "sehr geehrte", "sehr geehrter", "sehr geehrtes", "estimado",
    "estimada", "estimados", "estimadas", "szanowny", "szanowna", "szanowni", "respected",
};

// Sign-off phrases (folded). A sign-off line is one of these, optionally
// followed by a short name ("Cheers, Rob").
constexpr std::string_view kSignoffs[] = {
    // English
    "kind regards", "best regards", "warm regards", "warmest regards", "regards", "best wishes",
    "all the best", "best", "many thanks", "thanks", "thank you", "thanks very much",
    "thank you very much", "thanks again", "thanks so much", "cheers", "love", "lots of love",
    "yours sincerely", "yours faithfully", "yours truly", "sincerely", "faithfully",
    "with thanks", "with best wishes", "take care", "speak soon", "see you soon", "see you",
    "with kind regards", "kindest regards", "respectfully", "yours", "thanks in advance",
    "hugs", "love you", "much love", "ta", "cheers mate", "best regards and thanks",
    // French
    "cordialement", "bien cordialement", "tres cordialement", "bien a vous", "bisous",
    "grosses bises", "bises", "amities", "salutations", "sinceres salutations",
    "merci", "merci beaucoup", "a bientot", "je vous prie d agreer",
    // German
    "mit freundlichen grussen", "freundliche grusse", "viele grusse", "beste grusse",
    "liebe grusse", "herzliche grusse", "gruss", "grusse", "lg", "vg", "bis dann", "bis bald",
    "mfg", "danke", "vielen dank", "schone grusse",
    // Spanish
    "atentamente", "un saludo", "un saludo cordial", "saludos", "saludos cordiales",
    "un beso", "besos", "un abrazo", "abrazos", "gracias", "muchas gracias", "cordialmente",
    "reciba un cordial saludo",
    // Polish
    "z powazaniem", "pozdrawiam", "serdecznie pozdrawiam", "pozdrawiam serdecznie",
    "z wyrazami szacunku", "buziaki", "dziekuje", "dzieki", "do zobaczenia", "sciskam",
};

// Lines that are a signature by themselves (mobile and webmail footers).
constexpr std::string_view kFooterStarts[] = {
    "sent from my", "sent from mail for", "sent from yahoo", "sent from outlook",
    "sent with proton", "get outlook for", "sent from samsung", "sent via",
    "envoye de mon", "envoye depuis", "von meinem", "gesendet von", "gesendet mit",
    "enviado desde", "enviado do meu", "wyslane z", "wysylane z",
};

// Lines that start a legal disclaimer: it and everything after is signature.
constexpr std::string_view kDisclaimerStarts[] = {
    "this email and any", "this e mail and any", "this message and any", "this message is intended",
    "this email is intended", "this e mail is intended", "confidentiality notice", "disclaimer",
    "the information contained in this", "the information in this email",
    "diese e mail enthalt", "diese nachricht enthalt", "ce message et", "ce courriel",
    "este mensaje", "este correo", "ta wiadomosc",
};

// Banners that start forwarded content.
constexpr std::string_view kForwardBanners[] = {
    "forwarded message", "begin forwarded message", "weitergeleitete nachricht",
    "message transfere", "mensaje reenviado", "inicio del mensaje reenviado",
    "wiadomosc przekazana", "przekazana wiadomosc", "forwarded by",
};

// Banners that start a quoted earlier message (Outlook and others).
constexpr std::string_view kOriginalBanners[] = {
    "original message", "ursprungliche nachricht", "message d origine", "mensaje original",
    "oryginalna wiadomosc", "wiadomosc oryginalna",
};

// Header names that open an Outlook-style quoted header block.
constexpr std::string_view kFromHeaders[] = {"from", "von", "de", "od", "van"};
constexpr std::string_view kSentHeaders[] = {
    "sent", "date", "gesendet", "datum", "envoye", "date d envoi", "enviado", "enviado el",
    "fecha", "wyslano", "data", "to", "an", "a", "para", "do", "subject", "betreff", "objet",
    "asunto", "temat"};

// Attribution verbs of "On ... wrote:" in several languages (folded).
constexpr std::string_view kWroteVerbs[] = {
    "wrote", "a ecrit", "schrieb", "escribio", "napisal", "napisala", "pisze", "schreef",
    "ha scritto", "skrev", "kirjoitti"};

bool is_greeting_opener(std::string_view key, std::string_view& opener) {
    for (auto p : kGreetingOpeners) {
        if (key_starts_with_phrase(key, p)) {
            opener = p;
            return true;
        }
    }
    return false;
}

bool is_footer(std::string_view key) {
    for (auto p : kFooterStarts)
        if (key_starts_with_phrase(key, p)) return true;
    return false;
}

bool is_disclaimer(std::string_view key) {
    for (auto p : kDisclaimerStarts)
        if (key_starts_with_phrase(key, p)) return true;
    return false;
}

bool is_footer_or_disclaimer(std::string_view key) { return is_footer(key) || is_disclaimer(key); }

// The first letters of the footer and disclaimer phrases.
struct FooterStarts {
    std::array<bool, 128> letter{};
    FooterStarts() {
        for (auto p : kFooterStarts) letter[static_cast<unsigned char>(p[0]) & 0x7f] = true;
        for (auto p : kDisclaimerStarts) letter[static_cast<unsigned char>(p[0]) & 0x7f] = true;
    }
};

// Can the folded key of `line` start a footer or disclaimer? Its first
// letter decides: the key starts with the first ASCII letter or digit of
// the line, lower-cased (ASCII punctuation and spaces only separate words).
// A non-ASCII first letter folds in other ways: it may, the full key tells.
// Pass 2 asks this of every line of the letter; most start otherwise.
bool may_start_footer(std::string_view line) {
    static const FooterStarts starts;
    for (char ch : line) {
        auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80) return true;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return starts.letter[c];
        if (c >= 'A' && c <= 'Z') return starts.letter[c + 32];
    }
    return false; // no word at all: an empty key starts nothing
}

bool is_dash_banner(std::string_view line, const std::string_view* banners, std::size_t n) {
    // "---------- Forwarded message ---------", "-----Original Message-----",
    // "Begin forwarded message:" (no dashes). Cheap test first: banners are
    // short and have dashes or end with a colon.
    auto t = trim(line);
    if (t.empty() || t.size() > 80 || (t.find("--") == std::string_view::npos && t.back() != ':')) return false;
    std::string key = phrase_key(line);
    if (key.empty() || word_count(key) > 6) return false;
    for (std::size_t i = 0; i < n; ++i)
        if (key.find(banners[i]) != std::string::npos) return true;
    return false;
}

// "From: Priya Shah <...>" or "From: X [mailto:...]": a header-like line.
bool is_header_line(std::string_view line, const std::string_view* names, std::size_t n) {
    line = trim(line);
    if (!line.empty() && line.front() == '*') line.remove_prefix(1); // Outlook bold "*From:*"
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon > 20) return false;
    std::string key = phrase_key(line.substr(0, colon));
    for (std::size_t i = 0; i < n; ++i)
        if (key == names[i]) return true;
    return false;
}

bool is_attribution(std::string_view line) {
    // "On Tue, 30 Sep 2025 at 17:02, David <d@x> wrote:" (also wrapped over
    // two lines; the caller joins them), "Le 3 mars 2025 à 10:00, X a écrit :".
    auto t = trim(line);
    if (t.empty() || t.back() != ':' || t.size() > 400) return false;
    std::string key = phrase_key(line);
    if (word_count(key) > 40) return false;
    for (auto v : kWroteVerbs) {
        auto pos = key.rfind(v);
        if (pos != std::string::npos && pos + v.size() == key.size()) return true;
    }
    return false;
}

// How many lines (1 or 2) an attribution at lines[i] takes; 0 if none.
// Gmail wraps long ones: "On Tue, 30 Sep 2025 at 17:02, David <d@x>" / "wrote:".
std::size_t attribution_lines(const std::vector<std::string_view>& lines, std::size_t i) {
    if (is_attribution(lines[i])) return 1;
    if (i + 1 >= lines.size() || trim(lines[i]).empty()) return 0;
    auto next = trim(lines[i + 1]);
    if (next.empty() || next.back() != ':' || next.size() > 40) return 0; // "wrote:" ends the pair
    std::string key = phrase_key(lines[i]);
    bool opener = false;
    for (std::string_view o : {"on ", "le ", "am ", "el ", "w dniu ", "op ", "il ", "den "})
        if (key.rfind(o, 0) == 0) opener = true;
    if (!opener) return 0;
    std::string joined = std::string(trim(lines[i])) + " " + std::string(trim(lines[i + 1]));
    return is_attribution(joined) ? 2 : 0;
}

bool is_underscore_rule(std::string_view line) {
    line = trim(line);
    return line.size() >= 10 && std::all_of(line.begin(), line.end(), [](char c) { return c == '_'; });
}

bool is_quote_line(std::string_view line) { return !line.empty() && line.front() == '>'; }

bool is_blank(std::string_view line) { return trim(line).empty(); }

// A sign-off line: the phrase alone, or the phrase, a comma and a short name.
bool is_signoff(std::string_view line) {
    auto t = trim(line);
    if (t.empty() || t.size() > 60) return false;
    std::string key = phrase_key(t);
    if (key.empty()) return false;
    for (auto p : kSignoffs) {
        if (key == p) return true;
        if (key_starts_with_phrase(key, p)) {
            // "Cheers, Rob" / "Love, Dot" / "Thanks - Jake": short remainder
            // after a separator, no sentence punctuation.
            std::string_view rest = std::string_view(key).substr(p.size());
            auto sep = t.find_first_of(",-");
            if (sep != std::string_view::npos && word_count(trim(rest)) <= 3 &&
                t.find_first_of(".?") == std::string_view::npos)
                return true;
        }
    }
    return false;
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

// A line made only of the sender's names, their initials and kisses:
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

std::string join(const std::vector<std::string_view>& lines, std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to && i < lines.size(); ++i) {
        out.append(lines[i]);
        out += '\n';
    }
    // Trim blank lines at both ends, keep inner layout.
    auto first = out.find_first_not_of(" \t\n");
    if (first == std::string::npos) return {};
    auto last = out.find_last_not_of(" \t\n");
    return out.substr(first, last - first + 1);
}

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
        if (body.size() >= dash.size() && body.compare(body.size() - dash.size(), dash.size(), dash) == 0)
            body.replace(body.size() - dash.size(), dash.size(), "-");
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

namespace {

// ASCII tables: lower case, and whether a byte belongs to a word.
struct AsciiTables {
    std::array<char, 128> lower{};
    std::array<bool, 128> word{};
    std::array<char, 256> word_lower{}; // lower[c] for ASCII word bytes, else 0
    AsciiTables() {
        for (int c = 0; c < 128; ++c) {
            lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
            word[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (word[c]) word_lower[c] = lower[c];
        }
    }
};
const AsciiTables kAscii;

// Appends the folded form of one non-ASCII code point; returns false when
// it is not part of any word (punctuation, symbols, spaces, emoji).
bool fold_cp(char32_t cp, std::string& out) {
    if (cp >= 0xC0 && cp < 0x180) {
        out += kLatinFold[cp - 0xC0];
        return kLatinFold[cp - 0xC0][0] != '\0';
    }
    if ((cp >= 0x0080 && cp < 0x00C0) || (cp >= 0x2000 && cp < 0x2C00) || (cp >= 0x3000 && cp < 0x3040) ||
        (cp >= 0x1F000 && cp < 0x20000) || (cp >= 0xFE00 && cp < 0xFE10) || cp == 0xFEFF || cp == 0xFFFD)
        return false; // Latin-1 punctuation, dashes, quotes, no-break spaces, symbols, emoji, BOM
    if (cp >= 0x0391 && cp <= 0x03A9) cp += 0x20;      // Greek capitals
    else if (cp >= 0x0410 && cp <= 0x042F) cp += 0x20; // Cyrillic capitals
    detail::append_utf8(out, static_cast<unsigned>(cp));
    return true;
}

bool is_apostrophe(char32_t cp) { return cp == '\'' || cp == 0x2019 || cp == 0x2018 || cp == 0x02BC; }

} // namespace

std::string fold(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            out += kAscii.lower[c];
            ++i;
            continue;
        }
        char32_t cp = next_cp(s, i);
        if (is_apostrophe(cp)) out += '\''; // typographic apostrophes
        else if (!fold_cp(cp, out)) out += ' ';
    }
    return out;
}

namespace {

// The state of word_list() between bytes: the words so far and what the
// separators since the last word said about sentences.
struct Tokenizer {
    std::string_view s;
    WordList::Chars& chars;
    WordList::Offsets& begins;
    WordList::Offsets& ends;
    std::vector<std::uint32_t>& starts;
    bool sentence_break = false; // a sentence mark since the last word
    bool line_has_text = false;  // tells a blank line (a paragraph break) from a wrapped one

    std::size_t count = 0; // words in begins/ends, which are sized for the most a text can hold

    void add_word(std::size_t b, std::size_t e) {
        if (sentence_break && count > 0) starts.push_back(static_cast<std::uint32_t>(count));
        sentence_break = false;
        begins[count] = static_cast<std::uint32_t>(b);
        ends[count] = static_cast<std::uint32_t>(e);
        ++count;
    }

    // A separator byte or code point at s[i, next).
    void separator(char32_t cp, std::size_t next) {
        switch (cp) {
        case '!': case '?': case ';': case ':': sentence_break = true; line_has_text = true; break;
        case '.': // ". " ends a sentence, "3.10" and "example.com" do not
            if (next >= s.size() || s[next] == ' ' || s[next] == '\n' || s[next] == '\r' || s[next] == '\t')
                sentence_break = true;
            line_has_text = true;
            break;
        case '\n': if (!line_has_text) sentence_break = true; line_has_text = false; break;
        case ' ': case '\t': case '\r': break;
        default: line_has_text = true; break;
        }
    }

    bool word_at(std::size_t i) const {
        if (i >= s.size()) return false;
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) return kAscii.word[c];
        std::string tmp;
        std::size_t j = i;
        return fold_cp(next_cp(s, j), tmp);
    }

    // From s[i], a word with letters outside ASCII or apostrophes in it,
    // folded code point by code point into the space after the text; stops
    // at the first ASCII byte that separates words. Returns where it stopped.
    std::size_t slow_token(std::size_t i) {
        std::size_t b = chars.size();
        auto flush = [&] {
            if (chars.size() > b) add_word(b, chars.size());
            b = chars.size();
        };
        std::string folded;
        while (i < s.size()) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x80 && kAscii.word[c]) {
                chars.push_back(kAscii.lower[c]);
                line_has_text = true;
                ++i;
                continue;
            }
            if (c < 0x80 && c != '\'') break; // an ASCII separator: the caller's
            std::size_t next = i;
            char32_t cp = c < 0x80 ? (++next, c) : next_cp(s, next);
            folded.clear();
            if (is_apostrophe(cp)) {
                // "'s" at the end of a word: a possessive, dropped.
                if (chars.size() > b && next < s.size() && (s[next] == 's' || s[next] == 'S') && !word_at(next + 1)) {
                    flush();
                    i = next + 1;
                    continue;
                }
                flush();
                line_has_text = true;
            } else if (fold_cp(cp, folded)) {
                chars.insert(chars.end(), folded.begin(), folded.end());
                line_has_text = true;
            } else {
                flush();
                separator(cp, next);
            }
            i = next;
        }
        flush();
        return i;
    }
};

} // namespace

WordList word_list(std::string_view s) {
    // This runs on every text the checks read, a letter's own words most
    // of all. Pass 1 copies the text lower-cased (ASCII letters; other
    // bytes as they are) and marks its ASCII letters and digits in a
    // bitmap, 16 bytes at a time; pass 2 walks the bitmap from word to
    // word, so a plain ASCII word costs two bit scans and its letters are
    // not touched again. A word with a letter outside ASCII or an
    // apostrophe is folded code point by code point (slow_token) and
    // stored after the text. Apostrophes split a word ("d'emploi" -> "d",
    // "emploi"; "I'm" -> "i", "m"), except a possessive "'s", which is
    // dropped ("Halden's" -> "halden").
    WordList out;
    const std::size_t n = s.size();
    const auto* src = reinterpret_cast<const unsigned char*>(s.data());
    auto& chars = out.chars_;
    chars.reserve(n + n / 8 + 16);
    chars.resize(n);
    const std::size_t blocks = (n + 63) / 64;
    std::vector<std::uint64_t, UninitialisedAllocator<std::uint64_t>> word(blocks + 1);
    {
        std::size_t i = 0;
        for (std::size_t b = 0; b < blocks; ++b) {
            std::uint64_t bits = 0;
#if defined(__SSE2__)
            for (unsigned k = 0; k < 64 && i + 16 <= n; k += 16, i += 16) {
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
                const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));
                const __m128i upper = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(v, _mm_set1_epi8('A')), bias),
                                                     _mm_set1_epi8(static_cast<char>(26 ^ 0x80)));
                const __m128i lower = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(v, _mm_set1_epi8('a')), bias),
                                                     _mm_set1_epi8(static_cast<char>(26 ^ 0x80)));
                const __m128i digit = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(v, _mm_set1_epi8('0')), bias),
                                                     _mm_set1_epi8(static_cast<char>(10 ^ 0x80)));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(chars.data() + i),
                                 _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20))));
                const auto m = static_cast<std::uint64_t>(
                    _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(upper, lower), digit)));
                bits |= m << k;
            }
#endif
            for (; i < n && i < (b + 1) * 64; ++i) {
                chars[i] = src[i] < 0x80 ? kAscii.lower[src[i]] : static_cast<char>(src[i]);
                if (src[i] < 0x80 && kAscii.word[src[i]]) bits |= std::uint64_t{1} << (i % 64);
            }
            word[b] = bits;
        }
        word[blocks] = 0;
    }
    // The next position at or after i whose bit is `set` in the bitmap, or n.
    auto next_bit = [&](std::size_t i, bool set) {
        while (i < n) {
            std::uint64_t w = set ? word[i / 64] : ~word[i / 64];
            w &= ~std::uint64_t{0} << (i % 64);
            if (w) return std::min(n, (i / 64) * 64 + static_cast<std::size_t>(__builtin_ctzll(w)));
            i = (i / 64 + 1) * 64;
        }
        return n;
    };

    // Words are separated by at least one byte: at most n / 2 + 1 of them.
    out.begins_.resize(n / 2 + 1);
    out.ends_.resize(n / 2 + 1);
    Tokenizer t{s, chars, out.begins_, out.ends_, out.sentence_starts_};
    std::size_t i = 0;
    while (i < n) {
        // Separators up to the next word, or the next byte that needs folding.
        std::size_t w = next_bit(i, true);
        for (; i < w; ++i) {
            auto c = src[i];
            if (c == ' ') continue; // most separators, and one that says nothing
            if (c >= 0x80 || c == '\'') break;
            t.separator(c, i + 1);
        }
        if (i >= n) break;
        if (i < w) { // a byte outside ASCII, or an apostrophe, before any letter
            i = t.slow_token(i);
            continue;
        }
        std::size_t e = next_bit(i, false);
        if (e < n && (src[e] >= 0x80 || src[e] == '\'')) {
            i = t.slow_token(i); // the word goes on past ASCII, or has an apostrophe
            continue;
        }
        t.add_word(i, e);
        t.line_has_text = true;
        i = e;
    }
    out.begins_.resize(t.count);
    out.ends_.resize(t.count);
    return out;
}

std::vector<std::string> words(std::string_view s) {
    WordList list = word_list(s);
    std::vector<std::string> out;
    out.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) out.emplace_back(list[i]);
    return out;
}

std::string phrase_key(std::string_view text) {
    WordList list = word_list(text);
    std::string out;
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += ' ';
        out += list[i];
    }
    return out;
}

std::string TextParts::own_words() const {
    std::string out;
    for (const std::string* part : {&preamble, &body, &postscript}) {
        if (part->empty()) continue;
        if (!out.empty()) out += "\n\n";
        out += *part;
    }
    return out;
}

TextParts split_text(std::string_view text, const SplitHints& hints) {
    TextParts parts;

    // Lines without their line ends (CR dropped too).
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos <= text.size();) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        auto line = text.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        pos = nl + 1;
    }
    const std::size_t n = lines.size();

    // Pass 1: quoted and forwarded material. `kept[i]` marks the sender's lines.
    std::vector<bool> kept(n, true);
    std::vector<std::string_view> quoted;
    std::size_t cut = n; // first line of a reply/forward header block
    bool cut_is_forward = false;
    for (std::size_t i = 0; i < n && cut == n; ++i) {
        auto line = lines[i];
        if (is_quote_line(line)) continue;
        if (is_dash_banner(line, kForwardBanners, std::size(kForwardBanners))) {
            cut = i;
            cut_is_forward = true;
        } else if (is_dash_banner(line, kOriginalBanners, std::size(kOriginalBanners)) &&
                   trim(line).find("--") != std::string_view::npos) {
            cut = i;
            cut_is_forward = hints.forward;
        } else if (is_underscore_rule(line)) {
            for (std::size_t k = i + 1; k < n && k <= i + 2; ++k) {
                if (is_header_line(lines[k], kFromHeaders, std::size(kFromHeaders))) {
                    cut = i;
                    cut_is_forward = hints.forward;
                    break;
                }
            }
        } else if (is_header_line(line, kFromHeaders, std::size(kFromHeaders))) {
            // A From: line followed closely by another header line.
            int headers = 0;
            for (std::size_t k = i + 1; k < n && k <= i + 4; ++k)
                if (is_header_line(lines[k], kSentHeaders, std::size(kSentHeaders))) ++headers;
            if (headers >= 1) {
                cut = i;
                cut_is_forward = hints.forward;
            }
        } else if (std::size_t att = attribution_lines(lines, i); att > 0) {
            // An attribution directly followed by quoted lines: mark it and
            // the ">" block as quoted (inline replies keep the rest).
            std::size_t att_end = i + att;
            std::size_t k = att_end;
            while (k < n && is_blank(lines[k])) ++k;
            if (k < n && is_quote_line(lines[k])) {
                for (std::size_t j = i; j < att_end; ++j) kept[j] = false;
            } else if (k >= n || !is_quote_line(lines[k])) {
                // Top-posted reply with an unquoted earlier message below.
                cut = i;
                cut_is_forward = hints.forward;
            }
        }
    }
    for (std::size_t i = 0; i < n; ++i)
        kept[i] = kept[i] && i < cut && !is_quote_line(lines[i]);
    // Apple Mail quotes the attribution itself ("> On 24 Aug ... wrote:").
    bool any_quote = false;
    for (std::size_t i = 0; i < std::min(cut, n); ++i) {
        if (!kept[i]) {
            quoted.push_back(lines[i]);
            any_quote = true;
        }
    }
    std::string rest; // outlives `quoted`, which may point into it
    if (cut < n) {
        rest = join(lines, cut, n);
        if (cut_is_forward) {
            parts.forwarded = rest;
            parts.has_forward = true;
        } else {
            quoted.push_back(rest);
            any_quote = true;
        }
    }
    if (any_quote) {
        parts.has_quote = true;
        parts.quoted = join(quoted, 0, quoted.size());
    }

    // The sender's own lines, in order.
    std::vector<std::string_view> own;
    for (std::size_t i = 0; i < std::min(cut, n); ++i)
        if (kept[i]) own.push_back(lines[i]);
    const std::size_t m = own.size();

    // Pass 2: signature markers. sig_start is the first signature line;
    // a P.S. after it goes back to own words.
    std::size_t sig_start = m;
    for (std::size_t i = 0; i < m; ++i) {
        auto t = own[i];
        // Footers and disclaimers are recognised by how the line starts
        // (the folded key is made only for lines that can start one).
        if (t == "-- " || t == "--" || t == "-- \t" || (trim(t) == "--" && t.size() <= 3) ||
            (may_start_footer(t) && is_footer_or_disclaimer(phrase_key(t.substr(0, 48))))) {
            sig_start = i;
            break;
        }
    }

    // Pass 3: the greeting, within the first few non-blank lines (further
    // down only after short lines: a pasted address block).
    std::size_t greet = m;
    std::string greet_text, greet_rest;
    {
        int seen = 0;
        bool block_only = true; // every line so far is short, as in an address block
        for (std::size_t i = 0; i < sig_start && seen < 16; ++i) {
            if (is_blank(own[i])) continue;
            ++seen;
            auto t = trim(own[i]);
            std::string key = phrase_key(t);
            std::string_view opener;
            bool strong = is_greeting_opener(key, opener);
            if (strong && (seen <= 8 || block_only)) {
                auto wc = word_count(key);
                char last = t.back();
                bool ends_like_greeting = last == ',' || last == ':' || last == '!' || last == ';';
                if ((ends_like_greeting && wc <= 10) || wc <= 5) {
                    greet = i;
                    greet_text = std::string(t);
                    break;
                }
                // "Hi Karen, thanks for ..." - greeting and text on one line.
                auto comma = t.find(',');
                if (comma != std::string_view::npos && word_count(phrase_key(t.substr(0, comma))) <= 5) {
                    greet = i;
                    greet_text = std::string(trim(t.substr(0, comma + 1)));
                    greet_rest = std::string(trim(t.substr(comma + 1)));
                    break;
                }
                // "Dear Hiring Manager I am writing ..." - no comma at all.
                if (std::find(std::begin(kCertainOpeners), std::end(kCertainOpeners), opener) !=
                    std::end(kCertainOpeners)) {
                    std::size_t cut = greeting_end(t, opener);
                    greet = i;
                    greet_text = std::string(trim(t.substr(0, cut)));
                    greet_rest = std::string(trim(t.substr(cut)));
                    break;
                }
            } else if (seen == 1 && is_bare_address(t, hints.recipient_names)) {
                // "Val," / "Paul," / "{{first_name}}," / "Anna" - a bare name
                // addressing someone. Only the very first line can be one,
                // and a strong greeting may still follow a pasted address block.
                greet = i;
                greet_text = std::string(t);
            } else if (seen == 1) {
                // "Carol, good morning!" - a recipient's name, then the text.
                auto comma = t.find_first_of(",:");
                if (comma != std::string_view::npos && comma > 0 &&
                    is_bare_address(t.substr(0, comma), hints.recipient_names)) {
                    greet = i;
                    greet_text = std::string(t.substr(0, comma + 1));
                    greet_rest = std::string(trim(t.substr(comma + 1)));
                }
            }
            if (t.size() > 60) block_only = false;
        }
    }

    std::size_t body_start = 0;
    if (greet < m) {
        parts.greeting = greet_text;
        parts.preamble = join(own, 0, greet);
        body_start = greet + 1;
    }

    // Pass 4: the sign-off, searched upwards from the signature marker
    // within the last lines of the text.
    std::size_t signoff = m;
    {
        int seen = 0;
        for (std::size_t i = sig_start; i-- > body_start && seen < 8;) {
            if (is_blank(own[i])) continue;
            ++seen;
            if (is_postscript(own[i])) continue;
            if (is_signoff(own[i])) {
                signoff = i;
                break;
            }
        }
    }

    std::size_t body_end = std::min(signoff, sig_start);
    // Without a sign-off: trailing lines that are only the sender's name
    // ("Mike", "Em x", "K x") are the signature.
    if (signoff == m) {
        std::size_t i = body_end;
        while (i > body_start) {
            auto t = trim(own[i - 1]);
            if (t.empty()) { --i; continue; }
            if (!is_name_line(t, hints.sender_names)) break;
            --i;
        }
        // Only when the name block does not swallow everything.
        if (i > body_start && i < body_end) body_end = i;
    }

    parts.body = join(own, body_start, body_end);
    if (!greet_rest.empty()) parts.body = greet_rest + (parts.body.empty() ? "" : "\n" + parts.body);

    std::size_t tail_start = body_end;
    if (signoff < m && signoff >= body_start && signoff == body_end) {
        parts.signoff = std::string(trim(own[signoff]));
        tail_start = signoff + 1;
    }
    // Signature lines up to a P.S.; the P.S. (and anything after it) is own
    // words, except footers that follow it.
    std::size_t ps = m;
    for (std::size_t i = tail_start; i < m; ++i) {
        if (is_postscript(own[i])) {
            ps = i;
            break;
        }
    }
    parts.signature = join(own, tail_start, ps);
    if (ps < m) {
        std::size_t ps_end = m;
        for (std::size_t i = ps + 1; i < m; ++i) {
            std::string key = phrase_key(own[i]);
            if (is_footer(key) || is_disclaimer(key) || trim(own[i]) == "--") {
                ps_end = i;
                break;
            }
        }
        parts.postscript = join(own, ps, ps_end);
        std::string tail = join(own, ps_end, m);
        if (!tail.empty()) parts.signature += (parts.signature.empty() ? "" : "\n") + tail;
    }
    return parts;
}

} // namespace rapport::mime
