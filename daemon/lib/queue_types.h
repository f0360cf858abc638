// queue_types.h - what the queue's parts say to each other: a message's
// envelope, status and state row, and the error a failed write throws.
// See queue.h (the queue) and queue_state.h (where its rows live).

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::daemon {

// A write to the queue's state failed and was rolled back (or, with a
// shared store, a read could not be answered).
struct StorageError : std::runtime_error {
    StorageError(const std::string& what, bool full, bool unavailable = false)
        : std::runtime_error(what), full(full), unavailable(unavailable) {}
    bool full;        // SQLITE_FULL or ENOSPC: the disk is full
    bool unavailable; // a shared store (PostgreSQL) could not be reached: the work waits, nothing is lost
    // "disk full", "store unavailable" or "storage error", for log lines
    const char* kind() const { return full ? "disk full" : unavailable ? "store unavailable" : "storage error"; }
};

struct Envelope {
    std::string mail_from;            // "" is the null sender <>
    std::vector<std::string> rcpts;   // RCPT TO, in order, duplicates removed
    std::string account;              // SMTP AUTH user, "" when none
    std::string helo;
    std::string client;               // peer address
    std::int64_t received = 0;        // seconds since the epoch
    bool notice = false;              // a notice Rapport wrote itself: no verdict, no notice about it
};

struct SpooledMessage {
    std::string id;
    Envelope env;
    std::string data; // the message as received: CRLF lines, dot-unstuffed
};

enum class Status { queued, held, relayed, failed, captured, rejected, dropped,
                    expired /* held too long, never sent, kept visible */ };
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

// What the verdict stage learnt, kept for the report and the API.
struct MessageInfo {
    std::string action;        // relay|warn|hold|reject
    std::string findings_json; // [{"rule","message","action"}]
    std::string subject, header_from, header_to, message_id;
    std::size_t size = 0;
};

struct RecipientState {
    std::string rcpt;
    std::string status; // pending|sent|failed
    int code = 0;
    std::string reply;
};

struct QueueRow {
    std::string id;
    Status status = Status::queued;
    std::string action;
    int attempts = 0;
    std::int64_t received = 0, next_attempt = 0;
    std::string last_error;
    bool notice = false;
    std::string mail_from;
};

struct QueueRecord {
    QueueRow row;
    std::string account, helo, client;
    MessageInfo info;
    std::int64_t updated = 0;
    bool released = false; // a person chose "Send anyway" (event 'released')
};

struct QueueAttempt {
    std::int64_t time = 0;
    std::string result;
};

struct QueueStatRow {
    std::string sender, status, action, findings_json;
    bool released = false;
    bool confirmed = false; // sent anyway from the mail client (X-Rapport-Confirm)
};

} // namespace rapport::daemon
