// greeting-mismatch (job seeking): the greeting names a person who matches
// none of the recipients, where at least one recipient's name is known.

#include <algorithm>
#include "policies/rules/greeting.h"
#include "policies/rules/rule.h"

namespace rapport::policies {

std::optional<Advice> check_greeting_mismatch(const RuleInput& in) {
    const Features& f = in.f;
    if (greeting_has_placeholder(f)) return std::nullopt;
    Greeting g = read_greeting(f);
    if (g.kind != GreetingKind::named) return std::nullopt;
    const Person* known = nullptr;
    for (auto& r : f.recipients)
        if (r.name_known() && !known) known = &r;
    if (!known) return std::nullopt;
    for (auto& word : g.names) {
        bool matched = false;
        for (auto& r : f.recipients)
            if (name_matches(word, r)) matched = true;
        if (!matched)
            return advice("greeting-mismatch",
                          // TRANSLATORS: {greeting} is the greeting line as written; {name} the name of the recipient.
                          "The greeting \"{greeting}\" doesn't match who this goes to ({name}). Check the name "
                          "before sending - a wrong name is the quickest way to the 'no' pile.",
                          {{"greeting", f.parts.greeting}, {"name", display_of(f, *known)}});
    }
    return std::nullopt;
}

} // namespace rapport::policies
