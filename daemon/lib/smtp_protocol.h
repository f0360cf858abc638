// smtp_protocol.h - the SMTP grammar the server side needs, with no I/O.
//
// Pure functions and one small state machine, so they can be unit-tested and
// fuzzed without sockets:
//
//   parse_command("MAIL FROM:<a@b> SIZE=10")  -> {verb "MAIL", arg "FROM:<a@b> SIZE=10"}
//   parse_path("FROM:<a@b> SIZE=10", "FROM")  -> {address "a@b", params {SIZE=10}}
//   DataReader: feed it the bytes after "354"; it un-stuffs dots, enforces
//   strict CRLF framing and the size / line limits, and tells when the
//   terminating CRLF.CRLF was seen.
//
// Contract: only CRLF ends a line and only CRLF "." CRLF ends DATA (RFC 5321
// 2.3.8, 4.1.1.4). A bare CR or bare LF anywhere is a framing error, never
// a line end: this is what closes the SMTP smuggling class (CVE-2023-51764,
// CVE-2023-51765, CVE-2023-51766), where the proxy and the next hop disagree
// on where a message ends. Envelope addresses with CR, LF or NUL are refused,
// and so are addresses that are not RFC 5321 syntax (mailbox_problem).
// RFCs: 5321 (SMTP), 1870 (SIZE), 6152 (8BITMIME), 2920 (PIPELINING),
// 3207 (STARTTLS), 4954 (AUTH), 2034/3463 (enhanced status codes).

#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::daemon::smtp {

struct Command {
    std::string verb; // upper-case: "EHLO", "MAIL", ...
    std::string arg;  // the rest of the line after one space, as sent
};

// Splits one command line (without its CRLF). Verbs are case-insensitive
// (RFC 5321 2.4); the argument keeps its case (local parts are case-sensitive).
Command parse_command(std::string_view line);

struct Path {
    std::string address;                       // "" for the null path <>
    std::map<std::string, std::string> params; // ESMTP parameters, keys upper-case
};

// Parses "FROM:<addr> PARAM=V ..." (keyword "FROM") or "TO:<addr> ..." ("TO").
// Accepts the common lenient forms (space after the colon, missing angle
// brackets) like Postfix does, but refuses CR, LF, NUL, unbalanced brackets
// and source routes it cannot strip. Returns nullopt with `why` set on error.
std::optional<Path> parse_path(std::string_view arg, std::string_view keyword, std::string* why = nullptr);

// Why `addr` is not an RFC 5321 Mailbox (4.1.2), or "" when it is:
// Local-part (a Dot-string of atext atoms, or a Quoted-string) "@" a Domain
// (LDH labels of 1-63 octets, none starting or ending with '-') or an
// address literal ([192.0.2.1], [IPv6:...], [tag:...]); at most 64 octets
// of local part and 254 in all (4.5.3.1). ASCII only: rapportd does not
// offer SMTPUTF8 (RFC 6531), see non_ascii(). `allow_postmaster`: the bare
// "Postmaster" (RCPT TO, 4.1.1.3). The null path <> is the caller's.
//   mailbox_problem("a@b@c")        -> "character '@' is not allowed in a domain"
//   mailbox_problem("a@-bad-.com")  -> "domain label '-bad-' starts or ends with '-'"
std::string mailbox_problem(std::string_view addr, bool allow_postmaster = false);
// True if `addr` has an octet above 127 (an address that needs SMTPUTF8).
bool non_ascii(std::string_view addr);

// Incremental DATA reader. Feed bytes as they arrive; it keeps the message
// (dot-unstuffed, lines CRLF) until the final CRLF.CRLF.
class DataReader {
public:
    enum class State {
        reading,     // need more bytes
        done,        // CRLF.CRLF seen; consumed() bytes belong to the message
        bare_eol,    // a bare CR or LF was seen: framing error, close the session
    };

    DataReader(std::size_t max_size, std::size_t max_line);

    // Consumes bytes from `in` up to and including the end-of-data marker.
    // Returns how many bytes of `in` were used; bytes after the marker are
    // the next command (RFC 2920 allows pipelining after the final dot).
    std::size_t feed(std::string_view in);

    State state() const { return state_; }
    // The message, un-stuffed, CRLF line ends, without the final ".".
    std::string& message() { return msg_; }
    // The message went over max_size; its bytes were dropped (reply 552 at end).
    bool too_big() const { return too_big_; }
    // A line went over max_line (reply 5xx at end).
    bool line_too_long() const { return line_too_long_; }
    // The message has a NUL octet (reply 5xx at end): RFC 5321 2.3.8 and
    // 8BITMIME (RFC 6152) allow none, and the next hop may cut the line there.
    bool has_nul() const { return has_nul_; }
    // Octets received (before un-stuffing), also counted when too big.
    std::size_t received() const { return received_; }

private:
    std::size_t max_size_, max_line_;
    State state_ = State::reading;
    std::string msg_;
    std::size_t line_len_ = 0;  // octets in the current line so far
    bool at_line_start_ = true; // the next byte starts a line
    bool after_cr_ = false;     // the last byte was CR (waiting for its LF)
    bool dot_line_ = false;     // the current line began with "."; it may be the end
    bool too_big_ = false, line_too_long_ = false, has_nul_ = false;
    std::size_t received_ = 0;
};

// Base64 (RFC 4648) for AUTH (RFC 4954); decode returns nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

// A multi-line reply: "550-5.7.1 a\r\n550 5.7.1 b\r\n". Lines with CR/LF in
// them are split; empty text gives one line with just the codes.
std::string multiline_reply(int code, std::string_view enhanced, const std::vector<std::string>& lines);

} // namespace rapport::daemon::smtp
