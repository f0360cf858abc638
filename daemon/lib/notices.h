// notices.h - the mail Rapport writes itself to a sender: a delivery
// failure, a held message.
//
//   relay.notify({sender, failure_notice(host, id, sender, failed, original), ...});
//
// Plain UTF-8 text with a header section of its own: From MAILER-DAEMON at
// this host (the envelope sender is the null sender <>, so a notice can
// never cause mail about itself), Auto-Submitted, a Message-ID under this
// host's name. Header values from the original (its subject) are kept on
// one line and RFC 2047-encoded when not ASCII.

#pragma once

#include "daemon/lib/queue.h"
#include "policies/finding.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::daemon {

// Builds the notice told to the sender when recipients failed for good.
std::string failure_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                           const std::vector<RecipientState>& failed, std::string_view original);

// The notice told to the sender of a held message.
std::string held_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                        std::string_view subject, const std::vector<policies::Finding>& findings,
                        std::int64_t expires);

} // namespace rapport::daemon
