// text_index.cc - see text_index.h.

#include "policies/text_index.h"

#include <cstring>

namespace rapport::policies {

TextIndex::TextIndex(WordList words) : words_(std::move(words)) {
    const std::size_t n = words_.size();
    hashes_.resize(n);
    next_.resize(n); // each written below
    std::size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    slots_.resize(cap);
    std::memset(slots_.data(), 0xFF, cap * sizeof(std::uint32_t)); // kNone everywhere
    // Built backwards, so each chain lists positions in text order.
    for (std::size_t i = n; i-- > 0;) {
        std::string_view w = words_[i];
        if (w.size() >= 2) starts_.set(start_bit(w[0], w[1]));
        const std::uint64_t h = hashes_[i] = fnv1a(w);
        std::size_t s = slot_of(h);
        // Words are told apart by their 64-bit hash alone here (a collision
        // between two words of one letter is not to be expected); lookups
        // compare the words themselves.
        while (slots_[s] != kNone && hashes_[slots_[s]] != h) s = (s + 1) & (cap - 1);
        next_[i] = slots_[s]; // kNone for a new word
        slots_[s] = static_cast<std::uint32_t>(i);
    }
}

std::uint32_t TextIndex::first(std::string_view word, std::uint64_t h) const {
    if (slots_.empty()) return kNone;
    for (std::size_t s = slot_of(h);; s = (s + 1) & (slots_.size() - 1)) {
        std::uint32_t pos = slots_[s];
        if (pos == kNone || (hashes_[pos] == h && words_[pos] == word)) return pos;
    }
}

bool TextIndex::has_word(std::string_view word) const { return !word.empty() && first(word, fnv1a(word)) != kNone; }

std::size_t TextIndex::span_at(std::size_t i, std::string_view key) const {
    std::size_t len = 0, n = 0;
    while (i + n < words_.size() && len < key.size()) {
        std::string_view w = words_[i + n];
        if (key.compare(len, w.size(), w) != 0) {
            // A possessive "s" the word list dropped: "St Brigid's Hospice"
            // spells stbrigidshospice.
            if (n > 0 && key[len] == 's') {
                if (len + 1 == key.size()) return n; // "McDonald's" spells mcdonalds
                if (key.compare(len + 1, w.size(), w) == 0) {
                    ++len;
                    continue;
                }
            }
            // The key may end inside a later word: "Brightwater Recruitment"
            // spells brightwaterrecruit.com from the start of a word on.
            std::string_view rest = key.substr(len);
            return n > 0 && w.size() > rest.size() && w.compare(0, rest.size(), rest) == 0 ? n + 1 : 0;
        }
        len += w.size();
        ++n;
    }
    if (len + 1 == key.size() && key[len] == 's') return n; // "McDonald's" spells mcdonalds
    return len == key.size() ? n : 0;
}

bool TextIndex::names_key(std::string_view key) const {
    if (key.empty()) return false;
    // A match starts with a one-letter word, or a word that starts like the
    // key: most keys start unlike any word of the letter.
    if (key.size() < 2 || !starts_.test(start_bit(key[0], key[1]))) {
        for (std::uint32_t pos = first(key.substr(0, 1), fnv1a(key.substr(0, 1))); pos != kNone; pos = next_[pos])
            if (span_at(pos, key) > 0) return true;
        return false;
    }
    // One word that is the key with a plural or possessive ending: "Tescos".
    const std::uint64_t kh = fnv1a(key);
    char buf[64];
    if (key.size() + 2 <= sizeof buf) {
        std::memcpy(buf, key.data(), key.size());
        buf[key.size()] = 's';
        if (first({buf, key.size() + 1}, fnv1a("s", kh)) != kNone) return true;
        std::memcpy(buf + key.size(), "es", 2);
        if (first({buf, key.size() + 2}, fnv1a("es", kh)) != kNone) return true;
    }
    // The first word of a match is a prefix of the key: try each prefix,
    // hashing it on from the previous one.
    std::uint64_t h = kFnvOffset;
    for (std::size_t l = 1; l <= key.size(); ++l) {
        h = fnv1a(key.substr(l - 1, 1), h);
        for (std::uint32_t pos = first(key.substr(0, l), h); pos != kNone; pos = next_[pos])
            if (span_at(pos, key) > 0) return true;
    }
    return false;
}

} // namespace rapport::policies
