// log.cc - see log.h. One fwrite per line under a mutex keeps lines whole.

#include "daemon/lib/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace rapport::daemon {

void log_line(const std::string& msg) {
    static std::mutex mu;
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    struct tm tm{};
    gmtime_r(&t, &tm);
    char ts[96];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    std::string line = std::string(ts) + " rapportd: " + msg + "\n";
    std::lock_guard lk(mu);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

} // namespace rapport::daemon
