#include <algorithm>
#include "policies/rules/greeting.h"

#include "policies/lexicon.h"

#include <cctype>

namespace rapport::policies {
namespace {

// Words of the original greeting that start with a capital letter: names
// are written that way, fillers ("again", "love") mostly are not.
std::vector<std::string> capitalised_words(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && !(std::isalnum(static_cast<unsigned char>(line[i])) ||
                                    static_cast<unsigned char>(line[i]) >= 0x80))
            ++i;
        std::size_t j = i;
        while (j < line.size() && (std::isalnum(static_cast<unsigned char>(line[j])) ||
                                   static_cast<unsigned char>(line[j]) >= 0x80 || line[j] == '\''))
            ++j;
        if (j > i) {
            std::string_view w = line.substr(i, j - i);
            std::string folded = fold(w);
            // Capital: ASCII upper, or a non-ASCII letter whose folded form
            // differs only by case/accent from a capital ("Émilie", "Łukasz").
            bool capital = std::isupper(static_cast<unsigned char>(w[0]));
            if (!capital && static_cast<unsigned char>(w[0]) >= 0x80) {
                // Latin capitals with diacritics are U+00C0..U+00DE or even
                // code points in Latin Extended-A; lower case ones are not.
                unsigned char b0 = static_cast<unsigned char>(w[0]);
                unsigned char b1 = w.size() > 1 ? static_cast<unsigned char>(w[1]) : 0;
                char32_t cp = ((b0 & 0x1F) << 6) | (b1 & 0x3F);
                capital = (cp >= 0xC0 && cp <= 0xDE) || (cp >= 0x100 && cp < 0x180 && cp % 2 == 0 && cp != 0x138) ||
                          cp == 0x141 || cp == 0x143 || cp == 0x179 || cp == 0x17B || cp == 0x17D;
            }
            if (capital)
                for (auto& part : words(w)) out.push_back(part);
        }
        i = j;
    }
    return out;
}

} // namespace

Greeting read_greeting(const Features& f) {
    const Lexicon& lx = lexicon();
    Greeting g;
    const std::string& line = f.parts.greeting;
    if (line.empty()) return g;
    std::string key = phrase_key(line);
    if (lx.generic_greetings.count(key)) {
        g.kind = GreetingKind::generic;
        return g;
    }
    // "Dear Hiring Manager" - also with more after it ("... at Halden").
    for (const auto& role : lx.role_greetings) {
        if (key.size() >= role.size() && key.compare(0, role.size(), role) == 0 &&
            (key.size() == role.size() || key[role.size()] == ' ')) {
            g.kind = GreetingKind::role;
            return g;
        }
    }
    auto is_org = [&](const std::string& w) {
        for (auto& r : f.recipients)
            for (auto& k : r.org_keys)
                if (k == w || (w.size() >= 3 && k.compare(0, w.size(), w) == 0)) return true;
        return false;
    };
    // A team or a role in other words ("Liebes Entwicklerteam", "Estimado
    // equipo de selección", "Dear Halden recruitment team"): besides the
    // opener and titles, only role words and the organisation's name.
    {
        bool role = false, other = false;
        for (auto& w : words(line)) {
            auto ends = [&](std::string_view tail) {
                return w.size() > tail.size() && w.compare(w.size() - tail.size(), tail.size(), tail) == 0;
            };
            if (lx.role_words.count(w) || ends("team") || ends("abteilung") || ends("leitung")) role = true;
            else if (!lx.name_titles.count(w) && !is_org(w)) other = true;
        }
        if (role && !other) {
            g.kind = GreetingKind::role;
            return g;
        }
    }
    // Capitalised words that are neither titles nor an organisation this
    // goes to ("Dear Halden team") are names.
    for (auto& w : capitalised_words(line))
        if (!lx.name_titles.count(w) && w.size() >= 2 && !std::isdigit(static_cast<unsigned char>(w[0])) &&
            !is_org(w))
            g.names.push_back(w);
    g.kind = g.names.empty() ? GreetingKind::other : GreetingKind::named;
    return g;
}

namespace {
// German umlauts are written both ways: "Müller" folds to "muller", while
// "Mueller" is common in addresses and greetings. Drop the "e" of ae/oe/ue
// on both sides before comparing.
std::string umlaut_free(const std::string& w) {
    std::string out;
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (w[i] == 'e' && i > 0 && (w[i - 1] == 'a' || w[i - 1] == 'o' || w[i - 1] == 'u')) continue;
        out += w[i];
    }
    return out;
}
} // namespace

bool name_matches(const std::string& greeting_word, const Person& p) {
    std::string word = umlaut_free(greeting_word);
    for (auto& full : p.name_words) {
        std::string n = umlaut_free(full);
        if (n == word) return true;
        // "Dan" / "Daniel", "Kasia" is not caught - nicknames need a list.
        std::size_t shorter = std::min(n.size(), word.size());
        if (shorter >= 3 && n.compare(0, shorter, word, 0, shorter) == 0) return true;
    }
    return false;
}

} // namespace rapport::policies
