// advice.h - what a rule tells the sender, and how it reads in each language.
//
// A rule does not write its sentence itself: it returns an Advice - which
// message (its English text, the msgid of the findings' catalogue, with the
// rule's id as context) and the facts to fill in - and the Checker has it
// said in the sender's language once it knows the message has findings:
//
//   return advice("greeting-mismatch",
//                 "The greeting \"{greeting}\" doesn't match who this goes to ({name}). ...",
//                 {{"greeting", f.parts.greeting}, {"name", display_of(f, *known)}});
//   say(a, "de")  -> "Die Anrede „Hallo Tom,“ passt nicht zum Empfänger (Anna Kowalska). ..."
//
// advice() and advice_plural() are the keywords scripts/update-po gives
// xgettext: their first two (three) arguments must be string literals.
// The translations are policies/po/<lang>.po (a translator's guide and the
// glossaries: docs/translating.md). Building an Advice costs a few small
// strings; it happens only when a rule fires.

#pragma once

#include "policies/catalogue.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::policies {

struct Advice {
    const char* rule = "";             // msgctxt: the rule's id
    const char* english = "";          // msgid: the sentence in English, with {name} slots
    const char* english_plural = nullptr; // msgid_plural, for a sentence with a count
    long count = 0;                    // picks the plural form
    std::vector<std::pair<std::string, std::string>> facts; // {"name", "Anna Kowalska"}
};

inline Advice advice(const char* rule, const char* english, std::vector<std::pair<std::string, std::string>> facts = {}) {
    return Advice{rule, english, nullptr, 0, std::move(facts)};
}
inline Advice advice_plural(const char* rule, const char* singular, const char* plural, long count,
                            std::vector<std::pair<std::string, std::string>> facts = {}) {
    return Advice{rule, singular, plural, count, std::move(facts)};
}

// The findings' catalogue (domain "coach", policies/po/*.po).
const Catalogue& coach_catalogue();

// The advice as a sentence in `lang` (English for a language without a catalogue).
std::string say(const Advice& a, std::string_view lang);

} // namespace rapport::policies
