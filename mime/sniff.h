// sniff.h - a file's type from its first bytes, whatever its name or
// declared type says (internal to the MIME parser).
#pragma once

#include <string>
#include <string_view>

namespace rapport::mime::detail {

// Type from the first (and, for ZIP, last) bytes of a file; "" if unknown.
std::string sniff_type(std::string_view head, std::string_view tail);

} // namespace rapport::mime::detail
