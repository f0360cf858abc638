// passes.h - the four passes of split_text() (letter.h) and the line
// helpers they share. Internal to policies/letter/.

#pragma once

#include "common/strings.h"
#include "policies/letter.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies::letter {

using Lines = std::vector<std::string_view>;

// Line helpers (lines.cc) ---------------------------------------------------

using common::trim;
bool starts_with(std::string_view s, std::string_view p);
bool is_blank(std::string_view line);
bool is_quote_line(std::string_view line);
// Words in a phrase key ("dear sir madam" has 3).
std::size_t word_count(std::string_view key);
// The longest phrase of `set` (a lexicon word list) that `key` starts with,
// whole words only; empty when none.
template <class Set> std::string_view longest_prefix(std::string_view key, const Set& set);
// lines[from, to) joined with newlines, blank lines at both ends trimmed.
std::string join(const Lines& lines, std::size_t from, std::size_t to);

// Pass 1: quotes.cc ---------------------------------------------------------

struct Quotes {
    std::vector<bool> kept;   // the sender's own lines
    std::size_t cut = 0;      // first line of a reply or forward header block; lines.size(): none
    bool cut_is_forward = false;
};
Quotes find_quotes(const Lines& lines, bool forward_hint);

// Pass 2: signature.cc ------------------------------------------------------

// The first line of a signature marker ("-- ", a footer, a disclaimer), or
// own.size().
std::size_t signature_start(const Lines& own);
bool is_footer(std::string_view key);
bool is_disclaimer(std::string_view key);
bool is_postscript(std::string_view line);
// A line made only of the sender's names, their initials and kisses.
bool is_name_line(std::string_view line, const std::vector<std::string>& names);

// Pass 3: greeting.cc -------------------------------------------------------

struct GreetingLine {
    std::size_t line = 0;   // own.size(): none
    std::string text;       // the greeting, trimmed
    std::string rest;       // text after it on the same line, own words
};
GreetingLine find_greeting(const Lines& own, std::size_t sig_start, const SplitHints& hints);

// Pass 4: signoff.cc --------------------------------------------------------

bool is_signoff(std::string_view line);
// The sign-off line above `sig_start` and below `body_start`, or own.size().
std::size_t find_signoff(const Lines& own, std::size_t body_start, std::size_t sig_start);

} // namespace rapport::policies::letter

// Template definitions -------------------------------------------------------

namespace rapport::policies::letter {

template <class Set> std::string_view longest_prefix(std::string_view key, const Set& set) {
    std::string_view best;
    for (std::size_t end = 0; end <= key.size(); ++end) {
        if (end < key.size() && key[end] != ' ') continue;
        std::string_view head = key.substr(0, end);
        if (!head.empty() && set.find(head) != set.end()) best = head;
    }
    return best;
}

} // namespace rapport::policies::letter
