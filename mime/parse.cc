// parse.cc - raw message bytes -> mime::Message.
//
// How: the message is cut into a tree of entities (headers + body slices of
// the input, no copies), then the tree is read twice: once to pick the
// sender's text, once to list attachments and forwarded messages.
//
// Why our own boundary scanner and not mimetic::MimeEntity for the tree:
// measured here (bench/mime_bench.cc, BENCHMARKS.md), a bare MimeEntity
// parse of a 5 MB mail with a base64 PDF runs at ~0.85 GB/s, already under
// the 1 GB/s the whole model must reach; it also copies every body into the
// tree, and sizing and sniffing the PDF would then walk that copy again.
// Here a multipart body is split with memchr() on '-' (base64 has no '-', so
// an attachment is skipped at memory speed) into string_views of the input,
// attachments are sized by counting base64 characters and sniffed from their
// first/last few KB only: ~1.9 GB/s for the full model. Cutting the tree
// ourselves also puts Limits (depth, parts) where the work happens.
// mimetic still decodes base64 text bodies (transfer.cc; its QP decoder was
// replaced for speed, see decode_qp), and the benchmark
// (bench/mime_bench.cc) measures this parser against a bare MimeEntity
// parse of the same bytes.
//
// libetpan reads the structured headers: address lists with groups, comments
// and quoted names (mailimf_address_list_parse), dates with obsolete zones
// (mailimf_date_time_parse), and RFC 2047 words (via charset.cc).
//
// Limits: Limits::max_depth bounds recursion (each level rescans only its own
// slice, so work is O(depth x size)); max_parts bounds the entities built;
// max_text_bytes bounds the kept text. Every defect becomes one sentence in
// Message::problems; nothing throws (allocation failure aside).

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <memory>

#include <libetpan/libetpan.h>

#include "mime/charset.h"
#include "mime/html_text.h"
#include "mime/sniff.h"
#include "mime/transfer.h"
#include "mime/message.h"

namespace rapport::mime {

namespace {

using detail::iequals;
using detail::lower;
using detail::Param;
using detail::trim;

struct Field {
    std::string_view name;
    std::string value; // unfolded, not decoded
};

struct Node {
    std::string type = "text/plain"; // lower-case type/subtype
    std::vector<Param> ct_params;
    std::string disposition; // lower-case, "" when absent
    std::vector<Param> cd_params;
    std::string cte; // lower-case transfer encoding
    std::string content_id;
    std::vector<Field> fields;
    std::string_view body;
    std::vector<Node> children; // multipart parts, or the one message of message/rfc822
    int number = 0;             // 1-based part number, for problem sentences
    bool ignored = false;       // not read (a limit was hit)

    bool multipart() const { return type.rfind("multipart/", 0) == 0; }
    bool message() const { return type == "message/rfc822" || type == "message/global"; }
    std::string param(std::string_view name) const {
        for (const auto& p : ct_params)
            if (p.name == name) return p.value;
        return {};
    }
    std::string filename() const {
        std::string f;
        for (const auto& p : cd_params)
            if (p.name == "filename") { f = p.value; break; }
        if (f.empty())
            for (const auto& p : ct_params)
                if (p.name == "name") { f = p.value; break; }
        // Some clients send the sender's full path ("C:\Users\...\cv.pdf").
        auto slash = f.find_last_of("/\\");
        if (slash != std::string::npos && slash + 1 < f.size()) f = f.substr(slash + 1);
        return std::string(trim(f));
    }
    bool is_attachment_disposition() const { return disposition == "attachment"; }
    // A text part that is body text rather than an attached document.
    bool is_body_text() const {
        return (type == "text/plain" || type == "text/html") && !is_attachment_disposition() &&
               filename().empty();
    }
};

class Parser {
public:
    Parser(const Limits& lim, Message& msg) : lim_(lim), msg_(msg) {}

