// text.cc - see text.h.

#include "policies/text.h"

#include "mime/charset.h"

#include <algorithm>
#include <array>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rapport::policies {
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
    mime::detail::append_utf8(out, static_cast<unsigned>(cp));
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

} // namespace rapport::policies
