// hold.h - the life of a held message, in one place: held, confirmed,
// released, dropped, expired, and the notices about them.
//
//   std::string token = load_or_create_token(state_dir); // <state>/api-token, mode 0600
//   Holds holds(cfg, queue, relay, &outcomes, &members, token, log);
//   holds.start();                          // expires held mail on its own thread
//   if (!holds.confirmed(id, data, j, login)) holds.hold(id, env, j);   // intake
//   holds.release(id, "amira");             // "Send anyway" (API, page, rapportctl)
//   holds.drop(id, "token");                // "Discard"
//
// Held: the row says "held", a log line names the rules, and with [hold]
// notify_sender the envelope sender gets a short plain-text notice (from the
// null sender, so it can never cause mail about itself), queued by the relay
// like any other notice. In a desktop session the person is also told at
// once, with a Review button (set_desktop(), desktop_notify.h).
//
// Confirmation: a mail client that showed the findings and heard "send
// anyway" adds `X-Rapport-Confirm: VALUE`; only a holder of the API token
// (or, for a job club member, of their own add-on token) can make one. Two
// forms are accepted:
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
// Released: queued at once (capture mode: kept as captured, nothing leaves),
// and the reply ledger counts it as sent. Dropped: never sent, the copy
// deleted. Expired: held longer than [hold] expire seconds; never sent, kept
// (spool and row) so the sender can still see it. Each is an event in the
// queue's history of the message, for the stats.

#pragma once

#include "daemon/lib/config.h"
#include "daemon/lib/desktop_notify.h"
#include "daemon/lib/members.h"
#include "daemon/lib/outcomes.h"
#include "daemon/lib/queue.h"
#include "daemon/lib/relay.h"
#include "daemon/lib/verdict.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
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
// Who a held message is to, for people: its first To address by the
// display name given there ("Anna Kowalska"), else the address; "" when it
// has no recipient at all.
std::string held_addressee(const Judgement& j);

class Holds {
public:
    // `relay` null: capture mode, nothing leaves. `outcomes` and `members` may be null.
    Holds(const Config& cfg, Queue& q, Relay* relay, Outcomes* outcomes, const Members* members, std::string token,
          LogFn log);
    ~Holds();

    // True when `data` carries a valid X-Rapport-Confirm for its Message-ID:
    // then a hold verdict is relayed instead. Made with the API token, or
    // (v1) with the add-on token of `login` when that is a member. The
    // caller adds the 'confirmed' event once the message's row exists.
    bool confirmed(const std::string& id, std::string_view data, const Judgement& j, const std::string& login = {});
    // Records a message as held; logs it and queues the sender's notice
    // and the desktop notice.
    void hold(const std::string& id, const Envelope& env, const Judgement& j);
    // Where held mail is shown on the desktop (may stay null). Set before
    // mail flows; the notice is only queued there, never waited for.
    void set_desktop(DesktopNotify* desktop) { desktop_ = desktop; }

    struct Decision {
        bool changed = false; // false: it was not held (then `status` says what it is)
        Status status = Status::queued;
    };
    // "Send anyway": held -> queued (or captured). `who` is for the log.
    // Throws StorageError when the queue cannot be written.
    Decision release(const std::string& id, const std::string& who);
    // "Discard": held or expired -> dropped, its copy deleted.
    Decision drop(const std::string& id, const std::string& who);
    // Marks held messages older than [hold] expire as expired; returns how many.
    std::size_t expire_due(std::int64_t now);
    // Runs expire_due() now and then every quarter of [hold] expire (at
    // most every [http] sweep_interval) on a thread of its own until destroyed.
    void start();

    std::int64_t expires_at(std::int64_t received) const { return received + cfg_.hold.expire; }
    const std::string& token() const { return token_; }

private:
    const Config& cfg_;
    Queue& q_;
    Relay* relay_;
    Outcomes* outcomes_;
    const Members* members_;
    std::string token_;
    LogFn log_;
    DesktopNotify* desktop_ = nullptr;
    std::mutex expiry_mu_;
    std::condition_variable expiry_cv_;
    bool stopping_ = false;
    std::thread expiry_;
};


} // namespace rapport::daemon
