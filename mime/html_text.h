// html_text.h - what an HTML part says, as plain text (internal to the MIME
// parser).
#pragma once

#include <string>
#include <string_view>

namespace rapport::mime::detail {

// Readable text from HTML (UTF-8 in, UTF-8 out, LF): block elements become
// line breaks, entities decoded, <style>/<script>/<head> dropped, Outlook
// MsoNormal paragraphs one per line, blockquote lines prefixed with "> ".
std::string html_to_text(std::string_view html);
// Charset named by a <meta> tag in the first bytes of an HTML document, or "".
std::string html_meta_charset(std::string_view html);

} // namespace rapport::mime::detail
