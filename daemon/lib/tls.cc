// tls.cc - see tls.h. Plain OpenSSL 3 calls; every object freed on all paths.

#include "daemon/lib/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace rapport::daemon {
namespace {

[[noreturn]] void ssl_fail(const std::string& what) {
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error(what + ": " + buf);
}

bool exists(const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0;
}

void add_ext(X509* x, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) ssl_fail("certificate extension");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
}

} // namespace

CertPaths ensure_certificate(const std::string& state_dir, const std::string& cert, const std::string& key,
                             const std::string& hostname) {
    if (!cert.empty() || !key.empty()) {
        if (cert.empty() || key.empty()) throw std::runtime_error("tls: both cert and key must be set");
        return {cert, key, false};
    }
    std::string dir = state_dir + "/tls";
    CertPaths p{dir + "/cert.pem", dir + "/key.pem", false};
    if (exists(p.cert) && exists(p.key)) return p;
    ::mkdir(dir.c_str(), 0700);

    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(EVP_EC_gen("P-256"), EVP_PKEY_free);
    if (!pkey) ssl_fail("generating key");
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    if (!x) ssl_fail("X509_new");
    X509_set_version(x.get(), 2);
    unsigned char serial[16];
    FILE* ur = std::fopen("/dev/urandom", "rb");
    if (!ur || std::fread(serial, 1, sizeof serial, ur) != sizeof serial) {
        if (ur) std::fclose(ur);
        throw std::runtime_error("tls: cannot read /dev/urandom");
    }
    std::fclose(ur);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(x.get(), pkey.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Rapport"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(x.get(), name);
    add_ext(x.get(), NID_subject_alt_name, "DNS:" + hostname + ",DNS:localhost,IP:127.0.0.1,IP:::1");
    add_ext(x.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), NID_ext_key_usage, "serverAuth");
    if (!X509_sign(x.get(), pkey.get(), EVP_sha256())) ssl_fail("signing certificate");

    // Key first, created 0600 so it is never readable by others, not even briefly.
    std::string key_tmp = p.key + ".tmp", cert_tmp = p.cert + ".tmp";
    int fd = ::open(key_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("tls: cannot create " + key_tmp);
    FILE* kf = ::fdopen(fd, "w");
    if (!kf || !PEM_write_PrivateKey(kf, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
        if (kf) std::fclose(kf);
        ssl_fail("writing key");
    }
    std::fclose(kf);
    FILE* cf = std::fopen(cert_tmp.c_str(), "w");
    if (!cf || !PEM_write_X509(cf, x.get())) {
        if (cf) std::fclose(cf);
        ssl_fail("writing certificate");
    }
    std::fclose(cf);
    if (::rename(key_tmp.c_str(), p.key.c_str()) != 0 || ::rename(cert_tmp.c_str(), p.cert.c_str()) != 0)
        throw std::runtime_error("tls: cannot install certificate in " + dir);
    p.generated = true;
    return p;
}

} // namespace rapport::daemon
