// background.h - threads whose work can wait behind the replies.
//
// Background work (checks, relay, spool log segments) runs at nice 10 so that the
// network thread and the spool writers - the path to every 250 - win the
// CPU on a busy machine. Linux applies nice per thread; a refusal (seccomp,
// rlimits) is harmless and ignored.

#pragma once

namespace rapport::daemon {

// Call first thing on a background thread.
void lower_this_threads_priority();

} // namespace rapport::daemon
