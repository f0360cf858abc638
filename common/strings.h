// strings.h - ASCII case and white space, the way mail protocols mean them.
//
//   lower("Jobs@Example.ORG")      -> "jobs@example.org"
//   iequals("Subject", "SUBJECT")  -> true
//   trim(" \t value \r\n")         -> "value"
//   hex("\x01\xab")                -> "01ab"
//   split("a  b", ' ')             -> {"a", "b"}
//
// ASCII only: header names, addresses, protocol keywords. Text that people
// read is folded by policies/text.h instead.

#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rapport::common {

std::string lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing spaces, tabs, CRs and LFs.
std::string_view trim(std::string_view s);
bool starts_with_ci(std::string_view s, std::string_view prefix);
// Each byte as two lower-case hex digits: digests, tokens, codes.
std::string hex(std::string_view bytes);
// The non-empty fields between `sep`s: stored lists (keys, references).
std::vector<std::string> split(std::string_view s, char sep);

} // namespace rapport::common
