// hold.cc - see hold.h.

#include "daemon/lib/hold.h"

#include "daemon/lib/i18n.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace rapport::daemon {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
    static const char* d = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += d[p[i] >> 4];
        out += d[p[i] & 15];
    }
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return std::string(s);
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string rfc5322_now() {
    char buf[64];
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

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

} // namespace

std::string load_or_create_token(const std::string& state_dir) {
    std::string path = state_dir + "/api-token";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[256];
        ssize_t n = ::read(fd, buf, sizeof buf);
        struct stat st{};
        if (::fstat(fd, &st) == 0 && (st.st_mode & 077)) ::fchmod(fd, 0600); // tighten an edited copy
        ::close(fd);
        std::string t = n > 0 ? trim(std::string_view(buf, static_cast<std::size_t>(n))) : "";
        if (t.size() >= 32) return t;
        ::unlink(path.c_str()); // empty or truncated: make a new one
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("cannot get random bytes for the API token");
    std::string token = hex(raw, sizeof raw);
    std::string tmp = path + ".tmp";
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
    own_like_state_dir(fd, state_dir); // `sudo rapportctl member token` before the first start
    std::string line = token + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
    return token;
}

std::string hmac_hex(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out, &len);
    return hex(out, len);
}

std::string confirm_value(std::string_view token, std::string_view message_id) {
    std::string id = trim(message_id);
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    return hmac_hex(token, id);
}

std::string raw_header(std::string_view data, std::string_view name) {
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t nl = data.find('\n', pos);
        std::string_view line = data.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break; // end of the header section
        std::size_t next = nl == std::string_view::npos ? data.size() : nl + 1;
        auto colon = line.find(':');
        if (line[0] != ' ' && line[0] != '\t' && colon != std::string_view::npos && ieq(trim(line.substr(0, colon)), name)) {
            std::string value(line.substr(colon + 1));
            // Folded continuation lines.
            while (next < data.size() && (data[next] == ' ' || data[next] == '\t')) {
                std::size_t e = data.find('\n', next);
                value += " " + trim(data.substr(next, e == std::string_view::npos ? std::string_view::npos : e - next));
                next = e == std::string_view::npos ? data.size() : e + 1;
            }
            return trim(value);
        }
        pos = next;
    }
    return "";
}

bool same_secret(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Holds::Holds(const Config& cfg, Queue& q, Relay* relay, std::string token, LogFn log)
    : cfg_(cfg), q_(q), relay_(relay), token_(std::move(token)), log_(std::move(log)) {}

namespace {
bool all_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
} // namespace

// "v1:<secs>-<32 hex>:<64 hex>"; see hold.h. Empty: valid; else why not.
std::string check_confirm_v1(std::string_view token, std::string_view value, std::int64_t now, std::string* nonce_out) {
    if (value.substr(0, 3) != "v1:") return "not a v1 value";
    std::string_view rest = value.substr(3);
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return "malformed";
    std::string_view nonce = rest.substr(0, colon), mac = rest.substr(colon + 1);
    auto dash = nonce.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 12 || nonce.size() - dash - 1 != 32 ||
        !all_hex(nonce.substr(dash + 1)) || mac.size() != 64 || !all_hex(mac))
        return "malformed";
    std::int64_t t = 0;
    for (char c : nonce.substr(0, dash)) {
        if (c < '0' || c > '9') return "malformed";
        t = t * 10 + (c - '0');
    }
    if (!same_secret(mac, hmac_hex(token, "v1:" + std::string(nonce)))) return "does not match the API token";
    if (t > now + kConfirmSkew) return "dated in the future";
    if (t < now - kConfirmMaxAge) return "too old";
    if (nonce_out) *nonce_out = std::string(nonce);
    return "";
}

