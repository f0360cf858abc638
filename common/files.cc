// files.cc - see files.h.

#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace rapport::common {
namespace {
[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }
} // namespace

void mkdirs(const std::string& path, unsigned mode) {
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i != path.size() && path[i] != '/') continue;
        std::string cur = path.substr(0, i);
        if (::mkdir(cur.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) fail("mkdir " + cur);
    }
}

bool readable_by_others(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0;
}

std::string read_secret(const std::string& path, bool private_only) {
    // Every message starts with the path, so a caller can say what the
    // file is for: "the password file " + what().
    auto cannot_read = [&path](int e) {
        if (e == ENOENT) throw std::runtime_error(path + " is missing");
        throw std::runtime_error(path + " cannot be read: " + std::strerror(e));
    };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) cannot_read(errno);
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        cannot_read(e);
    }
    if (private_only && (st.st_mode & 0077)) {
        ::close(fd);
        throw std::runtime_error(path + " is readable by others (chmod 600 it)");
    }
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            cannot_read(e);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > (1u << 20)) {
            ::close(fd);
            throw std::runtime_error(path + " is too large for a secret");
        }
    }
    ::close(fd);
    return out;
}

void own_like(int fd, const std::string& dir) {
    struct stat st{};
    if (::geteuid() == 0 && !dir.empty() && ::stat(dir.c_str(), &st) == 0 && st.st_uid != 0)
        (void)::fchown(fd, st.st_uid, st.st_gid);
}

void write_secret(const std::string& path, std::string_view content, const std::string& owner_dir) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot create " + tmp);
    own_like(fd, owner_dir);
    bool ok = true;
    while (ok && !content.empty()) {
        ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) content.remove_prefix(static_cast<std::size_t>(n));
    }
    ok = ok && ::fsync(fd) == 0;
    int e = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok) e = errno;
        ::unlink(tmp.c_str());
        errno = e;
        fail("cannot write " + path);
    }
}

} // namespace rapport::common
