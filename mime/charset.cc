// charset.cc - character sets, RFC 2047 words and RFC 2231 parameters; see charset.h.

#include "mime/charset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iconv.h>
#include <map>

#include <libetpan/libetpan.h>

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

} // namespace

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

unsigned cp1252_code_point(unsigned char c) {
    if (c < 0x80 || c >= 0xA0) return c;
    return kCp1252High[c - 0x80];
}

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
                    if (v[p] == '%' && p + 2 < v.size() + 0 && hex_digit(v[p + 1]) >= 0 && hex_digit(v[p + 2]) >= 0) {
                        bytes += static_cast<char>(hex_digit(v[p + 1]) * 16 + hex_digit(v[p + 2]));
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

void to_utf8_inplace(std::string& s, std::string_view charset, bool* unknown) {
    std::string cs = canonical_charset(charset);
    if ((cs.empty() || cs == "utf-8") && is_utf8(s)) return; // the common case: no copy
    s = to_utf8(s, charset, unknown);
}

} // namespace rapport::mime::detail
