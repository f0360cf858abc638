// dsn.cc - see dsn.h. One pass over the lines; each loop is bounded by its input.

#include "mime/dsn.h"

#include "mime/charset.h"
#include "mime/transfer.h"
#include "mime/message.h"

#include <cctype>

namespace rapport::mime {
namespace {

using detail::iequals;
using detail::lower;
using detail::trim;

struct Field {
    std::string name;
    std::string value;
};
using Group = std::vector<Field>;

// Splits into groups of unfolded fields; blank lines (spaces only count as
// blank) end a group. A line that is neither a field nor a continuation is
// skipped with a problem noted: the rest of the group may still be good.
std::vector<Group> groups_of(std::string_view text, std::vector<std::string>& problems) {
    std::vector<Group> out(1);
    bool noted = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t e = text.find('\n', pos);
        std::size_t next = e == std::string_view::npos ? text.size() : e + 1;
        std::string_view line = text.substr(pos, (e == std::string_view::npos ? text.size() : e) - pos);
        pos = next;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim(line).empty()) {
            if (!out.back().empty()) out.emplace_back();
            continue;
        }
        if ((line.front() == ' ' || line.front() == '\t') && !out.back().empty()) {
            auto& v = out.back().back().value;
            if (v.size() < 4096) v.append(" ").append(trim(line));
            continue;
        }
        auto colon = line.find(':');
        std::string_view name = colon == std::string_view::npos ? std::string_view{} : trim(line.substr(0, colon));
        bool valid = !name.empty();
        for (char c : name) valid &= static_cast<unsigned char>(c) > 32 && static_cast<unsigned char>(c) < 127;
        if (!valid) {
            if (!noted) problems.push_back("a line in the delivery status is not a field");
            noted = true;
            continue;
        }
        out.back().push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
    }
    if (out.back().empty()) out.pop_back();
    return out;
}

// "rfc822; <Jobs@Acme.example>" -> "Jobs@Acme.example"; an untyped value is
// taken as the address.
std::string address_of(std::string_view v) {
    auto semi = v.find(';');
    if (semi != std::string_view::npos) v = v.substr(semi + 1);
    v = trim(v);
    if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = trim(v.substr(1, v.size() - 2));
    return std::string(v);
}

bool is_recipient_field(std::string_view name) {
    for (const char* f : {"Final-Recipient", "Original-Recipient", "Action", "Status", "Diagnostic-Code",
                          "Remote-MTA", "Last-Attempt-Date", "Will-Retry-Until", "Final-Log-ID", "X-Actual-Recipient"})
        if (iequals(name, f)) return true;
    return false;
}

} // namespace

bool DsnRecipient::failed() const {
    if (!action.empty()) return action == "failed";
    return !status.empty() && status[0] == '5';
}

DeliveryStatus parse_delivery_status(std::string_view text) {
    DeliveryStatus ds;
    if (text.size() > kMaxReportBytes) {
        text = text.substr(0, kMaxReportBytes);
        ds.problems.push_back("delivery status longer than " + std::to_string(kMaxReportBytes) + " bytes; the rest ignored");
    }
    std::vector<Group> groups = groups_of(text, ds.problems);

    // A gateway that took the status part for a message re-encoded its
    // "body": the groups after the first, announced in the first.
    if (!groups.empty()) {
        std::string cte;
        for (const auto& f : groups.front())
            if (iequals(f.name, "Content-Transfer-Encoding")) cte = lower(trim(f.value));
        if (cte == "base64" || cte == "quoted-printable") {
            // The encoded text begins after the blank line that ends the first group.
            std::size_t start = text.size();
            bool in_group = false;
            for (std::size_t pos = 0; pos < text.size();) {
                std::size_t e = text.find('\n', pos);
                std::size_t next = e == std::string_view::npos ? text.size() : e + 1;
                bool empty = trim(text.substr(pos, next - pos)).empty();
                if (empty && in_group) {
                    start = next;
                    break;
                }
                in_group |= !empty;
                pos = next;
            }
            bool bad = false;
            std::string decoded = cte == "base64" ? detail::decode_base64(text.substr(start), &bad)
                                                  : detail::decode_qp(text.substr(start), &bad);
            if (bad) ds.problems.push_back("bad " + cte + " in the delivery status");
            Group first = std::move(groups.front());
            std::vector<std::string> ignored;
            groups = groups_of(detail::sanitize_utf8(decoded), ignored);
            groups.insert(groups.begin(), std::move(first));
        }
    }

    for (std::size_t g = 0; g < groups.size(); ++g) {
        DsnRecipient r;
        bool have = false;
        auto flush = [&] {
            if (have && ds.recipients.size() < kMaxDsnRecipients) ds.recipients.push_back(std::move(r));
            else if (have && ds.recipients.size() == kMaxDsnRecipients)
                ds.problems.push_back("more than " + std::to_string(kMaxDsnRecipients) + " recipients; the rest ignored");
            r = DsnRecipient{};
            have = false;
        };
        for (const auto& f : groups[g]) {
            const std::string& n = f.name;
            std::string v = detail::sanitize_utf8(f.value);
            if (iequals(n, "Reporting-MTA")) {
                if (ds.reporting_mta.empty()) ds.reporting_mta = v;
            } else if (iequals(n, "Original-Envelope-Id")) {
                if (ds.original_envelope_id.empty()) ds.original_envelope_id = v;
            } else if (is_recipient_field(n)) {
                // Two of the same field in one group: the report left out the
                // blank line between two recipients.
                bool repeat = (iequals(n, "Final-Recipient") && !r.final_recipient.empty()) ||
                              (iequals(n, "Original-Recipient") && !r.original_recipient.empty() &&
                               !r.final_recipient.empty()) ||
                              (iequals(n, "Action") && !r.action.empty());
                if (repeat) flush();
                have = true;
                if (iequals(n, "Final-Recipient")) r.final_recipient = address_of(v);
                else if (iequals(n, "Original-Recipient")) r.original_recipient = address_of(v);
                else if (iequals(n, "Action")) {
                    std::string a = lower(trim(v));
                    auto sp = a.find_first_of(" \t(");
                    r.action = a.substr(0, sp);
                } else if (iequals(n, "Status")) {
                    std::string_view sv = trim(v);
                    std::size_t i = 0;
                    while (i < sv.size() && (std::isdigit(static_cast<unsigned char>(sv[i])) || sv[i] == '.')) ++i;
                    r.status = std::string(sv.substr(0, i));
                } else if (iequals(n, "Diagnostic-Code")) r.diagnostic = v;
            }
        }
        flush();
    }
    if (ds.recipients.empty()) ds.problems.push_back("the delivery status names no recipient");
    return ds;
}

} // namespace rapport::mime
