// smtp_client.cc - see smtp_client.h.

#include "daemon/lib/smtp_client.h"

#include "common/strings.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>

namespace rapport::daemon {
namespace {

using common::iequals;
using common::starts_with_ci;

bool dropped_field(std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    auto name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    return iequals(name, "bcc") || iequals(name, "x-rapport-confirm");
}

struct Transcript {
    // What the last command sent was, so the next final reply is attributed.
    enum class Cmd { other, mail, rcpt, data, eod } cmd = Cmd::other;
    std::size_t rcpt_index = 0;     // RCPT commands sent so far
    int mail_code = 0, data_code = 0, eod_code = 0;
    std::string mail_reply, data_reply, eod_reply;
    std::vector<std::pair<int, std::string>> rcpt_replies;
    std::string partial; // multi-line reply text gathered so far
};

int debug_cb(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
    auto* t = static_cast<Transcript*>(userp);
    std::string_view s(data, size);
    if (type == CURLINFO_HEADER_OUT) {
        if (starts_with_ci(s, "RCPT TO:")) {
            t->cmd = Transcript::Cmd::rcpt;
        } else if (starts_with_ci(s, "MAIL FROM:")) {
            t->cmd = Transcript::Cmd::mail;
        } else if (starts_with_ci(s, "DATA")) {
            t->cmd = Transcript::Cmd::data;
        } else if (t->cmd == Transcript::Cmd::eod) {
            // The end-of-data marker may be logged as a header; keep waiting.
        } else {
            t->cmd = Transcript::Cmd::other;
        }
        return 0;
    }
    if (type != CURLINFO_HEADER_IN) return 0;
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
    if (s.size() < 3) return 0;
    bool final_line = s.size() == 3 || s[3] == ' ';
    std::string text(s.size() > 4 ? s.substr(4) : std::string_view{});
    if (!t->partial.empty()) t->partial += ' ';
    t->partial += text;
    if (!final_line) return 0;
    int code = std::atoi(std::string(s.substr(0, 3)).c_str());
    std::string reply = std::to_string(code) + " " + t->partial;
    t->partial.clear();
    switch (t->cmd) {
    case Transcript::Cmd::mail: t->mail_code = code; t->mail_reply = reply; break;
    case Transcript::Cmd::rcpt: t->rcpt_replies.emplace_back(code, reply); break;
    case Transcript::Cmd::data:
        t->data_code = code;
        t->data_reply = reply;
        if (code == 354) t->cmd = Transcript::Cmd::eod;
        return 0;
    case Transcript::Cmd::eod: t->eod_code = code; t->eod_reply = reply; break;
    case Transcript::Cmd::other: break;
    }
    if (t->cmd != Transcript::Cmd::rcpt) t->cmd = Transcript::Cmd::other;
    return 0;
}

struct Reader {
    std::string_view data;
};

size_t read_cb(char* buf, size_t size, size_t nitems, void* userp) {
    auto* r = static_cast<Reader*>(userp);
    size_t n = std::min(size * nitems, r->data.size());
    std::memcpy(buf, r->data.data(), n);
    r->data.remove_prefix(n);
    return n;
}



} // namespace

std::string prepare_for_relay(std::string_view data) {
    std::string out;
    out.reserve(data.size() + 64);
    bool in_header = true, dropping = false;
    std::size_t pos = 0;
    while (pos < data.size()) {
        // Find the line and its ending (CRLF, LF or CR).
        std::size_t e = data.find_first_of("\r\n", pos);
        std::string_view line = data.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
        bool has_eol = e != std::string_view::npos;
        std::size_t next = data.size();
        if (has_eol) next = (data[e] == '\r' && e + 1 < data.size() && data[e + 1] == '\n') ? e + 2 : e + 1;
        pos = next;
        if (in_header) {
            if (line.empty()) {
                in_header = false;
                dropping = false;
            } else if (line[0] == ' ' || line[0] == '\t') {
                if (dropping) continue; // a folded line of a dropped field
            } else if (line.find(':') == std::string_view::npos) {
                in_header = false; // no blank line before the body: the body starts here
                dropping = false;
            } else {
                dropping = dropped_field(line);
                if (dropping) continue;
            }
        }
        out.append(line);
        if (has_eol) out += "\r\n";
    }
    return out;
}

SmtpClient::SmtpClient(const Upstream& up, const RelaySettings& rs, std::string helo,
                       const std::atomic<bool>* stopping, TokenSource* tokens)
    : up_(up), rs_(rs), stopping_(stopping), tokens_(tokens) {
    // The URL path is the EHLO name (curl's SMTP convention).
    url_ = std::string(up.implicit_tls ? "smtps://" : "smtp://") +
           (up.host.find(':') != std::string::npos ? "[" + up.host + "]" : up.host) + ":" +
           std::to_string(up.port) + "/" + helo;
    curl_ = curl_easy_init();
}

SmtpClient::~SmtpClient() {
    if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

int SmtpClient::perform(const std::string& mail_from, const std::vector<std::string>& rcpts, std::string_view data,
                        const std::string& token, void* transcript, std::string& curl_error) {
    auto* c = static_cast<CURL*>(curl_);
    auto* t = static_cast<Transcript*>(transcript);
    Reader reader{data};
    curl_slist* list = nullptr;
    for (const auto& r : rcpts) list = curl_slist_append(list, ("<" + r + ">").c_str());
    std::string from = "<" + mail_from + ">";

    curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, list);
    // Keep going when some recipients are refused, so the others still get
    // the message and each refusal is recorded. (Spelt ALLLOWFAILS up to
    // curl 8.1; newer curl keeps that name as an alias.)
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &reader);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(up_.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, up_.verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, up_.verify ? 2L : 0L);
    if (!up_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, up_.ca_file.c_str());
    if (up_.oauth()) {
        // Only the mechanism chosen: curl would otherwise prefer OAUTHBEARER
        // whenever a server offers both, and fall back to nothing useful.
        curl_easy_setopt(c, CURLOPT_USERNAME, up_.username.c_str());
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token.c_str()); // curl keeps a copy until the next call
        curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS,
                         up_.auth == UpstreamAuth::xoauth2 ? "AUTH=XOAUTH2" : "AUTH=OAUTHBEARER");
    } else if (!up_.username.empty()) {
        curl_easy_setopt(c, CURLOPT_USERNAME, up_.username.c_str());
        curl_easy_setopt(c, CURLOPT_PASSWORD, up_.password.c_str());
    }
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(rs_.connect_timeout));
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(rs_.transfer_timeout));
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L); // feeds debug_cb, which reads the replies
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, t);
    if (stopping_) {
        // A slow upstream must not hold up shutdown: the message stays queued
        // and goes again at the next start (at least once, never lost).
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(stopping_));
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
                         +[](void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
                             return static_cast<std::atomic<bool>*>(p)->load() ? 1 : 0;
                         });
    }
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, nullptr);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, nullptr);
    curl_easy_setopt(c, CURLOPT_READDATA, nullptr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(list);
    curl_error = rc == CURLE_OK ? "" : (errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc != CURLE_OK) {
        // After an error the connection state is unknown; start afresh.
        curl_easy_reset(c);
    }
    return static_cast<int>(rc);
}

