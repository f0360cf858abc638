// transfer.cc - transfer encodings, line ends and format=flowed; see transfer.h.

#include "mime/transfer.h"

#include "mime/charset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <mimetic/codec/base64.h>
#include <mimetic/codec/code.h>

namespace rapport::mime::detail {
std::string decode_qp(std::string_view body, bool* bad) {
    // Our own decoder, not mimetic::QP::Decoder: mimetic's runs a per-char
    // state machine through an output iterator; profiled on the benchmark's
    // typical mail it was about two thirds of the whole model's cost (the
    // model took 8.6x a bare mimetic parse; 2.6x with this decoder). This
    // one copies the runs between '=' with append() and is lenient like
    // mimetic's: a malformed '=' is kept as is. Trailing blanks before a line
    // end are kept (RFC 2045 says drop them; format=flowed needs them).
    std::string out;
    out.reserve(body.size());
    const char* p = body.data();
    const char* e = p + body.size();
    while (p < e) {
        const char* eq = static_cast<const char*>(std::memchr(p, '=', static_cast<std::size_t>(e - p)));
        if (!eq) { out.append(p, e); break; }
        out.append(p, eq);
        p = eq + 1;
        if (p + 1 < e && hex_digit(p[0]) >= 0 && hex_digit(p[1]) >= 0) {
            out += static_cast<char>(hex_digit(p[0]) * 16 + hex_digit(p[1]));
            p += 2;
            continue;
        }
        // Soft line break: '=' then optional blanks then CRLF / LF / end.
        const char* q = p;
        while (q < e && (*q == ' ' || *q == '\t')) ++q;
        if (q == e) { p = q; break; }
        if (*q == '\n') { p = q + 1; continue; }
        if (*q == '\r') { p = q + 1 + (q + 1 < e && q[1] == '\n'); continue; }
        if (bad) *bad = true;
        out += '=';
    }
    return out;
}

namespace {
// Base64 alphabet test without a table, so the compiler can vectorise it.
inline bool b64char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}
inline bool b64ignorable(unsigned char c) {
    return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '=';
}
} // namespace

std::string decode_base64(std::string_view body, bool* bad) {
    std::string clean;
    clean.reserve(body.size());
    bool saw_pad = false;
    for (unsigned char c : body) {
        if (b64char(c)) {
            if (saw_pad && bad) *bad = true;
            clean += static_cast<char>(c);
        } else if (c == '=') {
            saw_pad = true;
        } else if (!b64ignorable(c) && bad) {
            *bad = true;
        }
    }
    if (clean.size() % 4 == 1 && bad) *bad = true;
    std::string out;
    out.reserve(clean.size() / 4 * 3 + 3);
    mimetic::Base64::Decoder b64;
    mimetic::decode(clean.begin(), clean.end(), b64, std::back_inserter(out));
    return out;
}

namespace {
// (alphabet characters, other non-whitespace characters) in `body`.
// This one pass is what sizing an attachment costs, so it runs 16 bytes at a
// time with SSE2 (baseline on x86-64); elsewhere, a plain loop.
std::pair<std::size_t, std::size_t> count_b64(std::string_view body) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    std::size_t n = body.size(), i = 0, count = 0, other = 0;
#if defined(__SSE2__)
    auto range = [](__m128i v, char lo, char hi) {
        return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                             _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    auto eq = [](__m128i v, char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        __m128i ok = _mm_or_si128(_mm_or_si128(range(v, 'A', 'Z'), range(v, 'a', 'z')),
                                  _mm_or_si128(range(v, '0', '9'), _mm_or_si128(eq(v, '+'), eq(v, '/'))));
        __m128i ws = _mm_or_si128(_mm_or_si128(eq(v, '\r'), eq(v, '\n')),
                                  _mm_or_si128(_mm_or_si128(eq(v, ' '), eq(v, '\t')), eq(v, '=')));
        unsigned okm = static_cast<unsigned>(_mm_movemask_epi8(ok));
        unsigned wsm = static_cast<unsigned>(_mm_movemask_epi8(ws));
        count += static_cast<std::size_t>(__builtin_popcount(okm));
        other += static_cast<std::size_t>(__builtin_popcount(~(okm | wsm) & 0xFFFFu));
    }
#endif
    for (; i < n; ++i) {
        count += b64char(p[i]);
        other += !b64char(p[i]) && !b64ignorable(p[i]);
    }
    return {count, other};
}
} // namespace

