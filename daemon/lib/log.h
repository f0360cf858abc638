// log.h - one line per event on stderr, safe from any thread.
//
// Levels follow Postfix: "warning:" (recovered), "fatal:" (cannot go on),
// "panic:" (cannot happen) prefix the message; plain lines are information.
// Passwords and message bodies are never passed here.

#pragma once

#include <string>

namespace rapport::daemon {

void log_line(const std::string& msg);

} // namespace rapport::daemon
