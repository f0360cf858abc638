// lexicon.h - the word lists the checks use, loaded from policies/data.
//
// The lists are plain text files a maintainer extends (one entry per line,
// '#' comments); they are compiled in (embed_data.cmake) and folded once at
// first use: lower case, no accents, punctuation as spaces.

#pragma once

#include "mime/own_words.h"

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rapport::policies {

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
    const Phrase* find_in(const mime::WordList& text_words) const;
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

using WordSet = std::unordered_set<std::string>;

struct Lexicon {
    WordSet freemail_domains;        // exact domains
    std::vector<std::string> freemail_brands; // "yahoo" from "yahoo.*"
    WordSet role_localparts;
    WordSet org_words;
    PhraseSet cv_words;
    WordSet other_documents;
    PhraseSet job_seeking;           // applying or asking, on its own
    PhraseSet job_topics;            // asked-for things; need a cue in the sentence
    WordSet job_cues;
    WordSet application_words;       // a bare subject made of these applies
    WordSet generic_greetings;       // whole greeting keys
    WordSet role_greetings;
    WordSet name_titles;
    WordSet vague_subject_words;
    WordSet stock_words;
    WordSet placeholder_words;
};

// The lexicon built from the embedded data files (built once, thread-safe).
const Lexicon& lexicon();

// The text of policies/data/<name>.txt compiled into the binary.
std::string_view embedded_data(std::string_view name);

using mime::phrase_key; // folded words joined by single spaces (mime/own_words.h)

} // namespace rapport::policies
