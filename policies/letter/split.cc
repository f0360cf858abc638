// split.cc - split_text() (letter.h): the four passes, and the parts made
// of what they found.

#include "policies/letter/passes.h"

#include "policies/text.h"

namespace rapport::policies {

using namespace letter;

std::string TextParts::own_words() const {
    std::string out;
    for (const std::string* part : {&preamble, &body, &postscript}) {
        if (part->empty()) continue;
        if (!out.empty()) out += "\n\n";
        out += *part;
    }
    return out;
}

TextParts split_text(std::string_view text, const SplitHints& hints) {
    TextParts parts;

    // Lines without their line ends (CR dropped too).
    Lines lines;
    for (std::size_t pos = 0; pos <= text.size();) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        auto line = text.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        pos = nl + 1;
    }
    const std::size_t n = lines.size();

    // Pass 1: quoted and forwarded material.
    const Quotes q = find_quotes(lines, hints.forward);
    // Apple Mail quotes the attribution itself ("> On 24 Aug ... wrote:").
    Lines quoted;
    for (std::size_t i = 0; i < std::min(q.cut, n); ++i)
        if (!q.kept[i]) quoted.push_back(lines[i]);
    std::string rest; // outlives `quoted`, which may point into it
    if (q.cut < n) {
        rest = join(lines, q.cut, n);
        if (q.cut_is_forward) {
            parts.forwarded = rest;
            parts.has_forward = true;
        } else {
            quoted.push_back(rest);
        }
    }
    if (!quoted.empty()) {
        parts.has_quote = true;
        parts.quoted = join(quoted, 0, quoted.size());
    }

    // The sender's own lines, in order.
    Lines own;
    for (std::size_t i = 0; i < std::min(q.cut, n); ++i)
        if (q.kept[i]) own.push_back(lines[i]);
    const std::size_t m = own.size();

    // Pass 2: where the signature starts.
    const std::size_t sig_start = signature_start(own);

    // Pass 3: the greeting; text above it is a preamble.
    const GreetingLine greeting = find_greeting(own, sig_start, hints);
    std::size_t body_start = 0;
    if (greeting.line < m) {
        parts.greeting = greeting.text;
        parts.preamble = join(own, 0, greeting.line);
        body_start = greeting.line + 1;
    }

    // Pass 4: the sign-off.
    const std::size_t signoff = find_signoff(own, body_start, sig_start);

    std::size_t body_end = std::min(signoff, sig_start);
    // Without a sign-off: trailing lines that are only the sender's name
    // ("Mike", "Em x", "K x") are the signature.
    if (signoff == m) {
        std::size_t i = body_end;
        while (i > body_start) {
            auto t = trim(own[i - 1]);
            if (t.empty()) {
                --i;
                continue;
            }
            if (!is_name_line(t, hints.sender_names)) break;
            --i;
        }
        // Only when the name block does not swallow everything.
        if (i > body_start && i < body_end) body_end = i;
    }

    parts.body = join(own, body_start, body_end);
    if (!greeting.rest.empty()) parts.body = greeting.rest + (parts.body.empty() ? "" : "\n" + parts.body);

    std::size_t tail_start = body_end;
    if (signoff < m && signoff >= body_start && signoff == body_end) {
        parts.signoff = std::string(trim(own[signoff]));
        tail_start = signoff + 1;
    }
    // Signature lines up to a P.S.; the P.S. (and anything after it) is own
    // words, except footers that follow it.
    std::size_t ps = m;
    for (std::size_t i = tail_start; i < m; ++i) {
        if (is_postscript(own[i])) {
            ps = i;
            break;
        }
    }
    parts.signature = join(own, tail_start, ps);
    if (ps < m) {
        std::size_t ps_end = m;
        for (std::size_t i = ps + 1; i < m; ++i) {
            std::string key = phrase_key(own[i]);
            if (is_footer(key) || is_disclaimer(key) || trim(own[i]) == "--") {
                ps_end = i;
                break;
            }
        }
        parts.postscript = join(own, ps, ps_end);
        std::string tail = join(own, ps_end, m);
        if (!tail.empty()) parts.signature += (parts.signature.empty() ? "" : "\n") + tail;
    }
    return parts;
}

} // namespace rapport::policies
