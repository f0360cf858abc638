// smtp_protocol.cc - see smtp_protocol.h. No I/O, no allocation beyond the
// message being read; every loop is bounded by its input.

#include "daemon/lib/smtp_protocol.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <cstring>

namespace rapport::daemon::smtp {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool has_ctl_breaker(std::string_view s) {
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0') return true;
    return false;
}

} // namespace

Command parse_command(std::string_view line) {
    Command cmd;
    auto sp = line.find(' ');
    cmd.verb = upper(line.substr(0, sp));
    if (sp != std::string_view::npos) {
        auto arg = line.substr(sp + 1);
        // Trailing spaces are common from hand-typed sessions; they carry nothing.
        while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t')) arg.remove_suffix(1);
        cmd.arg = std::string(arg);
    }
    return cmd;
}

std::optional<Path> parse_path(std::string_view arg, std::string_view keyword, std::string* why) {
    auto fail = [&](const char* w) -> std::optional<Path> {
        if (why) *why = w;
        return std::nullopt;
    };
    if (has_ctl_breaker(arg)) return fail("CR, LF or NUL in address");
    if (arg.size() < keyword.size() + 1 || upper(arg.substr(0, keyword.size())) != keyword ||
        arg[keyword.size()] != ':')
        return fail("expected FROM:<address> or TO:<address>");
    auto rest = arg.substr(keyword.size() + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1); // Postfix-style leniency

    Path path;
    std::string_view addr;
    if (!rest.empty() && rest.front() == '<') {
        // Find the closing bracket, honouring a quoted local part ("a>b"@x).
        bool quoted = false;
        std::size_t i = 1;
        for (; i < rest.size(); ++i) {
            char c = rest[i];
            if (c == '\\' && quoted && i + 1 < rest.size()) { ++i; continue; }
            if (c == '"') quoted = !quoted;
            else if (c == '>' && !quoted) break;
            else if (c == '<' && !quoted) return fail("unbalanced angle brackets");
        }
        if (i >= rest.size()) return fail("missing closing angle bracket");
        addr = rest.substr(1, i - 1);
        rest = rest.substr(i + 1);
    } else {
        auto sp = rest.find(' ');
        addr = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
        if (addr.find_first_of("<>") != std::string_view::npos) return fail("unbalanced angle brackets");
    }
    // A source route (@a,@b:user@d, RFC 5321 4.1.2 obsolete form) is stripped.
    if (!addr.empty() && addr.front() == '@') {
        auto colon = addr.find(':');
        if (colon == std::string_view::npos) return fail("bad source route");
        // A route is "@host,@host:", never quoted: a colon after a quote may
        // be inside a quoted local part, and cutting there leaves a stray
        // quote or '<' in the address (<@a"<:<b@c"> gave `<b@c"`).
        if (addr.substr(0, colon).find('"') != std::string_view::npos) return fail("bad source route");
        addr = addr.substr(colon + 1);
        // "@a:@b:c@d" is no route list ("@a,@b:c@d" is): stripping once leaves
        // "@b:c@d", which the next hop would strip again to another mailbox.
        if (!addr.empty() && addr.front() == '@') return fail("bad source route");
    }
    for (char c : addr)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail("control character in address");
    path.address = std::string(addr);

    // ESMTP parameters: SP-separated keyword[=value].
    while (!rest.empty()) {
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        if (rest.empty()) break;
        auto sp = rest.find(' ');
        auto tok = rest.substr(0, sp);
        rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
        auto eq = tok.find('=');
        std::string key = upper(tok.substr(0, eq));
        if (key.empty()) return fail("empty parameter");
        path.params[key] = eq == std::string_view::npos ? std::string() : std::string(tok.substr(eq + 1));
    }
    return path;
}

namespace {

bool alpha_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// RFC 5322 atext, as RFC 5321 4.1.2 uses it.
bool atext(char c) {
    // (strchr finds the terminating NUL too: c must not be one.)
    return alpha_digit(c) || (c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr);
}

std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u > 32 && u < 127) return std::string("'") + c + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", u);
    return buf;
}