SendOutcome SmtpClient::send(const std::string& mail_from, const std::vector<std::string>& rcpts,
                             std::string_view data) {
    SendOutcome out;
    auto all_pending = [&](const std::string& why) {
        out.error = why;
        for (const auto& r : rcpts) out.rcpts.push_back({r, "pending", 0, why});
        return out;
    };
    if (!curl_) return all_pending("curl_easy_init failed");
    std::string token;
    if (up_.oauth()) {
        if (!tokens_) return all_pending("no OAuth2 token source");
        try {
            token = tokens_->get();
        } catch (const std::exception& e) {
            return all_pending(std::string("cannot sign in to the upstream: ") + e.what());
        }
    }
    Transcript t;
    std::string curl_err;
    auto rc = static_cast<CURLcode>(perform(mail_from, rcpts, data, token, &t, curl_err));
    if (rc == CURLE_LOGIN_DENIED && up_.oauth()) {
        // Access tokens live about an hour; the helper holds the refresh
        // token. A fresh one, once: a second refusal is not an expiry.
        try {
            token = tokens_->renew(token);
        } catch (const std::exception& e) {
            return all_pending("the upstream refused the OAuth2 token (" + curl_err + ") and no fresh one came: " +
                               e.what());
        }
        t = Transcript{};
        rc = static_cast<CURLcode>(perform(mail_from, rcpts, data, token, &t, curl_err));
        if (rc == CURLE_LOGIN_DENIED)
            return all_pending("the upstream refused the OAuth2 token, and a fresh one from the oauth_token_command "
                               "too (" + curl_err + ")");
    }

    out.transaction_done = t.eod_code != 0;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
        RecipientState r{rcpts[i], "pending", 0, ""};
        if (t.mail_code >= 500) {
            r = {rcpts[i], "failed", t.mail_code, "MAIL FROM: " + t.mail_reply};
        } else if (t.mail_code >= 400) {
            r = {rcpts[i], "pending", t.mail_code, "MAIL FROM: " + t.mail_reply};
        } else if (i < t.rcpt_replies.size()) {
            auto [code, reply] = t.rcpt_replies[i];
            if (code >= 500) r = {rcpts[i], "failed", code, reply};
            else if (code >= 400) r = {rcpts[i], "pending", code, reply};
            else if (t.eod_code >= 200 && t.eod_code < 300) r = {rcpts[i], "sent", t.eod_code, t.eod_reply};
            else if (t.eod_code >= 500) r = {rcpts[i], "failed", t.eod_code, t.eod_reply};
            else if (t.data_code >= 500) r = {rcpts[i], "failed", t.data_code, t.data_reply};
            else if (t.eod_code >= 400) r = {rcpts[i], "pending", t.eod_code, t.eod_reply};
            else r = {rcpts[i], "pending", 0, curl_err.empty() ? "no reply to end of data" : curl_err};
        } else {
            r = {rcpts[i], "pending", 0, curl_err.empty() ? "no reply from upstream" : curl_err};
        }
        out.rcpts.push_back(std::move(r));
    }
    if (rc != CURLE_OK && !out.transaction_done) out.error = curl_err;
    return out;
}

} // namespace rapport::daemon
