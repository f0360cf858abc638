// login_codes.cc - see login_codes.h.

#include "daemon/lib/login_codes.h"

#include "common/strings.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace rapport::daemon {

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
        throw std::runtime_error("no random bytes");
    return common::hex(raw);
}

std::string LoginCodes::make(std::int64_t now) {
    std::lock_guard lk(mu_);
    std::erase_if(expiry_, [&](const auto& kv) { return kv.second < now; });
    if (expiry_.size() >= kMaxUnused) return "";
    std::string code = random_hex(24);
    expiry_[code] = now + kLifetime;
    return code;
}

bool LoginCodes::take(const std::string& code, std::int64_t now) {
    if (code.empty()) return false;
    std::lock_guard lk(mu_);
    auto it = expiry_.find(code);
    if (it == expiry_.end()) return false;
    bool fresh = it->second >= now;
    expiry_.erase(it); // one use only
    return fresh;
}

void LoginCodes::sweep(std::int64_t now) {
    std::lock_guard lk(mu_);
    std::erase_if(expiry_, [&](const auto& kv) { return kv.second < now; });
}

} // namespace rapport::daemon
