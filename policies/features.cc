#include "policies/features.h"

#include "common/strings.h"

#include "policies/lexicon.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace rapport::policies {
namespace {

bool has_prefix_ci(std::string_view s, std::initializer_list<std::string_view> prefixes) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    for (auto p : prefixes)
        if (common::starts_with_ci(s, p)) return true;
    return false;
}

// Splits a file name into words, also at case changes ("MeganPriceCV" ->
// "megan", "price", "cv") so glued names are read like spaced ones.
std::vector<std::string> filename_words(std::string_view name) {
    auto dot = name.rfind('.');
    if (dot != std::string_view::npos && name.size() - dot <= 6) name = name.substr(0, dot);
    auto up = [&](std::size_t i) { return std::isupper(static_cast<unsigned char>(name[i])) != 0; };
    auto low = [&](std::size_t i) { return std::islower(static_cast<unsigned char>(name[i])) != 0; };
    std::vector<bool> brk(name.size() + 1, false); // a word starts before position i
    for (std::size_t i = 1; i < name.size(); ++i) {
        if (up(i) && low(i - 1)) brk[i] = true;                       // "priceCV"
        if (i >= 2 && low(i) && up(i - 1) && up(i - 2)) brk[i - 1] = true; // "CVMegan"
    }
    std::string spaced;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (brk[i]) spaced += ' ';
        spaced += name[i];
    }
    return words(spaced);
}

bool is_document(const mime::Attachment& a) {
    auto ends = [&](std::string_view ext) {
        std::string f = fold(a.filename);
        return f.size() >= ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0;
    };
    for (auto ext : {".pdf", ".doc", ".docx", ".odt", ".rtf", ".pages", ".txt"})
        if (ends(ext)) return true;
    for (const std::string* t : {&a.declared_type, &a.sniffed_type}) {
        if (t->find("pdf") != std::string::npos || t->find("word") != std::string::npos ||
            t->find("opendocument.text") != std::string::npos || t->find("rtf") != std::string::npos ||
            t->find("pages") != std::string::npos)
            return true;
    }
    return false;
}

bool names_other_document(std::string_view filename) {
    const Lexicon& lx = lexicon();
    for (auto& w : filename_words(filename))
        if (lx.other_documents.count(w)) return true;
    return false;
}

// SPEC.md "Job seeking" without a CV: the own words apply or ask for work,
// or the subject does (a bare "Application" too), unless it is a forward's.
// Returns what showed it (the pattern, for `rapportctl inspect`), or empty.
std::string asks_for_work(const Features& f) {
    const Lexicon& lx = lexicon();
    if (auto p = lx.job_seeking.find_in(f.own); !p.empty()) return "own words: " + std::string(p);
    // Two different weak signs together: "any openings" and "I have two
    // years' experience".
    std::vector<std::string_view> weak = lx.job_seeking.weak_in(f.own);
    if (!f.forward)
        for (auto p : lx.job_seeking.weak_in(f.subject_words))
            if (std::find(weak.begin(), weak.end(), p) == weak.end()) weak.push_back(p);
    if (weak.size() >= 2) return "weak signs of two kinds: " + std::string(weak[0]) + ", " + std::string(weak[1]);
    if (f.forward) return {};
    for (const PatternSet* set : {&lx.job_seeking, &lx.job_subject})
        if (auto p = set->find_in(f.subject_words); !p.empty()) return "subject: " + std::string(p);
    return !f.subject_words.empty() && f.subject.generic && f.subject.applies ? "subject: application words only" : "";
}

} // namespace

bool is_forward_subject(std::string_view s) {
    return has_prefix_ci(s, {"fw:", "fwd:", "fw :", "wg:", "tr:", "tr :", "rv:", "pd:", "doorst:", "i:"});
}

bool is_reply_subject(std::string_view s) {
    return has_prefix_ci(s, {"re:", "re :", "aw:", "odp:", "sv:", "antw:", "r:"});
}

