// login_codes.h - the one-time codes behind the page's login links.
//
//   LoginCodes codes;
//   std::string code = codes.make(now);   // "http://127.0.0.1:2526/login?code=" + code
//   if (codes.take(code, now)) ...        // true once, within kLifetime
//
// A code is 24 random bytes in hex, good for one use within ten minutes.
// Made for a holder of the API token (POST /api/v1/login-links, behind
// `rapportctl open`) or for a person who clicked Review on the desktop
// notice about held mail (desktop_notify.h); taken by GET /login. At most
// kMaxUnused wait at once, so nothing can grow them without bound.
// Thread-safe: the HTTP thread takes codes, the desktop notice's thread
// makes them.

#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace rapport::daemon {

class LoginCodes {
public:
    static constexpr std::int64_t kLifetime = 10 * 60; // seconds
    static constexpr std::size_t kMaxUnused = 100;

    // A new code, or "" when kMaxUnused are waiting unused.
    std::string make(std::int64_t now);
    // True when `code` was made here, is unused and has not expired; it is
    // used up either way.
    bool take(const std::string& code, std::int64_t now);
    // Forgets expired codes.
    void sweep(std::int64_t now);

private:
    std::mutex mu_;
    std::map<std::string, std::int64_t> expiry_; // code -> when it stops working
};

// Lower-case hex of `bytes` random bytes (OpenSSL's generator). Throws
// std::runtime_error when there are none.
std::string random_hex(std::size_t bytes);

} // namespace rapport::daemon
