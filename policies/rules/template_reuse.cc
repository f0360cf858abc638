// template-reuse (new mail): the own words, with names and organisations
// masked, are near-duplicates of earlier messages from this sender, and the
// distinct recipients of those and this one within window_days reach
// min_recipients. One message to many never fires this by itself: at least
// one earlier, separate message must share the text.

#include "policies/rules/rule.h"

#include <string>
#include <vector>

namespace rapport::policies {

std::optional<Advice> check_template_reuse(const RuleInput& in) {
    const Features& f = in.f;
    const Memory& mem = in.memory;
    if (mem.history == nullptr || mem.print.empty()) return std::nullopt;
    std::int64_t window = static_cast<std::int64_t>(in.settings.window_days) * 86400;
    std::vector<std::string> to;
    for (auto& r : f.recipients) to.push_back(r.address);
    auto similar = mem.history->count_similar(f.account, mem.print, f.time - window, f.time, to, f.sender.address);
    if (!similar.found) return std::nullopt;
    const std::size_t people = similar.people;
    if (people < static_cast<std::size_t>(in.settings.min_recipients)) return std::nullopt;
    return advice_plural("template-reuse",
                         // TRANSLATORS: {people} is how many people got almost the same text; {days} the
                         // days looked back over (30).
                         "You've sent almost the same text to {people} person in the last {days} days. Readers can "
                         "spot a pasted letter: rewrite the opening and one paragraph for this organisation - what "
                         "draws you to it and what you'd do there.",
                         "You've sent almost the same text to {people} people in the last {days} days. Readers can "
                         "spot a pasted letter: rewrite the opening and one paragraph for this organisation - what "
                         "draws you to it and what you'd do there.",
                         static_cast<long>(people),
                         {{"people", std::to_string(people)}, {"days", std::to_string(in.settings.window_days)}});
}

} // namespace rapport::policies
