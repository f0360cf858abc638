// spool_log.h - the spool's fast path: messages appended to preallocated segment files.
//
//   SpoolLog log(state + "/spool-log", options, move_out);
//   log.start();                        // background: keeps segments ready, moves old records out
//   if (log.append(id, image)) ...      // true: on stable storage (fdatasync'd)
//   log.read(id); log.remove(id); log.ids();
//
// Why a log: on ext4 the fdatasync of a new file, or of a file that grew,
// waits for a journal commit shared with everything else writing to the
// disk - 5 to 30 ms on a busy machine. Overwriting blocks that are allocated
// and already written changes no metadata, so its fdatasync is the data and
// one cache flush. Segments are created zero-filled and synced ahead of time
// by a background thread; appends overwrite them, packed (a 20 KB message
// takes 20 KB, a CV of 2 MB fits too), and appenders that arrive while one
// fdatasync runs share the next one (group commit).
//
// A record lives in the log while its message is in flight. Records still
// alive in a segment that has had no append for `move_after` (held mail,
// mail waiting for a retry, captured mail) are handed to `move_out`, which
// writes them as ordinary spool files; then the segment is reused. A quiet
// daemon therefore keeps only its ready segments here, and long-lived mail
// is in one file per message, as before.
//
// On-disk format (integers little-endian, records 4096-aligned so that no two
// records share a page):
//   offset 0:    "RAPPORT-SPOOL-LOG 1\n", then the segment's 8-byte generation
//   offset 4096: records, each: "RSLREC01" | generation (8) | id length (4) |
//                image length (4) | SHA-256 of id and image (32) | id | image
// A record counts only if magic, generation and checksum match: a torn
// write, an older generation's leftovers, or a record forged inside a
// message body (it cannot know the random generation) are not messages.
// Appends are written in offset order under one lock and a record is
// acknowledged only after an fdatasync that began after its write, which
// flushes every earlier record of the file too: an acknowledged record is
// never preceded by a torn one, so a scan stops at the first invalid record.
// Removal is kept in memory only: after a crash, finished records come back
// and Queue's recovery finds their rows finished (as with spool files whose
// unlink did not survive the crash). A segment is reused only after a new
// generation is on disk, so its old records can never come back.
//
// Thread-safe.

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rapport::daemon {

class SpoolLog {
public:
    struct Options {
        std::size_t segment_size = 2u << 20; // bytes per segment file
        std::size_t reserve = 4;             // empty segments kept ready
        std::size_t max_segments = 128;      // never more files than this
        std::chrono::milliseconds move_after{30000};
        std::size_t stripes = 1;             // segments appended to at once, one per writer thread
    };
    // Where records go when they stay too long: `write` puts `image` under
    // `id` somewhere durable (a spool file) and throws on failure (the record
    // then stays in the log and is tried again later); `unwrite` takes that
    // back when the record was removed while it was being written.
    struct MoveOut {
        std::function<void(const std::string& id, std::string_view image)> write;
        std::function<void(const std::string& id)> unwrite;
    };

    // Opens (creating) `dir` and scans the segments already there: their
    // valid records are the log's content, and no new record is appended to
    // them. Throws std::runtime_error when the directory is unusable.
    SpoolLog(std::string dir, Options opt, MoveOut move_out);
    ~SpoolLog(); // stops the background thread; ready segments stay for the next start
    SpoolLog(const SpoolLog&) = delete;
    SpoolLog& operator=(const SpoolLog&) = delete;

    // Starts the background thread. `on_ready` runs on it once `reserve`
    // segments are first ready.
    void start(std::function<void()> on_ready = {});
    bool wait_ready(std::chrono::milliseconds timeout);

    // Appends and fdatasyncs one record whose image is `head` then `body`.
    // False (nothing written) when it does not fit a segment or no segment
    // is ready: the caller then writes a plain file. Throws
    // std::runtime_error on an I/O error (nothing acknowledged).
    bool append(const std::string& id, std::string_view head, std::string_view body);
    // The image of a live record.
    std::optional<std::string> read(const std::string& id) const;
    // Forgets a record; false when the log does not hold it.
    bool remove(const std::string& id);
    bool contains(const std::string& id) const;
    std::vector<std::string> ids() const;

    struct Stats {
        std::size_t segments = 0, ready = 0, records = 0;
        std::uint64_t appended = 0, syncs = 0, moved = 0, made = 0;
        std::uint64_t full = 0; // appends refused: no ready segment, or too large
    };
    Stats stats() const;
    // Test hook, instead of start(): one pass of the background work (make,
    // reuse, move) on the calling thread.
    void maintain_now();

private:
    struct Segment {
        ~Segment();
        std::uint32_t number = 0;
        int fd = -1;
        std::uint64_t generation = 0;
        std::size_t end = 0;      // next write offset
        std::size_t live = 0;     // records not removed
        bool sealed = false;      // no more appends (full, from the last run, or idle)
        std::chrono::steady_clock::time_point last_append{};
        std::uint64_t written = 0, synced = 0; // group commit sequence numbers
        bool syncing = false;
        std::uint64_t failed_upto = 0;         // an fdatasync failed for records up to this
        bool busy = false;                     // the background thread is renewing it
        std::size_t size = 0;                  // file size
    };
    struct Loc {
        std::shared_ptr<Segment> seg; // a reader keeps the file open
        std::size_t offset, id_len, image_len;
    };
    void scan(const std::shared_ptr<Segment>& s);
    std::vector<std::shared_ptr<Segment>> make_segments(std::size_t n); // new zero-filled files, synced
    std::size_t want_ready() const;          // with mu_ held
    void background();
    bool maintain(std::unique_lock<std::mutex>& lk); // false: could not make a segment

    std::string dir_;
    Options opt_;
    MoveOut move_out_;
    int dir_fd_ = -1;
    mutable std::mutex mu_;
    std::condition_variable cv_, synced_cv_;
    std::vector<std::shared_ptr<Segment>> segments_; // every open segment
    std::vector<std::shared_ptr<Segment>> ready_;    // empty, renewed, not yet current
    std::vector<std::shared_ptr<Segment>> current_;  // where appends go, one per stripe
    std::unordered_map<std::string, Loc> index_;
    std::uint32_t next_number_ = 1;
    std::chrono::steady_clock::time_point last_append_{}; // any segment
    bool stop_ = false, ready_once_ = false;
    bool making_ = false; // the background thread is making segments
    std::function<void()> on_ready_;
    std::thread thread_;
    Stats stats_;
};

} // namespace rapport::daemon
