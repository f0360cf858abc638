// message.h - the immutable model of one mail message.
//
// mime::parse() turns the raw bytes of a message (as a mail client hands it
// to SMTP, CRLF or LF line endings) into a Message: decoded headers, the text
// the sender wrote as UTF-8, and what is attached. Nothing here knows SMTP or
// the outreach rules; the rules read this model and nothing else.
//
// Contract: parse() never throws and never rejects. Malformed input is read as
// far as possible and each defect is listed in Message::problems. Work is
// bounded by Limits (nesting depth, part count, text size).

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::mime {

// One mailbox from an address header. Groups are flattened into their
// members. `name` is the decoded display name (RFC 2047, UTF-8), empty when
// absent; `address` is local@domain as written (never decoded, not
// lower-cased: callers compare case-insensitively).
struct Address {
    std::string name;
    std::string address;

    std::string_view local_part() const;
    std::string_view domain() const;
    bool operator==(const Address&) const = default;
};

// A non-text part, or a text part that is an attachment (a .txt CV).
struct Attachment {
    std::string filename;      // decoded (RFC 2231 / RFC 2047), UTF-8; may be empty
    std::string declared_type; // lower-case "type/subtype" from Content-Type
    std::string sniffed_type;  // from the first bytes: "application/pdf",
                               // "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                               // "application/vnd.oasis.opendocument.text", "application/x-iwork-pages",
                               // "application/zip", "image/png", "image/jpeg", "image/gif"; empty if unknown
    std::size_t size = 0;      // decoded size in bytes (computed, not decoded in full)
    bool is_inline = false;    // Content-Disposition: inline, or a related part with Content-ID
    std::string content_id;    // without angle brackets
    bool in_forwarded = false; // inside a message/rfc822 part (forwarded mail)
};

// A message/rfc822 part carried inside this one (a forward).
struct ForwardedMessage {
    std::string subject;
    std::vector<Address> from;
    std::string text; // its text, as Message::text
};

// The most of a delivery report's status part and returned header kept.
inline constexpr std::size_t kMaxReportBytes = 64 * 1024;

struct Limits {
    int max_depth = 32;                      // nested multiparts / message/rfc822
    std::size_t max_parts = 1000;            // parts examined at all
    std::size_t max_text_bytes = 1u << 20;   // decoded sender text kept
};

struct Message {
    // Decoded header values (RFC 2047 decoded, unfolded, UTF-8).
    std::string subject;
    std::vector<Address> from;
    std::vector<Address> to;
    std::vector<Address> cc;
    std::vector<Address> bcc;
    std::vector<Address> reply_to;
    std::optional<std::int64_t> date; // seconds since the epoch, UTC; none if absent/unparsable
    std::string message_id;           // without angle brackets
    std::string in_reply_to;          // first msg-id, without angle brackets
    std::vector<std::string> references;

    // Every header field in order, name as written, value unfolded and
    // RFC 2047 decoded. For headers the model does not name (X-Mailer, ...).
    std::vector<std::pair<std::string, std::string>> headers;

    // The text the sender wrote, UTF-8, LF line endings: the first text/plain
    // body part that is not an attachment (format=flowed joined); when the
    // message has only HTML, that converted to readable text. Parts in
    // message/rfc822 (forwards) are not included here.
    std::string text;
    bool text_from_html = false;

    std::vector<Attachment> attachments;
    std::vector<ForwardedMessage> forwarded;

    // A delivery status notification (RFC 3464: multipart/report with a
    // message/delivery-status part) carries what it is about in two places,
    // kept here and nowhere else in the model (both empty for other mail):
    // the status part, transfer-decoded (read it with
    // parse_delivery_status(), dsn.h), and the header section of the
    // returned message (a text/rfc822-headers or message/global-headers part,
    // or the header of the message/rfc822 part in the report), CRLF lines.
    // Never the returned message's body. At most kMaxReportBytes each.
    std::string delivery_status;
    std::string returned_headers;

    // Defects met while parsing, one plain sentence each
    // ("multipart boundary never closed", "bad base64 in part 2", ...).
    std::vector<std::string> problems;

    // First value of a header field, case-insensitive name; empty if absent.
    std::string_view header(std::string_view name) const;
    // All recipients: to, cc, bcc in that order.
    std::vector<Address> recipients() const;
};

// Parses one message. Never throws; see the file comment.
Message parse(std::string_view raw, const Limits& limits = {});

} // namespace rapport::mime
