// codec.cc - byte-level decoders for the MIME parser; see codec.h.

#include "mime/codec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iconv.h>
#include <iterator>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <map>

#include <libetpan/libetpan.h>
#include <mimetic/codec/base64.h>
#include <mimetic/codec/code.h>

namespace rapport::mime::detail {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
std::size_t utf8_seq(std::string_view s, std::size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (i + n > s.size()) return 0;
    unsigned cp = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
        auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (d & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

// windows-1252 0x80..0x9F; 0 marks the five undefined bytes.
constexpr unsigned short kCp1252High[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178};

std::string cp1252_to_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size() + s.size() / 4);
    for (unsigned char c : s) {
        if (c < 0x80) out += static_cast<char>(c);
        else if (c < 0xA0) {
            unsigned cp = kCp1252High[c - 0x80];
            if (cp) append_utf8(out, cp); else out += kReplacement;
        } else append_utf8(out, c);
    }
    return out;
}

// Canonical charset name for iconv, or "" for the UTF-8 / ASCII fast path,
// or "cp1252" for the built-in table.
std::string canonical_charset(std::string_view cs) {
    std::string c = lower(trim(cs));
    if (c.size() >= 2 && (c.front() == '"' || c.front() == '\'')) c = c.substr(1, c.size() - 2);
    if (c == "utf-8" || c == "utf8" || c == "unicode-1-1-utf-8") return "utf-8";
    if (c.empty() || c == "us-ascii" || c == "ascii" || c == "ansi_x3.4-1968" || c == "x-unknown" || c == "unknown-8bit" ||
        c == "default" || c == "x-user-defined")
        return "";
    if (c == "iso-8859-1" || c == "iso8859-1" || c == "latin1" || c == "latin-1" || c == "windows-1252" ||
        c == "cp1252" || c == "iso_8859-1" || c == "l1" || c == "x-ansi")
        return "cp1252";
    // Only plausible names reach iconv: it reads "//" suffixes and other
    // syntax in the name as options.
    if (c.size() > 40 || !std::all_of(c.begin(), c.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
                   ch == ':' || ch == '+';
        }))
        return "x-invalid-name";
    if (c == "ks_c_5601-1987") return "cp949";
    if (c == "gb2312") return "gb18030";
    return c;
}

bool iconv_to_utf8(std::string_view bytes, const std::string& charset, std::string& out) {
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return false;
    out.clear();
    out.reserve(bytes.size() * 2);
    char buf[4096];
    char* in = const_cast<char*>(bytes.data());
    std::size_t inleft = bytes.size();
    while (inleft > 0) {
        char* o = buf;
        std::size_t oleft = sizeof buf;
        std::size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        out.append(buf, static_cast<std::size_t>(o - buf));
        if (r == static_cast<std::size_t>(-1)) {
            if (errno == E2BIG) continue;
            // EILSEQ: one bad byte; EINVAL: truncated sequence at the end.
            out += kReplacement;
            if (errno == EINVAL) break;
            ++in;
            --inleft;
            iconv(cd, nullptr, nullptr, nullptr, nullptr);
        }
    }
    char* o = buf;
    std::size_t oleft = sizeof buf;
    iconv(cd, nullptr, nullptr, &o, &oleft);
    out.append(buf, static_cast<std::size_t>(o - buf));
    iconv_close(cd);
    return true;
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

} // namespace

void append_utf8(std::string& out, unsigned cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        out += kReplacement;
    } else if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}


bool is_ascii(std::string_view s) {
    std::size_t i = 0;
    std::uint64_t acc = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        acc |= w;
    }
    for (; i < s.size(); ++i) acc |= static_cast<unsigned char>(s[i]);
    return (acc & 0x8080808080808080ull) == 0;
}

