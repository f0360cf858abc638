// text.h - the words of a text as the checks compare them: folded (lower
// case, accents removed, so "Köhler" and "kohler" compare equal), split
// at anything that is not a letter or a digit, with the sentences they
// form. Every matcher of policies/ reads text through these.
//
//   fold("Życiorys Köhler")         -> "zyciorys kohler"
//   words("Halden's CV, d'emploi")  -> {"halden", "cv", "d", "emploi"}
//   phrase_key("Dear Sir/Madam,")   -> "dear sir madam"

#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::policies {

// Lower case and strip diacritics of Latin letters (UTF-8 in, UTF-8 out):
// "Życiorys Köhler ÉTÉ" -> "zyciorys kohler ete", "ß" -> "ss".
std::string fold(std::string_view utf8);

// Words of folded text: runs of letters and digits (UTF-8 letters count;
// apostrophes inside a word are dropped, a trailing "'s" is removed).
std::vector<std::string> words(std::string_view utf8);

// The same words, kept in one buffer (the text lower-cased, most words in
// place): a few allocations per text instead of one string per word. The
// checks read every word of a letter several times (index, masking,
// fingerprint); words() is a copy of this list, so both split and fold
// identically.
// A std::allocator that leaves new elements uninitialised: the word list's
// buffers are written in full before they are read, and zeroing them first
// cost as much as filling them.
template <class T> struct UninitialisedAllocator : std::allocator<T> {
    template <class U> struct rebind { using other = UninitialisedAllocator<U>; };
    UninitialisedAllocator() = default;
    template <class U> UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
    template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
    template <class U, class... Args> void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

class WordList {
public:
    using Chars = std::vector<char, UninitialisedAllocator<char>>;
    using Offsets = std::vector<std::uint32_t, UninitialisedAllocator<std::uint32_t>>;

    std::size_t size() const { return ends_.size(); }
    bool empty() const { return ends_.empty(); }
    std::string_view operator[](std::size_t i) const { return {chars_.data() + begins_[i], ends_[i] - begins_[i]}; }
    // The words that begin a sentence other than the first, in order: the
    // first word after ". ", "! ", "? ", ";", ":" or a blank line. Phrase
    // patterns do not reach across them.
    const std::vector<std::uint32_t>& sentence_starts() const { return sentence_starts_; }

private:
    friend WordList word_list(std::string_view utf8);
    // The text lower-cased, then the words that needed folding; word i is
    // chars_[begins_[i], ends_[i]).
    Chars chars_;
    Offsets begins_;
    Offsets ends_;
    std::vector<std::uint32_t> sentence_starts_;
};

WordList word_list(std::string_view utf8);

// Folded words joined by single spaces, for phrase lookups:
// "Dear Sir/Madam," -> "dear sir madam", "Kind regards," -> "kind regards".
std::string phrase_key(std::string_view text);

} // namespace rapport::policies
