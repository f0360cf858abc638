// letter.h - the parts of a letter that SPEC.md names.
//
// A job seeker's mail reads: [pasted address block] greeting, own words,
// sign-off, signature, [P.S.], then perhaps a quoted earlier message or
// forwarded content. The checks judge only the "own words" (SPEC.md): the
// text above the greeting, the body and a P.S. after the signature; the
// greeting is judged on its own; the rest is set aside.
//
//   TextParts p = split_text(msg.text, {.sender_names = {"jake", "turner"}});
//   p.greeting   -> "Dear Ms Shah,"
//   p.own_words()-> "I'm applying for ..."
//
// The split works on lines, in four passes (policies/letter/):
//   1. quotes.cc     set aside quoted and forwarded material (">" lines
//                    with their attribution, then everything from the first
//                    reply or forward header: "On ... wrote:", "Le ... a
//                    écrit :", Outlook's From:/Sent: block, "-----Original
//                    Message-----", forward banners);
//   2. signature.cc  find the signature markers ("-- ", "Sent from my ...",
//                    disclaimers);
//   3. greeting.cc   find the greeting near the top (text above it is a
//                    preamble);
//   4. signoff.cc    find the sign-off near the bottom; what follows it is
//                    signature, except a P.S., which is own words again.
// The phrases each pass looks for are word lists in policies/data/
// (greeting_openers.txt, signoffs.txt, footers.txt, ...), in English,
// French, German, Spanish and Polish, matched on folded text (text.h), so
// "Grüße" matches "grusse". The split is heuristic; it never fails, and
// text it cannot place stays in the body.

#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies {

struct SplitHints {
    // Names of the sender (first, last, nickname; folded): a bare trailing
    // line made of them is a signature even without a sign-off ("Mike").
    std::vector<std::string> sender_names;
    // The subject starts with FW:/Fwd:/WG:/TR:: an Outlook From:/Sent: block
    // is then forwarded content, not a quoted reply.
    bool forward = false;
    // Names of the recipients (folded words): a first line made of them
    // alone ("Anna" / "Anna Kowalska") greets even without a comma.
    std::vector<std::string> recipient_names;
};

struct TextParts {
    std::string preamble;   // above the greeting (a pasted address block): own words
    std::string greeting;   // the greeting line, trimmed ("Dear Ms Shah,")
    std::string body;       // between greeting and sign-off: own words
    std::string signoff;    // "Kind regards,"
    std::string signature;  // name/contact block, "-- " block, "Sent from my iPhone", disclaimer
    std::string postscript; // P.S. after the signature: own words
    std::string quoted;     // quoted earlier message(s), with their header lines
    std::string forwarded;  // forwarded content, with its banner
    bool has_quote = false;     // a quoted earlier message was found
    bool has_forward = false;   // forwarded content was found

    // preamble + body + postscript, separated by blank lines.
    std::string own_words() const;
};

TextParts split_text(std::string_view text, const SplitHints& hints = {});

} // namespace rapport::policies
