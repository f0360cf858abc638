// language.h - which language Rapport coaches a sender in, decided here
// and nowhere else (SPEC.md "The offline checker": every flag's `lang`).
//
//   parse_language_setting("fr_FR.UTF-8")     -> "fr"      ("auto" -> "auto"; "it" -> nullopt)
//   effective_setting({member, daemon})      -> the first that is not "auto"
//   coach_language(features, "auto")          -> "pl" for a letter in Polish
//
// By default a finding is written in the language of the mail's own words:
// the words are counted against short everyday words of each language
// (policies/data/language_words.txt: articles, pronouns, prepositions,
// greetings and sign-offs, as a maintainer extends them). The own words
// decide when they show a language at least twice and more often than any
// other; when they don't (a CV with one line), the greeting, the sign-off
// and the subject are counted as well; still nothing: English.
//
// Cost: a hash lookup per word (the words' hashes come from the TextIndex
// the rules use), at most the first 300 words, and it stops once one
// language clearly leads - and it runs only for a message with findings
// (a message nobody is told about needs no language).
//
// A setting ("auto" or a language) comes from `rapportctl check --lang`, the
// daemon's `[coach] language` or a job club member's own; a language
// Rapport has no catalogue for is refused when the setting is read.

#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies {

struct Features;

// The languages Rapport coaches in: "en" and every language with a
// catalogue of findings (policies/po/<lang>.po).
const std::vector<std::string>& coach_languages();

// "auto", or a supported language from a code or locale name ("fr",
// "FR", "fr-CA", "fr_FR.UTF-8", "de_AT@euro"); nullopt for anything else.
std::optional<std::string> parse_language_setting(std::string_view s);
// "auto or one of en, de, es, fr, pl", for error messages.
std::string language_setting_choices();

// The first setting that names a language ("" counts as "auto"), or "auto".
std::string effective_setting(std::initializer_list<std::string_view> settings);

// The language the mail's own words are written in (coach_languages()),
// "en" when it can't be told.
std::string detect_language(const Features& f);

// `setting` ("auto" or a language) applied to this mail.
std::string coach_language(const Features& f, std::string_view setting);

} // namespace rapport::policies