std::size_t base64_size(std::string_view body, bool* bad, std::size_t* alphabet_chars) {
    auto [count, other] = count_b64(body);
    if (bad && (other > 0 || count % 4 == 1)) *bad = true;
    if (alphabet_chars) *alphabet_chars = count;
    return count / 4 * 3 + (count % 4 == 3 ? 2 : count % 4 == 2 ? 1 : 0);
}

std::pair<std::string, std::string> base64_head_tail(std::string_view body, std::size_t head,
                                                     std::size_t tail, std::size_t alphabet_chars) {
    std::string h, t;
    std::size_t want = (head + 2) / 3 * 4;
    std::size_t i = 0;
    for (; i < body.size() && h.size() < want; ++i)
        if (b64char(static_cast<unsigned char>(body[i]))) h += body[i];
    if (i >= body.size()) {
        // The whole body was read: the tail is the end of the head.
        std::string dec = decode_base64(h);
        std::string tl = dec.size() > tail ? dec.substr(dec.size() - tail) : dec;
        return {dec.substr(0, std::min(dec.size(), head)), tl};
    }
    // The tail must start on a 4-character quantum of the whole body.
    std::size_t total_chars = alphabet_chars;
    std::size_t twant = (tail + 2) / 3 * 4;
    std::string rev;
    for (std::size_t k = body.size(); k > i;) {
        --k;
        if (!b64char(static_cast<unsigned char>(body[k]))) continue;
        rev += body[k];
        if (rev.size() >= twant && (total_chars - rev.size()) % 4 == 0) break;
    }
    std::reverse(rev.begin(), rev.end());
    std::string hd = decode_base64(h);
    if (hd.size() > head) hd.resize(head);
    return {hd, decode_base64(rev)};
}

void to_lf_inplace(std::string& s) {
    // memchr() from CR to CR and memmove() the runs between: a byte loop here
    // was a fifth of the whole model's cost on a CRLF mail.
    char* d = s.data();
    std::size_t n = s.size();
    const char* cr = static_cast<const char*>(std::memchr(d, '\r', n));
    if (!cr) return;
    std::size_t w = static_cast<std::size_t>(cr - d), r = w;
    while (r < n) {
        // s[r] is '\r'
        d[w++] = '\n';
        r += (r + 1 < n && d[r + 1] == '\n') ? 2 : 1;
        const char* next = static_cast<const char*>(std::memchr(d + r, '\r', n - r));
        std::size_t end = next ? static_cast<std::size_t>(next - d) : n;
        std::memmove(d + w, d + r, end - r);
        w += end - r;
        r = end;
    }
    s.resize(w);
}

std::string to_lf(std::string_view s) {
    if (s.find('\r') == std::string_view::npos) return std::string(s);
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string unflow(std::string_view text, bool delsp) {
    std::string out;
    out.reserve(text.size());
    std::string para;      // current logical line's content
    int para_depth = -1;   // quote depth of the paragraph being joined, -1 none
    auto flush = [&](void) {
        if (para_depth < 0) return;
        for (int d = 0; d < para_depth; ++d) out += '>';
        if (para_depth > 0 && !para.empty()) out += ' ';
        out += para;
        out += '\n';
        para.clear();
        para_depth = -1;
    };
    std::size_t pos = 0;
    bool ended_with_nl = !text.empty() && text.back() == '\n';
    while (pos < text.size()) {
        std::size_t e = text.find('\n', pos);
        if (e == std::string_view::npos) e = text.size();
        std::string_view line = text.substr(pos, e - pos);
        pos = e + 1;
        int depth = 0;
        while (!line.empty() && line.front() == '>') { ++depth; line.remove_prefix(1); }
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1); // space-stuffing
        bool sig = line == "-- ";
        bool soft = !sig && !line.empty() && line.back() == ' ';
        if (para_depth >= 0 && para_depth != depth) flush(); // depth change ends a paragraph
        if (sig) { flush(); para_depth = depth; para = "-- "; flush(); continue; }
        if (soft && delsp) line.remove_suffix(1);
        para += line;
        para_depth = depth;
        if (!soft) flush();
    }
    flush();
    if (!ended_with_nl && !out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

} // namespace rapport::mime::detail
