// html_text.cc - readable text from HTML; see html_text.h.

#include "mime/html_text.h"

#include "mime/charset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>

namespace rapport::mime::detail {

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
            while (j < n && j - ds < 8 && (hex ? hex_digit(h[j]) >= 0 : (h[j] >= '0' && h[j] <= '9'))) {
                cp = cp * (hex ? 16 : 10) + static_cast<unsigned>(hex_digit(h[j]));
                ++j;
            }
            if (j == ds) { if (!skip_depth_) text("&"); return i + 1; }
            if (j < n && h[j] == ';') ++j;
            if (cp >= 0x80 && cp < 0xA0) // as browsers read &#150; and the like
                cp = cp1252_code_point(static_cast<unsigned char>(cp)) ? cp1252_code_point(static_cast<unsigned char>(cp)) : 0xFFFD;
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

} // namespace rapport::mime::detail
