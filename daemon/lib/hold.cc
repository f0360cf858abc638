// hold.cc - see hold.h.

#include "daemon/lib/hold.h"

#include "daemon/lib/notices.h"

#include "common/files.h"
#include "daemon/lib/background.h"
#include "common/strings.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
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
    return common::hex(std::string_view(reinterpret_cast<const char*>(p), n));
}



} // namespace

std::string load_or_create_token(const std::string& state_dir) {
    std::string path = state_dir + "/api-token";
    if (::access(path.c_str(), F_OK) == 0) {
        if (common::readable_by_others(path)) ::chmod(path.c_str(), 0600); // tighten an edited copy
        std::string t(common::trim(common::read_secret(path, false)));
        if (t.size() >= 32) return t;
        ::unlink(path.c_str()); // empty or truncated: make a new one
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("cannot get random bytes for the API token");
    std::string token = hex(raw, sizeof raw);
    // Owned like the state directory: `sudo rapportctl member token` may come before the first start.
    common::write_secret(path, token + "\n", state_dir);
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
    std::string id(common::trim(message_id));
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
        if (line[0] != ' ' && line[0] != '\t' && colon != std::string_view::npos && common::iequals(common::trim(line.substr(0, colon)), name)) {
            std::string value(line.substr(colon + 1));
            // Folded continuation lines.
            while (next < data.size() && (data[next] == ' ' || data[next] == '\t')) {
                std::size_t e = data.find('\n', next);
                value += ' ';
                value += common::trim(data.substr(next, e == std::string_view::npos ? std::string_view::npos : e - next));
                next = e == std::string_view::npos ? data.size() : e + 1;
            }
            return std::string(common::trim(value));
        }
        pos = next;
    }
    return "";
}

bool same_secret(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string held_addressee(const Judgement& j) {
    std::string_view to = j.info.header_to; // the To addresses, ", "-separated
    std::string first(common::trim(to.substr(0, to.find(','))));
    if (first.empty() && !j.recipients.empty()) first = j.recipients.front();
    auto named = j.names.find(common::lower(first));
    return named != j.names.end() ? named->second : first;
}

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

Holds::Holds(const Config& cfg, Queue& q, Relay* relay, Outcomes* outcomes, const Members* members, std::string token,
             LogFn log)
    : cfg_(cfg), q_(q), relay_(relay), outcomes_(outcomes), members_(members), token_(std::move(token)),
      log_(std::move(log)) {}

Holds::~Holds() {
    {
        std::lock_guard lk(expiry_mu_);
        stopping_ = true;
    }
    expiry_cv_.notify_all();
    if (expiry_.joinable()) expiry_.join();
}

bool Holds::confirmed(const std::string& id, std::string_view data, const Judgement& j, const std::string& login) {
    std::string value = raw_header(data, "X-Rapport-Confirm");
    if (value.empty()) return false;
    if (value.rfind("v1:", 0) == 0) {
        auto now = static_cast<std::int64_t>(std::time(nullptr));
        std::string nonce;
        std::string why = check_confirm_v1(token_, value, now, &nonce);
        if (!why.empty() && !login.empty() && members_) { // a member's add-on: their own token
            auto key = members_->current_token(login, token_);
            if (key && check_confirm_v1(*key, value, now, &nonce).empty()) why.clear();
        }
        if (why.empty() && !q_.use_confirm_nonce(nonce, j.info.message_id, now, now - kConfirmMaxAge - kConfirmSkew))
            why = "already used for another message";
        if (!why.empty()) {
            log_("warning: " + id + ": X-Rapport-Confirm " + why + "; holding");
            return false;
        }
    } else if (j.info.message_id.empty()) {
        log_("warning: " + id + ": X-Rapport-Confirm without a Message-ID; holding");
        return false;
    } else if (!same_secret(common::lower(value), confirm_value(token_, j.info.message_id))) {
        log_("warning: " + id + ": X-Rapport-Confirm does not match this message; holding");
        return false;
    }
    log_("confirmed " + id + ": the sender chose to send anyway in the mail client; relaying without a hold");
    return true;
}

void Holds::hold(const std::string& id, const Envelope& env, const Judgement& j) {
    q_.insert(id, env, j.info, Status::held, 0);
    std::string rules;
    for (const auto& f : j.findings) rules += (rules.empty() ? "" : ",") + f.rule;
    log_("held " + id + " from=<" + env.mail_from + "> rules=" + (rules.empty() ? "-" : rules));
    if (desktop_ && !env.notice) {
        // The reason it is held, not a mere warning that came first.
        const policies::Finding* reason = nullptr;
        for (const auto& f : j.findings)
            if (!reason || f.action >= policies::Action::hold) {
                reason = &f;
                if (f.action >= policies::Action::hold) break;
            }
        desktop_->held({id, held_addressee(j), j.recipients.empty() ? 0 : j.recipients.size() - 1,
                        reason ? reason->message : std::string(), reason ? reason->lang : std::string("en")});
    }
    if (!cfg_.hold.notify_sender || !relay_ || env.notice || env.mail_from.empty()) return;
    relay_->notify({env.mail_from,
                    held_notice(cfg_.hostname, id, env.mail_from, j.info.subject, j.findings, expires_at(env.received)),
                    "Rapport held your message", id});
}

Holds::Decision Holds::release(const std::string& id, const std::string& who) {
    if (!q_.release(id)) {
        auto rec = q_.record(id);
        return {false, rec ? rec->row.status : Status::dropped};
    }
    q_.add_event(id, "released");
    if (relay_) {
        relay_->schedule(id, static_cast<std::int64_t>(std::time(nullptr)));
        if (outcomes_) outcomes_->released(id); // it leaves now
    } else {
        q_.set_status(id, Status::captured); // capture mode: nothing leaves
    }
    log_("released " + id + " by " + who + ": sending anyway");
    auto rec = q_.record(id);
    return {true, rec ? rec->row.status : Status::queued};
}

Holds::Decision Holds::drop(const std::string& id, const std::string& who) {
    if (!q_.drop(id)) {
        auto rec = q_.record(id);
        return {false, rec ? rec->row.status : Status::dropped};
    }
    q_.add_event(id, "dropped");
    q_.remove_spool(id);
    log_("dropped " + id + " by " + who);
    return {true, Status::dropped};
}

std::size_t Holds::expire_due(std::int64_t now) {
    auto ids = q_.expire_held(now - static_cast<std::int64_t>(cfg_.hold.expire));
    for (const auto& id : ids) {
        q_.add_event(id, "expired");
        log_("expired " + id + ": held for more than " + std::to_string(cfg_.hold.expire) + "s; not sent, kept");
    }
    return ids.size();
}

void Holds::start() {
    // Expiry is seen within a quarter of its period (tests use seconds).
    const auto period = std::chrono::seconds(std::min(cfg_.http_limits.sweep_interval, std::max(1u, cfg_.hold.expire / 4)));
    expiry_ = std::thread([this, period] {
        lower_this_threads_priority();
        std::unique_lock lk(expiry_mu_);
        while (!stopping_) {
            lk.unlock();
            try {
                expire_due(static_cast<std::int64_t>(std::time(nullptr)));
            } catch (const std::exception& e) {
                log_(std::string("warning: expiry sweep: ") + e.what());
            }
            lk.lock();
            expiry_cv_.wait_for(lk, period, [this] { return stopping_; });
        }
    });
}


} // namespace rapport::daemon