// Ldh-str labels: Let-dig [*(ALPHA / DIGIT / "-") Let-dig].
std::string domain_problem(std::string_view d) {
    if (d.size() > 253) return "domain longer than 253 octets";
    std::size_t start = 0;
    for (;;) {
        auto dot = d.find('.', start);
        auto label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty()) return "empty label in the domain ('..' or a dot at an end)";
        if (label.size() > 63) return "domain label longer than 63 octets";
        for (char c : label)
            if (!alpha_digit(c) && c != '-') return "character " + printable(c) + " is not allowed in a domain";
        if (label.front() == '-' || label.back() == '-')
            return "domain label '" + std::string(label) + "' starts or ends with '-'";
        if (dot == std::string_view::npos) return "";
        start = dot + 1;
    }
}

// "[192.0.2.1]", "[IPv6:2001:db8::1]", "[tag:content]" (RFC 5321 4.1.3).
std::string literal_problem(std::string_view d) {
    if (d.size() < 3 || d.back() != ']') return "address literal without its closing ']'";
    auto in = d.substr(1, d.size() - 2);
    auto colon = in.find(':');
    if (colon == std::string_view::npos) {
        int parts = 0;
        std::size_t start = 0;
        for (;;) {
            auto dot = in.find('.', start);
            auto num = in.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
            if (num.empty() || num.size() > 3) return "bad IPv4 address literal";
            int v = 0;
            for (char c : num) {
                if (c < '0' || c > '9') return "bad IPv4 address literal";
                v = v * 10 + (c - '0');
            }
            if (v > 255) return "bad IPv4 address literal";
            ++parts;
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
        return parts == 4 ? "" : "bad IPv4 address literal";
    }
    auto tag = in.substr(0, colon), rest = in.substr(colon + 1);
    if (tag == "IPv6") {
        // Only what an IPv6 address is made of: inet_pton would stop at a NUL.
        for (char c : rest)
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return "bad IPv6 address literal";
        unsigned char buf[16];
        return ::inet_pton(AF_INET6, std::string(rest).c_str(), buf) == 1 ? "" : "bad IPv6 address literal";
    }
    // General-address-literal: Standardized-tag ":" 1*dcontent
    if (tag.empty() || !alpha_digit(tag.back()) || rest.empty()) return "bad address literal";
    for (char c : tag)
        if (!alpha_digit(c) && c != '-') return "bad address literal";
    for (char c : rest)
        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']') return "bad address literal";
    return "";
}

} // namespace

bool non_ascii(std::string_view addr) {
    for (unsigned char c : addr)
        if (c >= 0x80) return true;
    return false;
}

std::string mailbox_problem(std::string_view a, bool allow_postmaster) {
    if (a.empty()) return "empty address";
    if (non_ascii(a)) return "non-ASCII address (SMTPUTF8 is not offered)";
    if (a.size() > 254) return "address longer than 254 octets";
    if (allow_postmaster && upper(a) == "POSTMASTER") return "";
    std::size_t i = 0;
    if (a.front() == '"') { // Quoted-string: qtextSMTP / quoted-pairSMTP
        for (i = 1;; ++i) {
            if (i >= a.size()) return "quoted local part not closed";
            char c = a[i];
            if (c == '"') break;
            if (c == '\\') {
                if (++i >= a.size() || a[i] < 32 || a[i] > 126) return "bad quoted pair in the local part";
            } else if (c < 32 || c > 126) {
                return "control character in the local part";
            }
        }
        ++i; // past the closing quote
        if (i >= a.size() || a[i] != '@') return "no '@' right after the quoted local part";
    } else { // Dot-string: atoms of atext separated by single dots
        bool empty_atom = true;
        for (; i < a.size() && a[i] != '@'; ++i) {
            if (a[i] == '.') {
                if (empty_atom) return "empty atom in the local part ('..' or a dot at its start)";
                empty_atom = true;
            } else if (!atext(a[i])) {
                return "character " + printable(a[i]) + " is not allowed in an unquoted local part";
            } else {
                empty_atom = false;
            }
        }
        if (i >= a.size()) return "no '@' and domain";
        if (i == 0) return "empty local part";
        if (empty_atom) return "the local part ends with a dot";
    }
    if (i > 64) return "local part longer than 64 octets";
    auto domain = a.substr(i + 1);
    if (domain.empty()) return "empty domain";
    return domain.front() == '[' ? literal_problem(domain) : domain_problem(domain);
}

DataReader::DataReader(std::size_t max_size, std::size_t max_line)
    : max_size_(max_size), max_line_(max_line) {
    // Typical messages fit; reserving avoids a few regrowths per message.
    msg_.reserve(std::min<std::size_t>(max_size_, 64 * 1024));
}

