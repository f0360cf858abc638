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

std::optional<Advice> check_generic_greeting(const RuleInput& in) {
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
            return advice("generic-greeting",
                          // TRANSLATORS: {name} is the recipient's name as known ("Priya Shah"). The example is
                          // a greeting a job seeker in your language would write to a named person.
                          "Your message doesn't greet anyone: start with the person's name, e.g. \"Dear {name},\".",
                          {{"name", display_of(f, *known)}});
        return advice("generic-greeting",
                      "Your message doesn't greet anyone: start with the person's name (the advert, the company's "
                      "website or LinkedIn usually shows it).");
    }
    if (g.kind == GreetingKind::generic) {
        if (known)
            return advice("generic-greeting",
                          // TRANSLATORS: {greeting} is the greeting line as the sender wrote it ("Dear Sir/Madam,").
                          "\"{greeting}\" doesn't address anyone. This goes to {name}: greet them by name.",
                          {{"greeting", f.parts.greeting}, {"name", display_of(f, *known)}});
        return advice("generic-greeting",
                      "\"{greeting}\" doesn't address anyone. Find the name of the person who will read it (the "
                      "advert, the company's website or LinkedIn usually shows it) and greet them by name.",
                      {{"greeting", f.parts.greeting}});
    }
    if (g.kind == GreetingKind::role && known)
        return advice("generic-greeting",
                      "\"{greeting}\" greets a job title, but you know who this goes to: {name}. Use their name.",
                      {{"greeting", f.parts.greeting}, {"name", display_of(f, *known)}});
    return std::nullopt;
}

} // namespace rapport::policies