bool is_cv_filename(std::string_view filename) {
    return lexicon().cv_words.find_in(filename_words(filename)) != nullptr;
}

Features extract_features(const mime::Message& msg, const FeatureInputs& in) {
    const Lexicon& lx = lexicon();
    Features f;
    f.msg = &msg;

    if (!msg.from.empty()) f.sender = describe_person(msg.from.front());
    f.account = !in.account.empty() ? in.account : f.sender.address;
    f.time = in.now != 0 ? in.now : msg.date.value_or(static_cast<std::int64_t>(std::time(nullptr)));

    // Recipients as people, each address once; the sender's own address
    // (and a second address under the sender's exact display name) is no one.
    std::vector<mime::Address> all = msg.recipients();
    for (auto& e : in.envelope_recipients) all.push_back({"", e});
    std::string sender_display = msg.from.empty() ? "" : fold(msg.from.front().name);
    for (auto& a : all) {
        Person p = describe_person(a);
        if (p.address.empty() || p.address.find('@') == std::string::npos) continue;
        if (p.address == f.sender.address) continue;
        if (!sender_display.empty() && fold(a.name) == sender_display) continue;
        auto same = [&](const Person& q) { return q.address == p.address; };
        auto it = std::find_if(f.recipients.begin(), f.recipients.end(), same);
        if (it == f.recipients.end()) {
            f.recipients.push_back(std::move(p));
        } else if (!it->name_known() && p.name_known()) {
            *it = std::move(p); // the header's display name beats a bare envelope address
        }
    }

    // Text parts. The sender's names help find a signature with no sign-off.
    SplitHints hints;
    hints.forward = is_forward_subject(msg.subject);
    hints.sender_names = f.sender.name_words;
    for (auto& r : f.recipients)
        hints.recipient_names.insert(hints.recipient_names.end(), r.name_words.begin(), r.name_words.end());
    f.parts = split_text(msg.text, hints);
    f.own_text = f.parts.own_words();
    f.own = TextIndex(word_list(f.own_text));
    f.subject_words = words(msg.subject);
    {
        // The sender's own names say nothing of the subject's matter: from
        // the display name, the sign-off and the signature's name line (not
        // its other lines: a job title there is specific).
        std::vector<std::string> own_names = f.sender.name_words;
        std::string_view sig = f.parts.signature;
        for (auto& w : words(sig.substr(0, sig.find('\n')))) own_names.push_back(w);
        for (auto& w : words(f.parts.signoff)) own_names.push_back(w);
        f.subject = read_subject(msg.subject, own_names, f.recipients);
    }

    // Reply or new mail (SPEC.md): a forward is new mail.
    f.forward = hints.forward || f.parts.has_forward || (!msg.forwarded.empty() && !is_reply_subject(msg.subject));
    bool threaded = !msg.in_reply_to.empty() || !msg.references.empty();
    f.reply = !f.forward && (threaded || f.parts.has_quote);

    // CVs: by file name, or a document the own words call a CV.
    for (auto& a : msg.attachments) {
        if (a.in_forwarded) continue;
        if (!a.filename.empty() && is_cv_filename(a.filename)) {
            f.cv_attachments.push_back(&a);
        } else if (is_document(a)) {
            f.documents.push_back(&a);
        }
    }
    if (f.cv_attachments.empty() && !f.documents.empty()) {
        if (!lx.cv_mentions.find_in(f.own).empty()) {
            for (auto* d : f.documents)
                if (!names_other_document(d->filename)) f.cv_attachments.push_back(d);
        }
    }

    // Job seeking: new mail with a CV, or applying/asking language in the
    // subject (not a forwarded one's) or the own words.
    if (!f.reply) {
        f.job_evidence = !f.cv_attachments.empty() ? "a CV attached" : asks_for_work(f);
        f.job_seeking = !f.job_evidence.empty();
    }
    return f;
}

} // namespace rapport::policies
