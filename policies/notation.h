// notation.h - technical notation in a text: where brackets, braces and
// capital X are code, command syntax, program output or markup, not a
// merge field left in (SPEC.md unfilled-placeholder).
//
// People paste technical text into ordinary mail: a diff with "# XXX:" in
// it, a command line with "<name>" and "[--dry-run]", a log line with
// "{{3 held}}", a page's "<title>". A placeholder that was never filled in
// sits in a sentence written to a person ("Dear [Name]", "at {{company}}");
// notation sits in a line or a span that reads as code. Two levels:
//
//   a technical line    inside a ``` fence or a diff hunk; a diff header;
//                       a shell prompt or a known command with arguments;
//                       a "usage:" line; program output (a timestamp or a
//                       log level first, a traceback, "file.c:12: error:");
//                       a code comment ("# ...", "// ...", "/* ..."); an
//                       assignment ("x = ..."); a markup line ("<head>");
//                       an indented line with code punctuation in it
//   a technical span    in backquotes; in quotes with command syntax in
//                       them ("requeue [--dry-run] <name>"); right after a
//                       command-line flag ("--queue <name>"); glued to a
//                       word or a path ("marram-<version>.tar.gz")
//
//   Notation n(text);
//   n.covers(begin, end)  -> is text[begin, end) notation?
//
// Lines are classified on first use, once per text: most letters hold no
// candidate at all and never pay for it.

#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace rapport::policies {

class Notation {
public:
    explicit Notation(std::string_view text) : text_(text) {}

    // Is the candidate text[begin, end) notation, by its line or its span?
    bool covers(std::size_t begin, std::size_t end);

    // Is this line, taken alone, technical (no fence or diff around it)?
    static bool technical_line(std::string_view line);

private:
    void classify();
    bool line_is_technical(std::size_t offset) const;

    std::string_view text_;
    bool classified_ = false;
    std::vector<std::size_t> line_starts_;
    std::vector<bool> technical_;
};

// Is `word` the name of an HTML element ("title", "CENTER", "br") or a key
// on a keyboard ("Enter", "Ctrl")? In angle brackets these are markup or
// key names, never merge fields.
bool markup_or_key_name(std::string_view word);

} // namespace rapport::policies
