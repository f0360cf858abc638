// log.h - one line per event on stderr, safe from any thread.
//
// Levels follow Postfix: "warning:" (recovered), "error:" (an operation
// failed, the daemon goes on), "fatal:" (cannot go on), "panic:" (cannot
// happen) prefix the message; plain lines are information.
// Passwords and message bodies are never passed here.
//
// Under systemd (stderr is the journal: $JOURNAL_STREAM names it) each line
// carries an sd-daemon "<N>" priority prefix instead of the timestamp, so
// `journalctl -p warning -u rapportd` works; elsewhere the output is plain.

#pragma once

#include <string>

namespace rapport::daemon {

// syslog priorities (sd-daemon.h SD_CRIT ... SD_INFO).
enum class Level { crit = 2, err = 3, warning = 4, info = 6 };

// The level a message's prefix implies ("fatal: ..." -> err).
Level level_of(const std::string& msg);

void log_line(const std::string& msg); // level from the prefix
// A separate name, not an overload: `LogFn f = log_line;` must stay unambiguous.
void log_at(Level level, const std::string& msg);

} // namespace rapport::daemon
