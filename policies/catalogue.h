// catalogue.h - one gettext domain (a set of .po files, one per language),
// compiled in, for the sentences people read.
//
//   Catalogue c("coach", coach_catalogue, coach_catalogue_languages());
//   c.text("fr", "vague-subject", "The subject is empty: ...")     -> "L'objet est vide : ..."
//   c.plural("pl", "bulk-recipients", "... {count} employer ...", "... {count} employers ...", 5)
//   fill("Dear {name},", {{"name", "Anna"}})                         -> "Dear Anna,"
//
// The source language is English: a message's English text is its msgid
// (with the rule or screen it belongs to as msgctxt), so the code reads as
// it prints, and xgettext finds every message (scripts/update-po). The
// translations are .po files a translator edits; cmake/Catalogues.cmake
// compiles them with msgfmt and embeds the .mo bytes. Boost.Locale reads
// them (its gnu_gettext messages facet, fed from memory), plural forms
// included - each language's own rule from its Plural-Forms header.
//
// Placeholders are {name}: filled by fill(), after the lookup, in one pass
// (a filled-in value that itself contains "{x}" stays as it is). A
// translation may reorder them; tests/i18n/catalogues_test.py checks that it
// keeps each one.
//
// Contract: a language without a catalogue, or a message a catalogue lacks,
// reads in English (the tests make sure no shipped language lacks one).
// Thread-safe: the locales are built in the constructor and only read.

#pragma once

#include <initializer_list>
#include <locale>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::policies {

class Catalogue {
public:
    // `mo(lang)` returns the compiled catalogue of `lang` (empty: none).
    using Loader = std::string_view (*)(std::string_view lang);
    Catalogue(std::string domain, Loader mo, const std::vector<std::string>& languages);

    // "en" and the languages with a catalogue: {"en", "de", "es", "fr", "pl"}.
    const std::vector<std::string>& languages() const { return languages_; }
    bool has(std::string_view lang) const;

    // The translation of `msgid` in `lang`, or msgid itself (English).
    std::string text(std::string_view lang, const char* context, const char* msgid) const;
    // The form for `n` of a message with a plural.
    std::string plural(std::string_view lang, const char* context, const char* singular, const char* plural_form,
                       long n) const;
    // Whether `lang`'s catalogue has its own text for the message (tests).
    bool translated(std::string_view lang, const char* context, const char* msgid) const;

private:
    const std::locale* locale_of(std::string_view lang) const;
    std::string domain_;
    std::vector<std::string> languages_;
    std::map<std::string, std::locale, std::less<>> locales_; // one per catalogue
};

using Facts = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// `text` with each {name} replaced by its fact; an unknown {name} stays.
std::string fill(std::string_view text, Facts facts);
std::string fill(std::string_view text, const std::vector<std::pair<std::string, std::string>>& facts);

} // namespace rapport::policies
