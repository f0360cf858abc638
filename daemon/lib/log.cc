// log.cc - see log.h. One fwrite per line under a mutex keeps lines whole.

#include "daemon/lib/log.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace rapport::daemon {

namespace {

// systemd.exec(5): $JOURNAL_STREAM is "DEVICE:INODE" of the stream it
// connected; stderr is the journal only if it is still that file (not
// redirected by a shell in between).
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (!js || !*js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st{};
    if (::fstat(2, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

} // namespace

Level level_of(const std::string& msg) {
    if (starts_with(msg, "panic:")) return Level::crit;
    if (starts_with(msg, "fatal:") || starts_with(msg, "error:")) return Level::err;
    if (starts_with(msg, "warning:")) return Level::warning;
    return Level::info;
}

void log_line(const std::string& msg) { log_at(level_of(msg), msg); }

void log_at(Level level, const std::string& msg) {
    static std::mutex mu;
    static const bool journal = stderr_is_journal();
    std::string line;
    if (journal) {
        // The journal stamps time and the unit's name itself.
        line = "<" + std::to_string(static_cast<int>(level)) + ">" + msg + "\n";
    } else {
        auto now = std::chrono::system_clock::now();
        auto t = std::chrono::system_clock::to_time_t(now);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        struct tm tm{};
        gmtime_r(&t, &tm);
        char ts[96];
        std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
        line = std::string(ts) + " rapportd: " + msg + "\n";
    }
    std::lock_guard lk(mu);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

} // namespace rapport::daemon
