// notices.cc - see notices.h.

#include "daemon/lib/notices.h"

#include "daemon/lib/i18n.h"

#include <openssl/evp.h>

#include <algorithm>
#include <ctime>

namespace rapport::daemon {
namespace {

// RFC 2047 encoded-words (UTF-8, base64) when the text is not plain ASCII;
// split so no encoded-word passes 75 characters and none cuts a character.
std::string encode_header(const std::string& text) {
    bool ascii = std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 32 && c < 127; });
    if (ascii) return text;
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t n = std::min<std::size_t>(45, text.size() - i);
        while (i + n < text.size() && n > 0 && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) --n;
        if (n == 0) n = std::min<std::size_t>(45, text.size() - i);
        unsigned char b64[64];
        int len = EVP_EncodeBlock(b64, reinterpret_cast<const unsigned char*>(text.data() + i), static_cast<int>(n));
        out += (out.empty() ? "" : "\r\n ") + std::string("=?UTF-8?B?") +
               std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(len)) + "?=";
        i += n;
    }
    return out;
}

std::string rfc5322_date(std::time_t t) {
    char buf[64];
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

// The header section of a notice, ending with its empty line. The body is
// UTF-8 text in 8 bits (every upstream Rapport relays to takes 8BITMIME or
// passes it on; the subject is encoded when it needs to be).
std::string head(const std::string& hostname, const std::string& from_name, const std::string& to,
                 const std::string& subject, const std::string& id, const char* auto_submitted) {
    std::string out;
    out += "From: " + from_name + " <MAILER-DAEMON@" + hostname + ">\r\n";
    out += "To: <" + to + ">\r\n";
    out += "Subject: " + encode_header(subject) + "\r\n";
    out += "Date: " + rfc5322_date(std::time(nullptr)) + "\r\n";
    out += "Message-ID: <" + id + "@" + hostname + ">\r\n";
    out += "Auto-Submitted: " + std::string(auto_submitted) + "\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    return out;
}

} // namespace

std::string failure_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                           const std::vector<RecipientState>& failed, std::string_view original) {
    // Quote the original's header section only: enough to recognise it,
    // without re-sending its attachments.
    std::string subject, msgid;
    std::size_t hdr_end = original.find("\r\n\r\n");
    std::string_view hdr = original.substr(0, hdr_end == std::string_view::npos ? original.size() : hdr_end);
    std::string out = head(hostname, "Mail Delivery System", sender, "Undelivered Mail Returned to Sender",
                           id + ".notice", "auto-replied");
    out += "This is the Rapport mail proxy at " + hostname + ".\r\n\r\n";
    out += "Your message could not be delivered to the following recipients:\r\n\r\n";
    for (const auto& f : failed) out += "  <" + f.rcpt + ">: " + (f.reply.empty() ? "failed" : f.reply) + "\r\n";
    out += "\r\nThe header of your message follows.\r\n\r\n";
    // Dot lines are fine: curl stuffs them; CRLF already normalised.
    out += std::string(hdr.substr(0, 16 * 1024));
    out += "\r\n";
    return out;
}

std::string held_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                        std::string_view subject, const std::vector<policies::Finding>& findings,
                        std::int64_t expires) {
    // In the language the findings are written in: the sender's.
    const std::string lang = findings.empty() ? std::string("en") : findings.front().lang;
    std::string subj;
    for (char c : subject) subj += (c == '\r' || c == '\n') ? ' ' : c;
    if (subj.size() > 200) subj = subj.substr(0, 200) + "...";
    if (subj.empty()) subj = tr_in(lang, "held-notice", "(no subject)");
    const std::string title =
        policies::fill(tr_in(lang, "held-notice", "Rapport held your message: {subject}"), {{"subject", subj}});
    std::string out = head(hostname, "Rapport", sender, title, id + ".held", "auto-generated");
    out += policies::fill(tr_in(lang, "held-notice", "Rapport has not sent your message \"{subject}\" yet."),
                          {{"subject", subj}});
    out += "\r\n\r\n" + tr_in(lang, "held-notice", "Why:") + "\r\n";
    for (const auto& f : findings) out += "  - " + f.message + "\r\n";
    out += "\r\n" + tr_in(lang, "held-notice", "What you can do:") + "\r\n  - ";
    out += tr_in(lang, "held-notice", "Send it anyway or discard it on the Rapport page (run: rapportctl open),");
    out += "\r\n    " + policies::fill(tr_in(lang, "held-notice", "or with: rapportctl held release {id}"), {{"id", id}});
    out += "\r\n  - " + tr_in(lang, "held-notice", "Or improve the message in your mail client and send it again.");
    out += "\r\n\r\n";
    out += policies::fill(tr_in(lang, "held-notice", "If you do nothing, it will not be sent. It stays on hold until {date}."),
                          {{"date", long_date(lang, expires)}});
    out += "\r\n";
    return out;
}

} // namespace rapport::daemon