bool is_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        if (i + 8 <= s.size()) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if ((w & 0x8080808080808080ull) == 0) { i += 8; continue; }
        }
        if (static_cast<unsigned char>(s[i]) < 0x80) { ++i; continue; }
        std::size_t n = utf8_seq(s, i);
        if (!n) return false;
        i += n;
    }
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_seq(s, i);
        if (!n) { out += kReplacement; ++i; continue; }
        out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset, bool* unknown) {
    std::string cs = canonical_charset(charset);
    auto fallback = [&]() -> std::string {
        if (is_ascii(bytes) || is_utf8(bytes)) return std::string(bytes);
        return cp1252_to_utf8(bytes);
    };
    if (cs.empty()) return fallback();
    if (cs == "utf-8") return is_utf8(bytes) ? std::string(bytes) : sanitize_utf8(bytes);
    if (cs == "cp1252") return cp1252_to_utf8(bytes);
    if (cs == "utf-7" || cs == "utf7") {
        std::string out;
        if (iconv_to_utf8(bytes, "UTF-7", out)) return out;
    }
    // ISO-8859-x, windows-125x, KOI8, ... are ASCII supersets: skip iconv when
    // there is nothing to convert. (Not true of UTF-16/7, ISO-2022: those go on.)
    bool ascii_superset = cs.rfind("iso-8859", 0) == 0 || cs.rfind("windows-", 0) == 0 ||
                          cs.rfind("cp", 0) == 0 || cs.rfind("koi8", 0) == 0;
    if (ascii_superset && is_ascii(bytes)) return std::string(bytes);
    std::string out;
    if (cs != "x-invalid-name" && iconv_to_utf8(bytes, cs, out)) return is_utf8(out) ? out : sanitize_utf8(out);
    if (unknown) *unknown = true;
    return fallback();
}

std::string decode_words(std::string_view value) {
    std::string in;
    if (!is_ascii(value) && !is_utf8(value)) in = cp1252_to_utf8(value);
    else in.assign(value);
    if (in.find("=?") == std::string::npos) return in.find('\0') == std::string::npos ? in : sanitize_utf8(in);
    std::size_t idx = 0;
    char* result = nullptr;
    int r = mailmime_encoded_phrase_parse("utf-8", in.data(), in.size(), &idx, "utf-8", &result);
    if (r != MAILIMF_NO_ERROR || result == nullptr) {
        if (result) free(result);
        return sanitize_utf8(in);
    }
    std::string out(result);
    free(result);
    // libetpan stops at the first NUL and may leave bytes it could not parse.
    if (idx < in.size()) out += in.substr(idx);
    return is_utf8(out) ? out : sanitize_utf8(out);
}

