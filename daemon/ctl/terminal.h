// terminal.h - what rapportctl prints for people, in the terminal's language.
//
//   std::cout << tr("held", "No messages are held.") << "\n";            // LANG=de_DE.UTF-8: German
//   tr_plural("outcomes", "{n} follow-up due", "{n} follow-ups due", 3)
//   pad("Subject:", 12)                                                  // to a column, in characters
//   local_time(1765116300)                                               // "2026-12-07 14:05", local time
//
// The language is terminal_language() (daemon/lib/i18n.h), decided once per
// run; without a catalogue for it, English. JSON output (--json) is never
// translated: scripts read it.

#pragma once

#include "daemon/lib/i18n.h"
#include "policies/catalogue.h"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace rapport::ctl {

inline const std::string& terminal_lang() {
    static const std::string lang = daemon::terminal_language();
    return lang;
}

inline std::string tr(const char* context, const char* msgid) {
    return daemon::tr_in(terminal_lang(), context, msgid);
}

inline std::string tr_plural(const char* context, const char* singular, const char* plural, long n) {
    return daemon::tr_plural_in(terminal_lang(), context, singular, plural, n);
}

using policies::fill;

// Characters (not bytes) in UTF-8 text, for lining up columns.
inline std::size_t width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// `s` followed by spaces up to `column` characters (at least one space).
inline std::string pad(const std::string& s, std::size_t column) {
    std::size_t w = width(s);
    return s + std::string(w < column ? column - w : 1, ' ');
}

// A time in the terminal's time zone: "2026-12-07 14:05".
inline std::string local_time(std::int64_t t) {
    char buf[32];
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::localtime_r(&tt, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

} // namespace rapport::ctl
