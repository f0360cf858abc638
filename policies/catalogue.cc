// catalogue.cc - see catalogue.h.

#include "policies/catalogue.h"

#include <boost/locale/gnu_gettext.hpp>
#include <boost/locale/message.hpp>

#include <algorithm>

namespace rapport::policies {

namespace bl = boost::locale;

Catalogue::Catalogue(std::string domain, Loader mo, const std::vector<std::string>& languages)
    : domain_(std::move(domain)) {
    languages_.push_back("en");
    for (const auto& lang : languages) {
        if (lang == "en" || mo(lang).empty()) continue;
        // Boost.Locale asks for <path>/<lang>/LC_MESSAGES/<domain>.mo; the
        // callback answers from the bytes compiled in instead of the disk.
        bl::gnu_gettext::messages_info info;
        info.language = lang;
        info.encoding = "UTF-8";
        info.domains.push_back(bl::gnu_gettext::messages_info::domain(domain_));
        info.paths.push_back("/rapport");
        const std::string wanted = "/rapport/" + lang + "/LC_MESSAGES/" + domain_ + ".mo";
        info.callback = [mo, lang, wanted](const std::string& file, const std::string&) {
            std::vector<char> bytes;
            if (file == wanted) {
                std::string_view b = mo(lang);
                bytes.assign(b.begin(), b.end());
            }
            return bytes;
        };
        locales_.emplace(lang, std::locale(std::locale::classic(), bl::gnu_gettext::create_messages_facet<char>(info)));
        languages_.push_back(lang);
    }
}

bool Catalogue::has(std::string_view lang) const {
    return std::find(languages_.begin(), languages_.end(), lang) != languages_.end();
}

const std::locale* Catalogue::locale_of(std::string_view lang) const {
    auto it = locales_.find(lang);
    return it == locales_.end() ? nullptr : &it->second;
}

std::string Catalogue::text(std::string_view lang, const char* context, const char* msgid) const {
    const std::locale* loc = locale_of(lang);
    if (!loc) return msgid;
    return bl::translate(context, msgid).str(*loc);
}

std::string Catalogue::plural(std::string_view lang, const char* context, const char* singular,
                              const char* plural_form, long n) const {
    const std::locale* loc = locale_of(lang);
    if (!loc) return n == 1 ? singular : plural_form; // English
    return bl::translate(context, singular, plural_form, n).str(*loc);
}

bool Catalogue::translated(std::string_view lang, const char* context, const char* msgid) const {
    const std::locale* loc = locale_of(lang);
    if (!loc) return false;
    const auto& facet = std::use_facet<bl::message_format<char>>(*loc);
    return facet.get(facet.domain(domain_), context, msgid) != nullptr;
}

namespace {
template <class Lookup> std::string fill_with(std::string_view text, Lookup value_of) {
    std::string out;
    out.reserve(text.size() + 32);
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t open = text.find('{', i);
        if (open == std::string_view::npos) break;
        std::size_t close = text.find('}', open + 1);
        if (close == std::string_view::npos) break;
        out.append(text, i, open - i);
        std::string_view name = text.substr(open + 1, close - open - 1);
        if (const std::string_view* v = value_of(name)) out.append(*v);
        else out.append(text, open, close - open + 1);
        i = close + 1;
    }
    out.append(text, i);
    return out;
}

// fill() over any range of (name, value) pairs.
template <class Pairs> std::string fill_from(std::string_view text, const Pairs& facts) {
    std::string_view found;
    return fill_with(text, [&](std::string_view name) -> const std::string_view* {
        for (const auto& [k, v] : facts)
            if (k == name) {
                found = v;
                return &found;
            }
        return nullptr;
    });
}
} // namespace

std::string fill(std::string_view text, Facts facts) { return fill_from(text, facts); }

std::string fill(std::string_view text, const std::vector<std::pair<std::string, std::string>>& facts) {
    return fill_from(text, facts);
}

} // namespace rapport::policies
