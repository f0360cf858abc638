// codec.h - byte-level decoders used by the MIME parser (internal).
//
// What: charset conversion to UTF-8, RFC 2047 words, RFC 2231 parameters,
// quoted-printable / base64 bodies, format=flowed, HTML to text, and type
// sniffing. Each function takes untrusted bytes and never throws: invalid
// input is decoded as far as possible, invalid bytes become U+FFFD.
//
// Libraries: libetpan decodes RFC 2047 (mailmime_encoded_phrase_parse, which
// also converts the charset); mimetic's codec decodes base64 text bodies
// (QP has its own decoder here, see decode_qp() for why); iconv converts
// body charsets (directly, because libetpan's charconv() gives no control
// over what happens to invalid bytes).
//
// RFCs: 2045 (QP, base64), 2047 (encoded words), 2231 (parameter
// continuations and charsets), 3676 (format=flowed, DelSp).

#pragma once

#include <cstddef>
#include "common/strings.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::mime::detail {

using common::iequals;
using common::lower;
using common::trim;

// Appends code point `cp` as UTF-8 (U+FFFD for surrogates and > U+10FFFF).
void append_utf8(std::string& out, unsigned cp);

// True when every byte is < 0x80.
bool is_ascii(std::string_view s);
// True when `s` is well-formed UTF-8.
bool is_utf8(std::string_view s);
// Keeps valid UTF-8, replaces every invalid byte with U+FFFD.
std::string sanitize_utf8(std::string_view s);

// Converts `bytes` in `charset` (any case, quotes allowed, may be empty) to
// UTF-8. Declared UTF-8: invalid bytes become U+FFFD. Empty / us-ascii
// charset: valid UTF-8 is kept as is, other 8-bit
// text is read as windows-1252 (what unlabelled 8-bit mail nearly always
// is). iso-8859-1 is read as windows-1252, as browsers do. Sets *unknown when
// iconv does not know the charset (then the same fallback applies).
std::string to_utf8(std::string_view bytes, std::string_view charset, bool* unknown = nullptr);

// Decodes RFC 2047 encoded words in an unstructured value (Q and B, any
// charset, adjacent words joined); 8-bit raw text is taken as UTF-8 (or
// windows-1252 if not valid UTF-8). Always returns valid UTF-8.
std::string decode_words(std::string_view value);

// One MIME parameter after RFC 2231 reassembly: lower-case name, value as UTF-8.
struct Param {
    std::string name;
    std::string value;
};
// Parses "type/subtype; a=b; c*0*=utf-8''..." - the text after the first ';'
// of a Content-Type or Content-Disposition value. RFC 2231 continuations are
// joined in index order, percent-decoded and converted from their charset;
// plain values holding RFC 2047 words (invalid, but Outlook and others do
// it) are decoded too.
std::vector<Param> parse_params(std::string_view s);

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
// to_utf8() without a copy when `s` is already valid UTF-8 and so declared.
void to_utf8_inplace(std::string& s, std::string_view charset, bool* unknown = nullptr);

// RFC 3676: joins soft-broken lines of a format=flowed text (LF line endings),
// removes space-stuffing, keeps quote markers as "> " and "-- " intact.
std::string unflow(std::string_view text, bool delsp);

// Readable text from HTML (UTF-8 in, UTF-8 out, LF): block elements become
// line breaks, entities decoded, <style>/<script>/<head> dropped, Outlook
// MsoNormal paragraphs one per line, blockquote lines prefixed with "> ".
std::string html_to_text(std::string_view html);
// Charset named by a <meta> tag in the first bytes of an HTML document, or "".
std::string html_meta_charset(std::string_view html);

// Type from the first (and, for ZIP, last) bytes of a file; "" if unknown.
std::string sniff_type(std::string_view head, std::string_view tail);

} // namespace rapport::mime::detail