std::vector<Param> parse_params(std::string_view s) {
    struct Raw {
        std::string name;  // without the *N / * suffix
        int index = -1;    // continuation index, -1 for none
        bool extended = false;
        std::string value;
    };
    std::vector<Raw> raws;
    std::size_t i = 0, n = s.size();
    while (i < n) {
        while (i < n && (s[i] == ';' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
        std::size_t ns = i;
        while (i < n && s[i] != '=' && s[i] != ';') ++i;
        std::string_view name = trim(s.substr(ns, i - ns));
        if (i >= n || s[i] == ';') continue; // attribute without value: ignored
        ++i; // '='
        while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
        std::string value;
        if (i < n && s[i] == '"') {
            ++i;
            while (i < n && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < n) ++i;
                value += s[i++];
            }
            if (i < n) ++i;
            while (i < n && s[i] != ';') ++i; // junk after the quotes
        } else {
            std::size_t vs = i;
            while (i < n && s[i] != ';') ++i;
            value = std::string(trim(s.substr(vs, i - vs)));
        }
        if (name.empty()) continue;
        Raw raw;
        std::string lname = lower(name);
        if (lname.back() == '*') { raw.extended = true; lname.pop_back(); }
        auto star = lname.rfind('*');
        if (star != std::string::npos && star + 1 < lname.size() &&
            std::all_of(lname.begin() + static_cast<long>(star) + 1, lname.end(),
                        [](char c) { return c >= '0' && c <= '9'; }) &&
            lname.size() - star <= 5) {
            raw.index = std::atoi(lname.c_str() + star + 1);
            lname.resize(star);
        }
        raw.name = std::move(lname);
        raw.value = std::move(value);
        raws.push_back(std::move(raw));
    }

    std::vector<Param> out;
    std::vector<bool> done(raws.size(), false);
    for (std::size_t k = 0; k < raws.size(); ++k) {
        if (done[k]) continue;
        const std::string& name = raws[k].name;
        // All pieces of this parameter, RFC 2231 continuations sorted by index.
        std::vector<std::size_t> pieces;
        for (std::size_t j = k; j < raws.size(); ++j)
            if (!done[j] && raws[j].name == name) pieces.push_back(j);
        bool any_2231 = false;
        for (auto j : pieces) any_2231 |= raws[j].extended || raws[j].index >= 0;
        if (!any_2231) {
            done[k] = true;
            out.push_back({name, decode_words(raws[k].value)});
            continue;
        }
        // Prefer the RFC 2231 form over a plain duplicate (filename= next to filename*=).
        std::vector<std::size_t> ext;
        for (auto j : pieces) {
            done[j] = true;
            if (raws[j].extended || raws[j].index >= 0) ext.push_back(j);
        }
        std::stable_sort(ext.begin(), ext.end(),
                         [&](std::size_t a, std::size_t b) { return raws[a].index < raws[b].index; });
        std::string charset, bytes;
        bool first = true;
        for (auto j : ext) {
            std::string_view v = raws[j].value;
            if (raws[j].extended) {
                if (first) {
                    // charset'language'value
                    auto q1 = v.find('\'');
                    auto q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
                    if (q2 != std::string_view::npos) {
                        charset = std::string(v.substr(0, q1));
                        v = v.substr(q2 + 1);
                    }
                }
                for (std::size_t p = 0; p < v.size(); ++p) {
                    if (v[p] == '%' && p + 2 < v.size() + 0 && hexval(v[p + 1]) >= 0 && hexval(v[p + 2]) >= 0) {
                        bytes += static_cast<char>(hexval(v[p + 1]) * 16 + hexval(v[p + 2]));
                        p += 2;
                    } else {
                        bytes += v[p];
                    }
                }
            } else {
                bytes += v;
            }
            first = false;
        }
        std::string value = to_utf8(bytes, charset);
        if (value.find("=?") != std::string::npos) value = decode_words(value);
        out.push_back({name, std::move(value)});
    }
    return out;
}

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
        if (p + 1 < e && hexval(p[0]) >= 0 && hexval(p[1]) >= 0) {
            out += static_cast<char>(hexval(p[0]) * 16 + hexval(p[1]));
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

void to_utf8_inplace(std::string& s, std::string_view charset, bool* unknown) {
    std::string cs = canonical_charset(charset);
    if ((cs.empty() || cs == "utf-8") && is_utf8(s)) return; // the common case: no copy
    s = to_utf8(s, charset, unknown);
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

// ---------------------------------------------------------------- HTML

namespace {

struct Entity {
    const char* name;
    unsigned cp;
};
// Common named entities; the full HTML5 table is 2000+ names nobody writes in mail.
constexpr Entity kEntities[] = {
    {"nbsp", 0xA0},   {"amp", '&'},     {"lt", '<'},      {"gt", '>'},      {"quot", '"'},
    {"apos", '\''},   {"copy", 0xA9},   {"reg", 0xAE},    {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"sbquo", 0x201A}, {"bdquo", 0x201E}, {"laquo", 0xAB},  {"raquo", 0xBB},
    {"bull", 0x2022}, {"middot", 0xB7}, {"euro", 0x20AC}, {"pound", 0xA3},  {"yen", 0xA5},
    {"cent", 0xA2},   {"sect", 0xA7},   {"deg", 0xB0},    {"plusmn", 0xB1}, {"times", 0xD7},
    {"divide", 0xF7}, {"iexcl", 0xA1},  {"iquest", 0xBF}, {"shy", 0xAD},    {"ordm", 0xBA},
    {"ordf", 0xAA},   {"szlig", 0xDF},  {"agrave", 0xE0}, {"aacute", 0xE1}, {"acirc", 0xE2},
    {"atilde", 0xE3}, {"auml", 0xE4},   {"aring", 0xE5},  {"aelig", 0xE6},  {"ccedil", 0xE7},
    {"egrave", 0xE8}, {"eacute", 0xE9}, {"ecirc", 0xEA},  {"euml", 0xEB},   {"igrave", 0xEC},
    {"iacute", 0xED}, {"icirc", 0xEE},  {"iuml", 0xEF},   {"ntilde", 0xF1}, {"ograve", 0xF2},
    {"oacute", 0xF3}, {"ocirc", 0xF4},  {"otilde", 0xF5}, {"ouml", 0xF6},   {"oslash", 0xF8},
    {"ugrave", 0xF9}, {"uacute", 0xFA}, {"ucirc", 0xFB},  {"uuml", 0xFC},   {"yacute", 0xFD},
    {"yuml", 0xFF},   {"Agrave", 0xC0}, {"Aacute", 0xC1}, {"Acirc", 0xC2},  {"Atilde", 0xC3},
    {"Auml", 0xC4},   {"Aring", 0xC5},  {"AElig", 0xC6},  {"Ccedil", 0xC7}, {"Egrave", 0xC8},
    {"Eacute", 0xC9}, {"Ecirc", 0xCA},  {"Euml", 0xCB},   {"Igrave", 0xCC}, {"Iacute", 0xCD},
    {"Icirc", 0xCE},  {"Iuml", 0xCF},   {"Ntilde", 0xD1}, {"Ograve", 0xD2}, {"Oacute", 0xD3},
    {"Ocirc", 0xD4},  {"Otilde", 0xD5}, {"Ouml", 0xD6},   {"Oslash", 0xD8}, {"Ugrave", 0xD9},
    {"Uacute", 0xDA}, {"Ucirc", 0xDB},  {"Uuml", 0xDC},   {"Yacute", 0xDD}, {"oelig", 0x153},
    {"OElig", 0x152}, {"scaron", 0x161}, {"Scaron", 0x160}, {"zcaron", 0x17E}, {"Zcaron", 0x17D},
    {"thinsp", 0x2009}, {"ensp", 0x2002}, {"emsp", 0x2003}, {"zwnj", 0x200C}, {"zwj", 0x200D},
    {"lrm", 0x200E},  {"rlm", 0x200F},  {"rarr", 0x2192}, {"larr", 0x2190}, {"frac12", 0xBD},
};

bool is_block(std::string_view t) {
    static constexpr std::string_view kBlocks[] = {
        "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol",
        "dl", "dt", "dd", "pre", "hr", "address", "center", "section", "article", "header", "footer",
        "form", "fieldset", "tbody", "thead", "tfoot", "caption", "body", "html", "nav", "main", "aside",
        "figure", "figcaption"};
    for (auto b : kBlocks)
        if (t == b) return true;
    return false;
}

class HtmlText {
public:
    std::string run(std::string_view h) {
        std::size_t i = 0, n = h.size();
        while (i < n) {
            char c = h[i];
            if (c == '<') {
                i = tag(h, i);
            } else if (c == '&') {
                i = entity(h, i);
            } else {
                std::size_t j = i;
                while (j < n && h[j] != '<' && h[j] != '&') ++j;
                if (skip_depth_ == 0) text(h.substr(i, j - i));
                i = j;
            }
        }
        end_line(false);
        // Tidy the lines: a blank quoted line at the edge of a quote (from the
        // margins of the <p> inside it) says nothing; runs of blank lines
        // become one; leading and trailing blank lines go.
        struct Line {
            std::string_view text;
            int depth;
            bool blank;
        };
        std::vector<Line> lines;
        for (std::size_t p = 0; p < out_.size();) {
            std::size_t e = out_.find('\n', p);
            if (e == std::string::npos) e = out_.size();
            std::string_view l(out_.data() + p, e - p);
            p = e + 1;
            int depth = 0;
            std::size_t k = 0;
            while (k < l.size() && (l[k] == '>' || l[k] == ' ')) depth += l[k++] == '>';
            lines.push_back({l, depth, k == l.size()});
        }
        std::string out;
        out.reserve(out_.size());
        bool prev_blank = true; // drops leading blank lines
        int prev_depth = 0;
        for (std::size_t k = 0; k < lines.size(); ++k) {
            const Line& l = lines[k];
            if (l.blank) {
                bool next_differs = k + 1 >= lines.size() || lines[k + 1].depth != l.depth;
                if (prev_blank || (l.depth > 0 && (prev_depth != l.depth || next_differs))) continue;
            }
            out.append(l.text);
            out += '\n';
            prev_blank = l.blank;
            prev_depth = l.depth;
        }
        while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
        if (!out.empty() && out.back() == '\n') out.pop_back();
        return out;
    }

private:
    std::string out_;
    std::string line_;
    int line_quote_ = 0;     // quote depth when the current line began
    bool line_started_ = false;
    int quote_ = 0;          // open <blockquote> nesting
    int skip_depth_ = 0;     // inside <style>, <script>, <head>, <title>
    int pre_ = 0;
    bool pending_space_ = false;

    void put(std::string_view s) {
        if (!line_started_) { line_quote_ = quote_; line_started_ = true; }
        line_ += s;
    }
    void text(std::string_view s) {
        if (pre_) {
            for (char c : s) {
                if (c == '\r') continue;
                if (c == '\n') end_line(true);
                else put(std::string_view(&c, 1));
            }
            return;
        }
        for (char c : s) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                pending_space_ = true;
            } else {
                if (pending_space_ && !line_.empty()) put(" ");
                pending_space_ = false;
                put(std::string_view(&c, 1));
            }
        }
    }
    void emit_char(unsigned cp) {
        if (skip_depth_) return;
        if (cp == 0xA0) cp = ' ';
        if (cp == ' ' && !pre_) {
            // &nbsp; is a real space: kept even when leading.
            if (pending_space_ && !line_.empty()) put(" ");
            pending_space_ = false;
            put(" ");
            return;
        }
        std::string u;
        append_utf8(u, cp);
        if (pending_space_ && !line_.empty()) put(" ");
        pending_space_ = false;
        put(u);
    }
    // Ends the current line. `force`: even an empty line (a blank line).
    void end_line(bool force) {
        pending_space_ = false;
        std::string_view l = line_;
        while (!l.empty() && l.back() == ' ') l.remove_suffix(1);
        while (!l.empty() && l.front() == ' ' && !pre_) l.remove_prefix(1);
        if (l.empty() && !force) { line_.clear(); line_started_ = false; return; }
        int q = line_started_ ? line_quote_ : quote_;
        for (int d = 0; d < q; ++d) out_ += d + 1 < q ? ">" : (l.empty() ? ">" : "> ");
        out_.append(l);
        out_ += '\n';
        line_.clear();
        line_started_ = false;
    }
    bool line_has_text() const {
        for (char c : line_)
            if (c != ' ') return true;
        return false;
    }
    void blank_line() {
        if (line_has_text()) end_line(false);
        else { line_.clear(); line_started_ = false; }
        if (!out_.empty() && !(out_.size() >= 2 && out_[out_.size() - 1] == '\n' && out_[out_.size() - 2] == '\n'))
            end_line(true);
    }

    std::size_t entity(std::string_view h, std::size_t i) {
        std::size_t n = h.size();
        std::size_t j = i + 1;
        if (j < n && h[j] == '#') {
            ++j;
            unsigned cp = 0;
            bool hex = j < n && (h[j] == 'x' || h[j] == 'X');
            if (hex) ++j;
            std::size_t ds = j;
            while (j < n && j - ds < 8 && (hex ? hexval(h[j]) >= 0 : (h[j] >= '0' && h[j] <= '9'))) {
                cp = cp * (hex ? 16 : 10) + static_cast<unsigned>(hexval(h[j]));
                ++j;
            }
            if (j == ds) { if (!skip_depth_) text("&"); return i + 1; }
            if (j < n && h[j] == ';') ++j;
            if (cp >= 0x80 && cp < 0xA0) cp = kCp1252High[cp - 0x80] ? kCp1252High[cp - 0x80] : 0xFFFD;
            if (cp == 0) cp = 0xFFFD;
            emit_char(cp);
            return j;
        }
        std::size_t ns = j;
        while (j < n && j - ns < 10 && ((h[j] >= 'a' && h[j] <= 'z') || (h[j] >= 'A' && h[j] <= 'Z') ||
                                        (h[j] >= '0' && h[j] <= '9')))
            ++j;
        std::string_view name = h.substr(ns, j - ns);
        for (const auto& e : kEntities) {
            if (name == e.name) {
                if (j < n && h[j] == ';') ++j;
                emit_char(e.cp);
                return j;
            }
        }
        if (!skip_depth_) text("&");
        return i + 1;
    }

    std::size_t tag(std::string_view h, std::size_t i) {
        std::size_t n = h.size();
        if (h.substr(i, 4) == "<!--") {
            auto e = h.find("-->", i + 4);
            return e == std::string_view::npos ? n : e + 3;
        }
        if (i + 1 < n && (h[i + 1] == '!' || h[i + 1] == '?')) {
            auto e = h.find('>', i);
            return e == std::string_view::npos ? n : e + 1;
        }
        std::size_t j = i + 1;
        bool closing = j < n && h[j] == '/';
        if (closing) ++j;
        std::size_t ns = j;
        while (j < n && (std::isalnum(static_cast<unsigned char>(h[j])) || h[j] == ':' || h[j] == '-')) ++j;
        if (j == ns) { // a lone '<' in text
            if (!skip_depth_) text("<");
            return i + 1;
        }
        std::string name = lower(h.substr(ns, j - ns));
        // Find the end of the tag, honouring quoted attribute values.
        std::size_t as = j;
        char q = 0;
        while (j < n) {
            if (q) { if (h[j] == q) q = 0; }
            else if (h[j] == '"' || h[j] == '\'') q = h[j];
            else if (h[j] == '>') break;
            ++j;
        }
        std::string_view attrs = h.substr(as, std::min(j, n) - as);
        std::size_t next = j < n ? j + 1 : n;
        bool self_closing = !attrs.empty() && attrs.back() == '/';

        if (name == "style" || name == "script" || name == "head" || name == "title" || name == "xml") {
            if (closing) { if (skip_depth_ > 0) --skip_depth_; }
            else if (!self_closing) {
                ++skip_depth_;
                if (name == "style" || name == "script") {
                    // Raw text elements: jump straight to the end tag.
                    std::string end = "</" + name;
                    std::size_t k = next;
                    while (k < n) {
                        k = h.find("</", k);
                        if (k == std::string_view::npos) return n;
                        if (iequals(h.substr(k, end.size()), end)) break;
                        k += 2;
                    }
                    return k;
                }
            }
            return next;
        }
        if (skip_depth_) {
            if (name == "body" && !closing) skip_depth_ = 0; // unclosed <head>
            return next;
        }
        if (name == "br") { end_line(true); return next; }
        if (name == "td" || name == "th") {
            if (!closing && line_has_text()) pending_space_ = true;
            return next;
        }
        if (name == "img" || name == "o:p") return next;
        if (name == "blockquote") {
            if (line_has_text()) end_line(false);
            if (closing) { if (quote_ > 0) --quote_; }
            else ++quote_;
            return next;
        }
        if (name == "pre") {
            if (line_has_text()) end_line(false);
            pre_ = closing ? std::max(0, pre_ - 1) : pre_ + 1;
            return next;
        }
        if (name == "p") {
            bool mso = lower(attrs).find("mso") != std::string::npos;
            if (closing) {
                if (mso_p_) end_line(true);  // one line per Outlook paragraph, even empty
                else blank_line();
                mso_p_ = false;
            } else {
                if (mso_p_ && line_has_text()) end_line(false);
                else if (!mso) blank_line();
                else if (line_has_text()) end_line(false);
                mso_p_ = mso;
            }
            return next;
        }
        if (name == "li" && !closing) {
            if (line_has_text()) end_line(false);
            put("- ");
            return next;
        }
        if (name == "hr") { if (line_has_text()) end_line(false); put("----"); end_line(false); return next; }
        if (is_block(name) && line_has_text()) end_line(false);
        return next;
    }
    bool mso_p_ = false;
};

} // namespace

std::string html_to_text(std::string_view html) { return HtmlText().run(html); }

std::string html_meta_charset(std::string_view html) {
    std::string head = lower(html.substr(0, 2048));
    auto p = head.find("charset=");
    if (p == std::string::npos) return "";
    p += 8;
    while (p < head.size() && (head[p] == '"' || head[p] == '\'' || head[p] == ' ')) ++p;
    std::size_t e = p;
    while (e < head.size() && (std::isalnum(static_cast<unsigned char>(head[e])) || head[e] == '-' || head[e] == '_'))
        ++e;
    return head.substr(p, e - p);
}

// ---------------------------------------------------------------- sniffing

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
