// smtp_fuzz.cc - libFuzzer entry point for the socket-free SMTP layer
// (daemon/lib/smtp_protocol.h): parse_command, parse_path, mailbox_problem,
// DataReader, base64_decode/encode and multiline_reply.
//
// Every input goes through all of them, and the promises of the header are
// checked; a broken one aborts (so libFuzzer keeps the input as a crash):
//   - DataReader (the SMTP smuggling surface, CVE-2023-51764 class): the same
//     bytes in one chunk, one byte at a time, or in chunks split where the
//     input says give the same state, byte count and message, all equal to a
//     small line-by-line reference model written here; "done" only after
//     CRLF "." CRLF (or "." CRLF at the very start) with no bare CR or LF
//     before it; the message has no bare CR or LF; re-stuffing the message
//     and reading it again gives the same message (what the next hop sees);
//     the size and line limits are flagged exactly when exceeded.
//   - parse_path: an accepted address has no control characters, parameter
//     keys are non-empty and upper-case, keys and values have no space.
//   - mailbox_problem: a yes means ASCII local@domain (or postmaster, when
//     allowed), no control characters, spaces only inside a leading quoted
//     local part, a local part of at most 64 octets, LDH domain labels or a
//     bracketed literal.
//   - base64: encode then decode gives the input back; decode on junk is safe
//     and, when it accepts, its length matches the padding.
//   - multiline_reply: "code-" on all lines but the last, "code " on the last,
//     each ending in CRLF, no bare CR or LF, the text lines as split.
//   scripts/fuzz.sh 300    (its share of the time goes to this target)

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/lib/smtp_protocol.h"

namespace smtp = rapport::daemon::smtp;
using State = smtp::DataReader::State;

namespace {

[[noreturn]] void fail(const char* what, int line) {
    std::fprintf(stderr, "smtp_fuzz: invariant broken at line %d: %s\n", line, what);
    std::abort();
}
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) fail(#cond, __LINE__);                                                                            \
    } while (0)

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_ctl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// True if every CR is followed by LF and every LF follows a CR.
bool crlf_only(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    }
    return true;
}

// --- DataReader ---------------------------------------------------------------

struct Outcome {
    State state = State::reading;
    std::size_t consumed = 0;
    std::string message;
    bool too_big = false, line_too_long = false;
    std::size_t received = 0;
};

// Reference model: the same contract, written line by line over the whole
// buffer instead of byte by byte.
Outcome model(std::string_view in, std::size_t max_size, std::size_t max_line) {
    Outcome o;
    std::string msg;
    auto unstuff = [](std::string_view line) { return line.substr(!line.empty() && line.front() == '.' ? 1 : 0); };
    std::size_t p = 0;
    for (;;) {
        auto e = in.find_first_of("\r\n", p);
        auto line = in.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p);
        if (line.size() > max_line) o.line_too_long = true;
        if (e == std::string_view::npos || (in[e] == '\r' && e + 1 == in.size())) {
            msg += unstuff(line); // incomplete line (maybe a CR waiting for its LF)
            o.state = State::reading;
            o.consumed = in.size();
            break;
        }
        if (in[e] == '\n') { o.state = State::bare_eol; o.consumed = e + 1; break; }
        if (in[e + 1] != '\n') { o.state = State::bare_eol; o.consumed = e + 2; break; }
        if (line == ".") { o.state = State::done; o.consumed = e + 2; break; }
        msg += unstuff(line);
        msg += "\r\n";
        p = e + 2;
    }
    o.too_big = msg.size() > max_size;
    if (!o.too_big) o.message = std::move(msg);
    o.received = o.consumed;
    return o;
}

// Feeds `in` in the given chunk sizes (the rest in one piece), the way the
// server does: bytes a feed did not use are the next command.
Outcome run_reader(std::string_view in, std::size_t max_size, std::size_t max_line,
                   const std::vector<std::size_t>& chunks) {
    smtp::DataReader r(max_size, max_line);
    Outcome o;
    std::size_t pos = 0, k = 0;
    while (pos < in.size() && r.state() == State::reading) {
        std::size_t n = k < chunks.size() ? chunks[k++] : in.size() - pos;
        n = std::min(n, in.size() - pos);
        auto piece = in.substr(pos, n);
        std::size_t used = r.feed(piece);
        CHECK(used <= piece.size());
        if (r.state() == State::reading) CHECK(used == piece.size());
        else CHECK(used >= 1);
        pos += used;
    }
    // Once finished, it takes nothing more.
    if (r.state() != State::reading) CHECK(r.feed("x\r\n.\r\n") == 0);
    o.state = r.state();
    o.consumed = pos;
    o.message = r.message();
    o.too_big = r.too_big();
    o.line_too_long = r.line_too_long();
    o.received = r.received();
    return o;
}

void check_same(const Outcome& a, const Outcome& b) {
    CHECK(a.state == b.state);
    CHECK(a.consumed == b.consumed);
    CHECK(a.received == b.received);
    if (a.state == State::bare_eol) return; // the session closes; nothing else is used
    CHECK(a.too_big == b.too_big);
    CHECK(a.line_too_long == b.line_too_long);
    CHECK(a.message == b.message);
}

