#include "policies/lexicon.h"

#include "mime/own_words.h"

namespace rapport::policies {
namespace {

// Non-comment, non-blank lines of a data file, trimmed.
std::vector<std::string> entries(std::string_view name) {
    std::vector<std::string> out;
    std::string_view text = embedded_data(name);
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto hash = line.find('#');
        if (hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
            line.remove_suffix(1);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (!line.empty()) out.emplace_back(line);
    }
    return out;
}

WordSet key_set(std::string_view name) {
    WordSet s;
    for (auto& e : entries(name)) s.insert(phrase_key(e));
    return s;
}

PhraseSet phrase_set(std::string_view name) {
    PhraseSet s;
    for (auto& e : entries(name)) {
        Phrase p;
        std::string_view v = e;
        if (!v.empty() && v.back() == '*') {
            p.prefix = true;
            v.remove_suffix(1);
        }
        p.words = mime::words(v);
        if (!p.words.empty()) s.add(std::move(p));
    }
    return s;
}

Lexicon build() {
    Lexicon lx;
    for (auto& d : entries("freemail_domains")) {
        std::string f = mime::fold(d);
        if (f.size() > 2 && f.compare(f.size() - 2, 2, ".*") == 0)
            lx.freemail_brands.push_back(f.substr(0, f.size() - 2));
        else
            lx.freemail_domains.insert(f);
    }
    lx.role_localparts = key_set("role_localparts");
    lx.org_words = key_set("org_words");
    lx.cv_words = phrase_set("cv_words");
    lx.other_documents = key_set("other_documents");
    lx.job_seeking = phrase_set("job_seeking");
    lx.job_topics = phrase_set("job_topics");
    lx.job_cues = key_set("job_cues");
    lx.application_words = key_set("application_words");
    lx.generic_greetings = key_set("generic_greetings");
    lx.role_greetings = key_set("role_greetings");
    lx.name_titles = key_set("name_titles");
    lx.vague_subject_words = key_set("vague_subject_words");
    lx.stock_words = key_set("stock_words");
    lx.placeholder_words = key_set("placeholder_words");
    return lx;
}

} // namespace

void PhraseSet::add(Phrase p) {
    if (p.prefix && p.words.size() == 1)
        prefixed_.push_back(std::move(p));
    else
        exact_[p.words.front()].push_back(std::move(p));
}

const Phrase* PhraseSet::find_in(const std::vector<std::string>& w) const { return find(w); }
const Phrase* PhraseSet::find_in(const mime::WordList& w) const { return find(w); }

template <class Words> const Phrase* PhraseSet::find(const Words& w) const {
    for (std::size_t i = 0; i < w.size(); ++i) {
        for (auto& p : prefixed_)
            if (std::string_view(w[i]).compare(0, p.words[0].size(), p.words[0]) == 0) return &p;
        auto it = exact_.find(std::string_view(w[i]));
        if (it == exact_.end()) continue;
        for (auto& p : it->second) {
            if (i + p.words.size() > w.size()) continue;
            bool ok = true;
            for (std::size_t k = 1; k < p.words.size() && ok; ++k) {
                const std::string& want = p.words[k];
                std::string_view got = w[i + k];
                bool last = k + 1 == p.words.size();
                ok = (last && p.prefix) ? got.compare(0, want.size(), want) == 0 : got == want;
            }
            if (ok) return &p;
        }
    }
    return nullptr;
}


const Lexicon& lexicon() {
    static const Lexicon lx = build();
    return lx;
}

} // namespace rapport::policies
