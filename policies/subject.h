// subject.h - what a subject says (SPEC.md vague-subject).
//
// A job seeker's subject is specific when it names a role or a field of
// work, a reference number or an organisation; it is vague when it is
// empty or made only of words that say none of these, in any order and
// language: generic application words ("Application", "Praktikum",
// "opportunities"), fillers ("for", "de", "zu"), greetings ("Hello"), the
// sender's or a recipient's own name, and numbers that are no reference
// (a year, a day). Each word is read on its own:
//
//   word                                  reads as
//   in subject_application_words.txt      generic (German compounds of
//                                         them too: "Praktikumsanfrage")
//   in subject_fillers.txt / _greetings   generic
//   a name of the sender or a recipient   generic
//   digits: a year, a day, a count        generic
//   digits with letters ("JR2291"), three
//   or more digits ("Ref. 114"), "#12"    a reference: specific
//   a recipient's organisation named      specific
//   any other word ("Sous-chef", "IT")    specific: a role or a field
//
//   SubjectReading r = read_subject("Demande de stage", names, recipients);
//   r.generic -> true, r.applies -> true
//
// The word lists are in policies/data/, one entry per line, for a
// maintainer to extend: a generic word missing from them makes a vague
// subject look specific (a missed flag), never the reverse.

#pragma once

#include "policies/people.h"

#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies {

struct SubjectReading {
    bool generic = true;     // says nothing specific (also when empty)
    bool applies = false;    // has an application word ("CV", "Bewerbung"): application_words.txt
    std::string specific;    // the first word that made it specific, as folded
};

// `own_names`: folded words of the sender's own name (display name,
// signature); `recipients`: the message's recipients, whose names say
// nothing of the subject's matter and whose organisations make it specific.
SubjectReading read_subject(std::string_view subject, const std::vector<std::string>& own_names,
                            const std::vector<Person>& recipients);

} // namespace rapport::policies