std::string stuff(std::string_view msg) {
    std::string out;
    bool start = true;
    for (char c : msg) {
        if (start && c == '.') out += '.';
        out += c;
        start = c == '\n';
    }
    return out;
}

void check_reader(std::string_view in, std::size_t max_size, std::size_t max_line) {
    Outcome whole = run_reader(in, max_size, max_line, {});
    check_same(whole, model(in, max_size, max_line));

    // Byte at a time.
    check_same(whole, run_reader(in, max_size, max_line, std::vector<std::size_t>(in.size(), 1)));
    // Split where the input says: each chunk is 1..8 bytes long, from the byte it starts on.
    std::vector<std::size_t> chunks;
    for (std::size_t p = 0; p < in.size();) {
        std::size_t n = 1 + static_cast<unsigned char>(in[p]) % 8;
        chunks.push_back(n);
        p += n;
    }
    check_same(whole, run_reader(in, max_size, max_line, chunks));

    CHECK(whole.received == whole.consumed);
    auto used = in.substr(0, whole.consumed);
    if (whole.state == State::done) {
        // Ends at CRLF "." CRLF, or at "." CRLF as the very first line; no bare CR/LF before.
        CHECK(used.size() >= 3 && used.substr(used.size() - 3) == ".\r\n");
        CHECK(used.size() == 3 || (used.size() >= 5 && used.substr(used.size() - 5) == "\r\n.\r\n"));
        CHECK(crlf_only(used));
    }
    if (whole.state == State::bare_eol) CHECK(!crlf_only(used));
    if (whole.state == State::reading) CHECK(whole.consumed == in.size());
    if (whole.state != State::bare_eol) {
        CHECK(crlf_only(whole.message)); // a CR waiting for its LF is not in it yet
        if (whole.too_big) CHECK(whole.message.empty());
        else CHECK(whole.message.size() <= max_size);
    }
    if (whole.state == State::done) {
        CHECK(crlf_only(whole.message));
        CHECK(whole.message.empty() || whole.message.size() >= 2);
        if (!whole.message.empty()) CHECK(whole.message.substr(whole.message.size() - 2) == "\r\n");
        // What the next hop reads back from the re-stuffed message is the same message.
        if (!whole.too_big) {
            std::string again = stuff(whole.message) + ".\r\n";
            Outcome o = run_reader(again, std::string::npos, std::string::npos, {});
            CHECK(o.state == State::done);
            CHECK(o.consumed == again.size());
            CHECK(o.message == whole.message);
        }
    }
}

// --- the rest ----------------------------------------------------------------

// Length of the leading quoted local part ("a b"@c -> 5), 0 if there is
// none, npos if its quote never closes.
std::size_t quoted_prefix(std::string_view a) {
    if (a.empty() || a.front() != '"') return 0;
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (a[i] == '\\' && i + 1 < a.size()) { ++i; continue; }
        if (a[i] == '"') return i + 1;
    }
    return std::string_view::npos;
}

void check_mailbox(std::string_view a) {
    for (bool postmaster : {false, true}) {
        if (!smtp::mailbox_problem(a, postmaster).empty()) continue;
        CHECK(!a.empty() && a.size() <= 254);
        CHECK(!smtp::non_ascii(a));
        // No control characters; spaces only inside a leading quoted local part ("a b"@c).
        std::size_t quoted_end = quoted_prefix(a);
        CHECK(quoted_end != std::string_view::npos);
        for (std::size_t i = 0; i < a.size(); ++i) {
            CHECK(!is_ctl(a[i]));
            if (a[i] == ' ') CHECK(i < quoted_end);
        }
        std::string up(a);
        for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (up == "POSTMASTER") {
            CHECK(postmaster);
            continue;
        }
        // local@domain: the '@' right after the local part (none inside an
        // unquoted one), at most 64 octets of it; the domain is LDH labels
        // (no '-' at either end) or a bracketed literal.
        auto at = quoted_end ? quoted_end : a.find('@');
        CHECK(at != std::string_view::npos && at > 0 && at <= 64 && at + 1 < a.size() && a[at] == '@');
        auto domain = a.substr(at + 1);
        if (domain.front() == '[') {
            CHECK(domain.back() == ']');
            continue;
        }
        CHECK(domain.front() != '.' && domain.back() != '.' && domain.find("..") == std::string_view::npos);
        for (std::size_t i = 0; i < domain.size(); ++i) {
            char c = domain[i];
            CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.');
            if (c == '-') CHECK(i > 0 && i + 1 < domain.size() && domain[i - 1] != '.' && domain[i + 1] != '.');
        }
    }
}

