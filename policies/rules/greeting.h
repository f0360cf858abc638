// greeting.h - reading the greeting line, shared by the two greeting rules.

#pragma once

#include "policies/features.h"

#include <string>
#include <vector>

namespace rapport::policies {

enum class GreetingKind {
    none,        // no greeting line
    generic,     // addresses nobody ("Dear Sir/Madam", "Hello,")
    role,        // a role or team ("Dear Hiring Manager")
    named,       // names someone ("Hi Tom", "Sehr geehrter Herr Köhler")
    other,       // something else ("Hello love", "Hi all")
};

struct Greeting {
    GreetingKind kind = GreetingKind::none;
    std::vector<std::string> names; // folded name words, for `named`
};

Greeting read_greeting(const Features& f);

// Does a greeting name word match this recipient's known name? Whole word,
// ignoring case and accents; a short form matches ("Dan" for "Daniel").
bool name_matches(const std::string& word, const Person& p);

} // namespace rapport::policies
