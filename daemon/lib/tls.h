// tls.h - the server certificate for STARTTLS (RFC 3207).
//
// ensure_certificate(cfg): when no cert/key is configured, makes a
// self-signed one (EC P-256, SHA-256, 10 years, CN and subjectAltName = the
// host name, plus localhost/127.0.0.1) under <state>/tls/ once and reuses
// it afterwards. The key file is created mode 0600. Throws
// std::runtime_error with OpenSSL's reason on failure.

#pragma once

#include <string>

namespace rapport::daemon {

struct CertPaths {
    std::string cert, key;
    bool generated = false;
};

CertPaths ensure_certificate(const std::string& state_dir, const std::string& cert, const std::string& key,
                             const std::string& hostname);

} // namespace rapport::daemon
