// hold.h - what happens around a held message: the sender's confirmation,
// the "held" log line and notice mail, and expiry.
//
//   std::string token = load_or_create_token(state_dir); // <state>/api-token, mode 0600
//   Holds holds(cfg, queue, relay, token, log);
//   intake.confirmed = ...holds.confirmed(id, data, j);  // X-Rapport-Confirm valid?
//   intake.on_held   = ...holds.held(id, env, j);        // log line + optional notice
//   holds.expire_due(now);                               // from a timer
//
// Confirmation: a mail client that showed the findings and heard "send
// anyway" adds `X-Rapport-Confirm: VALUE`; only a holder of the API token
// can make one. Two forms are accepted:
//   HEX            lower-case hex HMAC-SHA256(key = the API token, data = the
//                  Message-ID without angle brackets): bound to one message.
//                  POST /api/v1/analyze returns it for a given message_id.
//   v1:NONCE:MAC   NONCE = <unix seconds>-<32 lower-case hex random digits>,
//                  MAC = hex HMAC-SHA256(token, "v1:" + NONCE). For clients
//                  that cannot know the Message-ID before sending
//                  (Thunderbird's compose.onBeforeSend, plugin/lib/confirm.js):
//                  good within kConfirmMaxAge (clock skew kConfirmSkew) and
//                  for one message only (the nonce is remembered with its
//                  Message-ID, so a client's retry of that message passes).
// The relay removes the field before the message leaves (relay.h
// prepare_for_relay).
//
// Expiry: a message held longer than [hold] expire seconds becomes
// "expired": never sent, kept (spool and row) so the sender can still see it.
// Notices ([hold] notify_sender, needs an upstream): a short plain-text mail
// to the envelope sender, from the null sender so it can never cause mail
// about itself, queued like any other notice.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/relay.h"
#include "daemon/lib/verdict.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rapport::daemon {

constexpr std::int64_t kConfirmMaxAge = 7 * 24 * 3600; // seconds a v1 confirmation stays good
constexpr std::int64_t kConfirmSkew = 300;             // a client clock this far ahead is fine

// Reads <state>/api-token, creating it (32 random bytes, hex, mode 0600)
// when absent. Throws std::runtime_error when it cannot.
std::string load_or_create_token(const std::string& state_dir);

// Lower-case hex HMAC-SHA256 keyed by `key` over `data`.
std::string hmac_hex(std::string_view key, std::string_view data);
// The X-Rapport-Confirm value for a Message-ID (angle brackets are ignored).
std::string confirm_value(std::string_view token, std::string_view message_id);
// First value of a header field in the raw message's header section
// (case-insensitive name, unfolded, trimmed); empty when absent.
std::string raw_header(std::string_view data, std::string_view name);
// Checks a "v1:NONCE:MAC" confirmation (format, MAC, age; not reuse).
// Returns "" when valid (then *nonce_out = NONCE), else the reason.
std::string check_confirm_v1(std::string_view token, std::string_view value, std::int64_t now,
                             std::string* nonce_out = nullptr);
// Constant-time comparison (tokens, HMACs).
bool same_secret(std::string_view a, std::string_view b);

class Holds {
public:
    Holds(const Config& cfg, Queue& q, Relay* relay, std::string token, LogFn log);
    // True when `data` carries a valid X-Rapport-Confirm for its Message-ID.
    // Made with the API token, or (v1) with the add-on token of `account`
    // when that is a job club member (member_key).
    bool confirmed(const std::string& id, std::string_view data, const Judgement& j, const std::string& account = {});
    // The current add-on token of a member account, "" for none.
    std::function<std::string(const std::string& account)> member_key;
    void held(const std::string& id, const Envelope& env, const Judgement& j);
    // Marks held messages older than [hold] expire as expired; returns how many.
    std::size_t expire_due(std::int64_t now);
    std::int64_t expires_at(std::int64_t received) const { return received + cfg_.hold.expire; }
    const std::string& token() const { return token_; }
    Relay* relay() const { return relay_; }

private:
    const Config& cfg_;
    Queue& q_;
    Relay* relay_;
    std::string token_;
    LogFn log_;
};

// The notice told to the sender of a held message.
std::string held_notice(const std::string& hostname, const std::string& id, const std::string& sender,
                        std::string_view subject, const std::vector<policies::Finding>& findings,
                        std::int64_t expires);

} // namespace rapport::daemon
