// check_mail.h - the typical ~20 KB application mail and the 100k-message
// history of bench/check_bench.cc, shared with bench/check_profile.cc.
#pragma once

#include "policies/history.h"
#include "qp_lines.h"

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace rp = rapport::policies;

namespace check_mail {

constexpr std::int64_t kNow = 1741000000; // early March 2025
constexpr int kSenders = 1000;
constexpr int kPerSender = 100;

// The typical case spreads the timed messages over the 1000 senders already
// in history (each then has ~100 messages in its window, like the rest); a
// single sender sending 3000 letters in a row would make its own window the
// thing measured.
inline std::string sender_of(int variant) {
    return variant % kSenders == 0 ? std::string("dan.okoro92@gmail.com")
                                   : "sender" + std::to_string(variant % kSenders) + "@gmail.com";
}

// A letter's middle paragraph: the same for every variant of a template
// blast, or drawn from a vocabulary so that letters are unrelated.
inline std::string paragraph(int variant, bool same_letter) {
    if (same_letter)
        return "I've been a customer service advisor for three years, handling energy billing queries by phone and "
               "webchat, and for the last eight months I've covered the team leader on late shifts - running the "
               "huddle, taking escalations and doing call-quality reviews with new starters.\n\n";
    static const char* vocab[] = {"warehouse", "team", "shift", "customers", "orders", "training", "safety",
                                  "stock", "deliveries", "reports", "schedule", "licence", "forklift", "quality",
                                  "accounts", "invoices", "payroll", "service", "calls", "projects", "budget",
                                  "design", "print", "clients", "events", "volunteers", "care", "patients",
                                  "kitchen", "menu", "drivers", "routes", "data", "dashboards", "code", "tests"};
    std::mt19937 rng(static_cast<unsigned>(variant) * 7919u + 1);
    std::string p = "In my current role I ";
    for (int w = 0; w < 40; ++w) {
        p += vocab[rng() % (sizeof vocab / sizeof *vocab)];
        p += (w % 9 == 8) ? ". I " : " ";
    }
    return p + "every week.\n\n";
}

inline std::string application(int variant, bool same_letter = false) {
    std::string first = "Helen" + std::to_string(variant);
    std::string from = same_letter ? std::string("dan.okoro92@gmail.com") : sender_of(variant);
    std::string para = paragraph(variant, same_letter);
    std::string plain = "Dear " + first + ",\n\nThanks for chatting to me at the Pellham open evening. I'm applying "
                        "for the Evening Shift Supervisor post in the Kettering contact centre.\n\n";
    while (plain.size() < 8000) plain += para;
    plain += "Best wishes,\nDan Okoro\n07700 900358\n";
    std::string html = "<div dir=\"ltr\"><div>Dear " + first + ",</div><div><br></div>";
    while (html.size() < 10500)
        html += "<div style=\"font-family:arial,sans-serif\">" + para.substr(0, para.size() - 2) + "</div><div><br></div>";
    html += "<div>Best wishes,</div><div>Dan Okoro</div></div>\n";
    return "MIME-Version: 1.0\r\nDate: Wed, 12 Mar 2025 18:40:11 +0000\r\n"
           "Message-ID: <bench-" + std::to_string(variant) + "@mail.gmail.com>\r\n"
           "Subject: Evening Shift Supervisor =?UTF-8?Q?=E2=80=93_Pellham_contact_centre?=\r\n"
           "From: Daniel Okoro <" + from + ">\r\n"
           "To: " + first + " Ward <" + first + ".ward@pellham" + std::to_string(variant) + ".co.uk>\r\n"
           "Content-Type: multipart/alternative; boundary=\"b0\"\r\n\r\n--b0\r\n"
           "Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
           qp_lines(plain) + "\r\n--b0\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp_lines(html) + "\r\n--b0--\r\n";
}

// 100k messages of 1000 senders (one of them ours) with unrelated texts,
// built afresh in each run (the history format may change between builds).
inline std::string build_history(const std::string& path) {
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    {
        rp::SqliteHistory h(path);
        std::mt19937 rng(7);
        std::vector<std::string> vocab;
        for (int i = 0; i < 5000; ++i) vocab.push_back("w" + std::to_string(i));
        h.begin_batch();
        for (int s = 0; s < kSenders; ++s) {
            std::string sender = s == 0 ? "dan.okoro92@gmail.com" : "sender" + std::to_string(s) + "@gmail.com";
            for (int k = 0; k < kPerSender; ++k) {
                std::vector<std::string> words;
                for (int w = 0; w < 120; ++w) words.push_back(vocab[rng() % vocab.size()]);
                rp::SentRecord r;
                r.sender = sender;
                r.time = kNow - static_cast<std::int64_t>(rng() % (29 * 86400));
                r.recipients = {"p" + std::to_string(rng() % 100000) + "@firm" + std::to_string(rng() % 5000) + ".com"};
                r.organisations = {"firm" + std::to_string(rng() % 5000)};
                r.print = rp::fingerprint(words);
                h.record(r);
            }
        }
        h.end_batch();
    }
    return path;
}

} // namespace check_mail
