// no-personalisation (job seeking): the own words name neither a
// recipient's name (first name or surname, whole word, ignoring case and
// accents) nor a recipient's organisation (ignoring case, spaces and
// punctuation, from the start of a word: "Kestrel Analytics Group" names
// kestrelanalytics.io, "workplace" does not name place.com; TextIndex::
// names_key). The greeting is not own words: "Dear Anna," alone names no one.

#include <algorithm>
#include "policies/rules/rule.h"

#include <set>

namespace rapport::policies {

// Is anyone or any organisation this message goes to named in the own words?
static bool names_a_recipient(const Features& f) {
    for (auto& r : f.recipients) {
        for (auto& n : r.name_words)
            if (n.size() >= 2 && f.own.has_word(n)) return true;
        for (auto& k : r.org_keys)
            if (f.own.names_key(k)) return true;
    }
    return false;
}

std::optional<Advice> check_no_personalisation(const RuleInput& in) {
    const Features& f = in.f;
    if (names_a_recipient(f)) return std::nullopt;
    std::set<std::string> parties;
    for (auto& r : f.recipients) parties.insert(r.party);
    if (parties.size() > 1)
        return advice("no-personalisation",
                      "Nothing in the message mentions any of the employers or the person you're writing to. Add a "
                      "sentence on why this organisation in particular - something about its work, the role, or how "
                      "you heard of it.");
    std::string org = organisation_label(f);
    if (org.empty())
        return advice("no-personalisation",
                      "Nothing in the message mentions the employer or the person you're writing to. Add a sentence "
                      "on why this organisation in particular - something about its work, the role, or how you "
                      "heard of it.");
    return advice("no-personalisation",
                  // TRANSLATORS: {organisation} is the employer's name as read from its address ("Pellham").
                  "Nothing in the message mentions {organisation} or the person you're writing to. Add a sentence "
                  "on why this organisation in particular - something about its work, the role, or how you heard "
                  "of it.",
                  {{"organisation", org}});
}

} // namespace rapport::policies
