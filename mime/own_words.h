// own_words.h - splits the sender's text into the parts SPEC.md names.
//
// A job seeker's mail reads: [pasted address block] greeting, own words,
// sign-off, signature, [P.S.], then perhaps a quoted earlier message or
// forwarded content. The checks judge only the "own words" (SPEC.md): the
// text above the greeting, the body and a P.S. after the signature; the
// greeting is judged on its own; the rest is set aside.
//
//   TextParts p = split_text(msg.text, {.sender_names = {"Jake", "Turner"}});
//   p.greeting   -> "Dear Ms Shah,"
//   p.own_words()-> "I'm applying for ..."
//
// The split is heuristic and multilingual (English, French, German, Spanish,
// Polish): greeting and sign-off phrases, "-- " and mobile signatures,
// quote headers ("On ... wrote:", "Le ... a écrit :", "Am ... schrieb",
// Outlook's From:/Sent: block, "-----Original Message-----") and forward
// banners. It never fails; text it cannot place stays in the body.
//
// Also here: the text folding every matcher uses (lower case, accents
// removed, so "Köhler" and "kohler" compare equal).

#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::mime {

struct SplitHints {
    // Names of the sender (first, last, nickname): a bare trailing line made
    // of them is a signature even without a sign-off ("Mike").
    std::vector<std::string> sender_names;
    // The subject starts with FW:/Fwd:/WG:/TR:: an Outlook From:/Sent: block
    // is then forwarded content, not a quoted reply.
    bool forward = false;
    // Names of the recipients (folded words): a first line made of them
    // alone ("Anna" / "Anna Kowalska") greets even without a comma.
    std::vector<std::string> recipient_names;
};

struct TextParts {
    std::string preamble;   // above the greeting (a pasted address block): own words
    std::string greeting;   // the greeting line, trimmed ("Dear Ms Shah,")
    std::string body;       // between greeting and sign-off: own words
    std::string signoff;    // "Kind regards,"
    std::string signature;  // name/contact block, "-- " block, "Sent from my iPhone", disclaimer
    std::string postscript; // P.S. after the signature: own words
    std::string quoted;     // quoted earlier message(s), with their header lines
    std::string forwarded;  // forwarded content, with its banner
    bool has_quote = false;     // a quoted earlier message was found
    bool has_forward = false;   // forwarded content was found

    // preamble + body + postscript, separated by blank lines.
    std::string own_words() const;
};

TextParts split_text(std::string_view text, const SplitHints& hints = {});

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

} // namespace rapport::mime
