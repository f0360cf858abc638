// qp_lines.h - quoted-printable-style soft line breaks for the mail the
// benchmarks generate: a soft break every 72 characters, CRLF line ends, as a
// mail client writes a QP body (the text itself needs no escaping).
#pragma once

#include <cstddef>
#include <string>

inline std::string qp_lines(const std::string& text) {
    std::string out;
    std::size_t col = 0;
    for (char c : text) {
        if (c == '\n') { out += "\r\n"; col = 0; continue; }
        if (col >= 72) { out += "=\r\n"; col = 0; }
        out += c;
        ++col;
    }
    return out;
}