bool Holds::confirmed(const std::string& id, std::string_view data, const Judgement& j, const std::string& account) {
    std::string value = raw_header(data, "X-Rapport-Confirm");
    if (value.empty()) return false;
    if (value.rfind("v1:", 0) == 0) {
        auto now = static_cast<std::int64_t>(std::time(nullptr));
        std::string nonce;
        std::string why = check_confirm_v1(token_, value, now, &nonce);
        if (!why.empty() && !account.empty() && member_key) // a member's add-on: their own token
            if (std::string key = member_key(account); !key.empty() && check_confirm_v1(key, value, now, &nonce).empty())
                why.clear();
        if (why.empty() && !q_.use_confirm_nonce(nonce, j.info.message_id, now, now - kConfirmMaxAge - kConfirmSkew))
            why = "already used for another message";
        if (!why.empty()) {
            log_("warning: " + id + ": X-Rapport-Confirm " + why + "; holding");
            return false;
        }
        q_.add_event(id, "confirmed");
        log_("confirmed " + id + ": the sender chose to send anyway in the mail client; relaying without a hold");
        return true;
    }
    if (j.info.message_id.empty()) {
        log_("warning: " + id + ": X-Rapport-Confirm without a Message-ID; holding");
        return false;
    }
    for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!same_secret(value, confirm_value(token_, j.info.message_id))) {
        log_("warning: " + id + ": X-Rapport-Confirm does not match this message; holding");
        return false;
    }
    q_.add_event(id, "confirmed");
    log_("confirmed " + id + ": the sender chose to send anyway in the mail client; relaying without a hold");
    return true;
}

void Holds::held(const std::string& id, const Envelope& env, const Judgement& j) {
    std::string rules;
    for (const auto& f : j.findings) rules += (rules.empty() ? "" : ",") + f.rule;
    log_("held " + id + " from=<" + env.mail_from + "> rules=" + (rules.empty() ? "-" : rules));
    if (!cfg_.hold.notify_sender || !relay_ || env.notice || env.mail_from.empty()) return;
    try {
        Envelope nenv;
        nenv.rcpts = {env.mail_from};
        nenv.received = static_cast<std::int64_t>(std::time(nullptr));
        nenv.notice = true;
        std::string nid = q_.new_id();
        std::string data = held_notice(cfg_.hostname, id, env.mail_from, j.info.subject, j.findings,
                                       expires_at(env.received));
        q_.write_spool(nid, nenv, data);
        MessageInfo info;
        info.action = "relay";
        info.findings_json = "[]";
        info.subject = "Rapport held your message";
        info.header_to = env.mail_from;
        info.size = data.size();
        q_.insert(nid, nenv, info, Status::queued, nenv.received);
        relay_->schedule(nid, nenv.received);
    } catch (const std::exception& e) {
        log_("warning: " + id + ": cannot queue the held notice: " + e.what());
    }
}

std::size_t Holds::expire_due(std::int64_t now) {
    auto ids = q_.expire_held(now - static_cast<std::int64_t>(cfg_.hold.expire));
    for (const auto& id : ids) {
        q_.add_event(id, "expired");
        log_("expired " + id + ": held for more than " + std::to_string(cfg_.hold.expire) + "s; not sent, kept");
    }
    return ids.size();
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
    const std::string when = long_date(lang, expires);
    std::string out;
    out += "From: Rapport <MAILER-DAEMON@" + hostname + ">\r\n";
    out += "To: <" + sender + ">\r\n";
    const std::string title =
        policies::fill(tr_in(lang, "held-notice", "Rapport held your message: {subject}"), {{"subject", subj}});
    out += "Subject: " + encode_header(title) + "\r\n";
    out += "Date: " + rfc5322_now() + "\r\n";
    out += "Message-ID: <" + id + ".held@" + hostname + ">\r\n";
    out += "Auto-Submitted: auto-generated\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: 8bit\r\n\r\n";
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
                          {{"date", when}});
    out += "\r\n";
    return out;
}

} // namespace rapport::daemon
