// vague-subject (job seeking): the subject is empty or only generic words
// ("CV", "Job application", "Bewerbung", "Candidature", ...). A role or an
// organisation named makes it specific; the sender's own name does not.

#include <algorithm>
#include "policies/lexicon.h"
#include "policies/rules/rule.h"

#include <cctype>

namespace rapport::policies {

std::optional<std::string> check_vague_subject(const RuleInput& in) {
    const Features& f = in.f;
    const Lexicon& lx = lexicon();
    // The sender's own name (also as signed in a shared mailbox) says nothing.
    // Only the name line is taken from the signature: a job title there
    // ("Warehouse Operative") must still make the subject specific.
    std::vector<std::string> own_names = f.sender.name_words;
    std::string_view sig = f.parts.signature;
    for (auto& w : mime::words(sig.substr(0, sig.find('\n')))) own_names.push_back(w);
    for (auto& w : mime::words(f.parts.signoff)) own_names.push_back(w);
    for (auto& w : f.subject_words) {
        if (lx.vague_subject_words.count(w)) continue;
        if (std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
            continue;
        if (std::find(own_names.begin(), own_names.end(), w) != own_names.end()) continue;
        return std::nullopt; // a specific word
    }
    std::string what = f.msg->subject.empty() ? std::string("The subject is empty")
                                              : "The subject \"" + f.msg->subject + "\" is too general";
    return what + ": it doesn't say what you're applying for. Put the role (and any reference number) "
                  "in it, e.g. \"Warehouse Team Leader - application\".";
}

} // namespace rapport::policies