    void run(std::string_view raw) {
        if (raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3); // a UTF-8 BOM from a text editor
        Node root = build(raw, 0, "text/plain", true);
        read_top_headers(root);
        if (auto t = pick_text(root)) {
            msg_.text = std::move(t->text);
            msg_.text_from_html = t->html;
        }
        limit_text(msg_.text, "text");
        collect(root, false);
    }

private:
    const Limits& lim_;
    Message& msg_;
    std::size_t parts_ = 0;
    bool depth_reported_ = false;
    bool parts_reported_ = false;
    std::deque<std::string> arena_; // decoded message/rfc822 bodies the tree points into

    void problem(std::string s) {
        // Sentences quote input (cut at a byte count): keep them valid UTF-8.
        if (!detail::is_utf8(s)) s = detail::sanitize_utf8(s);
        if (msg_.problems.size() < 100 &&
            std::find(msg_.problems.begin(), msg_.problems.end(), s) == msg_.problems.end())
            msg_.problems.push_back(std::move(s));
    }

    // ---------------------------------------------------------- structure

    // Splits header fields from the body. Header lines end at the first empty
    // line; a line that is neither a field nor a continuation also ends them.
    void split_fields(std::string_view raw, Node& node, bool top) {
        std::size_t pos = 0, n = raw.size();
        bool first = true;
        while (pos < n) {
            std::size_t e = raw.find('\n', pos);
            std::size_t next = e == std::string_view::npos ? n : e + 1;
            std::string_view line = raw.substr(pos, (e == std::string_view::npos ? n : e) - pos);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.empty()) {
                node.body = raw.substr(next);
                return;
            }
            if ((line.front() == ' ' || line.front() == '\t') && !node.fields.empty()) {
                auto& v = node.fields.back().value;
                if (v.size() < 64 * 1024) v.append(line); // unfold: drop the line break only
                pos = next;
                first = false;
                continue;
            }
            if (top && first && line.rfind("From ", 0) == 0) { // mbox separator line
                pos = next;
                first = false;
                continue;
            }
            auto colon = line.find(':');
            std::string_view name = colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
            bool valid = !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
                return c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126;
            });
            if (!valid) {
                // A line broken without its leading blank (issue358 in the
                // torture set): when the next line is a field again, the block
                // visibly goes on, so keep this one as a continuation.
                std::size_t e2 = next < n ? raw.find('\n', next) : std::string_view::npos;
                std::string_view after = next < n ? raw.substr(next, (e2 == std::string_view::npos ? n : e2) - next) : std::string_view{};
                if (!node.fields.empty() && looks_like_field(after)) {
                    problem("header line without a colon");
                    auto& v = node.fields.back().value;
                    if (v.size() < 64 * 1024) v.append(line);
                    pos = next;
                    continue;
                }
                if (!first || top) problem("header block not ended by an empty line");
                node.body = raw.substr(pos);
                return;
            }
            if (node.fields.size() < 1000) node.fields.push_back({name, std::string(line.substr(colon + 1))});
            else if (node.fields.size() == 1000) problem("more than 1000 header fields; the rest ignored");
            first = false;
            pos = next;
        }
        // Fields up to the end and no body: an empty body (common, and legal
        // enough: "--b\nContent-Type: image/gif\n--b").
        node.body = raw.substr(n);
    }

    static bool looks_like_field(std::string_view line) {
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        for (std::size_t i = 0; i < colon; ++i) {
            auto c = static_cast<unsigned char>(line[i]);
            if (c <= 32 || c > 126) return false;
        }
        return true;
    }

    const Field* field(const Node& node, std::string_view name) const {
        for (const auto& f : node.fields)
            if (iequals(f.name, name)) return &f;
        return nullptr;
    }

    void read_content_fields(Node& node, std::string_view default_type) {
        node.type = std::string(default_type);
        if (const Field* ct = field(node, "Content-Type")) {
            std::string_view v = ct->value;
            auto semi = v.find(';');
            std::string t = detail::sanitize_utf8(lower(trim(v.substr(0, semi))));
            // Comments in the type ("text/plain (generated)") are rare; drop them.
            if (auto paren = t.find('('); paren != std::string::npos) t = std::string(trim(t.substr(0, paren)));
            if (semi != std::string_view::npos) node.ct_params = detail::parse_params(v.substr(semi + 1));
            auto slash = t.find('/');
            if (t.empty()) {
                problem("empty Content-Type in part " + std::to_string(node.number));
            } else if (slash == std::string::npos || slash == 0 || slash + 1 == t.size()) {
                problem("Content-Type \"" + t.substr(0, 60) + "\" has no subtype");
                if (t.rfind("text", 0) == 0) node.type = "text/plain";
                else if (t.rfind("multipart", 0) == 0) node.type = "multipart/mixed";
                else node.type = "application/octet-stream";
            } else {
                node.type = t;
            }
        }
        if (const Field* cd = field(node, "Content-Disposition")) {
            std::string_view v = cd->value;
            auto semi = v.find(';');
            node.disposition = detail::sanitize_utf8(lower(trim(v.substr(0, semi))));
            if (semi != std::string_view::npos) node.cd_params = detail::parse_params(v.substr(semi + 1));
        }
        if (const Field* te = field(node, "Content-Transfer-Encoding")) node.cte = lower(trim(te->value));
        if (const Field* id = field(node, "Content-ID")) node.content_id = detail::sanitize_utf8(strip_angles(id->value));
    }

    static std::string strip_angles(std::string_view v) {
        v = trim(v);
        auto lt = v.find('<');
        if (lt != std::string_view::npos) {
            auto gt = v.find('>', lt);
            return std::string(trim(v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1)));
        }
        return std::string(v);
    }

    // Finds the next delimiter line "--boundary" at or after `from`. Sets
    // `after` to the start of the following line and `closing` for "--b--".
    static std::size_t find_delimiter(std::string_view s, std::size_t from, std::string_view b,
                                      std::size_t& after, bool& closing) {
        const char* d = s.data();
        std::size_t n = s.size();
        std::size_t pos = from;
        while (pos + 2 + b.size() <= n) {
            const void* hit = std::memchr(d + pos, '-', n - pos);
            if (!hit) return std::string_view::npos;
            std::size_t p = static_cast<std::size_t>(static_cast<const char*>(hit) - d);
            if (p + 1 < n && d[p + 1] != '-') { pos = p + 2; continue; }
            if ((p == 0 || d[p - 1] == '\n') && p + 2 + b.size() <= n &&
                std::memcmp(d + p + 2, b.data(), b.size()) == 0) {
                std::size_t q = p + 2 + b.size();
                closing = q + 1 < n && d[q] == '-' && d[q + 1] == '-';
                if (closing) q += 2;
                while (q < n && (d[q] == ' ' || d[q] == '\t')) ++q;
                if (q >= n || d[q] == '\r' || d[q] == '\n' || closing) {
                    std::size_t e = s.find('\n', q);
                    after = e == std::string_view::npos ? n : e + 1;
                    return p;
                }
            }
            pos = p + 1;
        }
        return std::string_view::npos;
    }

    static std::string_view strip_final_newline(std::string_view s) {
        if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
        if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
        return s;
    }

    void split_multipart(Node& node, int depth) {
        std::string boundary = node.param("boundary");
        if (boundary.empty()) {
            // Guess from the first "--" line: what a reader of the raw text would do.
            std::string_view b = node.body;
            std::size_t p = 0;
            while (p < b.size() && (b[p] == '\r' || b[p] == '\n')) ++p;
            if (b.substr(p, 2) == "--") {
                std::size_t e = b.find_first_of("\r\n", p);
                boundary = std::string(trim(b.substr(p + 2, e == std::string_view::npos ? std::string_view::npos : e - p - 2)));
            }
            problem("multipart without boundary parameter in part " + std::to_string(node.number) +
                    (boundary.empty() ? "" : "; boundary guessed from the body"));
            if (boundary.empty()) return;
        }
        if (boundary.size() > 200) {
            problem("boundary longer than 200 characters in part " + std::to_string(node.number));
        }
        std::string_view s = node.body;
        std::size_t after = 0;
        bool closing = false;
        std::size_t p = find_delimiter(s, 0, boundary, after, closing);
        if (p == std::string_view::npos) {
            problem("multipart boundary never found in part " + std::to_string(node.number));
            return;
        }
        std::string child_default = node.type == "multipart/digest" ? "message/rfc822" : "text/plain";
        while (!closing) {
            std::size_t start = after;
            std::size_t next_after = 0;
            bool next_closing = false;
            std::size_t q = find_delimiter(s, start, boundary, next_after, next_closing);
            std::string_view part;
            if (q == std::string_view::npos) {
                problem("multipart boundary never closed in part " + std::to_string(node.number));
                part = s.substr(std::min(start, s.size()));
                closing = true;
            } else {
                part = strip_final_newline(s.substr(start, q - start));
                closing = next_closing;
                after = next_after;
            }
            if (parts_ >= lim_.max_parts) {
                if (!parts_reported_) problem("part limit (" + std::to_string(lim_.max_parts) + ") hit; the rest ignored");
                parts_reported_ = true;
                return;
            }
            node.children.push_back(build(part, depth + 1, child_default, false));
        }
    }

    Node build(std::string_view raw, int depth, std::string_view default_type, bool top) {
        Node node;
        node.number = static_cast<int>(++parts_);
        split_fields(raw, node, top);
        read_content_fields(node, default_type);
        if (depth >= lim_.max_depth && (node.multipart() || node.message())) {
            if (!depth_reported_) problem("nesting depth limit (" + std::to_string(lim_.max_depth) + ") hit; deeper parts ignored");
            depth_reported_ = true;
            node.ignored = true;
            return node;
        }
        if (node.multipart()) {
            split_multipart(node, depth);
        } else if (node.message()) {
            std::string_view inner = node.body;
            if (node.cte == "base64" || node.cte == "quoted-printable") {
                bool bad = false;
                arena_.push_back(node.cte == "base64" ? detail::decode_base64(inner, &bad) : detail::decode_qp(inner, &bad));
                inner = arena_.back();
            }
            node.children.push_back(build(inner, depth + 1, "text/plain", false));
        }
        return node;
    }

    // ---------------------------------------------------------- headers

    std::vector<Address> addresses(std::string_view value) {
        std::vector<Address> out;
        std::string v(trim(value));
        if (v.empty()) return out;
        std::size_t idx = 0;
        mailimf_address_list* list = nullptr;
        int r = mailimf_address_list_parse(v.data(), v.size(), &idx, &list);
        bool complete = r == MAILIMF_NO_ERROR && list;
        if (complete) {
            std::string_view rest = std::string_view(v).substr(std::min(idx, v.size()));
            complete = trim(rest).find_first_not_of(",; \t") == std::string_view::npos;
        }
        if (complete) {
            auto add = [&](mailimf_mailbox* mb) {
                if (!mb || !mb->mb_addr_spec) return;
                Address a;
                if (mb->mb_display_name) a.name = std::string(trim(detail::decode_words(mb->mb_display_name)));
                a.address = detail::sanitize_utf8(mb->mb_addr_spec);
                out.push_back(std::move(a));
            };
            for (clistiter* it = clist_begin(list->ad_list); it; it = clist_next(it)) {
                auto* ad = static_cast<mailimf_address*>(clist_content(it));
                if (ad->ad_type == MAILIMF_ADDRESS_MAILBOX) {
                    add(ad->ad_data.ad_mailbox);
                } else if (ad->ad_data.ad_group && ad->ad_data.ad_group->grp_mb_list) {
                    for (clistiter* g = clist_begin(ad->ad_data.ad_group->grp_mb_list->mb_list); g; g = clist_next(g))
                        add(static_cast<mailimf_mailbox*>(clist_content(g)));
                }
            }
        }
        if (list) mailimf_address_list_free(list);
        if (complete) return out;
        return fallback_addresses(v);
    }

    // For lists libetpan rejects (unquoted dots or commas in names, bare
    // names, stray brackets): split at top-level commas, take <...> or the
    // word with '@'.
    std::vector<Address> fallback_addresses(std::string_view v) {
        std::vector<Address> out;
        std::vector<std::string_view> items;
        int angle = 0;
        bool quoted = false;
        std::size_t start = 0;
        for (std::size_t i = 0; i <= v.size(); ++i) {
            char c = i < v.size() ? v[i] : ',';
            if (quoted) { if (c == '\\') ++i; else if (c == '"') quoted = false; continue; }
            if (c == '"') quoted = true;
            else if (c == '<') ++angle;
            else if (c == '>') angle = std::max(0, angle - 1);
            else if ((c == ',' || c == ';') && angle == 0) {
                items.push_back(v.substr(start, i - start));
                start = i + 1;
            } else if (c == ':' && angle == 0) {
                start = i + 1; // group name
            }
        }
        for (auto item : items) {
            item = trim(item);
            if (item.empty()) continue;
            Address a;
            auto lt = item.rfind('<');
            auto gt = item.rfind('>');
            std::string_view name;
            if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
                a.address = std::string(trim(item.substr(lt + 1, gt - lt - 1)));
                name = trim(item.substr(0, lt));
            } else {
                auto at = item.find('@');
                if (at == std::string_view::npos) continue;
                auto s = item.find_last_of(" \t", at);
                s = s == std::string_view::npos ? 0 : s + 1;
                auto e = item.find_first_of(" \t", at);
                a.address = std::string(item.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s));
                name = trim(item.substr(0, s));
                if (name.empty() && e != std::string_view::npos) name = trim(item.substr(e));
            }
            if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
            if (name.size() >= 2 && name.front() == '(' && name.back() == ')') name = name.substr(1, name.size() - 2);
            std::string nm;
            for (std::size_t i = 0; i < name.size(); ++i) {
                if (name[i] == '\\' && i + 1 < name.size()) ++i;
                nm += name[i];
            }
            a.name = std::string(trim(detail::decode_words(nm)));
            a.address = detail::sanitize_utf8(a.address);
            if (a.address.empty()) continue;
            out.push_back(std::move(a));
        }
        if (!out.empty() || !trim(v).empty()) {
            // Only worth a sentence when something was there to read.
            if (out.empty() && v.find('@') != std::string_view::npos) problem("unreadable address list: " + std::string(v.substr(0, 80)));
        }
        return out;
    }

    static std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = static_cast<unsigned>(y - era * 400);
        const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
    }

    // Lenient spellings libetpan rejects or misreads: full day and month
    // names ("Monday, 3 March 2025") are cut to three letters, and a final
    // "UT" (RFC 5322 obs-zone) becomes +0000 (libetpan reads it as +0001).
    static std::string normalise_date(std::string_view v) {
        std::string out;
        std::size_t i = 0;
        while (i < v.size()) {
            if (std::isalpha(static_cast<unsigned char>(v[i]))) {
                std::size_t j = i;
                while (j < v.size() && std::isalpha(static_cast<unsigned char>(v[j]))) ++j;
                std::string_view word = v.substr(i, j - i);
                bool zone = j >= v.size() || v[j] == ' ' || v[j] == '(';
                if (word.size() > 3 && !(zone && i > 0 && j == v.size())) word = word.substr(0, 3);
                if ((word == "UT" || word == "ut") && j == v.size()) word = "+0000";
                out += word;
                i = j;
            } else {
                out += v[i++];
            }
        }
        return out;
    }

    std::optional<std::int64_t> date(std::string_view value) {
        std::string v(trim(value));
        std::size_t idx = 0;
        mailimf_date_time* dt = nullptr;
        int r = mailimf_date_time_parse(v.data(), v.size(), &idx, &dt);
        std::string nv = normalise_date(v);
        if (r != MAILIMF_NO_ERROR || nv != v) {
            if (dt) mailimf_date_time_free(dt);
            dt = nullptr;
            idx = 0;
            r = mailimf_date_time_parse(nv.data(), nv.size(), &idx, &dt);
        }
        if (r != MAILIMF_NO_ERROR || !dt) {
            problem("unparsable Date header: " + detail::sanitize_utf8(v.substr(0, 60)));
            return std::nullopt;
        }
        int year = dt->dt_year, month = dt->dt_month, day = dt->dt_day;
        int h = dt->dt_hour, mi = dt->dt_min, s = dt->dt_sec, zone = dt->dt_zone;
        mailimf_date_time_free(dt);
        if (year < 50) year += 2000;
        else if (year < 1000) year += 1900;
        if (month < 1 || month > 12 || day < 1 || day > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 ||
            s > 60 || zone < -2400 || zone > 2400) {
            problem("Date header out of range: " + detail::sanitize_utf8(v.substr(0, 60)));
            return std::nullopt;
        }
        std::int64_t t = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                         h * 3600 + mi * 60 + s;
        t -= (zone / 100) * 3600 + (zone % 100) * 60;
        return t;
    }

    static std::vector<std::string> msg_ids(std::string_view v) {
        std::vector<std::string> out;
        std::size_t p = 0;
        while (true) {
            auto lt = v.find('<', p);
            if (lt == std::string_view::npos) break;
            auto gt = v.find('>', lt);
            if (gt == std::string_view::npos) break;
            auto id = trim(v.substr(lt + 1, gt - lt - 1));
            if (!id.empty()) out.push_back(detail::sanitize_utf8(id));
            p = gt + 1;
        }
        if (out.empty()) {
            // Bare ids without brackets: whitespace separated.
            std::size_t i = 0;
            while (i < v.size()) {
                while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
                std::size_t s = i;
                while (i < v.size() && v[i] != ' ' && v[i] != '\t' && v[i] != ',') ++i;
                if (i > s) out.push_back(detail::sanitize_utf8(v.substr(s, i - s)));
            }
        }
        return out;
    }

    void read_top_headers(const Node& root) {
        msg_.headers.reserve(root.fields.size());
        bool have_subject = false, have_from = false, have_date = false, have_mid = false, have_irt = false,
             have_refs = false, have_to = false, have_cc = false, have_bcc = false, have_rt = false;
        for (const auto& f : root.fields) {
            msg_.headers.emplace_back(detail::sanitize_utf8(f.name), std::string(trim(detail::decode_words(f.value))));
            std::string_view n = f.name;
            auto once = [&](bool& flag) { bool first = !flag; flag = true; return first; };
            if (iequals(n, "Subject") && once(have_subject)) msg_.subject = msg_.headers.back().second;
            else if (iequals(n, "From") && once(have_from)) msg_.from = addresses(f.value);
            else if (iequals(n, "To") && once(have_to)) msg_.to = addresses(f.value);
            else if (iequals(n, "Cc") && once(have_cc)) msg_.cc = addresses(f.value);
            else if (iequals(n, "Bcc") && once(have_bcc)) msg_.bcc = addresses(f.value);
            else if (iequals(n, "Reply-To") && once(have_rt)) msg_.reply_to = addresses(f.value);
            else if (iequals(n, "Date") && once(have_date)) msg_.date = date(f.value);
            else if (iequals(n, "Message-ID") && once(have_mid)) {
                auto ids = msg_ids(f.value);
                if (!ids.empty()) msg_.message_id = ids.front();
            } else if (iequals(n, "In-Reply-To") && once(have_irt)) {
                auto ids = msg_ids(f.value);
                if (!ids.empty()) msg_.in_reply_to = ids.front();
            } else if (iequals(n, "References") && once(have_refs)) {
                msg_.references = msg_ids(f.value);
            }
        }
    }

    // ---------------------------------------------------------- bodies

    // Transfer-decoded bytes of a leaf; problems named after its part number.
    std::string transfer_decode(const Node& node) {
        bool bad = false;
        std::string out;
        if (node.cte == "base64") {
            out = detail::decode_base64(node.body, &bad);
            if (bad) problem("bad base64 in part " + std::to_string(node.number));
        } else if (node.cte == "quoted-printable") {
            out = detail::decode_qp(node.body, &bad);
            if (bad) problem("bad quoted-printable in part " + std::to_string(node.number));
        } else {
            if (!node.cte.empty() && node.cte != "7bit" && node.cte != "8bit" && node.cte != "binary" &&
                node.cte.rfind("x-", 0) != 0)
                problem("unknown Content-Transfer-Encoding \"" + detail::sanitize_utf8(node.cte.substr(0, 40)) +
                        "\" in part " + std::to_string(node.number));
            out.assign(node.body);
        }
        return out;
    }

    std::string decode_text(const Node& node) {
        std::string bytes = transfer_decode(node);
        std::string charset = node.param("charset");
        bool html = node.type == "text/html";
        if (charset.empty() && html) charset = detail::html_meta_charset(bytes);
        bool unknown = false;
        std::string text = std::move(bytes);
        detail::to_utf8_inplace(text, charset, &unknown);
        if (unknown) problem("unknown charset \"" + detail::sanitize_utf8(charset.substr(0, 40)) + "\" in part " + std::to_string(node.number));
        detail::to_lf_inplace(text);
        if (html) return detail::html_to_text(text);
        if (iequals(node.param("format"), "flowed")) return detail::unflow(text, iequals(node.param("delsp"), "yes"));
        return text;
    }

    struct Picked {
        std::string text;
        bool html = false;
    };

    // The sender's text in `node`: see Message::text. message/rfc822 parts are
    // forwards and never chosen here.
    // The sender's text: every body text part in order (Apple Mail sends
    // text, attachment, more text), one alternative of each
    // multipart/alternative. SPEC.md: "all text parts, in order".
    std::optional<Picked> pick_text(const Node& node) {
        std::vector<const Node*> chosen;
        find_texts(node, chosen);
        if (chosen.empty()) return std::nullopt;
        Picked p;
        for (const Node* n : chosen) {
            std::string t = decode_text(*n);
            if (t.empty()) continue;
            if (n->type == "text/html") p.html = true;
            if (!p.text.empty()) p.text += p.text.back() == '\n' ? "\n" : "\n\n";
            p.text += t;
            if (p.text.size() > lim_.max_text_bytes) break;
        }
        return p;
    }

    void find_texts(const Node& node, std::vector<const Node*>& out) {
        if (node.ignored || node.message()) return;
        if (!node.multipart()) {
            if (node.is_body_text()) out.push_back(&node);
            return;
        }
        if (node.type == "multipart/alternative") {
            if (const Node* t = find_alternative(node)) out.push_back(t);
            return;
        }
        for (const auto& c : node.children) find_texts(c, out);
    }

    // Within multipart/alternative the plain alternative wins over HTML
    // whatever their order; an empty plain alternative next to a full HTML
    // one (some web mailers send that) loses to the HTML.
    const Node* find_alternative(const Node& node) {
        const Node* html = nullptr;
        const Node* blank_plain = nullptr;
        for (const auto& c : node.children) {
            std::vector<const Node*> inner;
            find_texts(c, inner);
            if (inner.empty()) continue;
            const Node* t = inner.front();
            if (t->type == "text/plain") {
                if (!trim(t->body).empty()) return t;
                if (!blank_plain) blank_plain = t;
            } else if (!html) {
                html = t;
            }
        }
        return html ? html : blank_plain;
    }

    void limit_text(std::string& t, std::string_view what) {
        if (t.size() <= lim_.max_text_bytes) return;
        std::size_t cut = lim_.max_text_bytes;
        while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
        t.resize(cut);
        problem(std::string(what) + " longer than " + std::to_string(lim_.max_text_bytes) + " bytes; cut");
    }

    Attachment attachment(const Node& node, bool in_forwarded) {
        Attachment a;
        a.filename = node.filename();
        a.declared_type = node.type;
        a.content_id = node.content_id;
        a.is_inline = node.disposition == "inline" || (node.disposition.empty() && !node.content_id.empty());
        a.in_forwarded = in_forwarded;
        constexpr std::size_t kHead = 4096, kTail = 16384;
        bool bad = false;
        if (node.cte == "base64") {
            std::size_t chars = 0;
            a.size = detail::base64_size(node.body, &bad, &chars);
            if (bad) problem("bad base64 in part " + std::to_string(node.number));
            auto [head, tail] = detail::base64_head_tail(node.body, kHead, kTail, chars);
            a.sniffed_type = detail::sniff_type(head, tail);
        } else if (node.cte == "quoted-printable") {
            std::string d = detail::decode_qp(node.body, &bad);
            a.size = d.size();
            std::string_view dv = d;
            a.sniffed_type = detail::sniff_type(dv.substr(0, kHead), dv.substr(dv.size() > kTail ? dv.size() - kTail : 0));
        } else {
            a.size = node.body.size();
            std::string_view b = node.body;
            a.sniffed_type = detail::sniff_type(b.substr(0, kHead), b.substr(b.size() > kTail ? b.size() - kTail : 0));
        }
        return a;
    }

    // A delivery report's returned message: its header section only, as
    // CRLF lines (the body is none of our business).
    void keep_returned_header(const Node& inner) {
        if (!msg_.returned_headers.empty()) return;
        std::string h;
        for (const auto& f : inner.fields) {
            if (h.size() + f.name.size() + f.value.size() + 3 > kMaxReportBytes) break;
            h.append(f.name).append(":").append(f.value).append("\r\n");
        }
        msg_.returned_headers = detail::sanitize_utf8(h);
    }

    // The parts of a delivery status notification (RFC 3464, RFC 6533):
    // read wherever they are, so that a report wrapped by a gateway, or a
    // status part handed over on its own (an IMAP client fetching one body
    // part), is understood too.
    void keep_report_part(const Node& node) {
        auto capped = [](std::string s) {
            if (s.size() > kMaxReportBytes) s.resize(kMaxReportBytes);
            return detail::sanitize_utf8(s);
        };
        if ((node.type == "message/delivery-status" || node.type == "message/global-delivery-status") &&
            msg_.delivery_status.empty())
            msg_.delivery_status = capped(transfer_decode(node));
        else if ((node.type == "text/rfc822-headers" || node.type == "message/global-headers") &&
                 msg_.returned_headers.empty())
            msg_.returned_headers = capped(transfer_decode(node));
    }

    // Lists attachments and forwarded messages under `node`.
    void collect(const Node& node, bool in_forwarded) {
        if (node.ignored) return;
        if (node.multipart()) {
            if (node.type == "multipart/report")
                for (const auto& c : node.children)
                    if (c.message() && !c.ignored && !c.children.empty()) {
                        keep_returned_header(c.children.front());
                        break;
                    }
            for (const auto& c : node.children) collect(c, in_forwarded);
            return;
        }
        keep_report_part(node);
        if (node.message()) {
            if (node.children.empty()) return;
            const Node& inner = node.children.front();
            ForwardedMessage fm;
            for (const auto& f : inner.fields) {
                if (iequals(f.name, "Subject") && fm.subject.empty()) fm.subject = std::string(trim(detail::decode_words(f.value)));
                else if (iequals(f.name, "From") && fm.from.empty()) fm.from = addresses(f.value);
            }
            if (auto t = pick_text(inner)) fm.text = std::move(t->text);
            limit_text(fm.text, "forwarded text");
            if (msg_.forwarded.size() < lim_.max_parts) msg_.forwarded.push_back(std::move(fm));
            collect(inner, true);
            return;
        }
        if (node.is_body_text()) return;
        msg_.attachments.push_back(attachment(node, in_forwarded));
    }
};

} // namespace

std::string_view Address::local_part() const {
    auto at = std::string_view(address).rfind('@');
    return at == std::string_view::npos ? std::string_view(address) : std::string_view(address).substr(0, at);
}

std::string_view Address::domain() const {
    auto at = std::string_view(address).rfind('@');
    return at == std::string_view::npos ? std::string_view{} : std::string_view(address).substr(at + 1);
}

std::string_view Message::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (detail::iequals(n, name)) return v;
    return {};
}

std::vector<Address> Message::recipients() const {
    std::vector<Address> r;
    r.reserve(to.size() + cc.size() + bcc.size());
    r.insert(r.end(), to.begin(), to.end());
    r.insert(r.end(), cc.begin(), cc.end());
    r.insert(r.end(), bcc.begin(), bcc.end());
    return r;
}

Message parse(std::string_view raw, const Limits& limits) {
    Message msg;
    try {
        Parser(limits, msg).run(raw);
    } catch (const std::exception& e) {
        // Only allocation failure can get here; keep what was read.
        msg.problems.push_back(std::string("parser stopped: ") + e.what());
    }
    return msg;
}

} // namespace rapport::mime
