// bulk-recipients (job seeking): one message to min_parties or more parties
// at once. A party is a registrable domain, or the address itself for free
// mail; the sender's own address and own (non-free-mail) domain are no one.

#include <algorithm>
#include "policies/rules/rule.h"

#include <set>

namespace rapport::policies {

std::optional<Advice> check_bulk_recipients(const RuleInput& in) {
    const Features& f = in.f;
    std::set<std::string> parties;
    std::string own_domain = f.sender.freemail || f.sender.domain.empty() ? "" : registrable_domain(f.sender.domain);
    for (auto& r : f.recipients) {
        if (!own_domain.empty() && r.party == own_domain) continue;
        parties.insert(r.party);
    }
    if (parties.size() < static_cast<std::size_t>(in.settings.min_parties)) return std::nullopt;
    return advice_plural("bulk-recipients",
                         // TRANSLATORS: {count} is how many employers (parties) the one message goes to.
                         "This application goes to {count} different employer at once, so they can see it isn't "
                         "really meant for them. Send each one its own message, addressed to the person who will "
                         "read it.",
                         "This application goes to {count} different employers at once, so each can see it isn't "
                         "really meant for them. Send each one its own message, addressed to the person who will "
                         "read it.",
                         static_cast<long>(parties.size()), {{"count", std::to_string(parties.size())}});
}

} // namespace rapport::policies
