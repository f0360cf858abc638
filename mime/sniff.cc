// sniff.cc - file types from their first bytes; see sniff.h.

#include "mime/sniff.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace rapport::mime::detail {

std::string sniff_type(std::string_view head, std::string_view tail) {
    auto starts = [&](std::string_view m) { return head.substr(0, m.size()) == m; };
    if (starts("%PDF")) return "application/pdf";
    if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
    if (starts("\xFF\xD8\xFF")) return "image/jpeg";
    if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
    if (starts(std::string_view("PK\x03\x04", 4))) {
        // ODF puts an uncompressed "mimetype" entry first (ODF 1.2 section 3.3).
        if (head.size() > 38 && head.substr(30, 8) == "mimetype") {
            std::string_view mt = head.substr(38, 60);
            if (mt.rfind("application/vnd.oasis.opendocument.text", 0) == 0)
                return "application/vnd.oasis.opendocument.text";
        }
        // Entry names appear in local headers (head) and the central directory (tail).
        auto has = [&](std::string_view s) {
            return head.find(s) != std::string_view::npos || tail.find(s) != std::string_view::npos;
        };
        if (has("word/")) return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        if (has("Index/Document.iwa") || has("index.xml")) return "application/x-iwork-pages";
        return "application/zip";
    }
    return "";
}

} // namespace rapport::mime::detail
