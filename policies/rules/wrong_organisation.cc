// wrong-organisation (job seeking): the own words name an organisation this
// sender wrote to earlier (from history) while the recipient is at another
// organisation that the own words do not name - a copy-paste leftover.

#include "policies/rules/rule.h"

#include <algorithm>
#include <cctype>

namespace rapport::policies {

std::optional<Advice> check_wrong_organisation(const RuleInput& in) {
    const Features& f = in.f;
    std::vector<std::string> current;
    for (auto& r : f.recipients)
        for (auto& k : r.org_keys) current.push_back(k);
    if (current.empty()) return std::nullopt; // no organisation to compare with
    for (auto& k : current)
        if (f.own.names_key(k)) return std::nullopt; // the right one is named
    auto is_current = [&](const std::string& k) {
        return std::find(current.begin(), current.end(), k) != current.end();
    };
    auto is_own = [&](const std::string& k) {
        return std::find(f.sender.org_keys.begin(), f.sender.org_keys.end(), k) != f.sender.org_keys.end();
    };
    for (auto& earlier : in.memory.earlier_orgs) {
        if (earlier.size() < 3 || is_current(earlier) || is_own(earlier)) continue;
        if (!f.own.names_key(earlier)) continue;
        std::string now = organisation_label(f);
        std::string then = earlier;
        then[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(then[0])));
        if (now.empty())
            return advice("wrong-organisation",
                          // TRANSLATORS: {earlier} is an organisation the sender wrote to before; {organisation} the
                          // one this message goes to. Both are names ("Halden", "Pellham").
                          "The message mentions {earlier}, which you wrote to before, but it's going to someone "
                          "else, which it never names. It looks like a leftover from an earlier letter - check every "
                          "name.",
                          {{"earlier", then}});
        return advice("wrong-organisation",
                      "The message mentions {earlier}, which you wrote to before, but it's going to {organisation}, "
                      "which it never names. It looks like a leftover from an earlier letter - check every name.",
                      {{"earlier", then}, {"organisation", now}});
    }
    return std::nullopt;
}

} // namespace rapport::policies