std::size_t DataReader::feed(std::string_view in) {
    std::size_t i = 0;
    auto append = [&](char c) {
        if (too_big_) return;
        if (msg_.size() >= max_size_) {
            too_big_ = true;
            std::string().swap(msg_); // drop what we have: it will never be used
            return;
        }
        msg_.push_back(c);
    };
    // Most bytes sit in the middle of a line: copied a run at a time, up to
    // the next CR or LF (a byte at a time, this loop was the SMTP thread's
    // largest cost).
    auto append_run = [&](const char* p, std::size_t n) {
        if (too_big_) return;
        if (msg_.size() + n > max_size_) { // as append() would, at the byte that does not fit
            too_big_ = true;
            std::string().swap(msg_);
            return;
        }
        msg_.append(p, n);
    };
    while (i < in.size() && state_ == State::reading) {
        if (!after_cr_ && !at_line_start_) {
            const char* from = in.data() + i;
            const char* end = in.data() + in.size();
            if (auto* cr = static_cast<const char*>(std::memchr(from, '\r', static_cast<std::size_t>(end - from))))
                end = cr;
            if (auto* lf = static_cast<const char*>(std::memchr(from, '\n', static_cast<std::size_t>(end - from))))
                end = lf;
            std::size_t n = static_cast<std::size_t>(end - from);
            if (n > 0) {
                received_ += n;
                line_len_ += n;
                if (line_len_ > max_line_) line_too_long_ = true;
                dot_line_ = false;
                append_run(from, n);
                i += n;
                continue;
            }
        }
        char c = in[i++];
        ++received_;
        if (after_cr_) {
            after_cr_ = false;
            if (c != '\n') { state_ = State::bare_eol; break; } // bare CR
            if (dot_line_) { state_ = State::done; break; }     // CRLF "." CRLF
            append('\r');
            append('\n');
            at_line_start_ = true;
            line_len_ = 0;
            continue;
        }
        if (c == '\n') { state_ = State::bare_eol; break; } // bare LF
        if (c == '\r') { after_cr_ = true; continue; }
        if (++line_len_ > max_line_) line_too_long_ = true;
        if (at_line_start_) {
            at_line_start_ = false;
            if (c == '.') { dot_line_ = true; continue; } // un-stuff (RFC 5321 4.5.2)
        }
        dot_line_ = false;
        append(c);
    }
    // One pass over what this call took (not over bytes after the final
    // dot: those are the next command's).
    if (!has_nul_ && i > 0 && std::memchr(in.data(), '\0', i)) has_nul_ = true;
    return i;
}

std::optional<std::string> base64_decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    std::size_t i = 0;
    for (; i < in.size() && in[i] != '='; ++i) {
        int v = val(in[i]);
        if (v < 0) return std::nullopt;
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xff));
        }
    }
    std::size_t pad = 0;
    for (; i < in.size(); ++i) {
        if (in[i] != '=') return std::nullopt;
        ++pad;
    }
    if (pad > 2 || (in.size() % 4) != 0) return std::nullopt;
    return out;
}

std::string base64_encode(std::string_view in) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out += tbl[(v >> 18) & 63]; out += tbl[(v >> 12) & 63]; out += tbl[(v >> 6) & 63]; out += tbl[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        out += tbl[(v >> 18) & 63]; out += tbl[(v >> 12) & 63]; out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += tbl[(v >> 18) & 63]; out += tbl[(v >> 12) & 63]; out += tbl[(v >> 6) & 63]; out += '=';
    }
    return out;
}

std::string multiline_reply(int code, std::string_view enhanced, const std::vector<std::string>& lines) {
    std::vector<std::string> flat;
    for (const auto& l : lines) {
        std::size_t start = 0;
        while (start <= l.size()) {
            auto e = l.find_first_of("\r\n", start);
            auto part = l.substr(start, e == std::string::npos ? std::string::npos : e - start);
            if (!part.empty()) flat.push_back(part);
            if (e == std::string::npos) break;
            start = e + 1;
        }
    }
    if (flat.empty()) flat.emplace_back();
    std::string out;
    for (std::size_t i = 0; i < flat.size(); ++i) {
        out += std::to_string(code);
        out += i + 1 == flat.size() ? ' ' : '-';
        out += enhanced;
        if (!flat[i].empty()) { out += ' '; out += flat[i]; }
        out += "\r\n";
    }
    return out;
}

} // namespace rapport::daemon::smtp