void check_path(std::string_view arg, std::string_view keyword) {
    std::string why;
    auto p = smtp::parse_path(arg, keyword, &why);
    if (!p) {
        CHECK(!why.empty());
        return;
    }
    for (char c : arg) CHECK(c != '\r' && c != '\n' && c != '\0');
    for (char c : p->address) CHECK(!is_ctl(c));
    for (const auto& [k, v] : p->params) {
        CHECK(!k.empty());
        // (Other control characters in parameters are the caller's business: it
        // only knows SIZE, BODY and AUTH and checks their values.)
        for (char c : k) CHECK(!is_lower(c) && c != ' ' && c != '=' && c != '\r' && c != '\n' && c != '\0');
        for (char c : v) CHECK(c != ' ' && c != '\r' && c != '\n' && c != '\0');
    }
    check_mailbox(p->address);
    // A bracketed mailbox the server would take, relayed as "<address>",
    // parses back to itself, so the proxy and the next hop agree on who the
    // mail is for. (The lenient unbracketed form, "TO:a\"b@c", can yield
    // addresses with a stray quote that cannot be bracketed again; those are
    // not promised anything and are left out.)
    auto rest = arg.substr(keyword.size() + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (!rest.empty() && rest.front() == '<' && smtp::mailbox_problem(p->address, true).empty()) {
        auto again = smtp::parse_path(std::string(keyword) + ":<" + p->address + ">", keyword);
        CHECK(again && again->address == p->address && again->params.empty());
    }
}

void check_command(std::string_view line) {
    auto c = smtp::parse_command(line);
    for (char ch : c.verb) CHECK(ch != ' ' && !is_lower(ch));
    CHECK(c.arg.empty() || (c.arg.back() != ' ' && c.arg.back() != '\t'));
    auto sp = line.find(' ');
    CHECK(c.verb.size() == (sp == std::string_view::npos ? line.size() : sp));
    if (sp != std::string_view::npos) CHECK(line.substr(sp + 1).substr(0, c.arg.size()) == c.arg);
    else CHECK(c.arg.empty());
    if (c.verb == "MAIL") check_path(c.arg, "FROM");
    if (c.verb == "RCPT") check_path(c.arg, "TO");
    if (c.verb == "AUTH" || c.verb.empty()) (void)smtp::base64_decode(c.arg);
}

void check_base64(std::string_view in) {
    std::string enc = smtp::base64_encode(in);
    CHECK(enc.size() == (in.size() + 2) / 3 * 4);
    for (char c : enc) CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                             c == '+' || c == '/' || c == '=');
    auto dec = smtp::base64_decode(enc);
    CHECK(dec && *dec == in);

    auto junk = smtp::base64_decode(in);
    if (junk) {
        CHECK(in.size() % 4 == 0);
        std::size_t pad = 0;
        while (pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
        CHECK(pad <= 2);
        CHECK(junk->size() == in.size() / 4 * 3 - pad);
        auto back = smtp::base64_decode(smtp::base64_encode(*junk));
        CHECK(back && *back == *junk);
    }
}

void check_reply(std::string_view in) {
    int code = 200 + static_cast<int>(in.size() % 400);
    static const char* const enhanced_codes[] = {"2.0.0", "5.7.1", "4.7.0", "5.5.2"};
    std::string enhanced = enhanced_codes[in.size() % 4];
    // Lines are separated by NUL in the input (they may hold CR / LF themselves).
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (;;) {
        auto nul = in.find('\0', start);
        lines.emplace_back(in.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
        if (nul == std::string_view::npos) break;
        start = nul + 1;
    }
    // Expected text lines: split on CR or LF, empty pieces dropped.
    std::vector<std::string> want;
    for (const auto& l : lines) {
        std::string cur;
        for (char c : l) {
            if (c == '\r' || c == '\n') {
                if (!cur.empty()) want.push_back(cur);
                cur.clear();
            } else {
                cur += c;
            }
        }
        if (!cur.empty()) want.push_back(cur);
    }
    if (want.empty()) want.emplace_back();

    std::string out = smtp::multiline_reply(code, enhanced, lines);
    CHECK(crlf_only(out));
    CHECK(out.size() >= 2 && out.substr(out.size() - 2) == "\r\n");
    std::string prefix = std::to_string(code);
    std::size_t pos = 0, n = 0;
    while (pos < out.size()) {
        auto e = out.find("\r\n", pos);
        CHECK(e != std::string::npos);
        std::string_view line(out.data() + pos, e - pos);
        bool last = e + 2 == out.size();
        CHECK(n < want.size());
        std::string expect = prefix + (last ? ' ' : '-') + enhanced + (want[n].empty() ? "" : " " + want[n]);
        CHECK(line == expect);
        pos = e + 2;
        ++n;
    }
    CHECK(n == want.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    // DATA: generous limits, then small ones picked by the input's last bytes.
    check_reader(in, 1 << 20, 1000);
    std::size_t small_size = size ? static_cast<unsigned char>(in[size - 1]) % 97 : 0;
    std::size_t small_line = size > 1 ? static_cast<unsigned char>(in[size - 2]) % 23 : 0;
    check_reader(in, small_size, small_line);

    // Commands: the whole input and each CRLF-separated line of it.
    check_command(in);
    for (std::size_t p = 0; p <= in.size();) {
        auto e = in.find("\r\n", p);
        check_command(in.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
        if (e == std::string_view::npos) break;
        p = e + 2;
    }
    check_path(in, "FROM");
    check_path(in, "TO");
    check_mailbox(in);
    check_base64(in);
    check_reply(in);
    return 0;
}
