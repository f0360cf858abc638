// text_index.h - the folded words of a text, indexed so that "is this
// name or organisation written here?" costs a few hash lookups, not a scan
// of the text; and FNV-1a, the one hash of every word of a letter.
//
//   TextIndex idx(word_list("We met at Ferrow Build's site"));
//   idx.has_word("ferrow")        -> true
//   idx.names_key("ferrowbuild")  -> true (from the start of a word)

#pragma once

#include "policies/text.h"

#include <bitset>
#include <cstdint>
#include <string_view>
#include <vector>

namespace rapport::policies {

// FNV-1a (64-bit) of a word: the one hash of every word of a letter,
// computed once by TextIndex and reused by the fingerprint
// (minhash::word_hash is a mix of it). Incremental: fnv1a(b, fnv1a(a)) is
// the hash of a + b.
inline constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
inline std::uint64_t fnv1a(std::string_view s, std::uint64_t h = kFnvOffset) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

// The folded words of a text, indexed so that "is this name or organisation
// written here?" costs a few hash lookups, not a scan of the text.
class TextIndex {
public:
    TextIndex() = default;
    explicit TextIndex(WordList words);

    const WordList& words() const { return words_; }
    std::size_t size() const { return words_.size(); }
    // fnv1a() of word i.
    std::uint64_t hash(std::size_t i) const { return hashes_[i]; }

    // A whole word ("osei" in "Dear Mr Osei").
    bool has_word(std::string_view word) const;

    // Is `key` (folded, no spaces) written here, from the start of a word,
    // ignoring spaces and punctuation (SPEC.md "Organisation ... named")?
    // "ferrowbuild" is in "at Ferrow Build's site", "brightwaterrecruit" in
    // "Brightwater Recruitment", "tesco" in "Tescos"; "place" is not in
    // "workplace". A key ends at the end of a word, inside the last of
    // several words, or before a plural ending.
    bool names_key(std::string_view key) const;

    // How many words from position `i` spell `key`, the last of several
    // perhaps only in part; 0 if they don't.
    std::size_t span_at(std::size_t i, std::string_view key) const;

private:
    // The first position of `word` (with hash `h`), or kNone.
    std::uint32_t first(std::string_view word, std::uint64_t h) const;

    WordList words_;
    std::vector<std::uint64_t, UninitialisedAllocator<std::uint64_t>> hashes_; // fnv1a of each word
    // Open addressing, a power of two at least twice the distinct words:
    // the first position of each distinct word (kNone: free slot); next_
    // chains the later positions of the same word. Integers only, no
    // allocation per word (the index covers every word of every letter).
    static constexpr std::uint32_t kNone = ~0u;
    std::vector<std::uint32_t, UninitialisedAllocator<std::uint32_t>> slots_;
    std::vector<std::uint32_t, UninitialisedAllocator<std::uint32_t>> next_;
    std::size_t slot_of(std::uint64_t h) const { return static_cast<std::size_t>(h ^ (h >> 29)) & (slots_.size() - 1); }
    // The first two bytes of the words (hashed into 4096 bits): names_key()
    // is asked about every organisation written to before, and most start
    // unlike any word of the letter.
    std::bitset<4096> starts_;
    static std::size_t start_bit(char a, char b) {
        return (static_cast<unsigned char>(a) * 31u + static_cast<unsigned char>(b)) & 4095u;
    }
};

} // namespace rapport::policies
