// vague-subject (job seeking): the subject does not say what the mail is
// about - it is empty, or it names no role or field of work, no reference
// number and no organisation.
//
// How it is decided (policies/subject.h): every word of the subject is
// read on its own, so generic words compose in any order and language.
// Generic application words ("Application", "opportunities", "Demande de
// stage", "Anfrage zu offenen Stellen", "Zapytanie o pracę"), fillers,
// greetings, the sender's and the recipients' own names, and numbers such
// as a year say nothing; a role or field ("Sous-chef", "Horticulture
// apprenticeship"), a reference ("Ref. 2025-114", "JR2291") or a
// recipient's organisation named makes the subject specific. The word
// lists are policies/data/subject_application_words.txt,
// subject_fillers.txt and subject_greetings.txt.

#include "policies/rules/rule.h"

namespace rapport::policies {

std::optional<Advice> check_vague_subject(const RuleInput& in) {
    const Features& f = in.f;
    if (!f.subject.generic) return std::nullopt;
    if (f.subject_words.empty())
        return advice("vague-subject",
                      "The subject is empty: it doesn't say what you're applying for. Put the role (and any "
                      "reference number) in it, e.g. \"Warehouse Team Leader - application\".");
    return advice("vague-subject",
                  // TRANSLATORS: {subject} is the subject as written. The example is a subject a job seeker in your
                  // language would write.
                  "The subject \"{subject}\" is too general: it doesn't say what you're applying for. Put the role "
                  "(and any reference number) in it, e.g. \"Warehouse Team Leader - application\".",
                  {{"subject", f.msg->subject}});
}

} // namespace rapport::policies
