// transfer.h - body transfer encodings, line ends and format=flowed
// (internal to the MIME parser).
//
// RFC 2045 quoted-printable and base64 (mimetic's codec decodes base64; QP
// has its own decoder, see decode_qp() for why), RFC 3676 format=flowed.
// Untrusted input never throws: bad input is decoded as far as possible.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace rapport::mime::detail {

// Quoted-printable body to bytes (soft breaks with LF or CRLF). `bad` is set
// when an '=' is followed by neither two hex digits nor a line end.
std::string decode_qp(std::string_view body, bool* bad = nullptr);
// Base64 body to bytes (mimetic's decoder). Characters outside the alphabet
// are skipped; `bad` is set when any were found (other than whitespace).
std::string decode_base64(std::string_view body, bool* bad = nullptr);
// Decoded size of a base64 body without decoding it: counts alphabet
// characters in one pass (about memory speed). `bad` as above.
// `alphabet_chars` receives the number of base64 characters (for the tail).
std::size_t base64_size(std::string_view body, bool* bad = nullptr, std::size_t* alphabet_chars = nullptr);
// Decodes only about the first `head` and the last `tail` bytes of a base64
// body (for sniffing big attachments without decoding them); needs the
// alphabet character count from base64_size() to align the tail.
std::pair<std::string, std::string> base64_head_tail(std::string_view body, std::size_t head,
                                                     std::size_t tail, std::size_t alphabet_chars);

// Normalises CRLF and lone CR to LF.
std::string to_lf(std::string_view s);
void to_lf_inplace(std::string& s);

// RFC 3676: joins soft-broken lines of a format=flowed text (LF line endings),
// removes space-stuffing, keeps quote markers as "> " and "-- " intact.
std::string unflow(std::string_view text, bool delsp);

} // namespace rapport::mime::detail
