// charset.h - text in any charset to UTF-8, and the header encodings
// (internal to the MIME parser).
//
// Charset conversion, RFC 2047 encoded words, RFC 2231 parameters. Each
// function takes untrusted bytes and never throws: invalid input is decoded
// as far as possible, invalid bytes become U+FFFD.
//
// Libraries: libetpan decodes RFC 2047 (mailmime_encoded_phrase_parse, which
// also converts the charset); iconv converts body charsets (directly,
// because libetpan's charconv() gives no control over what happens to
// invalid bytes).
#pragma once

#include "common/strings.h"

#include <string>
#include <string_view>
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
// to_utf8() without a copy when `s` is already valid UTF-8 and so declared.
void to_utf8_inplace(std::string& s, std::string_view charset, bool* unknown = nullptr);

// The code point windows-1252 gives byte `c`; 0 for its five undefined
// bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D).
unsigned cp1252_code_point(unsigned char c);
// Value of a hexadecimal digit, -1 for any other character.
int hex_digit(char c);

} // namespace rapport::mime::detail
