// i18n.h - rapportd's and rapportctl's own sentences in the reader's
// language: the held notice mailed to a sender, rapportctl's held list and
// outcomes. (The findings have their own catalogue, policies/advice.h; the
// page and the add-on keep theirs in JSON.)
//
//   tr_in("fr", "held", "No messages are held.")           -> "Aucun message n'est retenu."
//   tr_plural_in("de", "outcomes", "{n} follow-up due", "{n} follow-ups due", 2)
//   terminal_language()                                   -> "pl" under LANG=pl_PL.UTF-8
//   long_date("de", 1700000000)                           -> "14. November 2023, 22:13 UTC"
//
// The messages are daemon/po/<lang>.po (domain "rapport"); the English text
// is the msgid and xgettext finds it through tr_in / tr_plural_in here and
// tr / tr_plural in daemon/ctl (scripts/update-po). {name} placeholders are
// filled with policies::fill. Thread-safe.

#pragma once

#include "policies/catalogue.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace rapport::daemon {

// The "rapport" domain (daemon/po/*.po).
const policies::Catalogue& daemon_catalogue();

std::string tr_in(std::string_view lang, const char* context, const char* msgid);
std::string tr_plural_in(std::string_view lang, const char* context, const char* singular, const char* plural, long n);

// The language of this process's terminal where a catalogue exists, else
// "en": GNU's LANGUAGE list first (unless the locale is C/POSIX), then
// LC_ALL, LC_MESSAGES, LANG - as gettext itself decides.
std::string terminal_language();

// A date and time in `lang`'s long form, in UTC ("14 November 2023, 22:13
// UTC"; English as in Britain), from ICU's data through Boost.Locale.
std::string long_date(std::string_view lang, std::int64_t unix_seconds);

} // namespace rapport::daemon
