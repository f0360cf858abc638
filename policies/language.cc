// language.cc - see language.h.

#include "policies/language.h"

#include "policies/advice.h"
#include "policies/features.h"
#include "policies/lexicon.h"
#include "policies/text_index.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

namespace rapport::policies {
namespace {

constexpr std::size_t kMaxLanguages = 32; // a bit each in a word's mask
constexpr std::size_t kMaxWords = 300;    // of the own words: a language shows long before

// policies/data/language_words.txt: each word's hash (fnv1a, as TextIndex
// has them) -> the languages that use it, in an open-addressed table.
struct LanguageWords {
    std::vector<std::string> codes;     // in the file's order; bit i of a mask is codes[i]
    std::vector<std::uint64_t> keys;    // 0: free slot
    std::vector<std::uint32_t> masks;
    std::size_t slot_of(std::uint64_t h) const { return static_cast<std::size_t>(h ^ (h >> 31)) & (keys.size() - 1); }

    std::uint32_t mask(std::uint64_t h) const {
        for (std::size_t s = slot_of(h);; s = (s + 1) & (keys.size() - 1)) {
            if (keys[s] == h) return masks[s];
            if (keys[s] == 0) return 0;
        }
    }
    void add(std::uint64_t h, std::uint32_t bit) {
        std::size_t s = slot_of(h);
        while (keys[s] != 0 && keys[s] != h) s = (s + 1) & (keys.size() - 1);
        keys[s] = h;
        masks[s] |= bit;
    }
};

const LanguageWords& language_words() {
    static const LanguageWords lw = [] {
        LanguageWords w;
        std::vector<std::pair<std::uint64_t, std::uint32_t>> all;
        for (const auto& line : data_entries("language_words")) {
            auto colon = line.find(':');
            if (colon == std::string::npos || w.codes.size() == kMaxLanguages) continue;
            std::string code = line.substr(0, colon);
            code.erase(std::remove_if(code.begin(), code.end(), [](unsigned char c) { return std::isspace(c); }),
                       code.end());
            std::uint32_t bit = 1u << w.codes.size();
            w.codes.push_back(code);
            for (const auto& word : words(std::string_view(line).substr(colon + 1))) all.emplace_back(fnv1a(word), bit);
        }
        std::size_t size = 64;
        while (size < all.size() * 4) size *= 2; // mostly first-probe hits and misses
        w.keys.assign(size, 0);
        w.masks.assign(size, 0);
        for (auto [h, bit] : all) w.add(h, bit);
        return w;
    }();
    return lw;
}

// Words seen per language.
struct Tally {
    std::array<unsigned, kMaxLanguages> n{};
    void add(std::uint32_t mask) {
        while (mask) {
            ++n[static_cast<std::size_t>(__builtin_ctz(mask))];
            mask &= mask - 1;
        }
    }
    // The leading language's index, when it leads with at least `least` words.
    int leader(unsigned least) const {
        std::size_t top = 0;
        unsigned second = 0;
        for (std::size_t i = 1; i < n.size(); ++i) {
            if (n[i] > n[top]) {
                second = n[top];
                top = i;
            } else {
                second = std::max(second, n[i]);
            }
        }
        return n[top] >= least && n[top] > second ? static_cast<int>(top) : -1;
    }
    // Far enough ahead that more words would not change the answer.
    bool settled() const {
        unsigned first = 0, second = 0;
        for (unsigned v : n) {
            if (v > first) {
                second = first;
                first = v;
            } else {
                second = std::max(second, v);
            }
        }
        return first >= 8 && first >= 3 * second;
    }
};

void count_words(std::string_view text, const LanguageWords& lw, Tally& t) {
    WordList ws = word_list(text);
    for (std::size_t i = 0; i < ws.size() && i < kMaxWords; ++i) t.add(lw.mask(fnv1a(ws[i])));
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

} // namespace

const std::vector<std::string>& coach_languages() { return coach_catalogue().languages(); }

std::optional<std::string> parse_language_setting(std::string_view s) {
    std::string v = lower_ascii(s);
    if (v == "auto") return v;
    // A locale name: the language is what comes before _ - . or @.
    v = v.substr(0, v.find_first_of("_-.@"));
    if (v.empty() || !coach_catalogue().has(v)) return std::nullopt;
    return v;
}

std::string language_setting_choices() {
    std::string out = "auto or one of ";
    const auto& langs = coach_languages();
    for (std::size_t i = 0; i < langs.size(); ++i) out += (i ? ", " : "") + langs[i];
    return out;
}

std::string effective_setting(std::initializer_list<std::string_view> settings) {
    for (std::string_view s : settings)
        if (!s.empty() && s != "auto") return std::string(s);
    return "auto";
}

std::string detect_language(const Features& f) {
    const LanguageWords& lw = language_words();
    Tally t;
    const std::size_t n = std::min(f.own.size(), kMaxWords);
    for (std::size_t i = 0; i < n; ++i) {
        t.add(lw.mask(f.own.hash(i)));
        if ((i & 15) == 15 && t.settled()) break;
    }
    int lead = t.leader(2);
    if (lead < 0) {
        // Too few own words to tell (a CV with a line): the greeting, the
        // sign-off and the subject are the mail's words too.
        count_words(f.parts.greeting, lw, t);
        count_words(f.parts.signoff, lw, t);
        if (f.msg) count_words(f.msg->subject, lw, t);
        lead = t.leader(1);
    }
    if (lead < 0) return "en";
    const std::string& code = lw.codes[static_cast<std::size_t>(lead)];
    return coach_catalogue().has(code) ? code : "en";
}

std::string coach_language(const Features& f, std::string_view setting) {
    if (setting.empty() || setting == "auto") return detect_language(f);
    return coach_catalogue().has(setting) ? std::string(setting) : "en";
}

} // namespace rapport::policies
