// features.h - what the checks need to know about one message, computed once.
//
// Features are derived from the MIME model (and the send context) only:
// the own words and greeting (split_text), whether it is a reply, a
// forward, job seeking, who the recipients are as people and parties, and
// which attachments are CVs. Every rule reads these; none re-parses mail.

#pragma once

#include "mime/message.h"
#include "policies/letter.h"
#include "policies/people.h"
#include "policies/subject.h"
#include "policies/text_index.h"

#include <cstdint>
#include <string>
#include <vector>

namespace rapport::policies {

struct Features {
    const mime::Message* msg = nullptr;
    std::string account;             // whose history
    std::int64_t time = 0;           // send time

    Person sender;
    std::vector<Person> recipients;  // To, Cc, Bcc, envelope; deduplicated; sender excluded

    TextParts parts;
    std::string own_text;            // parts.own_words()
    TextIndex own;                   // folded words of own_text, indexed
    std::vector<std::string> subject_words;
    SubjectReading subject;          // what the subject says (policies/subject.h)

    bool reply = false;              // SPEC.md "Reply"
    bool forward = false;            // FW:/Fwd: carrying the earlier message
    bool job_seeking = false;        // SPEC.md "Job seeking" (new mail only)
    std::string job_evidence;        // what showed it: "a CV attached", or the pattern matched

    std::vector<const mime::Attachment*> cv_attachments;
    std::vector<const mime::Attachment*> documents;  // document-type attachments
};

struct FeatureInputs {
    std::string account;
    std::vector<std::string> envelope_recipients;
    std::int64_t now = 0;
};

Features extract_features(const mime::Message& msg, const FeatureInputs& in);

// Does the subject start with a forward prefix (FW:, Fwd:, WG:, TR:, RV:, PD:)?
bool is_forward_subject(std::string_view subject);
// Does the subject start with a reply prefix (Re:, AW:, RE:, Odp:, SV:)?
bool is_reply_subject(std::string_view subject);

// Does this file name name a CV (any supported language)?
bool is_cv_filename(std::string_view filename);

} // namespace rapport::policies
