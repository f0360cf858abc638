// generic-greeting (job seeking): the greeting addresses nobody - "Dear
// Sir/Madam", "To whom it may concern", "Hello," alone, "Madame,
// Monsieur", "Sehr geehrte Damen und Herren", "Szanowni Państwo",
// "Estimados señores" (policies/data/generic_greetings.txt) - or there is
// no greeting at all and the text starts straight in. A greeting to a role
// or team ("Dear Hiring Manager", role_greetings.txt) is generic only when
// a recipient's own name is known. A placeholder greeting is
// unfilled-placeholder's, not this rule's. Ordinary mail is not judged
// (rule.h): a note to a flatmate needs no greeting.

#include "policies/rules/greeting.h"
#include "policies/rules/rule.h"

namespace rapport::policies {

std::optional<std::string> check_generic_greeting(const RuleInput& in) {
    const Features& f = in.f;
    if (greeting_has_placeholder(f)) return std::nullopt;
    Greeting g = read_greeting(f);
    const Person* known = nullptr;
    for (auto& r : f.recipients)
        if (r.name_known()) {
            known = &r;
            break;
        }
    if (g.kind == GreetingKind::none) {
        if (known)
            return "Your message doesn't greet anyone: start with the person's name, e.g. \"Dear " +
                   display_of(f, *known) + ",\".";
        return "Your message doesn't greet anyone: start with the person's name (the advert, the company's "
               "website or LinkedIn usually shows it).";
    }
    if (g.kind == GreetingKind::generic) {
        std::string msg = "\"" + f.parts.greeting + "\" doesn't address anyone. ";
        if (known)
            return msg + "This goes to " + display_of(f, *known) + ": greet them by name.";
        return msg + "Find the name of the person who will read it (the advert, the company's website or "
                     "LinkedIn usually shows it) and greet them by name.";
    }
    if (g.kind == GreetingKind::role && known)
        return "\"" + f.parts.greeting + "\" greets a job title, but you know who this goes to: " +
               display_of(f, *known) + ". Use their name.";
    return std::nullopt;
}

} // namespace rapport::policies
