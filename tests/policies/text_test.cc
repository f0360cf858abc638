// word_list() against a plain reference: one code point at a time, the
// rules written out as the header states them. The fast path walks a
// bitmap of ASCII word bytes and hands anything else to a slower one; both
// must give the same words and sentence starts on any input.

#include "policies/text.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace rp = rapport::policies;

namespace {

struct Reference {
    std::vector<std::string> words;
    std::vector<std::uint32_t> starts;
};

// One UTF-8 sequence at s[i] as its bytes (an invalid byte on its own).
std::string_view sequence_at(std::string_view s, std::size_t i) {
    auto b = static_cast<unsigned char>(s[i]);
    std::size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > s.size()) return s.substr(i, 1);
    for (std::size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return s.substr(i, 1);
    return s.substr(i, len);
}

bool apostrophe(std::string_view seq) {
    return seq == "'" || seq == "\xE2\x80\x99" || seq == "\xE2\x80\x98" || seq == "\xCA\xBC";
}

// The folded letters of one sequence, or empty when it is no letter.
std::string letter(std::string_view seq) {
    if (seq.size() == 1) {
        char c = seq[0];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return std::string(1, c);
        if (c >= 'A' && c <= 'Z') return std::string(1, static_cast<char>(c + 32));
        if (static_cast<unsigned char>(c) < 0x80) return {};
    }
    std::string f = rp::fold(seq);
    return f == " " || f == "'" ? std::string() : f;
}

Reference reference(std::string_view s) {
    Reference r;
    std::string cur;
    bool brk = false, line_text = false;
    auto flush = [&] {
        if (cur.empty()) return;
        if (brk && !r.words.empty()) r.starts.push_back(static_cast<std::uint32_t>(r.words.size()));
        brk = false;
        r.words.push_back(cur);
        cur.clear();
    };
    for (std::size_t i = 0; i < s.size();) {
        std::string_view seq = sequence_at(s, i);
        std::size_t next = i + seq.size();
        if (apostrophe(seq)) {
            bool possessive = !cur.empty() && next < s.size() && (s[next] == 's' || s[next] == 'S') &&
                              (next + 1 >= s.size() || letter(sequence_at(s, next + 1)).empty());
            flush();
            if (possessive) {
                i = next + 1;
                continue;
            }
            line_text = true;
        } else if (std::string l = letter(seq); !l.empty()) {
            cur += l;
            line_text = true;
        } else {
            flush();
            char c = seq.size() == 1 ? seq[0] : '\x01';
            if (c == '!' || c == '?' || c == ';' || c == ':') {
                brk = true;
                line_text = true;
            } else if (c == '.') {
                if (next >= s.size() || s[next] == ' ' || s[next] == '\n' || s[next] == '\r' || s[next] == '\t')
                    brk = true;
                line_text = true;
            } else if (c == '\n') {
                if (!line_text) brk = true;
                line_text = false;
            } else if (c != ' ' && c != '\t' && c != '\r') {
                line_text = true;
            }
        }
        i = next;
    }
    flush();
    return r;
}

void expect_same(std::string_view text) {
    rp::WordList list = rp::word_list(text);
    Reference ref = reference(text);
    std::string got, want;
    for (std::size_t i = 0; i < list.size(); ++i) got += "[" + std::string(list[i]) + "]";
    for (auto& w : ref.words) want += "[" + w + "]";
    std::string shown;
    for (unsigned char c : text) {
        char buf[8];
        std::snprintf(buf, sizeof buf, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02X", c);
        shown += buf;
    }
    ASSERT_EQ(got, want) << "text: " << shown;
    for (std::size_t i = 0; i < list.size(); ++i) ASSERT_EQ(list[i], ref.words[i]) << "word " << i << " of: " << text;
    ASSERT_EQ(list.sentence_starts(), ref.starts) << "text: " << text;
}

} // namespace

TEST(WordList, AgreesWithTheReferenceOnLetters) {
    expect_same("");
    expect_same("Dear Ms Shah,\n\nI'm applying for Halden's Warehouse Team Leader post. Thanks!\n");
    expect_same("Życiorys Köhler ÉTÉ straße – d'emploi l’équipe Anna’s CV (2).pdf, 3.10 and example.com.\n\n\nNew");
    expect_same("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 x'ss 's 'S' rock'n'roll");
    expect_same("\xFF\xC3 broken \xE2\x82 bytes\xC3\xA9t\xC3 \xF0\x9F\x98\x80 emoji\xC2\xA0nbsp");
}

TEST(WordList, AgreesWithTheReferenceOnRandomText) {
    // Pieces that exercise every path: long ASCII runs across 16- and
    // 64-byte blocks, separators with and without sentence marks, blank
    // lines, apostrophes, folded and unfoldable code points, bad bytes.
    const std::vector<std::string> pieces = {
        "a", "Zq", "word", "Halden", "WAREHOUSE", "0123456789", "abcdefghijklmnopqrstuvwxyz", " ", "  ", "\t",
        "\r\n", "\n", "\n\n", ".", ". ", "3.10", "!", "?", ";", ":", ",", "-", "'", "'s", "'S", "\xE2\x80\x99",
        "\xE2\x80\x99s", "\xC3\xA9", "\xC3\x9F", "\xC5\x81", "\xE2\x80\x93", "\xC2\xA0", "\xF0\x9F\x98\x80",
        "\xFF", "\xC3", "(", ")", "@", "x", "S", "s"};
    std::mt19937 rng(7);
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        for (std::size_t k = rng() % 80; k > 0; --k) text += pieces[rng() % pieces.size()];
        expect_same(text);
        if (HasFatalFailure()) return;
    }
}
