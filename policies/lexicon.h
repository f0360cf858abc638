// lexicon.h - the word lists the checks use, loaded from policies/data.
//
// The lists are plain text files a maintainer extends (one entry per line,
// '#' comments); they are compiled in (embed_data.cmake) and folded once at
// first use: lower case, no accents, punctuation as spaces.

#pragma once

#include "policies/text.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rapport::policies {

class TextIndex;

// A phrase of folded words; `prefix` lets the last word match any word
// that starts with it ("bewerb*").
struct Phrase {
    std::vector<std::string> words;
    bool prefix = false;
};

// Phrases indexed by their first word, so matching costs O(words of text).
class PhraseSet {
public:
    void add(Phrase p);
    // Does any phrase occur as consecutive words of `text_words`? Returns
    // the first match (or nullptr).
    const Phrase* find_in(const std::vector<std::string>& text_words) const;
    const Phrase* find_in(const WordList& text_words) const;
    bool empty() const { return exact_.empty() && prefixed_.empty(); }

private:
    template <class Words> const Phrase* find(const Words& w) const;
    // Looked up by std::string_view too (a WordList's words), without a copy.
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<Phrase>, Hash, std::equal_to<>> exact_;
    std::vector<Phrase> prefixed_; // one-word prefix phrases ("bewerb*")
};

// Strings hashed the same as string_views, so sets and maps of them are
// asked about a word in place, without making a string of it.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using WordSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// A set of words, some of them open-ended ("bewerb*" is any word that
// starts so): a word list whose entries may end in *.
struct WordClass {
    WordSet exact;
    WordSet prefixes;                        // without their *
    std::vector<std::size_t> prefix_lengths; // the lengths among them, ascending
    bool contains(std::string_view w) const;
};

// Phrase patterns: words that follow one another inside one sentence, with
// alternatives, word classes and small gaps - enough to tell "apply for the
// role" from "apply the patch" without a grammar. One pattern per line of a
// data file; its tokens, separated by spaces, are
//   word        that word (folded: lower case, no accents)       apply
//   a|b|c       any one of these words                           for|to
//   word*       any word that starts so                          bewerb*
//   @name       any word of policies/data/<name>.txt (a class;   @job_nouns
//               its entries may end in * too)
//   ...N        up to N words of anything (N from 1 to 9)        ...3
//   !a|b        the next word, if any, is none of these; it is   !to
//               only looked at, not taken
//   ~a|@name    (last) the pattern does not count where the text ~@lodging
//               holds any of these words anywhere: "any vacancies"
//               next to "a double room" asks for a room
// The first token is a word, alternatives, a prefix or a class. A line
// that starts with "?kind " is a weak pattern of that kind: on its own it
// shows nothing ("any openings" may be for a haircut), weak patterns of
// two different kinds together do (weak_in).
class PatternSet {
public:
    // Patterns from the data file `name`; classes are read from their own files.
    static PatternSet load(std::string_view name);

    // The first pattern that matches inside one sentence of `words` (see
    // WordList::sentence_starts), as it is written in its file; empty when
    // none does. Costs a hash lookup per word, and a match attempt only
    // where a pattern can start.
    std::string_view find_in(const WordList& words) const;
    std::string_view find_in(const TextIndex& index) const;               // the index's words, hashed once
    std::string_view find_in(const std::vector<std::string>& words) const; // one sentence

    // The kinds of the weak patterns that match, each once.
    std::vector<std::string_view> weak_in(const TextIndex& index) const;
    std::vector<std::string_view> weak_in(const std::vector<std::string>& words) const;
    bool empty() const { return patterns_.empty(); }

private:
    struct Token {
        enum class Kind : unsigned char { words, gap, not_next };
        Kind kind = Kind::words;
        std::vector<std::string> exact;    // alternatives
        std::vector<std::string> prefixes; // alternatives written with a trailing *
        int gap = 0;
        bool matches(std::string_view w) const;
    };
    struct Pattern {
        std::string text;
        std::vector<Token> tokens;
        Token veto; // words that void a match anywhere in the text (none: empty)
        std::string weak; // the kind of a weak pattern; empty: a strong one
    };
    template <class Words> bool match(const Pattern& p, std::size_t t, const Words& w, std::size_t i, std::size_t end) const;
    // Calls `found(pattern)` for each match inside one sentence of `w`, in
    // text order, until it returns true; `hash(i)` is fnv1a (text_index.h) of
    // word i.
    template <class Words, class HashOf, class Found>
    void each_match(const Words& w, const std::vector<std::uint32_t>& starts, HashOf hash, Found&& found) const;
    template <class Words, class HashOf>
    std::string_view first_strong(const Words& w, const std::vector<std::uint32_t>& starts, HashOf hash) const;
    template <class Words, class HashOf>
    std::vector<std::string_view> all_weak(const Words& w, const std::vector<std::uint32_t>& starts, HashOf hash) const;

    std::vector<Pattern> patterns_;
    // Patterns by the fnv1a hash of each exact word their first token
    // allows (the first token is checked again on a match attempt); those
    // whose first token has prefixes are tried at every word that starts
    // with one of their first letters.
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_first_;
    std::vector<std::uint32_t> prefixed_first_;
    std::array<bool, 256> prefixed_letter_{};
};

struct Lexicon {
    WordSet freemail_domains;        // exact domains
    std::vector<std::string> freemail_brands; // "yahoo" from "yahoo.*"
    WordSet role_localparts;
    WordSet org_words;
    PhraseSet cv_words;
    PatternSet cv_mentions;          // the own words call an attachment a CV
    WordSet other_documents;
    PatternSet job_seeking;          // applying or asking for work (job_seeking.txt)
    PatternSet job_subject;          // the same as a subject's headline (job_subject.txt)
    WordSet application_words;       // a bare subject made of these applies
    WordSet generic_greetings;       // whole greeting keys
    WordSet role_greetings;
    WordSet role_words;              // words of a greeting to a role or team
    WordSet name_titles;
    WordClass subject_application_words; // generic words of a job seeker's subject
    WordSet subject_fillers;
    WordSet subject_greetings;
    WordSet stock_words;
    WordSet placeholder_words;
    WordSet field_names;             // what a parenthesised placeholder is made of

    // The parts of a letter (letter.h): how greetings, sign-offs, footers,
    // disclaimers and quoted or forwarded messages begin.
    WordSet greeting_openers;
    WordSet greeting_openers_certain;
    WordSet signoffs;
    WordSet footers;
    WordSet disclaimers;
    std::array<bool, 128> footer_letters{}; // first letters of footers and disclaimers
    std::vector<std::string> forward_banners;
    std::vector<std::string> original_banners;
    WordSet quote_from_fields;
    WordSet quote_fields;
    std::vector<std::string> wrote_verbs;
};

// The lexicon built from the embedded data files (built once, thread-safe).
const Lexicon& lexicon();

// The text of policies/data/<name>.txt compiled into the binary.
std::string_view embedded_data(std::string_view name);
// Its lines without comments and blank lines, trimmed.
std::vector<std::string> data_entries(std::string_view name);


} // namespace rapport::policies
