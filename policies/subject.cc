#include "policies/subject.h"

#include "policies/lexicon.h"
#include "policies/text_index.h"

#include <algorithm>
#include <cctype>

namespace rapport::policies {
namespace {

bool all_digits(std::string_view w) {
    return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// A number that refers to nothing by itself: a year ("2025"), a day or a
// count ("3", "15"). Three or more digits otherwise are a reference.
bool plain_number(std::string_view w) {
    if (w.size() <= 2) return true;
    if (w.size() == 4 && (w.compare(0, 2, "19") == 0 || w.compare(0, 2, "20") == 0)) return true;
    return false;
}

// Letters and digits mixed ("jr2291", "r12") are a reference; ordinals
// and times ("1st", "2nd", "9am", "15h", "1er") are not.
bool mixed_reference(std::string_view w) {
    bool digit = false, alpha = false;
    for (char c : w) (std::isdigit(static_cast<unsigned char>(c)) ? digit : alpha) = true;
    if (!digit || !alpha) return false;
    if (w[0] == 'v' && all_digits(w.substr(1))) return false; // a version: "v2"
    std::size_t k = 0;
    while (k < w.size() && std::isdigit(static_cast<unsigned char>(w[k]))) ++k;
    std::string_view suffix = w.substr(k);
    for (std::string_view s : {"st", "nd", "rd", "th", "am", "pm", "h", "er", "e", "eme", "re", "te", "ten", "ter", "ste", "o", "a"})
        if (suffix == s) return false;
    return true;
}

// Is `w` made of generic application words glued together, German style,
// with an optional linking "s" ("praktikumsanfrage", "jobanfrage")? Each
// part has three letters at least.
bool generic_compound(std::string_view w, const WordClass& generic) {
    const std::size_t n = w.size();
    if (n < 6 || n > 48) return false;
    std::vector<bool> reach(n + 1, false); // w[0, i) splits into parts
    reach[0] = true;
    for (std::size_t i = 0; i < n; ++i) {
        if (!reach[i]) continue;
        for (std::size_t j = i + 3; j <= n; ++j) {
            if (!generic.contains(w.substr(i, j - i))) continue;
            reach[j] = true;
            if (j < n && w[j] == 's') reach[j + 1] = true;
        }
    }
    return reach[n];
}

} // namespace

SubjectReading read_subject(std::string_view subject, const std::vector<std::string>& own_names,
                            const std::vector<Person>& recipients) {
    const Lexicon& lx = lexicon();
    SubjectReading r;
    WordList words = word_list(subject);
    auto specific = [&](std::string_view why) {
        if (r.generic) r.specific = std::string(why);
        r.generic = false;
    };

    // "IT" in capitals is the field of work, not the pronoun; "#12" is a
    // reference however short.
    for (std::size_t i = 0; i + 1 < subject.size(); ++i) {
        bool before = i == 0 || !std::isalnum(static_cast<unsigned char>(subject[i - 1]));
        if (subject.compare(i, 2, "IT") == 0 && before &&
            (i + 2 == subject.size() || !std::isalnum(static_cast<unsigned char>(subject[i + 2]))))
            specific("IT");
        if (subject[i] == '#' && std::isdigit(static_cast<unsigned char>(subject[i + 1]))) specific("#");
    }

    auto is_name = [&](std::string_view w) {
        if (std::find(own_names.begin(), own_names.end(), w) != own_names.end()) return true;
        for (auto& p : recipients)
            if (std::find(p.name_words.begin(), p.name_words.end(), w) != p.name_words.end()) return true;
        return false;
    };
    for (std::size_t i = 0; i < words.size(); ++i) {
        std::string_view w = words[i];
        if (lx.application_words.find(w) != lx.application_words.end()) r.applies = true;
        if (all_digits(w)) {
            if (!plain_number(w)) specific(w);
            continue;
        }
        if (mixed_reference(w)) {
            specific(w);
            continue;
        }
        if (lx.subject_application_words.contains(w) || lx.subject_fillers.find(w) != lx.subject_fillers.end() ||
            lx.subject_greetings.find(w) != lx.subject_greetings.end() || is_name(w) ||
            generic_compound(w, lx.subject_application_words))
            continue;
        specific(w);
    }

    // An organisation named, even in generic words ("Work & Jobs Ltd" at
    // workandjobs.co.uk), makes it specific.
    if (r.generic && !words.empty()) {
        TextIndex index(std::move(words));
        for (auto& p : recipients)
            for (auto& k : p.org_keys)
                if (index.names_key(k)) specific(k);
    }
    return r;
}

} // namespace rapport::policies
