// quotes.cc - pass 1 of split_text(): set aside quoted and forwarded
// material. ">" lines and the attribution above them ("On ... wrote:",
// wrapped over two lines by Gmail) are quoted; from the first reply or
// forward header block on - a forward banner, Outlook's "-----Original
// Message-----", an underscore rule or a From: line followed by Sent:/To:
// lines, a top-posted attribution - everything is quoted or forwarded.

#include "policies/letter/passes.h"

#include "policies/lexicon.h"
#include "policies/text.h"

#include <algorithm>

namespace rapport::policies::letter {
namespace {

// "---------- Forwarded message ---------", "-----Original Message-----",
// "Begin forwarded message:" (no dashes). Cheap test first: banners are
// short and have dashes or end with a colon.
bool is_dash_banner(std::string_view line, const std::vector<std::string>& banners) {
    auto t = trim(line);
    if (t.empty() || t.size() > 80 || (t.find("--") == std::string_view::npos && t.back() != ':')) return false;
    std::string key = phrase_key(line);
    if (key.empty() || word_count(key) > 6) return false;
    return std::any_of(banners.begin(), banners.end(),
                       [&](const std::string& b) { return key.find(b) != std::string::npos; });
}

// "From: Priya Shah <...>" or "From: X [mailto:...]": a header-like line
// whose name is one of `names`.
bool is_header_line(std::string_view line, const WordSet& names) {
    line = trim(line);
    if (!line.empty() && line.front() == '*') line.remove_prefix(1); // Outlook bold "*From:*"
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon > 20) return false;
    return names.count(phrase_key(line.substr(0, colon))) > 0;
}

// "On Tue, 30 Sep 2025 at 17:02, David <d@x> wrote:", "Le 3 mars 2025 à
// 10:00, X a écrit :".
bool is_attribution(std::string_view line) {
    auto t = trim(line);
    if (t.empty() || t.back() != ':' || t.size() > 400) return false;
    std::string key = phrase_key(line);
    if (word_count(key) > 40) return false;
    for (const auto& v : lexicon().wrote_verbs) {
        auto pos = key.rfind(v);
        if (pos != std::string::npos && pos + v.size() == key.size()) return true;
    }
    return false;
}

// How many lines (1 or 2) an attribution at lines[i] takes; 0 if none.
// Gmail wraps long ones: "On Tue, 30 Sep 2025 at 17:02, David <d@x>" / "wrote:".
std::size_t attribution_lines(const Lines& lines, std::size_t i) {
    if (is_attribution(lines[i])) return 1;
    if (i + 1 >= lines.size() || trim(lines[i]).empty()) return 0;
    auto next = trim(lines[i + 1]);
    if (next.empty() || next.back() != ':' || next.size() > 40) return 0; // "wrote:" ends the pair
    std::string key = phrase_key(lines[i]);
    bool opener = false;
    for (std::string_view o : {"on ", "le ", "am ", "el ", "w dniu ", "op ", "il ", "den "})
        if (key.rfind(o, 0) == 0) opener = true;
    if (!opener) return 0;
    std::string joined = std::string(trim(lines[i])) + " " + std::string(trim(lines[i + 1]));
    return is_attribution(joined) ? 2 : 0;
}

bool is_underscore_rule(std::string_view line) {
    line = trim(line);
    return line.size() >= 10 && std::all_of(line.begin(), line.end(), [](char c) { return c == '_'; });
}

} // namespace

Quotes find_quotes(const Lines& lines, bool forward_hint) {
    const Lexicon& lx = lexicon();
    const std::size_t n = lines.size();
    Quotes q;
    q.kept.assign(n, true);
    q.cut = n;
    for (std::size_t i = 0; i < n && q.cut == n; ++i) {
        auto line = lines[i];
        if (is_quote_line(line)) continue;
        if (is_dash_banner(line, lx.forward_banners)) {
            q.cut = i;
            q.cut_is_forward = true;
        } else if (is_dash_banner(line, lx.original_banners) && trim(line).find("--") != std::string_view::npos) {
            q.cut = i;
            q.cut_is_forward = forward_hint;
        } else if (is_underscore_rule(line)) {
            for (std::size_t k = i + 1; k < n && k <= i + 2; ++k) {
                if (is_header_line(lines[k], lx.quote_from_fields)) {
                    q.cut = i;
                    q.cut_is_forward = forward_hint;
                    break;
                }
            }
        } else if (is_header_line(line, lx.quote_from_fields)) {
            // A From: line followed closely by another header line.
            int headers = 0;
            for (std::size_t k = i + 1; k < n && k <= i + 4; ++k)
                if (is_header_line(lines[k], lx.quote_fields)) ++headers;
            if (headers >= 1) {
                q.cut = i;
                q.cut_is_forward = forward_hint;
            }
        } else if (std::size_t att = attribution_lines(lines, i); att > 0) {
            // An attribution directly followed by quoted lines: mark it and
            // the ">" block as quoted (inline replies keep the rest).
            std::size_t att_end = i + att;
            std::size_t k = att_end;
            while (k < n && is_blank(lines[k])) ++k;
            if (k < n && is_quote_line(lines[k])) {
                for (std::size_t j = i; j < att_end; ++j) q.kept[j] = false;
            } else {
                // Top-posted reply with an unquoted earlier message below.
                q.cut = i;
                q.cut_is_forward = forward_hint;
            }
        }
    }
    for (std::size_t i = 0; i < n; ++i) q.kept[i] = q.kept[i] && i < q.cut && !is_quote_line(lines[i]);
    return q;
}

} // namespace rapport::policies::letter
