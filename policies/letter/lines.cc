// lines.cc - the line helpers the passes share (passes.h).

#include "policies/letter/passes.h"

#include <algorithm>

namespace rapport::policies::letter {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_blank(std::string_view line) { return trim(line).empty(); }

bool is_quote_line(std::string_view line) { return !line.empty() && line.front() == '>'; }

std::size_t word_count(std::string_view key) {
    if (key.empty()) return 0;
    return static_cast<std::size_t>(std::count(key.begin(), key.end(), ' ')) + 1;
}

std::string join(const Lines& lines, std::size_t from, std::size_t to) {
    std::string out;
    for (std::size_t i = from; i < to && i < lines.size(); ++i) {
        out.append(lines[i]);
        out += '\n';
    }
    auto first = out.find_first_not_of(" \t\n");
    if (first == std::string::npos) return {};
    auto last = out.find_last_not_of(" \t\n");
    return out.substr(first, last - first + 1);
}

} // namespace rapport::policies::letter
