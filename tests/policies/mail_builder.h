// mail_builder.h - hand-written test mail for the policy tests: a plain
// text message (attachments given by file name, as tiny PDFs), and what
// the checks make of it.

#pragma once

#include "mime/message.h"
#include "policies/checker.h"
#include "policies/features.h"
#include "policies/history.h"
#include "policies/policy.h"

#include <set>
#include <string>
#include <vector>

namespace rapport::test {

struct Mail {
    std::string from = "Jake Turner <jake.turner@gmail.com>";
    std::string to;
    std::string cc;
    std::string bcc;
    std::string subject = "Warehouse Team Leader application";
    std::string body;
    std::vector<std::string> attachments;
    std::string date = "Mon, 3 Mar 2025 09:00:00 +0000";
    std::string extra_headers;

    std::string raw() const {
        std::string h = "From: " + from + "\r\nTo: " + to + "\r\n";
        if (!cc.empty()) h += "Cc: " + cc + "\r\n";
        if (!bcc.empty()) h += "Bcc: " + bcc + "\r\n";
        h += "Subject: " + subject + "\r\nDate: " + date + "\r\nMessage-ID: <t@test>\r\n" + extra_headers;
        h += "MIME-Version: 1.0\r\n";
        if (attachments.empty())
            return h + "Content-Type: text/plain; charset=UTF-8\r\n\r\n" + body;
        std::string m = h + "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
                            "Content-Type: text/plain; charset=UTF-8\r\n\r\n" + body + "\r\n";
        for (auto& a : attachments)
            m += "--XX\r\nContent-Type: application/pdf; name=\"" + a +
                 "\"\r\nContent-Disposition: attachment; filename=\"" + a +
                 "\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n";
        return m + "--XX--\r\n";
    }
};

// The rules that fire on `m`, checked on its own with the default policy
// and an empty in-memory history.
inline std::set<std::string> rules_fired(const Mail& m) {
    policies::SqliteHistory history(":memory:");
    policies::Checker checker(policies::default_policy(), history);
    policies::Verdict v = checker.check(mime::parse(m.raw()));
    std::set<std::string> out;
    for (auto& f : v.findings) out.insert(f.rule);
    return out;
}

// Whether the checks read `m` as job seeking (SPEC.md "Job seeking").
inline bool job_seeking(const Mail& m) {
    mime::Message msg = mime::parse(m.raw());
    return policies::extract_features(msg, {}).job_seeking;
}

} // namespace rapport::test
