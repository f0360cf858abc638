// dsn.h - the machine-readable part of a delivery status notification.
//
// A bounce that follows RFC 3464 is a multipart/report whose second part,
// message/delivery-status, lists what happened per recipient in header-like
// field groups:
//
//   Reporting-MTA: dns; mx.example.net          <- per-message fields
//
//   Final-Recipient: rfc822; jobs@acme.example  <- one group per recipient
//   Action: failed
//   Status: 5.1.1
//   Diagnostic-Code: smtp; 550 5.1.1 no such user
//
// mime::parse() keeps that part, transfer-decoded, in
// Message::delivery_status, and the returned message's header section in
// Message::returned_headers; parse_delivery_status() reads the first:
//
//   Message m = parse(raw);
//   DeliveryStatus ds = parse_delivery_status(m.delivery_status);
//   for (auto& r : ds.recipients) if (r.failed()) ... r.address() ...
//
// Pure parsing: no I/O, no SMTP, no IMAP. Never throws; reads untrusted
// bytes as far as they go and names each oddity in `problems`.
// Lenient where real reports are sloppy: groups separated by several blank
// lines or by none (a repeated recipient field starts the next recipient),
// fields in any order, "Status" without "Action" (5.x.x counts as failed),
// RFC 6533's UTF-8 (message/global-delivery-status), and reports a gateway
// re-encoded (the per-message group then carries a
// Content-Transfer-Encoding of base64 or quoted-printable for the groups
// after it; Proofpoint does this).
// Limits: at most kMaxDsnRecipients recipients; input beyond
// kMaxReportBytes (message.h) is not looked at.
// RFCs: 3464 (DSN), 6522 (multipart/report), 6533 (internationalised DSN),
// 3463 (status codes).

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::mime {

inline constexpr std::size_t kMaxDsnRecipients = 1000;

struct DsnRecipient {
    std::string final_recipient;    // the address, type ("rfc822;") and <> removed; may be empty
    std::string original_recipient; // likewise (the address as the sender wrote it)
    std::string action;             // lower-case: failed|delayed|delivered|relayed|expanded, or ""
    std::string status;             // "5.1.1" (comment dropped), or ""
    std::string diagnostic;         // Diagnostic-Code as written, e.g. "smtp; 550 5.1.1 no such user"

    // The recipient the report is about: the final one, else the original.
    const std::string& address() const { return final_recipient.empty() ? original_recipient : final_recipient; }
    // Delivery failed for good: Action failed, or no Action and a 5.x.x Status.
    bool failed() const;
};

struct DeliveryStatus {
    std::string reporting_mta;        // "dns; mx.example.net"
    std::string original_envelope_id; // Original-Envelope-Id (RFC 3461 ENVID), if any
    std::vector<DsnRecipient> recipients;
    std::vector<std::string> problems; // one sentence each
};

// Reads the body of a message/delivery-status part (already transfer-decoded
// as a MIME part; see the file comment for the re-encoded kind).
DeliveryStatus parse_delivery_status(std::string_view text);

} // namespace rapport::mime
